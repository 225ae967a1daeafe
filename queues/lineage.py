"""Message lineage: the steps of each message's life, recorded as they happen.

Services call these where the step happens. Inside a transaction (a FIFO send, a Publish, a
move) the events are written in it, one INSERT per call however many messages it covers; outside
one (a standard queue's send, receive, delete and visibility change, each a single statement) they
are handed to this process's writer thread, which writes them within a second, so the hot path
pays for a list append. The acting access key comes from `aws_protocol.actor`. Kinds: sent, received, visibility_changed, dead_lettered,
redriven, deleted, expired, purged, restored (and, for messages a topic delivered, published).

Each message keeps at most MAX_EVENTS events: past that, further receives and visibility changes
are dropped (the check is part of the INSERT), while the steps that change where a message is or
end it are always kept. Events go when their queue does, and otherwise by `prune_events` (a beat
task): a message's events once it has been gone for ROOST_LINEAGE_RETENTION_SECONDS, and any
event older than the longest retention a queue can have plus that window.
"""

import datetime
import json
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError
from django.db import connection as db_connection

from aws_protocol import actor
from queues import activity, message_sql
from queues.models import MessageEvent, Queue, now_ms

logger = logging.getLogger("roost.lineage")

MAX_EVENTS = 100
# A message's first receives (since it was sent or redriven) are recorded without counting its
# events: it cannot be near the cap from them, only from visibility changes, which are counted.
UNCOUNTED_RECEIVES = 10
# Steps that may repeat without bound in a message's life: the ones the cap drops.
CAPPED_KINDS = frozenset({"received", "visibility_changed"})
# Steps after which the message is gone from every queue (a purge or delete may be undone:
# `restored` then follows, and the message's events stay while it lives).
ENDING_KINDS = ("deleted", "expired", "purged")
# The longest MessageRetentionPeriod SQS allows: no message outlives it.
MAX_RETENTION_MS = 1_209_600 * 1000
PRUNE_BATCH = 1000
INSERT_BATCH = 100  # rows a statement: well under SQLite's limit on parameters


def enabled():
    return settings.ROOST_LINEAGE


# One encoder for every event: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _details_text(details):
    return _encode(details) if details else ""


def record(queue_id, message_id, kind, at=None, **details):
    """Record one step of one message."""
    record_many(queue_id, kind, [message_id], at, **details)


def who():
    """(access key id, details naming the console user, if it is one) of the actor now."""
    acting = actor.current()
    if acting.username and not acting.key_id:
        return "", {"user": acting.username}
    return acting.key_id or "", {}


def record_many(queue_id, kind, message_ids, at=None, **details):
    """Record the same step, with the same details, for several messages of one queue."""
    if not message_ids or not enabled():
        return
    key_id, user = who()
    at = now_ms() if at is None else at
    text = _details_text({**user, **details})
    _insert([(queue_id, message_id, at, kind, key_id, text) for message_id in message_ids], kind)


def record_each(queue_id, kind, items, at=None, uncapped=False):
    """Record one step for several messages, each with its own details: [(message_id, {...})].

    Details may also be given as a JSON object's text (the hot path's receives and deletes,
    which format their two numbers cheaper than an encoder does). `uncapped`: the caller knows
    these messages are far from the cap (a message's first receives), so the INSERT skips the
    count.
    """
    if not items or not enabled():
        return
    key_id, user = who()
    at = now_ms() if at is None else at
    _insert(
        [
            (queue_id, message_id, at, kind, key_id, _with_user(details, user))
            for message_id, details in items
        ],
        None if uncapped else kind,
    )


def _with_user(details, user):
    if isinstance(details, str):
        if not user:
            return details
        details = json.loads(details) if details else {}
    return _details_text({**user, **details})


def record_rows(rows):
    """Record prepared rows of (queue_id, message_id, at, kind, key_id, details dict), uncapped:
    for a step that is really two (a topic's message published, then enqueued)."""
    if rows and enabled():
        _insert([(*row[:5], _details_text(row[5])) for row in rows], "sent")


def _insert(rows, kind):
    """Write the rows as part of the caller's transaction, if it is in one (they then stand or
    fall with its change); else hand them to this process's writer thread. The hot path (a
    standard queue's send, receive, delete, visibility change) is one statement with no
    transaction around it, so it pays for a list append only."""
    capped = kind in CAPPED_KINDS
    if db_connection.in_atomic_block:
        for start in range(0, len(rows), INSERT_BATCH):
            chunk = rows[start : start + INSERT_BATCH]
            message_sql.insert_events(chunk, cap=MAX_EVENTS if capped else None)
    else:
        _writer.add(rows, capped)


class _EventWriter(activity.BackgroundWriter):
    """Lineage events kept in this process and written by a thread of its own.

    A request pays for a list append, not for an INSERT and its three index updates: the writer
    thread writes what every request recorded at most once a second, in multi-row statements on
    a connection of its own. Readers (`timeline`, the consumers' health) write what this process
    holds first, so a process always shows its own steps; other processes' show within a second.
    A process that is killed loses the events of its last second: lineage is for people to read,
    the messages themselves are never held here.
    """

    def add(self, rows, capped):
        counts = self.counts
        with counts.lock:
            counts.pending.setdefault(capped, []).extend(rows)
            self._start_writer(counts)
        counts.wake.set()

    def flush(self, counts=None, connection=None):
        """Write what is held (on `connection`, else this thread's own); return how many rows."""
        counts = counts or self.counts
        with counts.lock:
            pending, counts.pending = counts.pending, {}
        if not pending:
            return 0
        own = connection is None
        connection = activity.own_connection() if own else connection
        written = 0
        try:
            for capped, rows in pending.items():
                written += _write_rows(connection, rows, MAX_EVENTS if capped else None)
        except DatabaseError as error:
            logger.warning("could not record message lineage (%s); events dropped", error)
            if own:
                connection.close()  # a broken connection must go, or every later write fails
        if own and threading.current_thread() is not counts.thread:
            connection.close()
        return written


