"""The hot path's SQL: insert, claim, delete and change visibility of messages.

Everything else in Roost uses the ORM; these statements run on every send, receive and delete, and
an ORM round costs more than the work (DESIGN.md, "Measured on this machine"). Each function does
one thing to the database and leaves every SQS rule to queues.service. They run on the DB-API
cursor directly (Django's wrappers cost ~100 µs a transaction here), with Django's error
translation kept, and each write is one statement where it can be, so it needs no transaction.

The claim orders by (visible_at, id) so it walks the (queue_id, visible_at, id) index instead of
sorting every visible row; on PostgreSQL, FOR UPDATE SKIP LOCKED lets concurrent receivers claim
disjoint messages, and on SQLite the single UPDATE runs under the database's one write lock.
"""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

TABLE = "queues_message"

MESSAGE_COLUMNS = (
    "id, message_id, body, attributes, system_attributes, md5_of_body, md5_of_attributes, "
    "md5_of_system_attributes, sent_at, receive_count, first_received_at, sender_id, group_id, "
    "deduplication_id, dead_letter_source_id"
)

_INSERT = (
    f"INSERT INTO {TABLE} (queue_id, message_id, body, attributes, system_attributes, "
    "md5_of_body, md5_of_attributes, md5_of_system_attributes, sent_at, visible_at, "
    "receive_count, receive_token, sender_id, group_id, deduplication_id) VALUES "
)
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s, %s)"

_STANDARD_CANDIDATES = (
    f"SELECT id FROM {TABLE} WHERE queue_id = %s AND visible_at <= %s AND sent_at > %s "
    "ORDER BY visible_at, id LIMIT %s"
)

# A FIFO message may be received only when no message of its group is in flight and no earlier
# message of its group is still invisible (delayed), so each group is handed out in order.
_FIFO_CANDIDATES = (
    f"SELECT m.id FROM {TABLE} m WHERE m.queue_id = %s AND m.visible_at <= %s AND m.sent_at > %s "
    f"AND NOT EXISTS (SELECT 1 FROM {TABLE} o WHERE o.queue_id = m.queue_id "
    "AND o.group_id = m.group_id AND o.group_id <> '' AND o.visible_at > %s "
    "AND (o.receive_count > 0 OR o.id < m.id)) "
    "ORDER BY m.id LIMIT %s"
)

_sql_cache = {}


# Each attribute read through django.db.connection looks the thread's connection up again (an
# asgiref Local, several microseconds); these helpers look it up once.


def _sql(text):
    """The statement in the connection's own placeholder style (SQLite's DB-API wants ?)."""
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    key = (vendor, text)
    converted = _sql_cache.get(key)
    if converted is None:
        converted = text.replace("%s", "?") if vendor == "sqlite" else text
        _sql_cache[key] = converted
    return converted


@contextmanager
def _cursor():
    db = connections[DEFAULT_DB_ALIAS]
    with db.wrap_database_errors:
        db.ensure_connection()
        cursor = db.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


@contextmanager
def write_transaction():
    """One short write transaction for statements that must commit together.

    SQLite takes the write lock up front (BEGIN IMMEDIATE) so two writers queue on the busy
    timeout instead of failing on a lock upgrade; inside an ORM transaction this joins it.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with db.wrap_database_errors:
        db.ensure_connection()
        raw = db.connection
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
            # Inside the try: a COMMIT refused by a deferred foreign key (the queue was deleted
            # meanwhile) leaves SQLite's transaction open, holding the write lock, until rolled
            # back.
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise


def _skip_locked():
    return " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""


def insert_messages(rows):
    """Insert rows of (queue_id, message_id, body, attributes, system_attributes, md5_of_body,
    md5_of_attributes, md5_of_system_attributes, sent_at, visible_at, sender_id, group_id,
    deduplication_id) in one statement."""
    params = [value for row in rows for value in row]
    with _cursor() as cursor:
        cursor.execute(_sql(_INSERT + ", ".join([_ROW] * len(rows))), params)


def insert_message_returning_pk(row):
    """Insert one message and return its primary key (FIFO needs it for the sequence number)."""
    with _cursor() as cursor:
        cursor.execute(_sql(_INSERT + _ROW + " RETURNING id"), row)
        return cursor.fetchone()[0]


def _candidates(fifo, queue_id, now, retention_cutoff, limit):
    if fifo:
        return _FIFO_CANDIDATES, [queue_id, now, retention_cutoff, now, limit]
    return _STANDARD_CANDIDATES + _skip_locked(), [queue_id, now, retention_cutoff, limit]


def lock_fifo_queue(queue_id):
    """Serialise FIFO claims on one queue (PostgreSQL); SQLite's write lock already does."""
    if connection.vendor == "postgresql":
        with _cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [queue_id])


