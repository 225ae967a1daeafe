"""The embedded Celery broker: kombu's SQLAlchemy transport, polled every 50 ms instead of 1 s.

A topic's deliveries wait for the worker to notice their task, so the poll interval is most of the
publish-to-delivery latency on `make run`. kombu hands every transport option of this transport to
SQLAlchemy's create_engine(), which refuses `polling_interval`, hence a subclass rather than a
setting. An idle worker pays twenty cheap SELECTs a second on the broker's SQLite file.
"""

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

POLLING_INTERVAL = 0.05


class Transport(SQLAlchemyTransport):
    polling_interval = POLLING_INTERVAL


def install():
    """Make `sqla+<database url>` broker URLs use this transport."""
    TRANSPORT_ALIASES["sqla"] = "console.broker:Transport"
    TRANSPORT_ALIASES["sqlalchemy"] = "console.broker:Transport"
