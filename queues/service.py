"""Every SQS rule Roost follows: the front doors (SQS wire, REST, console) and tasks call these.

Functions take model instances and plain values and return plain values shaped like the SQS API's
(so every front door renders the same facts); rule violations raise the errors in queues.errors.
"""

import base64
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from aws_protocol import quotas
from aws_protocol.errors import RoostError
from queues import activity, cross_process, message_sql, notifier, queue_attributes, receipts
from queues.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidAddress,
    InvalidAttributeName,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MissingParameter,
    OverLimit,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    ResourceNotFoundException,
    TooManyEntriesInBatchRequest,
    UnsupportedOperation,
)
from queues.md5 import md5_of_body, md5_of_message_attributes
from queues.message_attributes import (
    decode_attributes,
    encode_attributes,
    validate_body,
    validate_message_attributes,
    validate_system_attributes,
)
from queues.models import (
    DeduplicationRecord,
    DeletedQueueName,
    Message,
    MessageMoveTask,
    Queue,
    now_ms,
)

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000
MAX_BATCH_ENTRIES = 10
PURGE_INTERVAL_SECONDS = 60
# SQS refuses to create a queue under a name deleted less than this long ago.
RECREATE_AFTER_DELETE_MS = 60_000
# How long a FIFO receive's ReceiveRequestAttemptId can be retried.
RECEIVE_ATTEMPT_WINDOW_MS = 5 * 60 * 1000
MAX_MOVE_RATE = 500
# DeleteQueue's last transaction, tried again when a concurrent send slipped a row in.
DELETE_ATTEMPTS = 5

SYSTEM_ATTRIBUTE_NAMES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def _messages_arrived(queue_id):
    """Wake receivers waiting on the queue, here and in other processes."""
    notifier.signal(queue_id)
    cross_process.announce(queue_id)


# Queues --------------------------------------------------------------------------------------


class _QueueCache:
    """Name -> Queue for one second, so the hot path skips a lookup per request.

    SQS itself takes up to a minute to propagate attribute changes; a second is well inside that,
    and changes made in this process invalidate at once.
    """

    ttl = 1.0

    def __init__(self):
        self._entries = {}

    def get(self, name):
        entry = self._entries.get(name)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        queue = Queue.objects.filter(name=name).first()
        if queue is None:
            self._entries.pop(name, None)
            raise QueueDoesNotExist()
        self._entries[name] = (queue, time.monotonic() + self.ttl)
        return queue

    def forget(self, name):
        self._entries.pop(name, None)

    def clear(self):
        self._entries.clear()


queue_cache = _QueueCache()


def get_queue(name):
    """The queue with this name, or QueueDoesNotExist."""
    return queue_cache.get(name)


def queue_name_from_url(url):
    """Take the queue name from a queue URL's /<account>/<name> path, whatever its host."""
    if not url:
        raise MissingParameter("The request must contain the parameter QueueUrl.")
    try:
        path = urlsplit(url).path if "://" in url else url
    except ValueError:  # e.g. an unclosed IPv6 bracket in the host
        raise InvalidAddress(f"The address {url} is not valid for this endpoint.") from None
    parts = [unquote(part) for part in path.split("/") if part]
    if len(parts) == 2:
        return parts[1]
    if len(parts) == 1 and "://" not in url:
        return parts[0]
    raise InvalidAddress(f"The address {url} is not valid for this endpoint.")


def get_queue_by_url(url):
    return get_queue(queue_name_from_url(url))


def queue_name_from_arn(arn):
    """The queue name from an SQS ARN of this account, or None if it is not one."""
    parts = str(arn).split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        return None
    if parts[4] != settings.ROOST_ACCOUNT_ID:
        return None
    return parts[5]


def get_queue_by_arn(arn):
    name = queue_name_from_arn(arn)
    if name is None:
        raise QueueDoesNotExist()
    return get_queue(name)


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


