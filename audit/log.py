"""Recording actions in the audit log and reading it back."""

import base64
import binascii
from datetime import UTC, datetime

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEntry
from aws_protocol import actor


def record(action, resource_type, resource, **details):
    """Log `action` on a resource as done by the current actor; part of the caller's transaction.

    Called inside the transaction that makes the change, so the log never claims an action that
    was rolled back, nor misses one that committed.
    """
    who = actor.current()
    return AuditEntry.objects.create(
        at=timezone.now(),
        door=who.door,
        key_id=who.key_id or "",
        username=who.username or "",
        action=action,
        resource_type=resource_type,
        resource=resource,
        details=details,
    )


def add_details(entry_id, **details):
    """Add to an entry's details what was known only once the action finished (a purge's count)."""
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is not None:
        entry.details = {**entry.details, **details}
        entry.save(update_fields=["details"])


MAX_PAGE = 1000
DEFAULT_PAGE = 100


class BadFilter(ValueError):
    """A filter or cursor the log cannot be read with (the doors answer 400)."""


def _encode_cursor(entry):
    text = f"{entry.at.isoformat()}|{entry.pk}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = text.rsplit("|", 1)
        at = datetime.fromisoformat(at)
        return at, int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadFilter("cursor: not a cursor this log gave.") from None


def parse_time(name, value):
    """An ISO 8601 date or date-time (UTC unless it says), or BadFilter naming the filter."""
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadFilter(f"{name}: give an ISO 8601 time, e.g. 2026-01-31T12:00:00Z.") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    # In UTC: databases refuse some offsets Python allows (PostgreSQL's end at ±15:59).
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadFilter(f"{name}: {value} is out of the range of dates.") from None


def search(
    *,
    queue=None,
    topic=None,
    actor=None,
    action=None,
    door=None,
    since=None,
    until=None,
    cursor=None,
    limit=DEFAULT_PAGE,
):
    """A page of entries, newest first, and the cursor of the next page (None at the end).

    Filters: `queue` / `topic` (the entries about that queue or topic; a topic's include its
    subscriptions'), `actor` (an access key id or a console user name), `action`, `door`,
    `since` / `until` (datetimes, `until` exclusive). Each filter is one of the table's indexes
    walked newest first; the page ends after `limit` entries.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadFilter(f"limit: between 1 and {MAX_PAGE}.")
    entries = AuditEntry.objects.all()
    if queue:
        entries = entries.filter(resource_type="queue", resource=queue)
    if topic:
        entries = entries.filter(
            Q(resource_type="topic", resource=topic)
            | Q(resource_type="subscription", details__topic=topic)
        )
    if actor:
        entries = entries.filter(Q(key_id=actor) | Q(username=actor))
    if action:
        entries = entries.filter(action=action)
    if door:
        entries = entries.filter(door=door)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    if cursor:
        at, pk = _decode_cursor(cursor)
        entries = entries.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    page = list(entries.order_by("-at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (_encode_cursor(page[-1]) if more else None)
