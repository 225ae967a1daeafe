"""Wake this process's long polls when another process adds messages.

Sends in this process signal waiters directly (queues.notifier). A Celery worker redriving
messages, or another web process, does not; so each web process watches the database:
- SQLite: `PRAGMA data_version` on a connection changes only when *another* connection commits.
  Asked on the database thread's own connection, our own sends (already signalled directly)
  don't count, so only other processes' writes wake everyone. A check every 25 ms while anyone
  waits costs one thread hop. (Asked on a separate connection, every local commit looked
  foreign and woke every waiter: 2,075 -> 1,435 msgs/s in make bench.)
- PostgreSQL: writers NOTIFY `roost_queue` with the queue id (see `announce`), and one
  LISTEN connection per process wakes exactly that queue's waiters.
The long poll's own periodic re-check stays as the safety net for anything missed.
"""

import asyncio
import logging
import weakref

from django.db import connection

from aws_protocol import database_thread
from queues import notifier

logger = logging.getLogger("roost.wakeups")

CHANNEL = "roost_queue"
SQLITE_TICK_SECONDS = 0.025
RECONNECT_SECONDS = 1.0
_started = weakref.WeakSet()  # event loops that run a watcher


def announce(queue_id):
    """Tell other processes a queue gained messages (PostgreSQL; SQLite needs no telling).

    NOTIFY is transactional: listeners hear it when the writing transaction commits.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(queue_id)])


def ensure_watching():
    """Start this event loop's watcher once; call from async code before waiting."""
    loop = asyncio.get_running_loop()
    if loop in _started:
        return
    _started.add(loop)
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        loop.create_task(_watch_sqlite())
    elif connection.vendor == "postgresql":
        loop.create_task(_listen_postgresql(settings_dict))


def _data_version():
    connection.ensure_connection()
    return connection.connection.execute("PRAGMA data_version").fetchone()[0]


async def _watch_sqlite():
    try:
        last = await database_thread.run(_data_version)
        while True:
            await asyncio.sleep(SQLITE_TICK_SECONDS)
            if not notifier.has_waiters():
                continue
            version = await database_thread.run(_data_version)
            if version != last:
                last = version
                notifier.signal_all()
    except Exception:
        logger.exception("SQLite change watcher stopped; long polls fall back to re-checking")


async def _listen_postgresql(settings_dict):
    import psycopg

    params = {
        "dbname": settings_dict["NAME"],
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    params = {key: value for key, value in params.items() if value}
    # A restarting server must not stall the reconnect; keepalives notice a dead peer that
    # never closed the socket (a crashed host), which a listener otherwise waits on forever.
    options = settings_dict.get("OPTIONS", {})
    params["connect_timeout"] = options.get("connect_timeout", 2)
    params.update(keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
    lost_since = None
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as listener:
                await listener.execute(f"LISTEN {CHANNEL}")
                if lost_since is not None:
                    logger.warning(
                        "PostgreSQL LISTEN connection back after %.1f s",
                        asyncio.get_running_loop().time() - lost_since,
                    )
                    lost_since = None
                # Anything sent while we were not listening: let every waiter look again.
                notifier.signal_all()
                async for notification in listener.notifies():
                    try:
                        notifier.signal(int(notification.payload))
                    except ValueError:
                        continue
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Once per outage: reconnecting every second would log a line a second.
            if lost_since is None:
                lost_since = asyncio.get_running_loop().time()
                logger.warning("PostgreSQL LISTEN connection lost (%s); reconnecting", error)
            await asyncio.sleep(RECONNECT_SECONDS)
