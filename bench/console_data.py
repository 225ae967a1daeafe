"""A throwaway Roost database full of messages, loaded with SQL, for bench.console.

Rows go straight into Roost's tables (after `manage.py migrate` made them), as many as a busy
server would hold: the bench measures reading them, not sending them. Queues and the user are
made the ordinary way (bench.console runs `manage.py shell`).
"""

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

from bench.servers import ROOST_KEY_ID
from queues.md5 import md5_of_message_attributes

LOAD_CHUNK = 250_000  # rows a statement (PostgreSQL) or a transaction (SQLite)
SPREAD_MS = 3_600_000  # the messages were sent over the last hour
ACTIVITY_MINUTES = 25 * 60  # queues.activity keeps a day and an hour of per-minute rows
SETTLE_TIMEOUT = 120
ATTRIBUTES = {
    "event_type": {"DataType": "String", "StringValue": "order.created"},
    "attempt": {"DataType": "Number", "StringValue": "1"},
}

# Message g goes to queue g mod (number of queues), so each queue holds its share in send
# order. One in 20 is in flight (received once, hidden for the next hour), one in 20 delayed
# (for 15 minutes), the rest visible; one in 4 carries ATTRIBUTES. The body is ~200 bytes of
# JSON; _sqlite_row builds the same one.
_PG_BODY = (
    """'{"order_id":' || g || ',"customer":"cust-' || lpad(mod(g, 99991)::text, 5, '0') """
    """|| '","status":"pending","currency":"EUR","amount_cents":' || mod(g, 100000) """
    """|| ',"items":[{"sku":"SKU-' || lpad(mod(g, 9973)::text, 4, '0') || '","qty":' """
    """|| (1 + mod(g, 3)) || '},{"sku":"SKU-' || lpad(mod(g, 7919)::text, 4, '0') """
    """|| '","qty":1}],"trace":"' || md5(g::text) || '"}'"""
)
_PG_MESSAGES = f"""
INSERT INTO queues_message (queue_id, message_id, body, attributes, system_attributes,
    md5_of_body, md5_of_attributes, md5_of_system_attributes, sent_at, visible_at,
    receive_count, first_received_at, receive_token, sender_id, group_id, deduplication_id)
SELECT (%(ids)s::bigint[])[1 + mod(g, %(queues)s)], gen_random_uuid()::text, b.body,
    CASE WHEN mod(g, 4) = 0 THEN %(attributes)s ELSE '' END, '', md5(b.body),
    CASE WHEN mod(g, 4) = 0 THEN %(attributes_md5)s ELSE '' END, '', s.sent_at,
    CASE mod(g, 20) WHEN 0 THEN %(in_flight_until)s WHEN 10 THEN %(delayed_until)s
        ELSE s.sent_at END,
    CASE mod(g, 20) WHEN 0 THEN 1 ELSE 0 END,
    CASE mod(g, 20) WHEN 0 THEN s.sent_at END,
    CASE mod(g, 20) WHEN 0 THEN g ELSE 0 END,
    %(sender)s, '', ''
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
CROSS JOIN LATERAL (SELECT %(start)s::bigint + g * %(span)s::bigint / %(total)s AS sent_at) AS s
CROSS JOIN LATERAL (SELECT {_PG_BODY} AS body) AS b
"""
_SQLITE_MESSAGES = (
    "INSERT INTO queues_message (queue_id, message_id, body, attributes, system_attributes, "
    "md5_of_body, md5_of_attributes, md5_of_system_attributes, sent_at, visible_at, "
    "receive_count, first_received_at, receive_token, sender_id, group_id, deduplication_id) "
    "VALUES (?, ?, ?, ?, '', ?, ?, '', ?, ?, ?, ?, ?, ?, '', '')"
)
# A day of per-minute rates and depth samples per queue, as a running server keeps them.
_PG_ACTIVITY = """
INSERT INTO queues_queueactivity (queue_id, minute, sent, received, visible, in_flight, delayed)
SELECT q.id, m, 20 + mod(m + q.id, 41), 20 + mod(m + 2 * q.id, 37), %(visible)s, %(in_flight)s,
    %(delayed)s
FROM unnest(%(ids)s::bigint[]) AS q(id)
CROSS JOIN generate_series(%(first)s::bigint, %(last)s::bigint) AS m
"""
_SQLITE_ACTIVITY = (
    "INSERT INTO queues_queueactivity (queue_id, minute, sent, received, visible, in_flight, "
    "delayed) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_OTHER_SNAPSHOTS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
)
_ALL_VISIBLE = (
    "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
    "WHERE relname = 'queues_message'"
)
_AT_OFFSET = (
    "SELECT sent_at, id FROM queues_message WHERE queue_id = {p} "
    "ORDER BY sent_at, id LIMIT 1 OFFSET {p}"
)


