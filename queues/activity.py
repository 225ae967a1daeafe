"""How busy each queue is: messages sent, received and deleted, counted in every process.

Counting costs a dict update on the hot path, made once the caller's transaction commits. A
daemon thread of each process (started at its first count, afresh in a forked child) writes what
was counted at most once a second, on a database connection of its own, so no caller waits for it
or shares a transaction with it (nor Django's pool: a Celery pool child closes that after every
task, under the thread's feet): a few upserts of many rows each, into two tables. QueueActivity's
(queue, minute) rows are the chart's hour and are kept a day; RecentQueueActivity's (queue, five
seconds) rows make "per minute" mean the last minute, and are kept a few minutes. At exit (and when
a Celery pool child stops) the thread stops and what is left is written. A process that is killed
loses what it counted in its last second: rates are for people to read, not for billing.

What counts (docs/metrics.md): sent is every message that arrives in a queue (SendMessage, SNS
deliveries, dead-lettering into a DLQ, redrives and move tasks into their destination); received
is every message ReceiveMessage hands out; deleted is every message deleted by DeleteMessage or the
console, and every message a redrive or move task takes out of a queue. Purges and expiry are not
counted: the depth line shows them.
"""

import atexit
import functools
import logging
import os
import threading
import time
from collections import defaultdict
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.models import Sum
from django.db.utils import load_backend

from queues.models import QueueActivity, RecentQueueActivity, now_ms

logger = logging.getLogger("roost.activity")

FLUSH_SECONDS = 1.0
PERIOD_MS = 5_000
PERIODS_PER_MINUTE = 60_000 // PERIOD_MS
KEEP_MINUTES = 25 * 60  # the console charts the last hour; a day is kept for context
KEEP_RECENT_PERIODS = 3 * PERIODS_PER_MINUTE  # the last minute, and room for late flushes
ROWS_PER_STATEMENT = 500  # 2,500 parameters: far below SQLite's limit
ARRAY_ROWS_PER_STATEMENT = 5_000  # PostgreSQL's rows go as arrays: one statement for most flushes
PRUNE_BATCH = 5_000
# Queues asked for at once above which the rates are read for every queue and picked in Python.
MANY_QUEUES = 500

# Unit tests write by hand (flush()): a thread on a connection of its own cannot see a test's rows.
background = True


class Rates(NamedTuple):
    """Messages sent, received and deleted in the last minute."""

    sent: int = 0
    received: int = 0
    deleted: int = 0


NO_RATES = Rates()


# Counting ------------------------------------------------------------------------------------


class _Counts:
    """What this process counted and has not written: {(queue id, period): [sent, recv, del]}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = {}
        self.pid = None  # the process whose thread writes `pending`
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = None


_counts = _Counts()


_local = threading.local()  # each thread's own connection for writing counts


def _forget_parent_counts():
    """In a forked child: the parent's counts, lock, thread and connections are the parent's."""
    global _counts, _local
    _counts = _Counts()
    _local = threading.local()


os.register_at_fork(after_in_child=_forget_parent_counts)


def count(queue_id, sent=0, received=0, deleted=0):
    """Count messages that moved on a queue, once the caller's transaction (if any) commits."""
    if sent or received or deleted:
        transaction.on_commit(functools.partial(_add, queue_id, sent, received, deleted))