def _validate_tags(tags):
    if len(tags) > 50:
        raise InvalidParameterValue("Too many tags added for queue. Tag limit per queue is 50.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise InvalidParameterValue(f"Tag key {key!r} is invalid.")
        if len(value) > 256:
            raise InvalidParameterValue(f"Tag value for key {key!r} is longer than 256 characters.")


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


def _locked_queue(queue):
    """The queue's row, fresh and locked until the transaction ends, or QueueDoesNotExist.

    Every read-modify-write of a queue row takes this lock (on SQLite, the immediate transaction's
    write lock does the same), so a concurrent tag, purge or attribute change is never undone.
    """
    locked = Queue.objects.select_for_update().filter(pk=queue.pk).first()
    if locked is None:
        # Deleted by another request since this process cached it.
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist()
    return locked


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


def tag_queue(queue, tags):
    if not tags:
        raise MissingParameter("The request must contain the parameter Tags.")
    with transaction.atomic():
        queue = _locked_queue(queue)
        merged = {**queue.tags, **tags}
        _validate_tags(merged)
        queue.tags = merged
        queue.save(update_fields=["tags", "modified_at"])
    queue_cache.forget(queue.name)


def untag_queue(queue, keys):
    if not keys:
        raise MissingParameter("The request must contain the parameter TagKeys.")
    with transaction.atomic():
        queue = _locked_queue(queue)
        queue.tags = {key: value for key, value in queue.tags.items() if key not in set(keys)}
        queue.save(update_fields=["tags", "modified_at"])
    queue_cache.forget(queue.name)


def list_queue_tags(queue):
    tags = Queue.objects.filter(pk=queue.pk).values_list("tags", flat=True).first()
    if tags is None:
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist()
    return dict(tags)


def list_dead_letter_source_queues(queue, max_results=None, next_token=None):
    """Queues whose RedrivePolicy names this queue, paged like ListQueues."""
    sources = Queue.objects.filter(dead_letter_queue=queue)
    return _page_by_name(sources, max_results, next_token)


def purge_queue(queue):
    """Delete every message in the queue; SQS allows one purge per queue a minute."""
    purge = start_purge(queue)
    while True:
        started = time.monotonic()
        if purge.step():
            return purge.deleted
        if connection.vendor == "sqlite":
            time.sleep(time.monotonic() - started)  # writers waiting for the lock get it


def start_purge(queue):
    """Begin a purge (one per queue a minute): fix which messages it deletes; return it, for
    its caller to run `step()` until done.

    The AWS endpoint runs each step as its own piece of work on the process's one database
    thread, so other requests run between the steps of a purge of millions, and answers only
    once every step ran: the purge still looks atomic to its caller.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_queue(queue)
        if locked.purged_at and (now - locked.purged_at).total_seconds() < PURGE_INTERVAL_SECONDS:
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
            )
        locked.purged_at = now
        locked.save(update_fields=["purged_at"])
        # SQS deletes the messages sent before the call: ids are handed out in order, so those
        # sent from here on have higher ones and stay.
        horizon = Message.objects.aggregate(top=Max("id"))["top"]
    return Purge(queue.id, horizon, done=horizon is None)


def start_emptying(queue):
    """A Purge of every message the queue holds now, without PurgeQueue's once a minute: what
    DeleteQueue runs in steps before deleting the queue."""
    return Purge(queue.id, Message.objects.aggregate(top=Max("id"))["top"])


# How long one step of a purge deletes for: what a request arriving meanwhile may wait.
PURGE_STEP_SECONDS = 0.1


@dataclass
class Purge:
    """A purge under way: the queue's messages with ids up to `horizon`, oldest first."""

    queue_id: int
    horizon: int | None
    after: tuple | None = None  # the (sent_at, id) the next batch starts after
    deleted: int = 0
    done: bool = False

    def step(self, seconds=PURGE_STEP_SECONDS):
        """Delete batches (each its own statement) for about `seconds`; return whether done."""
        deadline = time.monotonic() + seconds
        while not self.done:
            count, self.after = message_sql.delete_batch(
                self.queue_id, self.after, max_id=self.horizon
            )
            self.deleted += count
            self.done = self.after is None
            if time.monotonic() > deadline:
                break
        return self.done


def delete_messages_in_batches(queue_id, *, sent_before=None, max_id=None, deadline=None):
    """Delete a queue's messages (those sent at or before `sent_before`, with ids up to `max_id`)
    a batch per statement, oldest first; return how many, or stop early past `deadline`.

    Each batch commits on its own. On SQLite the loop then pauses as long as the batch took, so
    writers waiting for the one write lock (a send to another queue) get it between batches
    instead of waiting out the whole delete; PostgreSQL locks only the rows deleted.
    """
    deleted, after = 0, None
    while True:
        started = time.monotonic()
        count, after = message_sql.delete_batch(
            queue_id, after, sent_before=sent_before, max_id=max_id
        )
        deleted += count
        if after is None or (deadline is not None and time.monotonic() > deadline):
            return deleted
        if connection.vendor == "sqlite":
            time.sleep(time.monotonic() - started)


# Sending -------------------------------------------------------------------------------------


@dataclass
class SendEntry:
    """One message to send, as SendMessage or one SendMessageBatch entry gives it."""

    body: str
    id: str = ""
    delay_seconds: int | None = None
    message_attributes: dict = field(default_factory=dict)
    system_attributes: dict = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None


def retention_cutoff(queue, now):
    return now - queue.message_retention_period * 1000


def _max_message_size(queue):
    return min(queue.maximum_message_size, settings.ROOST_MAX_MESSAGE_SIZE)


def _prepare(queue, entry, now, sender_id):
    """Validate one entry and return its insert row, its size and its response fields."""
    if entry.body is None or entry.body == "":
        raise MissingParameter("The request must contain the parameter MessageBody.")
    validate_body(entry.body)
    size = len(entry.body.encode())
    if entry.message_attributes:
        size += validate_message_attributes(entry.message_attributes)
    if entry.system_attributes:
        validate_system_attributes(entry.system_attributes)
    limit = _max_message_size(queue)
    if size > limit:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    if queue.is_fifo:
        if entry.delay_seconds is not None:
            raise InvalidParameterValue(
                f"Value {entry.delay_seconds} for parameter DelaySeconds is invalid. Reason: The "
                "request include parameter that is not valid for this queue type."
            )
        if not entry.group_id:
            raise MissingParameter("The request must contain the parameter MessageGroupId.")
        if not entry.deduplication_id and not queue.content_based_deduplication:
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        _validate_fifo_id("MessageGroupId", entry.group_id)
        if entry.deduplication_id:
            _validate_fifo_id("MessageDeduplicationId", entry.deduplication_id)
        delay = queue.delay_seconds
    else:
        if entry.deduplication_id:
            raise InvalidParameterValue(
                f"Value {entry.deduplication_id} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request include parameter that is not valid for this queue type."
            )
        if entry.group_id:
            _validate_fifo_id("MessageGroupId", entry.group_id)
        delay = queue.delay_seconds if entry.delay_seconds is None else entry.delay_seconds
        if not 0 <= delay <= 900:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must "
                "be >= 0 and <= 900."
            )
    body_md5 = md5_of_body(entry.body)
    attributes_md5 = md5_of_message_attributes(entry.message_attributes)
    system_md5 = md5_of_message_attributes(entry.system_attributes)
    message_id = str(uuid.uuid4())
    row = [
        queue.id,
        message_id,
        entry.body,
        encode_attributes(entry.message_attributes),
        encode_attributes(entry.system_attributes),
        body_md5,
        attributes_md5,
        system_md5,
        now,
        now + delay * 1000,
        sender_id,
        entry.group_id or "",
        entry.deduplication_id or "",
    ]
    result = {"MessageId": message_id, "MD5OfMessageBody": body_md5}
    if attributes_md5:
        result["MD5OfMessageAttributes"] = attributes_md5
    if system_md5:
        result["MD5OfMessageSystemAttributes"] = system_md5
    return row, size, result