def load(db, queue_ids, messages, progress=print):
    """Load `messages` spread over these queues, and their activity; return seconds taken."""
    started = time.monotonic()
    now = int(time.time() * 1000)
    db.load_messages(_message_params(queue_ids, now, messages), progress)
    per_queue = messages // len(queue_ids)
    depth = per_queue * 18 // 20, per_queue // 20, per_queue // 20
    db.load_activity(queue_ids, depth, now // 60_000)
    db.analyze()
    return time.monotonic() - started


class Database:
    """What bench.console asks of either database."""

    placeholder = "%s"

    def query(self, sql, params=()):
        return self.connection().execute(sql, params).fetchall()

    def position(self, queue_id, offset):
        """(sent_at, id) of the queue's message at `offset` in the browser's order."""
        return self.query(_AT_OFFSET.format(p=self.placeholder), (queue_id, offset))[0]


class Postgres(Database):
    """A throwaway database, roost_bench_console_<pid>, on the server that `url` names."""

    vendor = "postgresql"

    def __init__(self, url):
        import psycopg  # imported here: a SQLite-only run needs no driver

        self._psycopg = psycopg
        self.name = f"roost_bench_console_{os.getpid()}"
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self._admin_url = urlunsplit(parts._replace(path="/postgres"))
        self._connection = None
        self.label = "PostgreSQL"

    def reachable(self):
        """Whether the server answers; if not, `unreachable_because` says why."""
        try:
            with self._psycopg.connect(self._admin_url, connect_timeout=5) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
        except self._psycopg.OperationalError as error:
            self.unreachable_because = str(error).strip().splitlines()[0]
            return False
        self.label = f"PostgreSQL {version.split()[0]}"
        return True

    def create(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        if self._connection is not None:
            self._connection.close()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, sql):
        with self._psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def connection(self):
        if self._connection is None:
            self._connection = self._psycopg.connect(self.url, autocommit=True)
            self._connection.execute("SET synchronous_commit = off")
        return self._connection

    def load_messages(self, params, progress):
        total = params["total"]
        for first in range(0, total, LOAD_CHUNK):
            last = min(first + LOAD_CHUNK, total) - 1
            self.connection().execute(_PG_MESSAGES, {**params, "first": first, "last": last})
            progress(f"  {last + 1:,} / {total:,} messages")

    def load_activity(self, ids, depth, minute):
        params = dict(zip(("visible", "in_flight", "delayed"), depth, strict=True))
        params.update(ids=list(ids), first=minute - ACTIVITY_MINUTES + 1, last=minute)
        self.connection().execute(_PG_ACTIVITY, params)

    def analyze(self):
        """Give the planner statistics, as autovacuum's ANALYZE soon would."""
        self.connection().execute("ANALYZE")

    def settle(self):
        """VACUUM until the visibility map covers the messages; return the share it covers.

        That is the state a quiet table reaches once autovacuum has been by, and what index-only
        scans (the depth counts) need to skip the table itself. A snapshot held by another
        session in this database (an autovacuum ANALYZE the load started, say) keeps VACUUM
        from marking the newest rows, so wait for it to end and vacuum again.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            self.connection().execute("VACUUM ANALYZE")
            share = self.all_visible()
            if share >= 0.99 or time.monotonic() > deadline:
                return share
            while self.query(_OTHER_SNAPSHOTS) and time.monotonic() < deadline:
                time.sleep(0.5)

    def all_visible(self):
        """The share of queues_message's pages the visibility map marks all-visible."""
        return self.query(_ALL_VISIBLE)[0][0]

    def backends_cpu(self):
        """{pid: CPU seconds} of the server processes serving this database, or None when
        PostgreSQL runs on another machine."""
        pids = self.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return pids_cpu_seconds(pid for (pid,) in pids) or None


class Sqlite(Database):
    """The embedded default: roost.sqlite3 in the data dir, loaded in large transactions."""

    vendor = "sqlite"
    placeholder = "?"

    def __init__(self, data_dir):
        self.path = data_dir / "roost.sqlite3"
        self.url = f"sqlite:///{self.path}"
        self._connection = None
        self.label = f"SQLite {sqlite3.sqlite_version}"

    def create(self):
        pass  # migrate creates the file

    def drop(self):
        if self._connection is not None:
            self._connection.close()  # the file goes with the data dir

    def connection(self):
        if self._connection is None:
            # `big` is loaded while the server runs: wait out its locks rather than fail.
            self._connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        return self._connection

    def load_messages(self, params, progress):
        total = params["total"]
        for first in range(0, total, LOAD_CHUNK):
            last = min(first + LOAD_CHUNK, total)
            with self._transaction() as conn:
                conn.executemany(
                    _SQLITE_MESSAGES, (_sqlite_row(g, params) for g in range(first, last))
                )
            progress(f"  {last:,} / {total:,} messages")

    def load_activity(self, ids, depth, minute):
        rows = (
            (queue_id, m, 20 + (m + queue_id) % 41, 20 + (m + 2 * queue_id) % 37, *depth)
            for queue_id in ids
            for m in range(minute - ACTIVITY_MINUTES + 1, minute + 1)
        )
        with self._transaction() as conn:
            conn.executemany(_SQLITE_ACTIVITY, rows)

    def analyze(self):
        # Roost never runs ANALYZE on SQLite, so neither does the bench: the planner sees what
        # it sees in a real deployment.
        pass

    def settle(self):
        return None  # no visibility map

    def all_visible(self):
        return None

    def backends_cpu(self):
        return None  # SQLite runs inside Roost's process

    @contextlib.contextmanager
    def _transaction(self):
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _message_params(ids, now, total):
    return {
        "ids": list(ids),
        "queues": len(ids),
        "attributes": json.dumps(ATTRIBUTES, separators=(",", ":")),
        "attributes_md5": md5_of_message_attributes(ATTRIBUTES),
        "in_flight_until": now + 3_600_000,
        "delayed_until": now + 900_000,
        "sender": ROOST_KEY_ID,
        "start": now - SPREAD_MS,
        "span": SPREAD_MS,
        "total": total,
    }


def _sqlite_row(g, p):
    """Message `g` as a row of _SQLITE_MESSAGES: the one _PG_MESSAGES makes."""
    trace = hashlib.md5(str(g).encode(), usedforsecurity=False).hexdigest()
    body = (
        f'{{"order_id":{g},"customer":"cust-{g % 99991:05d}","status":"pending",'
        f'"currency":"EUR","amount_cents":{g % 100000},"items":[{{"sku":"SKU-{g % 9973:04d}",'
        f'"qty":{1 + g % 3}}},{{"sku":"SKU-{g % 7919:04d}","qty":1}}],"trace":"{trace}"}}'
    )
    sent_at = p["start"] + g * p["span"] // p["total"]
    state = g % 20
    visible_at = {0: p["in_flight_until"], 10: p["delayed_until"]}.get(state, sent_at)
    with_attributes = g % 4 == 0
    return (
        p["ids"][g % p["queues"]],
        str(uuid.uuid4()),
        body,
        p["attributes"] if with_attributes else "",
        hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        p["attributes_md5"] if with_attributes else "",
        sent_at,
        visible_at,
        1 if state == 0 else 0,
        sent_at if state == 0 else None,
        g if state == 0 else 0,
        p["sender"],
    )


def pids_cpu_seconds(pids):
    """{pid: utime+stime seconds} of these processes on this machine; gone ones are left out."""
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # utime, stime are fields 14 and 15
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found
