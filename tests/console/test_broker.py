"""The embedded broker (console.broker): kombu's SQLAlchemy transport on a SQLite file."""

import sqlite3
from queue import Empty

import pytest
from kombu import Connection

from console import broker


def test_taken_messages_leave_the_broker_file_and_the_file_runs_in_wal_mode(tmp_path):
    broker.install()
    path = tmp_path / "broker.sqlite3"
    with Connection(f"sqla+sqlite:///{path}") as connection:
        queue = connection.SimpleQueue("roost-test")
        for number in range(3):
            queue.put({"n": number})
        taken = []
        for _ in range(3):
            message = queue.get(timeout=5)
            taken.append(message.payload["n"])
            message.ack()
        queue.close()

    assert taken == [0, 1, 2]
    with sqlite3.connect(path) as database:
        assert database.execute("SELECT count(*) FROM kombu_message").fetchone() == (0,)
        assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_message_put_back_unacknowledged_is_taken_again(tmp_path):
    """kombu restores unacknowledged messages as new rows, so deleting taken ones loses nothing."""
    broker.install()
    with Connection(f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}") as connection:
        queue = connection.SimpleQueue("roost-test")
        queue.put({"n": 1})
        queue.get(timeout=5).requeue()
        again = queue.get(timeout=5)
        again.ack()
        queue.close()

    assert again.payload == {"n": 1}


def test_a_queue_found_empty_is_polled_again_once_a_message_arrives(tmp_path):
    """Polls skip the query while the file is unchanged; a put, from any connection, ends that."""
    broker.install()
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    with Connection(url) as consumer_connection, Connection(url) as producer_connection:
        consumer = consumer_connection.SimpleQueue("roost-test")
        with pytest.raises(Empty):
            consumer.get(timeout=0.2)
        with pytest.raises(Empty):
            consumer.get(timeout=0.2)  # now skipped: the file has not changed
        producer_connection.SimpleQueue("roost-test").put({"n": 1})
        first = consumer.get(timeout=5)
        first.ack()
        consumer.put({"n": 2})  # and from the consumer's own connection
        second = consumer.get(timeout=5)
        second.ack()
        consumer.close()

    assert [first.payload, second.payload] == [{"n": 1}, {"n": 2}]


def test_a_queue_row_another_process_just_created_is_taken_not_a_crash(tmp_path):
    """Both workers of a first start may look for a queue's row, find none, and insert it."""
    broker.install()
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    with Connection(url) as first, Connection(url) as second:
        first.SimpleQueue("roost-race").put({"n": 1})
        channel = second.default_channel
        session = channel.session
        real_query = session.query
        looks = []

        class NotYetThere:
            """The row as the second process saw it before the first one committed."""

            def filter(self, *conditions):
                return self

            def first(self):
                return None

        def query(*args, **kwargs):
            looks.append(args)
            return NotYetThere() if len(looks) <= 2 else real_query(*args, **kwargs)

        session.query = query
        try:
            row = channel._get_or_create("roost-race")
        finally:
            session.query = real_query
        taken = second.SimpleQueue("roost-race").get(timeout=5)
        taken.ack()

    assert row.name == "roost-race"
    assert len(looks) == 3  # looked twice, lost the insert, then took the other's row
    assert taken.payload == {"n": 1}
