"""Queues themselves: CreateQueue, DeleteQueue, ListQueues, their attributes (with the redrive
policy and the depth counts) and ListDeadLetterSourceQueues."""

import base64
import re

from django.conf import settings
from django.db import IntegrityError, transaction

from audit import log as audit_log
from aws_protocol import quotas
from queues import message_sql, notifier, queue_attributes
from queues.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    MissingParameter,
    OverLimit,
    QueueDeletedRecently,
    QueueNameExists,
)
from queues.models import DeletedQueueName, Queue, now_ms
from queues.service.housekeeping import delete_messages_in_batches
from queues.service.lookup import _locked_queue, queue_cache, queue_name_from_arn
from queues.service.sending import retention_cutoff
from queues.service.tags import _validate_tags, tag_queue, untag_queue

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
# SQS refuses to create a queue under a name deleted less than this long ago.
RECREATE_AFTER_DELETE_MS = 60_000
# DeleteQueue's last transaction, tried again when a concurrent send slipped a row in.
DELETE_ATTEMPTS = 5


def _validate_queue_name(name, fifo):
    if not name:
        raise MissingParameter("The request must contain the parameter QueueName.")
    pattern = FIFO_QUEUE_NAME if fifo else QUEUE_NAME
    if not pattern.match(name):
        if fifo:
            raise InvalidParameterValue(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                "underscores, must end with .fifo suffix and be 1 to 80 in length."
            )
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def _apply_redrive_policy(queue, values):
    """Resolve RedrivePolicy's DLQ into the queue's foreign key, checking SQS's rules."""
    if "redrive_policy" not in values:
        return
    arn, count = queue_attributes.parse_redrive_policy(values["redrive_policy"])
    if arn is None:
        queue.dead_letter_queue = None
        queue.max_receive_count = None
        return
    name = queue_name_from_arn(arn)
    dead_letter_queue = Queue.objects.filter(name=name).first() if name else None
    if dead_letter_queue is None:
        raise InvalidParameterValue(
            f"Value {values['redrive_policy']} for parameter RedrivePolicy is invalid. Reason: "
            "Dead letter target does not exist."
        )
    if dead_letter_queue.is_fifo != queue.is_fifo:
        raise InvalidParameterValue(
            f"Value {values['redrive_policy']} for parameter RedrivePolicy is invalid. Reason: "
            "Dead-letter target must be of the same type (standard or FIFO) as the source queue."
        )
    if dead_letter_queue.name == queue.name:
        raise InvalidParameterValue(
            f"Value {values['redrive_policy']} for parameter RedrivePolicy is invalid. Reason: "
            "A queue cannot be its own dead-letter queue."
        )
    permission, sources = queue_attributes.parse_redrive_allow_policy(
        dead_letter_queue.redrive_allow_policy
    )
    if permission == "denyAll" or (permission == "byQueue" and queue.arn not in sources):
        raise InvalidParameterValue(
            f"Value {values['redrive_policy']} for parameter RedrivePolicy is invalid. Reason: "
            "The dead-letter queue's RedriveAllowPolicy does not allow this queue as a source."
        )
    queue.dead_letter_queue = dead_letter_queue
    queue.max_receive_count = count