def _validate_fifo_id(name, value):
    if len(value) > 128 or not re.fullmatch(r"[!-~]+", value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {name} is invalid. Reason: {name} can only include "
            "alphanumeric and punctuation characters. 1 to 128 in length."
        )


def _deduplication_key(queue, entry):
    dedup_id = entry.deduplication_id or hashlib.sha256(entry.body.encode()).hexdigest()
    if queue.deduplication_scope == "messageGroup":
        # Group ids are printable ASCII without spaces, so a space separates unambiguously (and
        # PostgreSQL text cannot hold the NUL byte a separator might otherwise be).
        return f"{entry.group_id} {dedup_id}"
    return dedup_id


def _send_fifo(queue, row, entry, result, now):
    """Insert a FIFO message unless its de-duplication key was seen in the last five minutes."""
    key = _deduplication_key(queue, entry)
    if not entry.deduplication_id:
        row[12] = key.rsplit(" ", 1)[-1]
    seen = DeduplicationRecord.objects.filter(queue=queue, key=key, expires_at__gt=now).first()
    if seen is not None:
        result["MessageId"] = seen.message_id
        result["SequenceNumber"] = seen.sequence_number
        return False
    pk = message_sql.insert_message_returning_pk(row)
    sequence_number = str(10**19 + pk)
    DeduplicationRecord.objects.update_or_create(
        queue=queue,
        key=key,
        defaults={
            "message_id": result["MessageId"],
            "sequence_number": sequence_number,
            "expires_at": now + DEDUPLICATION_WINDOW_MS,
        },
    )
    result["SequenceNumber"] = sequence_number
    return True


def send_message(queue, entry, sender_id=""):
    """Send one message; return SendMessage's result fields."""
    results, failures = send_messages(queue, [entry], sender_id=sender_id, batch=False)
    return results[0]


