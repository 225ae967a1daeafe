"""The outbox's raw SQL: writing a publish's messages and Delivery rows, deleting delivered ones,
pruning.

Everything else uses the ORM. The first three run on every publish and every queue drain, where
building model instances (or the ORM's INSERT) cost more than the work (a PublishBatch to 10
subscribers writes 100 rows; the ORM's insert of one message took a tenth of a Publish into ten
queues); the prune's walk by age below needs a keyset the ORM would spell less plainly. Each is
one statement and leaves every SNS rule to notifications.service and notifications.delivery.
"""

import functools

from django.db import connection

from notifications.models import Delivery, PublishedMessage

TABLE = Delivery._meta.db_table
MESSAGES = PublishedMessage._meta.db_table
# Rows per INSERT: SQLite takes at most 32,766 parameters a statement.
INSERT_ROWS = 1000


@functools.cache
def _message_fields():
    return [field for field in PublishedMessage._meta.concrete_fields if not field.primary_key]


def insert_messages(messages):
    """Insert unsaved PublishedMessages in one statement and give them their primary keys."""
    fields = _message_fields()
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MESSAGES} ({', '.join(field.column for field in fields)}) "
            f"VALUES {', '.join([row] * len(messages))} RETURNING id",
            [
                field.get_db_prep_save(getattr(message, field.attname), connection)
                for message in messages
                for field in fields
            ],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    for message, pk in zip(messages, ids, strict=True):
        message.pk = pk
        message._state.adding, message._state.db = False, connection.alias


def insert_pending(rows, now):
    """Insert pending deliveries for (subscription id, message id, protocol) rows, due at `now`;
    return their (id, protocol)."""
    inserted = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            values = ", ".join(["(%s, %s, %s, 'pending', 0, %s, %s, '')"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {TABLE} (subscription_id, message_id, protocol, status, attempts, "
                f"next_attempt_at, created_at, last_error) VALUES {values} RETURNING id, protocol",
                [value for row in chunk for value in (*row, now, now)],
            )
            inserted += cursor.fetchall()
    return inserted


def delete(delivery_ids):
    """Delete deliveries that have no attempt log (queue deliveries never have one), without
    QuerySet.delete() loading every row first to look for one."""
    placeholders = ", ".join(["%s"] * len(delivery_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id IN ({placeholders})", delivery_ids)


# The prunes walk by age in keyset order: each batch starts after the last one's last row, so no
# batch walks again over what the ones before it deleted (on PostgreSQL their index entries stay
# until vacuum). Each SELECT reads one index range: delivery_finished_idx, published_age_idx.
_NEVER = -1


def finished_before(cutoff, after, limit):
    """(id, message_id, finished_at) of up to `limit` finished deliveries that finished before
    `cutoff`, oldest first, after the (finished_at, id) key `after`."""
    finished_at, pk = after or (_NEVER, _NEVER)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, message_id, finished_at FROM {TABLE} WHERE finished_at < %s "
            "AND finished_at >= %s AND (finished_at > %s OR id > %s) AND status <> 'pending' "
            "ORDER BY finished_at, id LIMIT %s",
            [cutoff, finished_at, finished_at, pk, limit],
        )
        return cursor.fetchall()


def published_before(cutoff, after, limit):
    """(id, published_at) of up to `limit` messages published before `cutoff`, oldest first,
    after the (published_at, id) key `after`."""
    published_at, pk = after or (_NEVER, _NEVER)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, published_at FROM {MESSAGES} WHERE published_at < %s "
            "AND published_at >= %s AND (published_at > %s OR id > %s) "
            "ORDER BY published_at, id LIMIT %s",
            [cutoff, published_at, published_at, pk, limit],
        )
        return cursor.fetchall()


# Each topic's latest messages outlive the prune, for the filter-policy playground to match.
KEEP_LATEST_PER_TOPIC = 100


def delete_unowed_messages(message_ids, published_before):
    """Delete those of these messages published before a time that no delivery owes or records
    any more, and that are not among their topic's KEEP_LATEST_PER_TOPIC latest; return how many.

    The latest are found by a walk down the (topic, published_at) index from the newest: the
    KEEP_LATEST_PER_TOPIC-th's time is the bound (none while a topic has fewer, so all stay).
    """
    message_ids = list(message_ids)
    if not message_ids:
        return 0
    placeholders = ", ".join(["%s"] * len(message_ids))
    sql = (
        f"DELETE FROM {MESSAGES} WHERE id IN ({placeholders}) AND published_at < %s "
        f"AND NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE d.message_id = {MESSAGES}.id)"
    )
    params = [*message_ids, published_before]
    if KEEP_LATEST_PER_TOPIC:
        sql += (
            f" AND published_at < (SELECT k.published_at FROM {MESSAGES} k "
            f"WHERE k.topic_id = {MESSAGES}.topic_id ORDER BY k.published_at DESC "
            "LIMIT 1 OFFSET %s)"
        )
        params.append(KEEP_LATEST_PER_TOPIC - 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