def create_queue(name, attributes=None, tags=None):
    """Create a queue, or return the existing one when every given attribute matches it."""
    attributes = dict(attributes or {})
    tags = dict(tags or {})
    fifo_flag = str(attributes.get("FifoQueue", "false")).lower() == "true"
    if name and name.endswith(".fifo") and not fifo_flag:
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    _validate_queue_name(name, fifo_flag)
    values = queue_attributes.parse(attributes, fifo=fifo_flag, creating=True)
    if "redrive_allow_policy" in values:
        queue_attributes.parse_redrive_allow_policy(values["redrive_allow_policy"])
    _validate_tags(tags)

    existing = Queue.objects.filter(name=name).first()
    if existing is not None:
        for field_name, value in values.items():
            if getattr(existing, field_name) != value:
                attribute = next(
                    key
                    for key, spec in queue_attributes.SETTABLE.items()
                    if spec.field == field_name
                )
                raise QueueNameExists(
                    "A queue already exists with the same name and a different value for "
                    f"attribute {attribute}"
                )
        return existing

    _refuse_recently_deleted(name)
    queue = Queue(name=name, tags=tags, **values)
    _apply_redrive_policy(queue, values)
    try:
        with transaction.atomic():
            quotas.insert_within_cap(
                queue,
                settings.ROOST_MAX_QUEUES,
                OverLimit(f"You have reached the limit of {settings.ROOST_MAX_QUEUES} queues."),
            )
            audit_log.record("CreateQueue", "queue", name, attributes=attributes, tags=tags)
    except IntegrityError:
        # Another request created it between our check and insert: same answer as above.
        return create_queue(name, attributes, tags)
    return queue


def _refuse_recently_deleted(name):
    """SQS's rule: a name is free again 60 seconds after its queue was deleted."""
    if DeletedQueueName.objects.filter(
        name=name, deleted_at__gt=now_ms() - RECREATE_AFTER_DELETE_MS
    ).exists():
        raise QueueDeletedRecently(
            "You must wait 60 seconds after deleting a queue before you can create another with "
            "the same name."
        )


def delete_queue(queue):
    # The messages go first, a batch per statement, so no write lock is held for long; the last
    # transaction then deletes what was sent meanwhile (a few at most) with the queue itself.
    delete_messages_in_batches(queue.id)
    while message_sql.clear_dead_letter_source(queue.id) == message_sql.DELETE_BATCH:
        pass
    now = now_ms()
    for attempt in range(DELETE_ATTEMPTS):
        try:
            with transaction.atomic():
                Queue.objects.filter(pk=queue.pk).delete()
                # Remember the name for CreateQueue's 60 seconds; forget names whose time is up.
                DeletedQueueName.objects.filter(
                    deleted_at__lte=now - RECREATE_AFTER_DELETE_MS
                ).delete()
                DeletedQueueName.objects.update_or_create(
                    name=queue.name, defaults={"deleted_at": now}
                )
                audit_log.record("DeleteQueue", "queue", queue.name)
            break
        except IntegrityError:
            # A message or move task committed between the delete's collection of the rows that
            # name the queue and its DELETE (PostgreSQL checks foreign keys at commit), or a
            # concurrent delete recorded the name first: collected again, they go too. Not a
            # lock on the queue row up front: SetQueueAttributes holds a source queue's lock
            # while its commit checks the dead-letter queue's row, and the two would deadlock.
            if attempt == DELETE_ATTEMPTS - 1:
                raise
    queue_cache.forget(queue.name)
    notifier.signal(queue.id)


def list_queues(prefix="", max_results=None, next_token=None):
    """Return (queues, next token) in name order; SQS caps an unpaged list at 1,000."""
    queues = Queue.objects.with_prefix(prefix or "")
    return _page_by_name(queues, max_results, next_token)


def _page_by_name(queues, max_results, next_token):
    """One page of queues in name order, with the token for the next (None on the last)."""
    queues = queues.order_by("name")
    if next_token:
        queues = queues.filter(name__gt=_decode_token(next_token))
    if max_results is None:
        return list(queues[:1000]), None
    if not 1 <= max_results <= 1000:
        raise InvalidParameterValue(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must be "
            "an integer between 1 and 1000."
        )
    page = list(queues[: max_results + 1])
    if len(page) > max_results:
        page = page[:max_results]
        return page, _encode_token(page[-1].name)
    return page, None


def _encode_token(value):
    return base64.urlsafe_b64encode(value.encode()).decode()


def _decode_token(token):
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeError):
        raise InvalidParameterValue("Invalid NextToken value.") from None


def queue_depth(queue):
    """(visible, in flight, delayed) counts, expired messages left out."""
    now = now_ms()
    return message_sql.depth(queue.id, now, retention_cutoff(queue, now))


