"""The outbox's hot-path SQL: writing a publish's Delivery rows and deleting delivered ones.

Everything else uses the ORM. These run on every publish and every queue drain, where building
model instances cost more than the work (a PublishBatch to 10 subscribers writes 100 rows); each
is one statement and leaves every SNS rule to notifications.service and notifications.delivery.
"""

from django.db import connection

from notifications.models import Delivery

TABLE = Delivery._meta.db_table
# Rows per INSERT: SQLite takes at most 32,766 parameters a statement.
INSERT_ROWS = 1000


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
