"""A live Roost of a few tests' own, which they may break: stop or kill its workers, lose its broker.

The session's roost_server and roost_worker are shared, so nothing may stop them. This one has its
own data directory, database and broker (a SQLite file, or a redis-server of its own when the suite
runs on Redis, so other runs on the machine never take its tasks), and sends email over SMTP.
"""

import os
from pathlib import Path

import boto3
from botocore.config import Config

from tests.servers import (
    TEST_REGION,
    RedisServer,
    Roost,
    free_port,
    suite_postgres,
)


def uses_redis():
    """Whether this run's broker is Redis (the PostgreSQL leg of CI) rather than SQLite."""
    return os.environ.get("CELERY_BROKER_URL", "").startswith("redis")


class PrivateRoost(Roost):
    """The server, its broker and the workers started for it; `close()` stops them all."""

    def __init__(self, data_dir):
        super().__init__(data_dir, "private", postgres=suite_postgres())
        self._brokers, self._clients = [], {}
        self.env["CELERY_BROKER_URL"] = self.broker(up=False)

    def open(self, **extra_env):
        """Create the database, migrate it and start the server; env adds to the environment."""
        self.env.update(extra_env)
        self.start_broker(self.env["CELERY_BROKER_URL"])
        super().open()
        # Workers render the links deliveries carry: they point at this first server.
        self.start_server()
        return self

    def broker(self, up):
        """Return the URL of a new broker of this run's kind, running or (up=False) not yet.

        Bring a stopped one up with `start_broker(url)`.
        """
        if uses_redis():
            broker = RedisServer(self.data_dir)
            self._brokers.append(broker)
            if up:
                broker.start()
            return broker.url()
        # SQLite cannot open a database in a directory that does not exist: the broker is down
        # until start_broker() makes the directory.
        directory = self.data_dir / f"broker-{len(self._brokers)}"
        self._brokers.append(directory)
        if up:
            directory.mkdir()
        return f"sqla+sqlite:///{directory / 'broker.sqlite3'}"

    def start_broker(self, url):
        for broker in self._brokers:
            if isinstance(broker, RedisServer) and broker.url() == url:
                broker.start()
            elif isinstance(broker, Path) and str(broker / "broker.sqlite3") in url:
                broker.mkdir()

    def start_server(self, **env):
        """Start a server process on this database; env overrides this roost's environment.

        The first listens on the roost's own port; any later one on a port (and public URL) of
        its own.
        """
        if self.server is None:
            return super().start_server(**env)
        port = free_port()
        env.setdefault("ROOST_PUBLIC_URL", f"http://127.0.0.1:{port}")
        return super().start_server(port, **env)

    def stop_server(self, server):
        # Closed clients first: uvicorn waits for open keep-alive connections before it exits.
        for client in self._clients.pop(server.url, []):
            client.close()
        self.stop(server.process)

    def kill_worker(self, worker):
        """SIGKILL the worker and its pool children at once, as a crash or an OOM kill would."""
        self.kill(worker.process)

    def stop_worker(self, worker):
        self.stop(worker.process)

    def stop_workers(self):
        for worker in self.workers:
            self.stop_worker(worker)

    def logs(self):
        """The files this roost's processes log to."""
        return sorted(self.data_dir.glob("*.log"))

    def client(self, service, server=None):
        """A boto3 client ("sns", "sqs") for this roost's server, or another one started here."""
        server = server or self.server
        client = boto3.Session().client(
            service,
            endpoint_url=server.url,
            region_name=TEST_REGION,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret,
            config=Config(retries={"total_max_attempts": 1}),
        )
        self._clients.setdefault(server.url, []).append(client)
        return client

    def close(self):
        for clients in self._clients.values():
            for client in clients:
                client.close()
        super().close()
        for broker in self._brokers:
            if isinstance(broker, RedisServer):
                broker.stop()
