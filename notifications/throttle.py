"""SNS's throttle policy: at most maxReceivesPerSecond deliveries a second to an HTTP(S) endpoint.

Every delivery to a throttled subscription reserves a send slot first: one conditional UPDATE moves
the subscription's next free slot on by 1/rate seconds and returns the slot taken. Slots live in
the database (DeliveryThrottle), so the rate holds across every worker thread and process, on
every machine, that shares it; a slot is a start time, so deliveries never start closer together
than 1/rate however many workers send them.
"""

import time

from django.db import IntegrityError, connection, transaction

from notifications.models import DeliveryThrottle

TABLE = DeliveryThrottle._meta.db_table

_RESERVE = (
    f"UPDATE {TABLE} SET next_slot_us = "
    "CASE WHEN next_slot_us > %s THEN next_slot_us ELSE %s END + %s "
    "WHERE subscription_id = %s RETURNING next_slot_us"
)
_FIRST = (
    f"INSERT INTO {TABLE} (subscription_id, next_slot_us) VALUES (%s, %s) "
    "ON CONFLICT (subscription_id) DO NOTHING"
)


def now_us():
    return int(time.time() * 1_000_000)


def interval_us(per_second):
    return max(1, 1_000_000 // per_second)


def reserve(subscription_id, per_second, now=None):
    """Reserve the subscription's next send slot; return its start (µs since the epoch)."""
    now = now or now_us()
    step = interval_us(per_second)
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(_RESERVE, [now, now, step, subscription_id])
            row = cursor.fetchone()
            if row is not None:
                return row[0] - step
            try:
                with transaction.atomic():
                    cursor.execute(_FIRST, [subscription_id, now + step])
            except IntegrityError:
                return now  # the subscription was deleted meanwhile: nothing left to pace
            if cursor.rowcount == 1:
                return now
            # Another worker made the row first: reserve from it.
    return now


def wait_until(start_us):
    """Sleep until a reserved slot starts."""
    delay = (start_us - now_us()) / 1_000_000
    if delay > 0:
        time.sleep(delay)
