"""Browse a queue's messages without receiving them (REST peek, the console, LocalStack's endpoint).

Nothing about a message changes: no receive count, visibility or receipt handle moves. Pages walk
the (queue, sent_at) index that the retention sweep also uses, in (sent_at, id) order, so the
first page and the ten-thousandth cost the same on a million-message queue; the cursor is the
last message's (sent_at, id). The Message table keeps no (queue, id) index on purpose (every
index costs each send), which is why pages are not ordered by id alone.
"""

import base64
import json
from dataclasses import dataclass

from django.db.models import Q, Value
from django.db.models.functions import StrIndex

from queues.errors import InvalidParameterValue
from queues.message_attributes import decode_attributes
from queues.models import Message, Queue, now_ms
from queues.service.queues import queue_depths
from queues.service.sending import retention_cutoff

STATES = ("visible", "in_flight", "delayed")
MAX_LIMIT = 1000

_FIELDS = (
    "id",
    "message_id",
    "body",
    "md5_of_body",
    "attributes",
    "md5_of_attributes",
    "system_attributes",
    "sent_at",
    "visible_at",
    "receive_count",
    "first_received_at",
    "sender_id",
    "group_id",
    "deduplication_id",
    "dead_letter_source_id",
)


@dataclass(frozen=True)
class PeekedMessage:
    """One message as it stands; times are milliseconds since the epoch, like SQS's."""

    pk: int
    message_id: str
    body: str
    md5_of_body: str
    attributes: dict  # decoded: {"name": {"DataType": ..., "StringValue"|"BinaryValue": ...}}
    md5_of_attributes: str
    trace_header: str
    sent_at: int
    visible_at: int
    receive_count: int
    first_received_at: int | None
    sender_id: str
    group_id: str
    deduplication_id: str
    sequence_number: str  # FIFO queues only, else ""
    dead_letter_source_queue: str | None  # the queue it was dead-lettered from
    state: str  # one of STATES

    @property
    def cursor(self):
        return f"{self.sent_at}_{self.pk}"


def message_state(visible_at, receive_count, now):
    """Visible, in flight (received, not yet visible again) or delayed (never received yet)."""
    if visible_at <= now:
        return "visible"
    return "in_flight" if receive_count else "delayed"


def peek_messages(queue, *, cursor=None, limit=50, **filters):
    """Return (messages, next cursor or None): one page of the queue's unexpired messages.

    `filters` are those of `matching`.
    """
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterValue(
            f"Value {limit} for parameter limit is invalid. Reason: Must be between 1 and "
            f"{MAX_LIMIT}."
        )
    now = now_ms()
    messages, checks = matching(queue, now, **filters)
    messages = messages.order_by("sent_at", "id").values(*_FIELDS)

    found = _collect(messages, oldest_kept(queue, now), _parse_cursor(cursor), limit, checks)
    page = found[:limit]
    sources = _source_names(page)
    peeked = [_peeked(queue, row, now, sources) for row in page]
    next_cursor = peeked[-1].cursor if len(found) > limit else None
    return peeked, next_cursor


def oldest_kept(queue, now):
    """The send time (ms) of the oldest message not yet past the queue's retention."""
    return retention_cutoff(queue, now) + 1


def matching(
    queue,
    now,
    *,
    states=STATES,
    body_contains=None,
    attribute=None,
    min_receive_count=None,
    older_than_seconds=None,
    group_id=None,
):
    """(queryset, checks): the queue's messages the filters narrow to, and the checks in Python
    each row (with its "attributes") must also pass. Expired messages are not excluded here.

    `attribute` is a message attribute name, or `name=value` to match its string (or base64)
    value too; `body_contains` is a case-sensitive substring.
    """
    states = set(states or STATES)
    unknown = states - set(STATES)
    if unknown:
        raise InvalidParameterValue(
            f"Value {sorted(unknown)[0]} for parameter state is invalid. Reason: Must be one of "
            f"{', '.join(STATES)}."
        )
    for name, value in (
        ("min_receive_count", min_receive_count),
        ("older_than_seconds", older_than_seconds),
    ):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidParameterValue(
                f"Value {value} for parameter {name} is invalid. Reason: Must be 0 or more."
            )

    messages = Message.objects.filter(queue_id=queue.id)
    if states != set(STATES):
        messages = messages.filter(_states_condition(states, now))
    if min_receive_count:
        messages = messages.filter(receive_count__gte=min_receive_count)
    if older_than_seconds is not None:
        messages = messages.filter(sent_at__lte=now - older_than_seconds * 1000)
    if group_id:
        messages = messages.filter(group_id=group_id)
    checks = []
    if body_contains:
        # INSTR / STRPOS: case-sensitive on both databases, where SQLite's LIKE ignores case.
        messages = messages.annotate(body_at=StrIndex("body", Value(body_contains))).filter(
            body_at__gt=0
        )
    if attribute:
        name, has_value, value = attribute.partition("=")
        messages = messages.filter(attributes__contains=json.dumps(name, ensure_ascii=False))
        if has_value:
            messages = messages.filter(attributes__contains=json.dumps(value, ensure_ascii=False))
        checks.append(lambda row: _has_attribute(row, name, value if has_value else None))
    return messages, checks


_NARROWING = ("body_contains", "attribute", "min_receive_count", "older_than_seconds", "group_id")

# Counting a filtered queue stops here, so a count costs at most this many rows.
COUNT_CAP = 10_000
# Rows the attribute filter's Python check reads at most while counting.
COUNT_SCAN_LIMIT = 50_000


@dataclass(frozen=True)
class MessageCount:
    """How many messages match: `number` exactly, or, when `exact` is false, at least that many
    (`capped`: counting stopped at COUNT_CAP)."""

    number: int
    exact: bool = True
    capped: bool = False