def move_exhausted_to_dead_letter(
    *, fifo, queue_id, dead_letter_queue_id, max_receive_count, now, retention_cutoff, limit
):
    """Move the messages the next claim would hand out a (max+1)th time into the DLQ; return
    the (message_id, receive_count) of each moved."""
    candidates, params = _candidates(fifo, queue_id, now, retention_cutoff, limit)
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"UPDATE {TABLE} SET queue_id = %s, dead_letter_source_id = %s, visible_at = %s "
                f"WHERE id IN ({candidates}) AND receive_count >= %s "
                "RETURNING message_id, receive_count"
            ),
            [dead_letter_queue_id, queue_id, now, *params, max_receive_count],
        )
        return cursor.fetchall()


def claim(*, fifo, queue_id, now, visible_at, retention_cutoff, limit, token):
    """Mark up to `limit` visible messages received until `visible_at`; return their rows."""
    candidates, params = _candidates(fifo, queue_id, now, retention_cutoff, limit)
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"UPDATE {TABLE} SET visible_at = %s, receive_count = receive_count + 1, "
                "first_received_at = COALESCE(first_received_at, %s), receive_token = %s "
                f"WHERE id IN ({candidates}) RETURNING {MESSAGE_COLUMNS}"
            ),
            [visible_at, now, token, *params],
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: row[0])
    return rows


ATTEMPTS_TABLE = "queues_receiveattempt"


def find_receive_attempt(queue_id, attempt_id, now):
    """(token, [message pks], visible_at, expires_at) of an unexpired FIFO receive attempt, or
    None."""
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"SELECT token, message_ids, visible_at, expires_at FROM {ATTEMPTS_TABLE} "
                "WHERE queue_id = %s AND attempt_id = %s AND expires_at > %s"
            ),
            [queue_id, attempt_id, now],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    token, message_ids, visible_at, expires_at = found
    return token, [int(pk) for pk in message_ids.split(",")], visible_at, expires_at


def reclaim(*, queue_id, pks, token, held_until, now, visible_at):
    """Hand an attempt's messages out again with the same token, hidden until `visible_at`,
    if every one is still held by that receive exactly as it left them; return their rows, or
    None (and change nothing) if any was deleted, received again or had its visibility changed.

    Runs inside the FIFO claim's transaction, after lock_fifo_queue: nothing moves in between.
    """
    placeholders = ", ".join(["%s"] * len(pks))
    match = (
        f"WHERE id IN ({placeholders}) AND +queue_id = %s AND receive_token = %s "
        "AND visible_at = %s AND visible_at > %s"
    )
    params = [*pks, queue_id, token, held_until, now]
    with _cursor() as cursor:
        cursor.execute(_sql(f"SELECT COUNT(*) FROM {TABLE} {match}"), params)
        if cursor.fetchone()[0] != len(pks):
            return None
        cursor.execute(
            _sql(f"UPDATE {TABLE} SET visible_at = %s {match} RETURNING {MESSAGE_COLUMNS}"),
            [visible_at, *params],
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: row[0])
    return rows


def save_receive_attempt(*, queue_id, attempt_id, token, pks, visible_at, now, expires_at):
    """Record (or replace) what a FIFO receive attempt claimed; drop the queue's expired ones."""
    with _cursor() as cursor:
        cursor.execute(
            _sql(f"DELETE FROM {ATTEMPTS_TABLE} WHERE queue_id = %s AND expires_at <= %s"),
            [queue_id, now],
        )
        cursor.execute(
            _sql(
                f"INSERT INTO {ATTEMPTS_TABLE} (queue_id, attempt_id, token, message_ids, "
                "visible_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (queue_id, attempt_id) DO UPDATE SET token = excluded.token, "
                "message_ids = excluded.message_ids, visible_at = excluded.visible_at, "
                "expires_at = excluded.expires_at"
            ),
            [queue_id, attempt_id, token, ",".join(map(str, pks)), visible_at, expires_at],
        )