def send_messages(queue, entries, sender_id="", batch=True):
    """Send a batch: return (successful results with Id, failures as (id, error)).

    Request-level faults (no entries, too many, bad or repeated ids, too long in total) raise; an
    invalid entry fails alone, as SQS answers SendMessageBatch.
    """
    if batch:
        _check_batch_ids([entry.id for entry in entries])
    now = now_ms()
    prepared, failures = [], []
    total = 0
    for entry in entries:
        try:
            row, size, result = _prepare(queue, entry, now, sender_id)
        except RoostError as error:
            if not batch:
                raise
            failures.append((entry.id, error))
            continue
        total += size
        prepared.append((entry, row, result))
    if batch and total > settings.ROOST_MAX_MESSAGE_SIZE:
        raise BatchRequestTooLong(
            f"Batch requests cannot be longer than {settings.ROOST_MAX_MESSAGE_SIZE} bytes. You "
            f"have sent {total} bytes."
        )
    if not prepared:
        return [], failures
    try:
        if queue.is_fifo:
            with transaction.atomic():
                message_sql.lock_fifo_queue(queue.id)
                for entry, row, result in prepared:
                    _send_fifo(queue, row, entry, result, now)
        else:
            message_sql.insert_messages([row for _, row, _ in prepared])
    except IntegrityError:
        # The queue was deleted after we looked it up.
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist() from None
    _messages_arrived(queue.id)
    activity.count(queue.id, sent=len(prepared))
    results = []
    for entry, _row, result in prepared:
        if batch:
            result = {"Id": entry.id, **result}
        results.append(result)
    return results, failures


def _check_batch_ids(ids):
    if not ids:
        raise EmptyBatchRequest()
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent "
            f"{len(ids)}."
        )
    for entry_id in ids:
        if not entry_id or not BATCH_ENTRY_ID.match(entry_id):
            raise InvalidBatchEntryId()
    if len(set(ids)) != len(ids):
        duplicate = next(entry_id for entry_id in ids if ids.count(entry_id) > 1)
        raise BatchEntryIdsNotDistinct(f"Id {duplicate} repeated.")


# Receiving -----------------------------------------------------------------------------------


def _wanted_system_attributes(names):
    """The message system attributes to return; queue attribute names are accepted and ignored
    (ReceiveMessage's legacy AttributeNames takes them)."""
    names = set(names or ())
    if "All" in names:
        return set(SYSTEM_ATTRIBUTE_NAMES)
    for name in names:
        if name not in SYSTEM_ATTRIBUTE_NAMES and name not in queue_attributes.ALL_NAMES:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    return names


def _attribute_filter(names):
    """A predicate for MessageAttributeNames: All, .*, prefix.*, or exact names."""
    names = list(names or ())
    if not names:
        return None
    if "All" in names or ".*" in names:
        return True
    exact = {name for name in names if not name.endswith(".*")}
    prefixes = tuple(name[:-1] for name in names if name.endswith(".*"))
    return lambda name: name in exact or (prefixes and name.startswith(prefixes))


def long_poll_seconds(queue, wait_seconds=None):
    """How long a receive may wait: the request's WaitTimeSeconds, else the queue's default."""
    if wait_seconds is None:
        return queue.receive_message_wait_time_seconds
    if not 0 <= wait_seconds <= 20:
        raise InvalidParameterValue(
            f"Value {wait_seconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
            "and <= 20, if provided."
        )
    return wait_seconds


def receive_messages(
    queue,
    max_number=1,
    visibility_timeout=None,
    system_attribute_names=(),
    message_attribute_names=(),
    attempt_id=None,
):
    """Claim up to max_number visible messages; return them as SQS's Message structures.

    On a FIFO queue, `attempt_id` (ReceiveRequestAttemptId) makes a retry within five minutes
    return the same messages with the same receipt handles, while this receive still holds them
    untouched; standard queues ignore it, as SQS does.
    """
    if attempt_id is not None:
        _validate_fifo_id("ReceiveRequestAttemptId", attempt_id)
    if max_number is None:
        max_number = 1
    if not 1 <= max_number <= 10:
        raise InvalidParameterValue(
            f"Value {max_number} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            "between 1 and 10, if provided."
        )
    if visibility_timeout is None:
        visibility_timeout = queue.visibility_timeout
    elif not 0 <= visibility_timeout <= 43_200:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Must "
            "be >= 0 and <= 43200, if provided."
        )
    wanted = _wanted_system_attributes(system_attribute_names)
    attribute_filter = _attribute_filter(message_attribute_names)

    now = now_ms()
    cutoff = retention_cutoff(queue, now)
    token = receipts.new_token(now)
    claim = {
        "fifo": queue.is_fifo,
        "queue_id": queue.id,
        "now": now,
        "visible_at": now + visibility_timeout * 1000,
        "retention_cutoff": cutoff,
        "limit": max_number,
        "token": token,
    }
    if queue.dead_letter_queue_id is None and not queue.is_fifo:
        rows = message_sql.claim(**claim)  # one statement: atomic without a transaction
    else:
        moved = 0
        with message_sql.write_transaction():
            if queue.is_fifo:
                message_sql.lock_fifo_queue(queue.id)
                retried = _retried_attempt(queue, attempt_id, claim) if attempt_id else None
                if retried:
                    rows, token = retried
                    claim["limit"] = 0  # the earlier receive's messages are the whole answer
            if claim["limit"] and queue.dead_letter_queue_id and queue.max_receive_count:
                moved = message_sql.move_exhausted_to_dead_letter(
                    fifo=queue.is_fifo,
                    queue_id=queue.id,
                    dead_letter_queue_id=queue.dead_letter_queue_id,
                    max_receive_count=queue.max_receive_count,
                    now=now,
                    retention_cutoff=cutoff,
                    limit=max_number,
                )
            if claim["limit"]:
                rows = message_sql.claim(**claim)
                if rows and queue.is_fifo and attempt_id is not None:
                    message_sql.save_receive_attempt(
                        queue_id=queue.id,
                        attempt_id=attempt_id,
                        token=token,
                        pks=[row[0] for row in rows],
                        visible_at=claim["visible_at"],
                        now=now,
                        expires_at=now + RECEIVE_ATTEMPT_WINDOW_MS,
                    )
        if moved:
            _messages_arrived(queue.dead_letter_queue_id)
    if rows:
        activity.count(queue.id, received=len(rows))
    source_arns = _dead_letter_source_arns(rows) if "DeadLetterQueueSourceArn" in wanted else {}
    return [_received(queue, row, token, wanted, attribute_filter, source_arns) for row in rows]