def _add(queue_id, sent, received, deleted):
    counts = _counts
    key = (queue_id, now_ms() // PERIOD_MS)
    with counts.lock:
        totals = counts.pending.get(key)
        if totals is None:
            counts.pending[key] = [sent, received, deleted]
        else:
            totals[0] += sent
            totals[1] += received
            totals[2] += deleted
        if counts.pid != os.getpid():  # the first count in this process (a fork is caught above)
            counts.pid = os.getpid()
            if background:
                counts.thread = threading.Thread(
                    target=_write_in_background, args=(counts,), name="roost-activity", daemon=True
                )
                counts.thread.start()
    counts.wake.set()


def _write_in_background(counts):
    """Write counts as they come, at most once every FLUSH_SECONDS, until the process stops."""
    last = 0.0
    while True:
        counts.wake.wait()
        if counts.stopping.is_set():
            return
        # A burst's first count is written at once; the rest of it at most a second later.
        if counts.stopping.wait(last + FLUSH_SECONDS - time.monotonic()):
            return
        counts.wake.clear()
        last = time.monotonic()
        try:
            flush(counts)
        except Exception:  # the thread must outlive any surprise, or counting stops for good
            logger.exception("could not record queue activity")


def stop():
    """Stop this process's writer thread and write what is left (at exit)."""
    counts = _counts
    if counts.pid != os.getpid() or counts.thread is None:
        return  # nothing counted here, or counts are written by hand (unit tests)
    counts.stopping.set()
    counts.wake.set()
    if counts.thread is not threading.current_thread():
        counts.thread.join(timeout=10)
    flush(counts)


atexit.register(stop)


# Writing -------------------------------------------------------------------------------------


def own_connection():
    """This thread's connection for writing counts: the default database's, without a pool."""
    wrapper = getattr(_local, "connection", None)
    if wrapper is None:
        settings_dict = dict(connections.settings[DEFAULT_DB_ALIAS])
        settings_dict["OPTIONS"] = {
            key: value for key, value in settings_dict["OPTIONS"].items() if key != "pool"
        }
        backend = load_backend(settings_dict["ENGINE"])
        wrapper = _local.connection = backend.DatabaseWrapper(settings_dict, "queue-activity")
    return wrapper


def _upsert_sql(connection, table, key_column, rows):
    """One statement adding `rows` [(queue id, key, sent, received, deleted)] to a table.

    PostgreSQL takes the rows as five arrays, a parameter each however many rows there are (a
    VALUES list of 2,000 rows cost several times as much to send and parse); SQLite as a VALUES
    list. Rows of deleted queues are left out (the queue check and the foreign key's agree but for
    a queue deleted meanwhile, retried by the caller). Rows are written in key order, so two
    processes writing the same rows lock them in the same order and never deadlock.
    """
    columns = "counted (queue_id, counted_key, sent, received, deleted)"
    if connection.vendor == "postgresql":
        prefix = ""
        source = f"unnest({', '.join(['%s::bigint[]'] * 5)}) AS {columns}"
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        prefix = f"WITH {columns} AS (VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(rows))}) "
        source = "counted"
        params = [value for row in rows for value in row]
    sql = (
        f"{prefix}INSERT INTO {table} (queue_id, {key_column}, sent, received, deleted) "
        f"SELECT queue_id, counted_key, sent, received, deleted FROM {source} "
        "WHERE queue_id IN (SELECT id FROM queues_queue) "
        "ORDER BY queue_id, counted_key "
        f"ON CONFLICT (queue_id, {key_column}) DO UPDATE SET "
        f"sent = {table}.sent + excluded.sent, "
        f"received = {table}.received + excluded.received, "
        f"deleted = {table}.deleted + excluded.deleted"
    )
    return sql, params


def _write(connection, model, key_column, totals):
    rows = sorted((queue_id, key, *counted) for (queue_id, key), counted in totals.items())
    batch = ARRAY_ROWS_PER_STATEMENT if connection.vendor == "postgresql" else ROWS_PER_STATEMENT
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            sql, params = _upsert_sql(
                connection, model._meta.db_table, key_column, rows[start : start + batch]
            )
            try:
                cursor.execute(sql, params)
            except IntegrityError:  # a queue deleted between the check and the insert
                cursor.execute(sql, params)


def flush(counts=None):
    """Write what this process counted (each statement commits on its own); return the rows.

    A locked or lost database never fails a caller: the counts are dropped with a warning. Only
    the writer thread keeps its connection open between writes.
    """
    counts = counts or _counts
    with counts.lock:
        pending, counts.pending = counts.pending, {}
    if not pending:
        return 0
    minutes = defaultdict(lambda: [0, 0, 0])
    for (queue_id, period), counted in pending.items():
        totals = minutes[(queue_id, period // PERIODS_PER_MINUTE)]
        for index, value in enumerate(counted):
            totals[index] += value
    connection = own_connection()
    written = len(pending)
    try:
        _write(connection, RecentQueueActivity, "period", pending)
        _write(connection, QueueActivity, "minute", minutes)
    except DatabaseError as error:
        logger.warning("could not record queue activity (%s); %d counts dropped", error, written)
        written = 0
        connection.close()  # a broken connection must go, or every later write fails on it
    if threading.current_thread() is not counts.thread:
        connection.close()
    return written


# Reading -------------------------------------------------------------------------------------


def current_minute(ms=None):
    return (ms or now_ms()) // 60_000


def rates(queue_ids=None, at_ms=None):
    """{queue id: Rates} over the last minute; queues without traffic are left out.

    The last minute is the current five-second period and the eleven before it: a burst counts
    in full for 55 to 60 seconds, then drops out. None: every queue with traffic.
    """
    period = (at_ms or now_ms()) // PERIOD_MS
    rows = RecentQueueActivity.objects.filter(
        period__gt=period - PERIODS_PER_MINUTE, period__lte=period
    )
    wanted = None
    if queue_ids is not None:
        wanted = set(queue_ids)
        if len(wanted) <= MANY_QUEUES:
            rows = rows.filter(queue_id__in=wanted)
    totals = (
        rows.order_by()
        .values("queue_id")
        .annotate(sent_sum=Sum("sent"), received_sum=Sum("received"), deleted_sum=Sum("deleted"))
        .values_list("queue_id", "sent_sum", "received_sum", "deleted_sum")
    )
    return {
        queue_id: Rates(sent, received, deleted)
        for queue_id, sent, received, deleted in totals
        if wanted is None or queue_id in wanted
    }


def history(queue_id, minutes=60):
    """The last `minutes` rows of one queue, oldest first (minutes without activity are absent)."""
    first = current_minute() - minutes + 1
    return list(
        QueueActivity.objects.filter(queue_id=queue_id, minute__gte=first).order_by("minute")
    )


# Depth samples and pruning (beat) ------------------------------------------------------------


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


def _delete_in_batches(rows):
    """Delete these rows a batch per statement, so no prune holds a lock for long."""
    deleted = 0
    while True:
        ids = list(rows.order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += rows.model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < PRUNE_BATCH:
            return deleted


def prune():
    """Forget minutes older than a day and five-second periods older than a few minutes."""
    now = now_ms()
    _delete_in_batches(
        RecentQueueActivity.objects.filter(period__lte=now // PERIOD_MS - KEEP_RECENT_PERIODS)
    )
    _delete_in_batches(QueueActivity.objects.filter(minute__lt=current_minute(now) - KEEP_MINUTES))
