"""A message's life after sending: ReceiveMessage (with dead-lettering on the way and FIFO
receive-attempt retries), DeleteMessage(Batch) and ChangeMessageVisibility(Batch)."""

from django.db import transaction

from queues import activity, lineage, message_sql, metrics, queue_attributes, receipts
from queues.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    MissingParameter,
    ReceiptHandleIsInvalid,
)
from queues.md5 import md5_of_message_attributes
from queues.message_attributes import decode_attributes
from queues.models import Queue, now_ms
from queues.service.sending import (
    _check_batch_ids,
    _messages_arrived,
    _validate_fifo_id,
    retention_cutoff,
)

# How long a FIFO receive's ReceiveRequestAttemptId can be retried.
RECEIVE_ATTEMPT_WINDOW_MS = 5 * 60 * 1000

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
    recording = lineage.enabled()
    if queue.dead_letter_queue_id is None and not queue.is_fifo:
        rows = message_sql.claim(**claim)  # one statement: atomic without a transaction
        if recording:
            _record_receive(queue, [], rows, now, visibility_timeout)
    else:
        moved = []
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
            if recording:
                _record_receive(queue, moved, rows, now, visibility_timeout)
        if moved:
            _messages_arrived(queue.dead_letter_queue_id)
            metrics.count(metrics.MESSAGES_DEAD_LETTERED, queue.name, len(moved))
            activity.count(queue.dead_letter_queue_id, sent=len(moved))
            activity.count(queue.id, dead_lettered=len(moved))
    if rows:
        activity.count(queue.id, received=len(rows))
        metrics.count(metrics.MESSAGES_RECEIVED, queue.name, len(rows))
    source_arns = _dead_letter_source_arns(rows) if "DeadLetterQueueSourceArn" in wanted else {}
    return [_received(queue, row, token, wanted, attribute_filter, source_arns) for row in rows]


def _record_receive(queue, moved, rows, now, visibility_timeout):
    """Lineage of one receive: the messages it moved to the DLQ, then those it handed out."""
    if moved:
        reason = f"maxReceiveCount {queue.max_receive_count} exceeded"
        lineage.record_each(
            queue.dead_letter_queue_id,
            "dead_lettered",
            [
                (message_id, {"reason": reason, "receive_count": count, "from_queue": queue.name})
                for message_id, count in moved
            ],
            now,
        )
    if rows:
        first, later = [], []
        for row in rows:
            details = f'{{"receive_count":{row[9]},"visibility_timeout":{visibility_timeout}}}'
            (first if row[9] <= lineage.UNCOUNTED_RECEIVES else later).append((row[1], details))
        lineage.record_each(queue.id, "received", first, now, uncapped=True)
        lineage.record_each(queue.id, "received", later, now)


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
    deleted = _delete_received(queue, [(pk, token)])
    metrics.count(metrics.MESSAGES_DELETED, queue.name, deleted)
    activity.count(queue.id, deleted=deleted)


def _delete_received(queue, receipts_to_delete):
    """Delete by (pk, token), recording each deleted message's `deleted` event with how long it
    was held since its receive (the token's time); return how many were deleted."""
    if not lineage.enabled():
        return message_sql.delete_received(queue.id, receipts_to_delete)
    # One statement, atomic on its own; the events are written after it, in the background.
    gone = message_sql.delete_received(queue.id, receipts_to_delete, returning=True)
    now = now_ms()
    items = []
    for message_id, token in gone:
        received_at = receipts.received_at(token)
        items.append(
            (message_id, f'{{"held_ms":{now - received_at}}}' if received_at is not None else "")
        )
    lineage.record_each(queue.id, "deleted", items, now)
    return len(gone)


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
    deleted = _delete_received(queue, receipts_to_delete)
    metrics.count(metrics.MESSAGES_DELETED, queue.name, deleted)
    activity.count(queue.id, deleted=deleted)
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
    message_id = message_sql.change_visibility(queue.id, pk, token, visible_at)
    if message_id is None:
        raise InvalidParameterValue(
            f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message "
            "does not exist or is not available for visibility timeout change."
        )
    lineage.record(
        queue.id, message_id, "visibility_changed", visibility_timeout=visibility_timeout
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