def delete_received(queue_id, receipts, returning=False):
    """Delete messages by (pk, receive token) pairs in one statement; return the count deleted,
    or with `returning` the (message_id, receive token) of each row deleted."""
    if not receipts:
        return [] if returning else 0
    pks = [pk for pk, _ in receipts]
    tokens = [value for pair in receipts for value in pair]
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"DELETE FROM {TABLE} WHERE id IN ({', '.join(['%s'] * len(pks))}) "
                # +queue_id: look rows up by primary key, not by walking the queue's index.
                f"AND +queue_id = %s AND receive_token = CASE id "
                f"{' '.join(['WHEN %s THEN %s'] * len(receipts))} END"
                + (" RETURNING message_id, receive_token" if returning else "")
            ),
            [*pks, queue_id, *tokens],
        )
        return cursor.fetchall() if returning else cursor.rowcount


def change_visibility(queue_id, pk, token, visible_at):
    """Set when a received message becomes visible again; return its MessageId, or None if the
    receipt is stale."""
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"UPDATE {TABLE} SET visible_at = %s "
                "WHERE id = %s AND +queue_id = %s AND receive_token = %s RETURNING message_id"
            ),
            [visible_at, pk, queue_id, token],
        )
        row = cursor.fetchone()
        return row[0] if row else None


# Rows one purge, delete-queue or retention statement deletes: SQLite holds its one write lock
# for a few milliseconds per batch, and a PostgreSQL statement locks at most this many rows.
DELETE_BATCH = 1000
_NO_LIMIT = 2**62

# Oldest first along (queue_id, sent_at, id), starting after the last batch's last key, so no
# batch walks again over what the ones before it deleted (on PostgreSQL their index entries stay
# until vacuum).
_DELETE_BATCH = (
    f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE} WHERE queue_id = %s "
    "AND sent_at >= %s AND (sent_at > %s OR id > %s) AND sent_at <= %s AND id <= %s "
    "ORDER BY sent_at, id LIMIT %s) RETURNING sent_at, id, message_id"
)


def delete_batch(
    queue_id, after=None, *, sent_before=None, max_id=None, limit=DELETE_BATCH, deleted_ids=None
):
    """Delete up to `limit` of a queue's messages, oldest first, from after the (sent_at, id)
    key `after`, sent at or before `sent_before` and with ids up to `max_id`.

    Returns (how many were deleted, the key to continue after, or None once none are left); the
    MessageIds deleted are added to the list `deleted_ids`, if given.
    One statement: outside a transaction it commits on its own.
    """
    sent_at, pk = after or (-1, -1)
    with _cursor() as cursor:
        cursor.execute(
            _sql(_DELETE_BATCH),
            [
                queue_id,
                sent_at,
                sent_at,
                pk,
                _NO_LIMIT if sent_before is None else sent_before,
                _NO_LIMIT if max_id is None else max_id,
                limit,
            ],
        )
        keys = cursor.fetchall()
    if deleted_ids is not None:
        deleted_ids.extend(key[2] for key in keys)
    if len(keys) < limit:
        return len(keys), None
    return len(keys), max(keys)[:2]


def clear_dead_letter_source(queue_id, limit=DELETE_BATCH):
    """Forget, on up to `limit` dead letters, that they came from this queue; return how many."""
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"UPDATE {TABLE} SET dead_letter_source_id = NULL WHERE id IN (SELECT id FROM "
                f"{TABLE} WHERE dead_letter_source_id = %s LIMIT %s)"
            ),
            [queue_id, limit],
        )
        return cursor.rowcount


