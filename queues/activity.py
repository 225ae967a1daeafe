"""How busy each queue is: sends and receives counted in memory, added to the database in bulk.

Counting costs a dict update on the hot path; every few seconds a process adds what it counted to
the (queue, minute) rows of QueueActivity in one upsert per queue. Counts still in memory when a
process dies are lost (a few seconds' worth): rates are for people to read, not for billing.
"""

import logging
import threading
import time
from collections import defaultdict

from django.db import DatabaseError, connection

from queues.models import QueueActivity, now_ms

logger = logging.getLogger("roost.activity")

FLUSH_SECONDS = 5.0
KEEP_MINUTES = 25 * 60  # the console charts the last hour; a day is kept for context

_lock = threading.Lock()
_counts = defaultdict(lambda: [0, 0])  # (queue_id, minute) -> [sent, received]
_last_flush = time.monotonic()

_UPSERT = (
    f"INSERT INTO {QueueActivity._meta.db_table} (queue_id, minute, sent, received) "
    "SELECT id, %s, %s, %s FROM queues_queue WHERE id = %s "
    "ON CONFLICT (queue_id, minute) DO UPDATE SET "
    f"sent = {QueueActivity._meta.db_table}.sent + excluded.sent, "
    f"received = {QueueActivity._meta.db_table}.received + excluded.received"
)


def current_minute(ms=None):
    return (ms or now_ms()) // 60_000


def count(queue_id, sent=0, received=0):
    """Note sends/receives on a queue; flush now and then, outside any transaction."""
    key = (queue_id, current_minute())
    with _lock:
        totals = _counts[key]
        totals[0] += sent
        totals[1] += received
    if time.monotonic() - _last_flush >= FLUSH_SECONDS and not connection.in_atomic_block:
        flush()


def flush():
    """Add what this process counted to the database (each row upsert is its own statement)."""
    global _last_flush
    with _lock:
        pending = dict(_counts)
        _counts.clear()
        _last_flush = time.monotonic()
    if not pending:
        return
    try:
        with connection.cursor() as cursor:
            for (queue_id, minute), (sent, received) in pending.items():
                cursor.execute(_UPSERT, [minute, sent, received, queue_id])
    except DatabaseError:
        # A locked or lost database must not fail the send that happened to flush.
        logger.warning("could not record queue activity; %d rows dropped", len(pending))


def record_depths(depths, minute=None):
    """Store sampled depths {queue_id: (visible, in_flight, delayed)} in this minute's rows."""
    minute = minute or current_minute()
    rows = [
        QueueActivity(
            queue_id=queue_id, minute=minute, visible=visible, in_flight=in_flight, delayed=delayed
        )
        for queue_id, (visible, in_flight, delayed) in depths.items()
    ]
    QueueActivity.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["queue", "minute"],
        update_fields=["visible", "in_flight", "delayed"],
    )


def rates(queue_ids):
    """{queue_id: (sent, received)} over roughly the last minute.

    The current minute's counts plus the previous minute's, weighted by how much of it still
    falls in the last sixty seconds.
    """
    now = now_ms()
    minute = current_minute(now)
    share_of_previous = 1 - (now % 60_000) / 60_000
    result = {}
    rows = QueueActivity.objects.filter(
        queue_id__in=list(queue_ids), minute__gte=minute - 1
    ).values_list("queue_id", "minute", "sent", "received")
    for queue_id, row_minute, sent, received in rows:
        weight = 1.0 if row_minute == minute else share_of_previous
        before = result.get(queue_id, (0.0, 0.0))
        result[queue_id] = (before[0] + sent * weight, before[1] + received * weight)
    return {
        queue_id: (round(sent), round(received)) for queue_id, (sent, received) in result.items()
    }


def history(queue_id, minutes=60):
    """The last `minutes` rows of one queue, oldest first (minutes without activity are absent)."""
    first = current_minute() - minutes + 1
    return list(
        QueueActivity.objects.filter(queue_id=queue_id, minute__gte=first).order_by("minute")
    )


def prune():
    QueueActivity.objects.filter(minute__lt=current_minute() - KEEP_MINUTES).delete()