def _retried_attempt(queue, attempt_id, claim):
    """(rows, token) of an earlier receive with this attempt id, handed out again with its
    visibility timeout restarted; None if there is none or its messages have moved on."""
    found = message_sql.find_receive_attempt(queue.id, attempt_id, claim["now"])
    if found is None:
        return None
    token, pks, held_until, expires_at = found
    rows = message_sql.reclaim(
        queue_id=queue.id,
        pks=pks,
        token=token,
        held_until=held_until,
        now=claim["now"],
        visible_at=claim["visible_at"],
    )
    if rows is None:
        return None
    message_sql.save_receive_attempt(
        queue_id=queue.id,
        attempt_id=attempt_id,
        token=token,
        pks=pks,
        visible_at=claim["visible_at"],
        now=claim["now"],
        expires_at=expires_at,
    )
    return rows, token


def _dead_letter_source_arns(rows):
    """ARNs of the queues the dead-lettered rows came from, in one query."""
    ids = {row[14] for row in rows if row[14]}
    if not ids:
        return {}
    return {queue.pk: queue.arn for queue in Queue.objects.filter(pk__in=ids).only("name")}


def _received(queue, row, token, wanted, attribute_filter, source_arns):
    (
        pk,
        message_id,
        body,
        attributes,
        system_attributes,
        body_md5,
        attributes_md5,
        _system_md5,
        sent_at,
        receive_count,
        first_received_at,
        sender_id,
        group_id,
        deduplication_id,
        dead_letter_source_id,
    ) = row
    message = {
        "MessageId": message_id,
        "ReceiptHandle": receipts.make_handle(queue.id, pk, token),
        "MD5OfBody": body_md5,
        "Body": body,
    }
    if wanted:
        facts = {
            "SenderId": sender_id,
            "SentTimestamp": str(sent_at),
            "ApproximateReceiveCount": str(receive_count),
            "ApproximateFirstReceiveTimestamp": str(first_received_at),
        }
        if group_id:
            facts["MessageGroupId"] = group_id
        if queue.is_fifo:
            facts["MessageDeduplicationId"] = deduplication_id
            facts["SequenceNumber"] = str(10**19 + pk)
        if system_attributes:
            trace = decode_attributes(system_attributes).get("AWSTraceHeader")
            if trace:
                facts["AWSTraceHeader"] = trace["StringValue"]
        if dead_letter_source_id in source_arns:
            facts["DeadLetterQueueSourceArn"] = source_arns[dead_letter_source_id]
        message["Attributes"] = {name: value for name, value in facts.items() if name in wanted}
    if attribute_filter and attributes:
        decoded = decode_attributes(attributes)
        if attribute_filter is True:
            message["MessageAttributes"] = decoded
            message["MD5OfMessageAttributes"] = attributes_md5
        else:
            chosen = {name: value for name, value in decoded.items() if attribute_filter(name)}
            if chosen:
                message["MessageAttributes"] = chosen
                message["MD5OfMessageAttributes"] = md5_of_message_attributes(chosen)
    return message


# Deleting and changing visibility -----------------------------------------------------------


def delete_message(queue, receipt_handle):
    """Delete a received message; a stale handle succeeds without deleting, as in SQS."""
    if not receipt_handle:
        raise MissingParameter("The request must contain the parameter ReceiptHandle.")
    pk, token = receipts.parse_handle(receipt_handle, queue.id)
    message_sql.delete_received(queue.id, [(pk, token)])