def depth(queue_id, now, retention_cutoff):
    """Count (visible, in flight, delayed) messages of a queue, ignoring expired ones."""
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                "SELECT "
                "COALESCE(SUM(CASE WHEN visible_at <= %s THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN visible_at > %s AND receive_count > 0 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN visible_at > %s AND receive_count = 0 THEN 1 ELSE 0 END), 0) "
                f"FROM {TABLE} WHERE queue_id = %s AND sent_at > %s"
            ),
            [now, now, now, queue_id, retention_cutoff],
        )
        return tuple(int(value) for value in cursor.fetchone())


# One row per queue: (queue_id, visible, in flight, delayed, oldest sent_at, retention period).
# Each count walks the claim index (queue_id, visible_at, id) without touching the table: visible
# is one index range, in flight and delayed the (usually short) range of hidden messages.
# Expired messages are not left out here: the caller recounts, exactly, the rare queue whose
# oldest message is past its retention (the sweep deletes those within a minute).
_DEPTHS = (
    "SELECT q.id, "
    f"(SELECT COUNT(*) FROM {TABLE} m WHERE m.queue_id = q.id AND m.visible_at <= %s), "
    f"(SELECT COUNT(*) FROM {TABLE} m WHERE m.queue_id = q.id AND m.visible_at > %s "
    "AND m.receive_count > 0), "
    f"(SELECT COUNT(*) FROM {TABLE} m WHERE m.queue_id = q.id AND m.visible_at > %s "
    "AND m.receive_count = 0), "
    f"(SELECT MIN(m.sent_at) FROM {TABLE} m WHERE m.queue_id = q.id), "
    "q.message_retention_period "
    "FROM queues_queue q"
)


def depths(now, queue_ids=None):
    """[(queue_id, visible, in_flight, delayed, oldest_sent_at, retention_seconds)], fast."""
    sql, params = _DEPTHS, [now, now, now]
    if queue_ids is not None:
        queue_ids = list(queue_ids)
        if not queue_ids:
            return []
        sql += f" WHERE q.id IN ({', '.join(['%s'] * len(queue_ids))})"
        params += queue_ids
    with _cursor() as cursor:
        cursor.execute(_sql(sql), params)
        return cursor.fetchall()


def oldest_unexpired(queue_id, retention_cutoff):
    with _cursor() as cursor:
        cursor.execute(
            _sql(f"SELECT MIN(sent_at) FROM {TABLE} WHERE queue_id = %s AND sent_at > %s"),
            [queue_id, retention_cutoff],
        )
        return cursor.fetchone()[0]


EVENTS_TABLE = "queues_messageevent"
_EVENT_COLUMNS = "queue_id, message_id, at, kind, key_id, details"


def insert_events(rows, cap=None, connection=None):
    """Insert lineage rows of (queue_id, message_id, at, kind, key_id, details) in one statement.

    With `cap`, a row goes in only while its message has fewer than `cap` events: the count
    walks the (message_id, id) index, at most `cap` entries.
    """
    if cap is None:
        sql = f"INSERT INTO {EVENTS_TABLE} ({_EVENT_COLUMNS}) VALUES " + ", ".join(
            ["(%s, %s, %s, %s, %s, %s)"] * len(rows)
        )
        params = [value for row in rows for value in row]
    else:
        select = (
            "SELECT CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT), %s, %s, %s "
            "WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM "
            f"{EVENTS_TABLE} WHERE message_id = %s LIMIT %s) capped) < %s"
        )
        sql = f"INSERT INTO {EVENTS_TABLE} ({_EVENT_COLUMNS}) " + " UNION ALL ".join(
            [select] * len(rows)
        )
        params = [value for row in rows for value in (*row, row[1], cap, cap)]
    if connection is not None:  # a writer thread's own connection
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    with _cursor() as cursor:
        cursor.execute(_sql(sql), params)


# The trash (queues.service.trash): a purge or console delete copies the rows it takes into
# queues_trashedmessage and deletes them, in one transaction per batch; Undo copies them back with
# their own ids, so they take their old places in the queue's order (ids are never reused).
TRASH_TABLE = "queues_trashedmessage"
_TRASH_COPIED = (
    "message_id, body, attributes, system_attributes, md5_of_body, md5_of_attributes, "
    "md5_of_system_attributes, sent_at, visible_at, receive_count, first_received_at, sender_id, "
    "group_id, deduplication_id, dead_letter_source_id"
)