def _write_rows(connection, rows, cap):
    written = 0
    for start in range(0, len(rows), INSERT_BATCH):
        chunk = rows[start : start + INSERT_BATCH]
        try:
            message_sql.insert_events(chunk, cap=cap, connection=connection)
        except IntegrityError:
            # A queue was deleted since these steps: its events went with it, these go too.
            queue_ids = {row[0] for row in chunk}
            with connection.cursor() as cursor:
                marks = ", ".join(["%s"] * len(queue_ids))
                cursor.execute(
                    f"SELECT id FROM queues_queue WHERE id IN ({marks})", list(queue_ids)
                )
                alive = {row[0] for row in cursor.fetchall()}
            chunk = [row for row in chunk if row[0] in alive]
            if chunk:
                message_sql.insert_events(chunk, cap=cap, connection=connection)
        written += len(chunk)
    return written


_writer = _EventWriter("message lineage")


def flush():
    """Write the events this process holds, on the caller's connection (before reading them)."""
    return _writer.flush(connection=db_connection)


# Reading ----------------------------------------------------------------------------------------


def iso(ms):
    """Milliseconds since the epoch as ISO 8601 UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timeline(message_id, queue=None):
    """A message's events, oldest first, as dicts {type, at, at_ms, key_id, queue, ...details}.

    Across every queue the message went through (its id stays the same when it is moved), or
    only `queue`'s. At most MAX_EVENTS plus its uncapped steps: one walk of the message's index.
    """
    flush()
    events = MessageEvent.objects.filter(message_id=message_id).order_by("at", "id")
    if queue is not None:
        events = events.filter(queue_id=queue.id)
    rows = list(events.values_list("queue_id", "at", "kind", "key_id", "details")[:1000])
    names = dict(Queue.objects.filter(pk__in={row[0] for row in rows}).values_list("pk", "name"))
    result = []
    for queue_id, at, kind, key_id, details in rows:
        event = json.loads(details) if details else {}
        event.update(type=kind, at=iso(at), at_ms=at, key_id=key_id, queue=names.get(queue_id, ""))
        result.append(event)
    return result


# Pruning ----------------------------------------------------------------------------------------


def prune_events(deadline=None, now=None):
    """Delete the events past their window, a batch per statement; return (how many, whether it
    stopped at `deadline` with more to do).

    First, queue by queue along the (queue, at) index, the events of messages that ended
    (deleted, expired, purged) longer than the window ago and were not seen since (restored);
    then, oldest first in id order (ids are handed out in time order), any event older than the
    longest retention plus the window, which no message can still be alive for.
    """
    flush()
    now = now_ms() if now is None else now
    window = settings.ROOST_LINEAGE_RETENTION_SECONDS * 1000
    cutoff = now - window
    deleted = 0
    for queue_id in Queue.objects.values_list("pk", flat=True):
        deleted += _prune_ended(queue_id, cutoff)
        if deadline is not None and time.monotonic() > deadline:
            return deleted, True
    too_old = now - MAX_RETENTION_MS - window
    while True:
        rows = list(MessageEvent.objects.order_by("id").values_list("pk", "at")[:PRUNE_BATCH])
        old = [pk for pk, at in rows if at < too_old]
        if old:
            deleted += MessageEvent.objects.filter(pk__in=old).delete()[0]
        if len(old) < PRUNE_BATCH:
            return deleted, False
        if _pause_or_stop(deadline):
            return deleted, True


# How far back of the cutoff a prune looks for ended messages: three runs of the five-minute
# beat, so each ending is seen by at least one (one missed goes by the age rule).
ENDED_LOOKBACK_MS = 15 * 60 * 1000


def _prune_ended(queue_id, cutoff):
    """Delete the events of the queue's messages that ended in the lookback before `cutoff`."""
    deleted, after = 0, cutoff - ENDED_LOOKBACK_MS
    while True:
        rows = list(
            MessageEvent.objects.filter(
                queue_id=queue_id, at__gte=after, at__lt=cutoff, kind__in=ENDING_KINDS
            )
            .order_by("at")
            .values_list("message_id", "at")[:PRUNE_BATCH]
        )
        ids = list({message_id for message_id, _ in rows})
        if ids:
            seen_since = set(
                MessageEvent.objects.filter(message_id__in=ids, at__gte=cutoff).values_list(
                    "message_id", flat=True
                )
            )
            gone = [message_id for message_id in ids if message_id not in seen_since]
            if gone:
                deleted += MessageEvent.objects.filter(message_id__in=gone).delete()[0]
        if len(rows) < PRUNE_BATCH:
            return deleted
        # Past this batch's last instant (kept messages' events would come back otherwise).
        after = rows[-1][1] + 1


def _pause_or_stop(deadline):
    if deadline is not None and time.monotonic() > deadline:
        return True
    if db_connection.vendor == "sqlite":
        time.sleep(0.01)  # writers waiting for the one write lock get it between batches
    return False
