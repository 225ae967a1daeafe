"""SendMessage and SendMessageBatch: each entry's checks, FIFO de-duplication, the insert; and
the helpers receiving shares (batch ids, FIFO ids, retention, waking receivers)."""

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction

from aws_protocol.errors import RoostError
from queues import activity, cross_process, lineage, message_sql, metrics, notifier
from queues.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MissingParameter,
    QueueDoesNotExist,
    TooManyEntriesInBatchRequest,
)
from queues.md5 import md5_of_body, md5_of_message_attributes
from queues.message_attributes import (
    encode_attributes,
    validate_body,
    validate_message_attributes,
    validate_system_attributes,
)
from queues.models import DeduplicationRecord, now_ms
from queues.service.lookup import queue_cache

BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000
MAX_BATCH_ENTRIES = 10


def _messages_arrived(queue_id):
    """Wake receivers waiting on the queue, here and in other processes."""
    notifier.signal(queue_id)
    cross_process.announce(queue_id)


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
    # A topic's delivery: its `published` event, {"at", "key_id", ...details}, recorded with
    # the message's lineage before it is enqueued.
    published: dict | None = None


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
    message_id = new_message_id(now)
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


def new_message_id(now):
    """A MessageId: a UUID as SQS gives, but time-ordered (version 7: the time in ms first).

    Message lineage keeps an index on MessageIds, and ids that grow with time are added at its
    end instead of at random places all over it: a random UUID per message made each send,
    receive and delete write a page of that index for every message it recorded.
    """
    random = int.from_bytes(os.urandom(10))
    value = (now & 0xFFFF_FFFF_FFFF) << 80 | random
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC 4122 variant
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


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
                fresh = [
                    (entry, row)
                    for entry, row, result in prepared
                    if _send_fifo(queue, row, entry, result, now)
                ]
                _record_sent(queue, fresh, now)
        else:
            message_sql.insert_messages([row for _, row, _ in prepared])  # one statement
            _record_sent(queue, [(entry, row) for entry, row, _ in prepared], now)
    except IntegrityError:
        # The queue was deleted after we looked it up.
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist() from None
    _messages_arrived(queue.id)
    activity.count(queue.id, sent=len(prepared))
    # Once committed: a send inside a larger transaction (a Publish) may still be rolled back.
    transaction.on_commit(
        functools.partial(metrics.count, metrics.MESSAGES_SENT, queue.name, len(prepared))
    )
    results = []
    for entry, _row, result in prepared:
        if batch:
            result = {"Id": entry.id, **result}
        results.append(result)
    return results, failures


def _record_sent(queue, sent, now):
    """One `sent` event per message (after its `published` one, for a topic's), one INSERT."""
    if not sent or not lineage.enabled():
        return
    key_id, user = lineage.who()
    rows = []
    for entry, row in sent:
        message_id, visible_at = row[1], row[9]
        details = dict(user)
        if visible_at > now:
            details["delay_seconds"] = (visible_at - now) // 1000
        if entry.group_id:
            details["group_id"] = entry.group_id
        if entry.published:
            published = dict(entry.published)
            at, publisher = published.pop("at"), published.pop("key_id")
            rows.append((queue.id, message_id, at, "published", publisher, published))
            details["subscription_arn"] = published.get("subscription_arn", "")
        rows.append((queue.id, message_id, now, "sent", key_id, details))
    lineage.record_rows(rows)


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