def queue_depths(queue_ids=None):
    """{queue id: (visible, in flight, delayed, oldest unexpired sent_at or None)} for many
    queues at once, cheap enough for a live overview of a million messages (see message_sql)."""
    now = now_ms()
    result = {}
    for queue_id, visible, in_flight, delayed, oldest, retention in message_sql.depths(
        now, queue_ids
    ):
        cutoff = now - retention * 1000
        if oldest is not None and oldest <= cutoff:
            # Expired messages the sweep has not deleted yet: count this queue exactly.
            visible, in_flight, delayed = message_sql.depth(queue_id, now, cutoff)
            oldest = message_sql.oldest_unexpired(queue_id, cutoff)
        result[queue_id] = (visible, in_flight, delayed, oldest)
    return result


def get_queue_attributes(queue, names=None):
    """The attributes SQS reports for these names ('All' for all); unknown names are refused."""
    names = list(names or [])
    for name in names:
        if name != "All" and name not in queue_attributes.ALL_NAMES:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    wanted = queue_attributes.ALL_NAMES if "All" in names else names
    queue = Queue.objects.filter(pk=queue.pk).first() or queue
    result = {}
    depth = None
    for name in wanted:
        if name.startswith("ApproximateNumberOfMessages"):
            if depth is None:
                depth = queue_depth(queue)
            visible, in_flight, delayed = depth
            result[name] = str(
                {
                    "ApproximateNumberOfMessages": visible,
                    "ApproximateNumberOfMessagesNotVisible": in_flight,
                    "ApproximateNumberOfMessagesDelayed": delayed,
                }[name]
            )
        elif name == "CreatedTimestamp":
            result[name] = str(int(queue.created_at.timestamp()))
        elif name == "LastModifiedTimestamp":
            result[name] = str(int(queue.modified_at.timestamp()))
        elif name == "QueueArn":
            result[name] = queue.arn
        elif queue_attributes.applies_to(queue, name):
            result[name] = queue_attributes.render(queue, name)
    return result


def set_queue_attributes(queue, attributes):
    if not attributes:
        raise MissingParameter("The request must contain the parameter Attribute.Name.")
    try:
        with transaction.atomic():
            queue = _locked_queue(queue)
            values = queue_attributes.parse(attributes, fifo=queue.is_fifo, creating=False)
            if "redrive_allow_policy" in values:
                queue_attributes.parse_redrive_allow_policy(values["redrive_allow_policy"])
            for field_name, value in values.items():
                setattr(queue, field_name, value)
            _apply_redrive_policy(queue, values)
            changed = {*values, "modified_at"}
            if "redrive_policy" in values:
                changed |= {"dead_letter_queue", "max_receive_count"}
            queue.save(update_fields=sorted(changed))
            audit_log.record("SetQueueAttributes", "queue", queue.name, attributes=attributes)
    except IntegrityError:
        # The dead-letter queue was deleted after it was read (PostgreSQL checks the foreign key
        # at commit): asked again, it is missing and the answer says so.
        if "RedrivePolicy" not in attributes:
            raise
        return set_queue_attributes(queue, attributes)
    queue_cache.forget(queue.name)
    return queue


def update_queue(queue, attributes=None, tags=None, remove_tags=None):
    """Change attributes, add tags and remove tags all together, or nothing if any is refused.

    None leaves that part alone; an empty value is a request, refused as its own call would be.
    """
    with transaction.atomic():
        if attributes is not None:
            queue = set_queue_attributes(queue, attributes)
        if tags is not None:
            tag_queue(queue, tags)
        if remove_tags is not None:
            untag_queue(queue, remove_tags)
    return queue


def list_dead_letter_source_queues(queue, max_results=None, next_token=None):
    """Queues whose RedrivePolicy names this queue, paged like ListQueues."""
    sources = Queue.objects.filter(dead_letter_queue=queue)
    return _page_by_name(sources, max_results, next_token)
