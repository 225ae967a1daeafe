"""A Roost of the race tests' own: several server processes on one database, and threads to race.

One server process runs all its database work on one thread, so two requests race for a row only
when two processes answer them, as under any deployment of several web processes. A RaceRoost
starts SERVERS processes on one database: PostgreSQL (a database of its own on the server that
DATABASE_URL names, else on 127.0.0.1:5432), and SQLite (a file of its own) unless the run itself
is on PostgreSQL. Its broker is a SQLite file of its own too, so no shared worker ever runs its
tasks against the wrong database.
"""

import socket
import sqlite3
import threading
from contextlib import ExitStack, closing
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.servers import (
    TEST_ACCESS_KEY_ID,
    TEST_REGION,
    TEST_SECRET,
    Roost,
    free_port,
    suite_postgres,
    temporary_roost,
)

SERVERS = 4
THREADS = 16
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_url():
    """The PostgreSQL server to race on: the run's own when it uses one, else the local one."""
    return suite_postgres() or DEFAULT_POSTGRES


def backends():
    """The databases to race on: PostgreSQL always; SQLite too unless this run is on PostgreSQL
    (CI's other leg runs on SQLite and covers it there)."""
    return ["postgresql"] if suite_postgres() else ["postgresql", "sqlite"]


def postgres_reachable(url):
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1).close()
    except OSError:
        return False
    return True


class RaceRoost(Roost):
    """SERVERS server processes on one fresh database of the backend's kind."""

    def __init__(self, data_dir, name, *, backend):
        postgres = postgres_url() if backend == "postgresql" else None
        super().__init__(data_dir, name, postgres=postgres)
        self.backend = backend
        self.urls, self._clients = [], {}

    def open(self):
        super().open()
        ports = [self.port] + [free_port() for _ in range(SERVERS - 1)]
        self.servers = self.start_servers(ports)  # all at once; each then waited for
        self.urls = [server.url for server in self.servers]
        return self

    def clients(self, service):
        """THREADS boto3 clients of this service, spread over the server processes in turn."""
        if service not in self._clients:
            session = boto3.Session()
            self._clients[service] = [
                session.client(
                    service,
                    endpoint_url=self.urls[index % len(self.urls)],
                    region_name=TEST_REGION,
                    aws_access_key_id=TEST_ACCESS_KEY_ID,
                    aws_secret_access_key=TEST_SECRET,
                    # No retries: a server error must fail the test at once.
                    config=Config(retries={"total_max_attempts": 1}, max_pool_connections=2),
                )
                for index in range(THREADS)
            ]
        return self._clients[service]

    def query(self, sql, params=()):
        """Rows of a read-only SQL statement on this roost's database (%s placeholders)."""
        if self.backend == "postgresql":
            import psycopg

            with psycopg.connect(self.database.url) as connection:
                return connection.execute(sql, params).fetchall()
        path = self.data_dir / "roost.sqlite3"
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()

    def logs(self):
        return "\n".join(
            f"--- {server.log_path.name}\n{server.log()[-5000:]}" for server in self.servers
        )

    def close(self):
        for clients in self._clients.values():
            for client in clients:
                client.close()
        super().close()


def race(calls, timeout=120):
    """Run every call in a thread of its own, all released at once; return what each returned.

    A ClientError is returned (not raised) as what that call answered; any other exception fails.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except ClientError as error:
            outcomes[index] = error
        except BaseException as error:  # noqa: BLE001 (reported below, with the call's index)
            outcomes[index] = error

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a racing call did not finish"
    unexpected = [
        outcome
        for outcome in outcomes
        if isinstance(outcome, BaseException) and not isinstance(outcome, ClientError)
    ]
    assert not unexpected, unexpected
    return outcomes


def server_errors(outcomes):
    """The outcomes that were 5xx answers: a race must never produce one."""
    return [
        (outcome.response["Error"]["Code"], outcome.response["ResponseMetadata"]["HTTPStatusCode"])
        for outcome in outcomes
        if isinstance(outcome, ClientError)
        and outcome.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    ]


def error_code(outcome):
    """The error code a refused call got, or None for a call that succeeded."""
    return outcome.response["Error"]["Code"] if isinstance(outcome, ClientError) else None


_shared = {}


def shared_race_roost(backend, config):
    """The session's RaceRoost on this backend, started on first use and closed at session end.

    The queue and topic race tests share it, so each backend's servers start once per run. It
    skips when PostgreSQL is out of reach.
    """
    if backend not in _shared:
        if backend == "postgresql" and not postgres_reachable(postgres_url()):
            pytest.skip(f"RACE TESTS NOT RUN ON POSTGRESQL: nothing listens at {postgres_url()}")
        roosts = ExitStack()
        config.add_cleanup(roosts.close)
        _shared[backend] = roosts.enter_context(
            temporary_roost("races", RaceRoost, backend=backend)
        )
    return _shared[backend]