def delete_messages(queue, entries):
    """Delete a batch of (id, receipt handle); return (ids deleted, failures as (id, error))."""
    _check_batch_ids([entry_id for entry_id, _ in entries])
    done, failures, receipts_to_delete = [], [], []
    for entry_id, handle in entries:
        try:
            if not handle:
                raise MissingParameter("The request must contain the parameter ReceiptHandle.")
            receipts_to_delete.append(receipts.parse_handle(handle, queue.id))
            done.append(entry_id)
        except (MissingParameter, ReceiptHandleIsInvalid) as error:
            failures.append((entry_id, error))
    message_sql.delete_received(queue.id, receipts_to_delete)
    return done, failures


# A received message stays hidden at most 12 hours from its receive, however often it is extended.
MAX_VISIBILITY_MS = 43_200_000


def _check_visibility_timeout(value):
    if value is None:
        raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
    if not 0 <= value <= 43_200:
        raise InvalidParameterValue(
            f"Value {value} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 "
            "and 43200."
        )


def change_message_visibility(queue, receipt_handle, visibility_timeout):
    """Make a received message visible again after visibility_timeout seconds from now."""
    if not receipt_handle:
        raise MissingParameter("The request must contain the parameter ReceiptHandle.")
    _check_visibility_timeout(visibility_timeout)
    pk, token = receipts.parse_handle(receipt_handle, queue.id)
    visible_at = now_ms() + visibility_timeout * 1000
    received_at = receipts.received_at(token)
    if received_at is not None and visible_at - received_at > MAX_VISIBILITY_MS:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]."
        )
    if not message_sql.change_visibility(queue.id, pk, token, visible_at):
        raise InvalidParameterValue(
            f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does "
            "not exist or is not available for visibility timeout change."
        )
    if visibility_timeout == 0:
        _messages_arrived(queue.id)


def change_message_visibilities(queue, entries):
    """Batch of (id, handle, timeout); return (ids changed, failures as (id, error))."""
    _check_batch_ids([entry[0] for entry in entries])
    done, failures = [], []
    with transaction.atomic():
        for entry_id, handle, timeout in entries:
            try:
                change_message_visibility(queue, handle, timeout)
                done.append(entry_id)
            except (MissingParameter, InvalidParameterValue, ReceiptHandleIsInvalid) as error:
                failures.append((entry_id, error))
    return done, failures


# Dead-letter redrive (message move tasks) ----------------------------------------------------


