"""What a process knows of a database outage, so every front door answers 503 at once.

Without it, each request during a PostgreSQL outage would wait out the pool's timeout for a
connection (the AWS endpoint's requests one after another, on its one database thread) and
clients would hang instead of hearing 503. Once a request finds the database out of reach, the
others are refused straight away, and every RETRY_SECONDS one of them first probes the server
with a connection outside the pool. The first failure is logged with its traceback and the
recovery once; nothing in between.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger("roost.database")

RETRY_SECONDS = 1.0
MESSAGE = "The request has failed due to a temporary failure of the server."

_since = None  # when this outage began (monotonic), or None
_retry_at = 0.0
_lock = threading.Lock()


def suspected():
    """Whether an outage is on record (cheap: no probe, no lock)."""
    return _since is not None


def refusing():
    """Whether to answer 503 without touching the database; may probe it first."""
    global _since, _retry_at
    if _since is None:
        return False
    if time.monotonic() < _retry_at or not _lock.acquire(blocking=False):
        return True  # within the pause, or another thread is probing right now
    try:
        if _since is None:
            return False
        if not _reachable():
            _retry_at = time.monotonic() + RETRY_SECONDS
            return True
        logger.warning("database reachable again after %.1f s", time.monotonic() - _since)
        _since = None
        return False
    finally:
        _lock.release()


def noticed(error, where):
    """Record `error` if it shows the database out of reach; return whether it did."""
    global _since, _retry_at
    if not isinstance(error, (OperationalError, InterfaceError)) or not _connection_lost():
        return False
    if _since is None and _reachable(renew_pool=False):
        # This thread's connection broke (a restart) but the server answers: no outage, the
        # broken connection is dropped by the caller and the pool lends only healthy ones.
        logger.warning("a database connection broke (%s, %s); the database answers", where, error)
        return True
    with _lock:
        now = time.monotonic()
        if _since is None:
            _since = now
            logger.error(
                "database unavailable (%s); answering 503 until it is back", where, exc_info=error
            )
        _retry_at = now + RETRY_SECONDS
    return True


def _connection_lost():
    """Whether this thread's connection is gone, rather than the database refusing a statement
    (SQLite locked past its busy timeout, a cancelled query)."""
    try:
        return connection.connection is None or not connection.is_usable()
    except Exception:
        return True


def _reachable(renew_pool=True):
    """Probe PostgreSQL with a connection outside the pool; when it answers after an outage,
    renew the pool.

    The pool's own reconnection backs off (1, 2, 4, 8... s), so after a minute's outage it
    could take another minute to notice the server is back; a fresh pool connects at once.
    """
    if connection.vendor != "postgresql" or connection.pool is None:
        return True  # nothing cheaper to try than the next request itself
    import psycopg  # noqa: PLC0415 (only PostgreSQL deployments have it)

    try:
        psycopg.connect(**connection.get_connection_params()).close()
    except psycopg.Error:
        return False
    if renew_pool:
        connection.close_pool()
    return True