def count_messages(queue, depth=None, **filters):
    """How many of the queue's unexpired messages match the filters (those of `matching`).

    Without filters, or by state alone, the depth counts give it from the receive claim's index
    (queues.service.queue_depths, or `depth`, the (visible, in flight, delayed) the caller read
    already), whatever the queue's size. Other filters count at most COUNT_CAP matches, so a
    count never reads more than a page of that many rows would.
    """
    now = now_ms()
    messages, checks = matching(queue, now, **filters)
    states = set(filters.get("states") or STATES)
    if not any(filters.get(name) not in (None, "") for name in _NARROWING):
        if depth is None:
            depth = queue_depths([queue.id]).get(queue.id, (0, 0, 0, None))[:3]
        visible, in_flight, delayed = depth
        by_state = {"visible": visible, "in_flight": in_flight, "delayed": delayed}
        return MessageCount(sum(by_state[state] for state in states))
    messages = messages.filter(sent_at__gte=oldest_kept(queue, now))
    if not checks:
        found = messages.order_by().values("id")[: COUNT_CAP + 1].count()
        if found > COUNT_CAP:
            return MessageCount(COUNT_CAP, exact=False, capped=True)
        return MessageCount(found)
    found = scanned = 0
    for row in messages.order_by().values("attributes")[:COUNT_SCAN_LIMIT].iterator(1000):
        scanned += 1
        if all(check(row) for check in checks):
            found += 1
            if found > COUNT_CAP:
                return MessageCount(COUNT_CAP, exact=False, capped=True)
    return MessageCount(found, exact=scanned < COUNT_SCAN_LIMIT)


def find_message(queue, message_id, pk=None):
    """The queue's unexpired message with this MessageId, as a PeekedMessage, or None.

    With `pk` (the database id the explorer links with) it is one primary-key probe; without
    it the lookup reads through the queue's messages, as the table keeps no MessageId index.
    """
    now = now_ms()
    messages = Message.objects.filter(
        queue_id=queue.id, message_id=message_id, sent_at__gte=oldest_kept(queue, now)
    ).order_by()
    rows = list(messages.filter(pk=pk).values(*_FIELDS)) if pk is not None else []
    rows = rows or list(messages.values(*_FIELDS)[:1])
    if not rows:
        return None
    return _peeked(queue, rows[0], now, _source_names(rows))


def _states_condition(states, now):
    conditions = {
        "visible": Q(visible_at__lte=now),
        "in_flight": Q(visible_at__gt=now, receive_count__gt=0),
        "delayed": Q(visible_at__gt=now, receive_count=0),
    }
    condition = Q()
    for state in states:
        condition |= conditions[state]
    return condition


def _parse_cursor(cursor):
    if cursor is None or cursor == "":
        return None
    sent_at, _, pk = str(cursor).partition("_")
    try:
        return int(sent_at), int(pk)
    except ValueError:
        raise InvalidParameterValue(f"The cursor {cursor!r} is not valid.") from None


def after(messages, oldest, position):
    """Messages sent since `oldest` and after `position`, as one lower bound on sent_at.

    One bound, not two: given both `sent_at > cutoff` and `sent_at >= cursor`, SQLite seeks by
    the first and scans every earlier page again.
    """
    if position is None or position[0] < oldest:
        return messages.filter(sent_at__gte=oldest)
    sent_at, pk = position
    return messages.filter(Q(sent_at__gt=sent_at) | Q(id__gt=pk), sent_at__gte=sent_at)


def _collect(messages, oldest, position, limit, checks):
    """Up to limit + 1 rows passing the checks (the extra one says whether more follow)."""
    found = []
    while True:
        rows = list(after(messages, oldest, position)[: limit + 1])
        for row in rows:
            if all(check(row) for check in checks):
                found.append(row)
                if len(found) > limit:
                    return found
        if len(rows) <= limit:
            return found
        position = rows[-1]["sent_at"], rows[-1]["id"]


def _has_attribute(row, name, value):
    attributes = decode_attributes(row["attributes"])
    if name not in attributes:
        return False
    return value is None or _attribute_text(attributes[name]) == value


def _attribute_text(attribute):
    """An attribute's value as text: its string value, or its binary value in base64."""
    if attribute.get("StringValue") is not None:
        return attribute["StringValue"]
    return base64.b64encode(attribute.get("BinaryValue", b"")).decode("ascii")


def _source_names(rows):
    ids = {row["dead_letter_source_id"] for row in rows if row["dead_letter_source_id"]}
    if not ids:
        return {}
    return dict(Queue.objects.filter(pk__in=ids).values_list("pk", "name"))


def _peeked(queue, row, now, sources):
    system = decode_attributes(row["system_attributes"])
    trace = system.get("AWSTraceHeader", {}).get("StringValue", "")
    return PeekedMessage(
        pk=row["id"],
        message_id=row["message_id"],
        body=row["body"],
        md5_of_body=row["md5_of_body"],
        attributes=decode_attributes(row["attributes"]),
        md5_of_attributes=row["md5_of_attributes"],
        trace_header=trace,
        sent_at=row["sent_at"],
        visible_at=row["visible_at"],
        receive_count=row["receive_count"],
        first_received_at=row["first_received_at"],
        sender_id=row["sender_id"],
        group_id=row["group_id"],
        deduplication_id=row["deduplication_id"],
        sequence_number=Message(pk=row["id"]).sequence_number if queue.is_fifo else "",
        dead_letter_source_queue=sources.get(row["dead_letter_source_id"]),
        state=message_state(row["visible_at"], row["receive_count"], now),
    )
