"""Caps on how many queues or topics one installation holds (ROOST_MAX_QUEUES, ROOST_MAX_TOPICS).

The row is inserted first and counted after, in one transaction, so two creates racing for the
last place cannot both win: on SQLite the insert takes the database's write lock, which the other
create then waits for and counts behind; on PostgreSQL a transaction-scoped advisory lock per
table does the same, since under READ COMMITTED neither would see the other's uncommitted row.
"""

import zlib

from django.db import connection


def insert_within_cap(instance, cap, error):
    """Save a new row inside the caller's transaction; raise `error` if that makes one too many.

    The caller's transaction.atomic() rolls the insert back when the error propagates.
    """
    model = type(instance)
    if cap and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(model._meta.db_table.encode())]
            )
    instance.save()
    if cap and model.objects.count() > cap:
        raise error
