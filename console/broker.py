"""The embedded Celery broker: kombu's SQLAlchemy transport, tuned for a SQLite file.

Three changes to kombu's transport, each measured on `make run`'s default:

- It polls every 50 ms instead of 1 s: a topic's deliveries wait for the worker to notice their
  task, so the poll interval is most of the publish-to-delivery latency. kombu hands every
  transport option of this transport to SQLAlchemy's create_engine(), which refuses
  `polling_interval`, hence a subclass rather than a setting.
- The SQLite file runs in WAL mode with synchronous=NORMAL, as Roost's own database does: in the
  default rollback-journal mode every task sent paid ~2.5 ms of fsync, inside the publish request.
- A message taken off the queue is deleted, not kept with `visible = 0`: kombu's query for the
  next message has no index to skip the kept ones, so every poll grew slower with every task ever
  run. Nothing reads a taken message again: kombu puts unacknowledged messages back with a new
  row, and Roost's sweep finds work whose task was lost from its own tables.
- A message is sent with one INSERT, its queue's id cached: kombu's ORM path queried the queue
  and built objects each time, half of what a publish with ten subscribers cost the web process.
- A poll first asks SQLite whether the file changed since the queue was last found empty, and
  skips the query if not: an idle worker's twenty polls a second cost ~6% of a core before.
- Two processes creating the same queue's row at once (both workers of a first `make run` on a
  new broker file) no longer crash the loser: kombu's lock against that is per process.
"""

import sqlite3
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel as SQLAlchemyChannel
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from sqlalchemy import event, insert, text
from sqlalchemy.exc import IntegrityError, OperationalError

POLLING_INTERVAL = 0.05
# A worker's loop looks for a shutdown request between two calls of drain_events; Celery asks for
# 2 s of polling each time, so a warm shutdown started 2 s late.
DRAIN_SECONDS = 0.2
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


def _tune_sqlite(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class Channel(SQLAlchemyChannel):
    _changes = None  # a connection of its own that only asks SQLite whether the file changed
    _empty_since = None  # queue -> the file's data_version when that queue was last found empty
    _queue_ids = None  # queue name -> its row's id: kombu never deletes a queue's row

    def _get_or_create(self, queue):
        try:
            return super()._get_or_create(queue)
        except IntegrityError:  # another process inserted the row between our look and insert
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()

    def _engine_from_config(self):
        engine = super()._engine_from_config()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_sqlite)
        return engine

    def _file_version(self):
        """SQLite's data_version of the broker file, or None when the broker is not SQLite.

        It changes whenever another connection commits a change, so a queue found empty stays
        empty until it changes: an idle worker's polls cost a PRAGMA instead of a transaction.
        """
        if self._changes is None:
            engine, _ = self._open()
            if engine.dialect.name != "sqlite" or not engine.url.database:
                return None
            self._changes = sqlite3.connect(engine.url.database, check_same_thread=False)
            self._empty_since = {}
        return self._changes.execute("PRAGMA data_version").fetchone()[0]

    def _put(self, queue, payload, **kwargs):
        """Insert the message with one statement, its queue's id looked up once per channel."""
        if self._queue_ids is None:
            self._queue_ids = {}
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            queue_id = self._queue_ids[queue] = self._get_or_create(queue).id
        session = self.session
        try:
            session.execute(
                insert(self.message_cls.__table__).values(
                    payload=dumps(payload), queue_id=queue_id, visible=True, version=1
                )
            )
            session.commit()
        except OperationalError:
            # As kombu does: the publish fails (and can be retried), nothing is half-stored.
            session.rollback()
            raise

    def close(self):
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        super().close()

    def _get(self, queue):
        """Take the oldest visible message of the queue, deleting its row."""
        version = self._file_version()
        if version is not None and self._empty_since.get(queue) == version:
            raise Empty()
        queue_row = self._get_or_create(queue)
        session = self.session
        if session.bind.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            message = (
                session.query(self.message_cls)
                .with_for_update()
                .filter(self.message_cls.queue_id == queue_row.id)
                .filter(self.message_cls.visible != False)  # noqa: E712 (an SQL expression)
                .order_by(self.message_cls.sent_at, self.message_cls.id)
                .limit(1)
                .first()
            )
            if message is None:
                if version is not None:
                    self._empty_since[queue] = version
                raise Empty()
            payload = loads(bytes_to_str(message.payload))
            session.delete(message)
            return payload
        finally:
            session.commit()


class Transport(SQLAlchemyTransport):
    Channel = Channel
    polling_interval = POLLING_INTERVAL

    def drain_events(self, connection, timeout=None):
        """Poll for at most DRAIN_SECONDS at a time, so a stopping worker notices within that."""
        if timeout is None or timeout > DRAIN_SECONDS:
            timeout = DRAIN_SECONDS
        return super().drain_events(connection, timeout=timeout)


def install():
    """Make `sqla+<database url>` broker URLs use this transport."""
    TRANSPORT_ALIASES["sqla"] = "console.broker:Transport"
    TRANSPORT_ALIASES["sqlalchemy"] = "console.broker:Transport"
