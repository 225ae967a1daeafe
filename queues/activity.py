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

What counts (docs/metrics.md, docs/history.md): sent is every message that arrives in a queue
(SendMessage, SNS deliveries, dead-lettering into a DLQ, redrives and move tasks into their
destination); received is every message ReceiveMessage hands out; deleted is every message deleted
by DeleteMessage or the console, and every message a redrive or move task takes out of a queue;
expired is every message the retention sweep deletes; dead_lettered is every message moved from a
queue to its DLQ. Purges are not counted: the depth line shows them. The Recorder class does the
counting and writing for any owner: notifications.activity counts topics with it.
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
ROWS_PER_STATEMENT = 500  # 3,500 parameters at most: far below SQLite's limit
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
    """What a recorder counted in this process and has not written: {(owner id, period): [...]}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = {}
        self.pid = None  # the process whose thread writes `pending`
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = None


_local = threading.local()  # each thread's own connection for writing counts
_recorders = []


def _forget_parent_counts():
    """In a forked child: the parent's counts, lock, thread and connections are the parent's."""
    global _local
    _local = threading.local()
    for recorder in _recorders:
        recorder.counts = _Counts()


os.register_at_fork(after_in_child=_forget_parent_counts)


class BackgroundWriter:
    """What a process keeps in memory for the database, written by a thread of its own.

    Subclasses add to `self.counts.pending` under `self.counts.lock`, call `_start_writer` there,
    set `self.counts.wake`, and write in `flush(counts)`. The queues' and topics' counts are
    written so (Recorder), and so are message lineage's events (queues.lineage).
    """

    def __init__(self, name):
        self.name = name
        self.counts = _Counts()
        _recorders.append(self)

    def _start_writer(self, counts):
        """Start this process's writer thread, at its first addition (under counts.lock)."""
        if counts.pid != os.getpid():  # the first in this process (a fork is caught above)
            counts.pid = os.getpid()
            if background:
                counts.thread = threading.Thread(
                    target=self._write_in_background,
                    args=(counts,),
                    name=f"roost-{self.name}",
                    daemon=True,
                )
                counts.thread.start()

    def _write_in_background(self, counts):
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
                self.flush(counts)
            except Exception:  # the thread must outlive any surprise, or counting stops for good
                logger.exception("could not record %s", self.name)

    def stop(self):
        """Stop this process's writer thread and write what is left (at exit)."""
        counts = self.counts
        if counts.pid != os.getpid() or counts.thread is None:
            return  # nothing counted here, or counts are written by hand (unit tests)
        counts.stopping.set()
        counts.wake.set()
        if counts.thread is not threading.current_thread():
            counts.thread.join(timeout=10)
        self.flush(counts)

    def flush(self, counts=None):
        raise NotImplementedError