def _task_handle(task):
    raw = json.dumps({"taskId": task.pk, "sourceArn": task.source_queue.arn}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def start_message_move_task(source_arn, destination_arn=None, max_per_second=None):
    """Start moving a DLQ's messages back to their sources (or a chosen queue); return the task."""
    if not source_arn:
        raise MissingParameter("The request must contain the parameter SourceArn.")
    source = _queue_for_move(source_arn, "SourceArn")
    destination = _queue_for_move(destination_arn, "DestinationArn") if destination_arn else None
    if max_per_second is not None and not 1 <= max_per_second <= MAX_MOVE_RATE:
        raise InvalidParameterValue(
            f"Value {max_per_second} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: Must be between 1 and {MAX_MOVE_RATE}."
        )
    if not Queue.objects.filter(dead_letter_queue=source).exists():
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    if destination is not None and destination.pk == source.pk:
        raise InvalidParameterValue("Destination queue must not be the source queue.")
    if destination is not None and destination.is_fifo != source.is_fifo:
        raise InvalidParameterValue(
            "Destination queue must be of the same type (standard or FIFO) as the source queue."
        )
    now = now_ms()
    with transaction.atomic():
        # Both queues locked (in id order, so two starts cannot deadlock): one deleted
        # since it was looked up is answered as missing, not as a broken foreign key at commit.
        wanted = [source.pk] if destination is None else [source.pk, destination.pk]
        present = set(
            Queue.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if source.pk not in present:
            raise ResourceNotFoundException(
                f"Value {source_arn} for parameter SourceArn is invalid. Reason: The resource "
                "that you specified for the SourceArn parameter doesn't exist."
            )
        if destination is not None and destination.pk not in present:
            raise ResourceNotFoundException(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        if MessageMoveTask.objects.filter(
            source_queue=source,
            status__in=[MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING],
        ).exists():
            raise UnsupportedOperation(
                "There is already a task running. Only one active task is allowed for a source "
                "queue arn at a given time."
            )
        cutoff = retention_cutoff(source, now)
        messages = Message.objects.filter(queue=source, sent_at__gt=cutoff)
        task = MessageMoveTask.objects.create(
            task_handle=uuid.uuid4().hex,
            source_queue=source,
            destination_queue=destination,
            max_messages_per_second=max_per_second,
            approximate_number_of_messages_to_move=messages.count(),
            last_message_pk=messages.aggregate(top=Max("id"))["top"] or 0,
            started_at=now,
            heartbeat_at=now,
        )
        task.task_handle = _task_handle(task)
        task.save(update_fields=["task_handle"])
        from queues.tasks import run_message_move_task

        transaction.on_commit(lambda: run_message_move_task.delay(task.pk))
    return task


def _queue_for_move(arn, parameter):
    name = queue_name_from_arn(arn)
    queue = Queue.objects.filter(name=name).first() if name else None
    if queue is None:
        raise ResourceNotFoundException(
            f"Value {arn} for parameter {parameter} is invalid. Reason: The resource that you "
            "specified for the SourceArn parameter doesn't exist."
            if parameter == "SourceArn"
            else f"The resource that you specified for the {parameter} parameter doesn't exist."
        )
    return queue


def list_message_move_tasks(source_arn, max_results=1):
    if not source_arn:
        raise MissingParameter("The request must contain the parameter SourceArn.")
    source = _queue_for_move(source_arn, "SourceArn")
    if max_results is None:
        max_results = 1
    if not 1 <= max_results <= 10:
        raise InvalidParameterValue(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: Must be between 1 "
            "and 10."
        )
    return list(
        MessageMoveTask.objects.filter(source_queue=source).select_related(
            "source_queue", "destination_queue"
        )[:max_results]
    )


def cancel_message_move_task(task_handle):
    """Ask a running task to stop; return how many messages it had moved."""
    if not task_handle:
        raise MissingParameter("The request must contain the parameter TaskHandle.")
    task = MessageMoveTask.objects.filter(task_handle=task_handle).first()
    if task is None:
        raise ResourceNotFoundException("Task does not exist.")
    updated = MessageMoveTask.objects.filter(
        pk=task.pk, status=MessageMoveTask.Status.RUNNING
    ).update(status=MessageMoveTask.Status.CANCELLING)
    if not updated:
        raise UnsupportedOperation("Only active tasks can be cancelled.")
    task.refresh_from_db()
    return task


# Messages one step moves at most (a rated task: one second's worth, if fewer).
MOVE_BATCH = 1000
_ACTIVE = (MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING)


@dataclass
class NextMoveStep:
    """What the next step of a move task needs: its chain's stamp, where to go on, when."""

    # The heartbeat this step left: the next step runs only if it is still there, so one chain
    # of steps runs per task even when a resume started a second one.
    heartbeat: int
    # The (sent_at, id) of the last message moved: the next batch starts after it.
    after: list
    # Seconds to wait before the next step, to keep to MaxNumberOfMessagesPerSecond.
    countdown: float


def move_messages_step(task_id, heartbeat=None, after=None):
    """Move one batch of a task's messages; return the next step, or None if none is to run.

    `heartbeat` is the stamp the previous step of this chain left (None: take the task over, as
    a resume does). A chain that finds another stamp stops: the task was resumed elsewhere.
    """
    started = time.monotonic()
    task = MessageMoveTask.objects.filter(pk=task_id).first()
    if task is None or not task.is_active:
        return None
    if heartbeat is None:
        heartbeat = task.heartbeat_at
    now = max(now_ms(), heartbeat + 1)
    with transaction.atomic():
        # The claim comes first: its row lock (PostgreSQL) or the write lock (SQLite) keeps any
        # other step of this task waiting until this one commits, and then finding a new stamp.
        claimed = MessageMoveTask.objects.filter(
            pk=task_id, heartbeat_at=heartbeat, status__in=_ACTIVE
        ).update(heartbeat_at=now)
        if not claimed:
            return None
        task.refresh_from_db()
        if task.status == MessageMoveTask.Status.CANCELLING:
            _finish_task(task, MessageMoveTask.Status.CANCELLED)
            return None
        rate = task.max_messages_per_second
        messages = Message.objects.filter(
            queue_id=task.source_queue_id, id__lte=task.last_message_pk
        )
        if after:
            last_sent, last_id = after
            messages = messages.filter(
                Q(sent_at__gt=last_sent) | Q(sent_at=last_sent, id__gt=last_id),
                sent_at__gte=last_sent,
            )
        messages = list(
            messages.order_by("sent_at", "id").values_list(
                "id", "sent_at", "dead_letter_source_id"
            )[: min(MOVE_BATCH, rate or MOVE_BATCH)]
        )
        if not messages:
            _finish_task(task, MessageMoveTask.Status.COMPLETED)
            return None
        by_destination = {}
        for pk, _sent_at, dead_letter_source_id in messages:
            destination = task.destination_queue_id or dead_letter_source_id
            by_destination.setdefault(destination, []).append(pk)
        if None in by_destination:
            _finish_task(
                task,
                MessageMoveTask.Status.FAILED,
                "The source queue of a message no longer exists; choose a DestinationArn.",
            )
            return None
        live = set(Queue.objects.filter(pk__in=by_destination).values_list("pk", flat=True))
        if live != set(by_destination):
            _finish_task(
                task,
                MessageMoveTask.Status.FAILED,
                "The destination queue no longer exists.",
            )
            return None
        moved = 0
        for destination, ids in by_destination.items():
            moved += _redrive(ids, task.source_queue_id, destination, now)
        MessageMoveTask.objects.filter(pk=task.pk).update(
            approximate_number_of_messages_moved=F("approximate_number_of_messages_moved") + moved
        )
    countdown = len(messages) / rate - (time.monotonic() - started) if rate else 0.0
    last_pk, last_sent, _ = messages[-1]
    return NextMoveStep(heartbeat=now, after=[last_sent, last_pk], countdown=max(0.0, countdown))


def _redrive(ids, source_id, destination_id, now):
    """Move these messages of the source queue into the destination; return how many moved."""
    # A redriven message starts over: otherwise it would bounce straight back.
    moved = Message.objects.filter(id__in=ids, queue_id=source_id).update(
        queue_id=destination_id,
        receive_count=0,
        first_received_at=None,
        receive_token=0,
        visible_at=now,
        dead_letter_source=None,
    )
    cross_process.announce(destination_id)
    transaction.on_commit(lambda: notifier.signal(destination_id))
    return moved


def _finish_task(task, status, reason=""):
    MessageMoveTask.objects.filter(pk=task.pk).update(
        status=status, failure_reason=reason, finished_at=now_ms(), heartbeat_at=now_ms()
    )


def stalled_move_task_ids(stale_after_ms=60_000):
    """Running tasks whose worker stopped reporting (it died): the resume sweep restarts them."""
    cutoff = now_ms() - stale_after_ms
    return list(
        MessageMoveTask.objects.filter(
            status__in=[MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING],
            heartbeat_at__lt=cutoff,
        ).values_list("pk", flat=True)
    )


# Acting on chosen messages without a receipt (the console) ---------------------------------
#
# The console works on what peek showed: messages named by their database id (PeekedMessage.pk),
# which stays the same for a message's whole life, moves included, and is never reused. Looking
# messages up by it costs one primary-key probe each; the Message table keeps no MessageId index
# (every index costs each send).


def delete_message_by_id(queue, message_id):
    """Delete one message of the queue, whatever its state; return whether it was still there."""
    deleted, _ = Message.objects.filter(pk=message_id, queue_id=queue.id).delete()
    return deleted > 0


def redrive_messages(source, message_ids, destination=None):
    """Move chosen messages of a dead-letter queue back to their source queues (or destination).

    Like a move task, but now and for these messages only; expired or already-gone ones are
    skipped. Return how many moved.
    """
    message_ids = list(message_ids)
    if not message_ids:
        raise MissingParameter("Choose at least one message to move.")
    if not Queue.objects.filter(dead_letter_queue=source).exists():
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    if destination is not None and destination.pk == source.pk:
        raise InvalidParameterValue("Destination queue must not be the source queue.")
    if destination is not None and destination.is_fifo != source.is_fifo:
        raise InvalidParameterValue(
            "Destination queue must be of the same type (standard or FIFO) as the source queue."
        )
    now = now_ms()
    with transaction.atomic():
        messages = Message.objects.filter(
            queue_id=source.id, pk__in=message_ids, sent_at__gt=retention_cutoff(source, now)
        ).values_list("id", "dead_letter_source_id")
        by_destination = {}
        for pk, source_queue_id in messages:
            target = destination.pk if destination is not None else source_queue_id
            by_destination.setdefault(target, []).append(pk)
        if None in by_destination:
            raise InvalidParameterValue(
                f"{len(by_destination[None])} of the chosen messages no longer have a source "
                "queue; choose a destination queue for them."
            )
        live = set(Queue.objects.filter(pk__in=by_destination).values_list("pk", flat=True))
        if live != set(by_destination):
            raise QueueDoesNotExist()
        return sum(_redrive(ids, source.id, target, now) for target, ids in by_destination.items())


# Housekeeping --------------------------------------------------------------------------------


def sweep_expired_messages(deadline=None):
    """Delete messages past their queue's retention and lapsed de-duplication records, in
    batches; return (how many messages, whether it stopped at `deadline` with more to do)."""
    now = now_ms()
    deleted = 0
    for queue in Queue.objects.only("id", "message_retention_period"):
        deleted += delete_messages_in_batches(
            queue.id, sent_before=retention_cutoff(queue, now), deadline=deadline
        )
        if deadline is not None and time.monotonic() > deadline:
            return deleted, True
    lapsed = DeduplicationRecord.objects.filter(expires_at__lte=now)
    while ids := list(lapsed.values_list("pk", flat=True)[: message_sql.DELETE_BATCH]):
        DeduplicationRecord.objects.filter(pk__in=ids).delete()
    return deleted, False