def _for_update():
    # The rows a batch moves stay put (no receive, no DeleteMessage) until it commits.
    return " FOR UPDATE" if connection.vendor == "postgresql" else ""


def oldest_messages(queue_id, after=None, *, max_id=None, limit=DELETE_BATCH):
    """[(sent_at, id, message_id)] of up to `limit` of a queue's messages, oldest first, after the
    (sent_at, id) key `after`, with ids up to `max_id`; locked on PostgreSQL (call in a
    transaction). The same walk as delete_batch's, along (queue_id, sent_at, id)."""
    sent_at, pk = after or (-1, -1)
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"SELECT sent_at, id, message_id FROM {TABLE} WHERE queue_id = %s "
                "AND sent_at >= %s AND (sent_at > %s OR id > %s) AND id <= %s "
                "ORDER BY sent_at, id LIMIT %s" + _for_update()
            ),
            [queue_id, sent_at, sent_at, pk, _NO_LIMIT if max_id is None else max_id, limit],
        )
        return cursor.fetchall()


def messages_by_id(queue_id, pks):
    """[(id, message_id)] of these messages still in the queue; locked on PostgreSQL."""
    if not pks:
        return []
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"SELECT id, message_id FROM {TABLE} WHERE id IN ({', '.join(['%s'] * len(pks))}) "
                "AND +queue_id = %s ORDER BY id" + _for_update()
            ),
            [*pks, queue_id],
        )
        return cursor.fetchall()


def move_to_trash(queue_id, pks, *, batch, reason, trashed_at):
    """Copy these messages of the queue into the trash under `batch`, then delete them; return
    how many were deleted. Call in a transaction, with the rows locked (oldest_messages,
    messages_by_id), so the copy and the delete see the same rows."""
    if not pks:
        return 0
    placeholders = ", ".join(["%s"] * len(pks))
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"INSERT INTO {TRASH_TABLE} (queue_id, batch, reason, trashed_at, message_pk, "
                f"{_TRASH_COPIED}) SELECT queue_id, %s, %s, %s, id, {_TRASH_COPIED} FROM {TABLE} "
                f"WHERE id IN ({placeholders}) AND +queue_id = %s"
            ),
            [batch, reason, trashed_at, *pks, queue_id],
        )
        cursor.execute(
            _sql(f"DELETE FROM {TABLE} WHERE id IN ({placeholders}) AND +queue_id = %s"),
            [*pks, queue_id],
        )
        return cursor.rowcount


def restore_from_trash(trash_ids, now):
    """Put these trashed rows back into their queue with their own ids, visible now unless still
    delayed. Call in a transaction that then drops them from the trash.

    A received message comes back visible (its receipt handles no longer work); a dead letter
    keeps its source queue if that queue still exists.
    """
    if not trash_ids:
        return
    placeholders = ", ".join(["%s"] * len(trash_ids))
    with _cursor() as cursor:
        cursor.execute(
            _sql(
                f"INSERT INTO {TABLE} (id, queue_id, message_id, body, attributes, "
                "system_attributes, md5_of_body, md5_of_attributes, md5_of_system_attributes, "
                "sent_at, visible_at, receive_count, first_received_at, receive_token, "
                "sender_id, group_id, deduplication_id, dead_letter_source_id) "
                "SELECT t.message_pk, t.queue_id, t.message_id, t.body, t.attributes, "
                "t.system_attributes, t.md5_of_body, t.md5_of_attributes, "
                "t.md5_of_system_attributes, t.sent_at, "
                "CASE WHEN t.receive_count = 0 AND t.visible_at > %s THEN t.visible_at ELSE %s END, "
                "t.receive_count, t.first_received_at, 0, t.sender_id, t.group_id, "
                "t.deduplication_id, (SELECT q.id FROM queues_queue q "
                "WHERE q.id = t.dead_letter_source_id) "
                f"FROM {TRASH_TABLE} t WHERE t.id IN ({placeholders}) ORDER BY t.message_pk"
            ),
            [now, now, *trash_ids],
        )