class Recorder(BackgroundWriter):
    """Counts by (owner, minute) kept in this process and written by a thread of its own.

    `model` holds the minute rows: a foreign key to the owner (a queue, a topic), `minute`, and
    one column per name in `columns`. `recent_model`, if any, holds five-second rows of the first
    `recent_columns` of them (the rates of the last minute). The queues' recorder is this module's
    `count()`; notifications.activity has the topics'.
    """

    def __init__(self, name, model, columns, recent_model=None, recent_columns=0):
        owner = next(
            field
            for field in model._meta.concrete_fields
            if field.is_relation and field.many_to_one
        )
        self.model = model
        self.owner_column = owner.column
        self.owner_model = owner.related_model
        self.columns = tuple(columns)
        self.recent_model = recent_model
        self.recent_columns = self.columns[:recent_columns]
        super().__init__(name)

    def count(self, owner_id, *values):
        """Count `values` (one per column) on an owner once the caller's transaction commits."""
        if any(values):
            transaction.on_commit(functools.partial(self._add, owner_id, values))

    def _add(self, owner_id, values):
        counts = self.counts
        key = (owner_id, now_ms() // PERIOD_MS)
        with counts.lock:
            totals = counts.pending.get(key)
            if totals is None:
                counts.pending[key] = list(values)
            else:
                for index, value in enumerate(values):
                    totals[index] += value
            self._start_writer(counts)
        counts.wake.set()

    def flush(self, counts=None):
        """Write what this process counted (each statement commits on its own); return the rows.

        A locked or lost database never fails a caller: the counts are dropped with a warning.
        Only the writer thread keeps its connection open between writes.
        """
        counts = counts or self.counts
        with counts.lock:
            pending, counts.pending = counts.pending, {}
        if not pending:
            return 0
        minutes = defaultdict(lambda: [0] * len(self.columns))
        for (owner_id, period), counted in pending.items():
            totals = minutes[(owner_id, period // PERIODS_PER_MINUTE)]
            for index, value in enumerate(counted):
                totals[index] += value
        connection = own_connection()
        written = len(pending)
        try:
            if self.recent_model is not None:
                width = len(self.recent_columns)
                recent = {
                    key: counted[:width] for key, counted in pending.items() if any(counted[:width])
                }
                self._write(connection, self.recent_model, "period", self.recent_columns, recent)
            self._write(connection, self.model, "minute", self.columns, minutes)
        except DatabaseError as error:
            logger.warning("could not record %s (%s); %d counts dropped", self.name, error, written)
            written = 0
            connection.close()  # a broken connection must go, or every later write fails on it
        if threading.current_thread() is not counts.thread:
            connection.close()
        return written

    def _write(self, connection, model, key_column, columns, totals):
        rows = sorted((owner_id, key, *counted) for (owner_id, key), counted in totals.items())
        batch = (
            ARRAY_ROWS_PER_STATEMENT if connection.vendor == "postgresql" else ROWS_PER_STATEMENT
        )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), batch):
                sql, params = self._upsert_sql(
                    connection,
                    model._meta.db_table,
                    key_column,
                    columns,
                    rows[start : start + batch],
                )
                try:
                    cursor.execute(sql, params)
                except IntegrityError:  # an owner deleted between the check and the insert
                    cursor.execute(sql, params)

    def _upsert_sql(self, connection, table, key_column, columns, rows):
        """One statement adding `rows` [(owner id, key, *counts)] to a table.

        PostgreSQL takes the rows as one array per column, a parameter each however many rows
        there are (a VALUES list of 2,000 rows cost several times as much to send and parse);
        SQLite as a VALUES list. Rows of deleted owners are left out (the owner check and the
        foreign key's agree but for an owner deleted meanwhile, retried by the caller). Rows are
        written in key order, so two processes writing the same rows lock them in the same order
        and never deadlock.
        """
        owner = self.owner_column
        names = ", ".join(columns)
        width = len(columns) + 2
        counted = f"counted ({owner}, counted_key, {names})"
        if connection.vendor == "postgresql":
            prefix = ""
            source = f"unnest({', '.join(['%s::bigint[]'] * width)}) AS {counted}"
            params = [list(column) for column in zip(*rows, strict=True)]
        else:
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(rows))
            prefix = f"WITH {counted} AS (VALUES {values}) "
            source = "counted"
            params = [value for row in rows for value in row]
        updates = ", ".join(
            f"{column} = {table}.{column} + excluded.{column}" for column in columns
        )
        sql = (
            f"{prefix}INSERT INTO {table} ({owner}, {key_column}, {names}) "
            f"SELECT {owner}, counted_key, {names} FROM {source} "
            f"WHERE {owner} IN (SELECT id FROM {self.owner_model._meta.db_table}) "
            f"ORDER BY {owner}, counted_key "
            f"ON CONFLICT ({owner}, {key_column}) DO UPDATE SET {updates}"
        )
        return sql, params


def stop():
    """Stop every recorder's writer thread in this process and write what is left (at exit)."""
    for recorder in _recorders:
        recorder.stop()


atexit.register(stop)


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


# The queues' counts --------------------------------------------------------------------------

QUEUE_COLUMNS = ("sent", "received", "deleted", "expired", "dead_lettered")
queue_counts = Recorder(
    "queue activity",
    QueueActivity,
    QUEUE_COLUMNS,
    recent_model=RecentQueueActivity,
    recent_columns=3,
)


def count(queue_id, sent=0, received=0, deleted=0, expired=0, dead_lettered=0):
    """Count messages that moved on a queue, once the caller's transaction (if any) commits."""
    queue_counts.count(queue_id, sent, received, deleted, expired, dead_lettered)


def flush():
    """Write what this process counted for queues; return how many (queue, period) rows."""
    return queue_counts.flush()


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
    """Store sampled depths {queue_id: (visible, in_flight, delayed[, oldest age in seconds])} in
    this minute's rows."""
    minute = minute or current_minute()
    rows = [
        QueueActivity(
            queue_id=queue_id,
            minute=minute,
            visible=sample[0],
            in_flight=sample[1],
            delayed=sample[2],
            oldest_age=sample[3] if len(sample) > 3 else None,
        )
        for queue_id, sample in depths.items()
    ]
    QueueActivity.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["queue", "minute"],
        update_fields=["visible", "in_flight", "delayed", "oldest_age"],
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
