"""A live Roost of a few tests' own, which they may break: stop or kill its workers, lose its broker.

The session's roost_server and roost_worker are shared, so nothing may stop them. This one has its
own data directory, database and broker (a SQLite file, or a redis-server of its own when the suite
runs on Redis, so other runs on the machine never take its tasks), and sends email over SMTP.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import dj_database_url
from botocore.config import Config

from tests.conftest import (
    BASE_DIR,
    START_TIMEOUT,
    TEST_ACCESS_KEY_ID,
    TEST_REGION,
    TEST_SECRET,
    TEST_SECRET_KEY,
    LiveServer,
    LiveWorker,
    _manage,
    _PostgresDatabase,
    _server_command,
    _stop,
    _tail,
    _wait_for_port,
)
from tests.notifications.receivers import free_port


def uses_redis():
    """Whether this run's broker is Redis (the PostgreSQL leg of CI) rather than SQLite."""
    return os.environ.get("CELERY_BROKER_URL", "").startswith("redis")


class RedisBroker:
    """A redis-server on a port of its own, to be stopped and started again like a real broker."""

    def __init__(self, data_dir, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data_dir = data_dir
        self._process = None

    def start(self):
        log_path = self._data_dir / f"redis-{self.port}.log"
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self._data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_for_port(self._process, self.port, log_path, "redis-server")

    def stop(self):
        if self._process is not None:
            _stop(self._process)
            self._process = None


class _PrivateDatabase(_PostgresDatabase):
    def __init__(self, url):
        super().__init__(url)
        self.name += "_private"
        self.url = urlunsplit(urlsplit(self.url)._replace(path=f"/{self.name}"))


class PrivateRoost:
    """The server, its broker and the workers started for it; `close()` stops them all."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self._servers, self._workers, self._brokers, self._database = [], [], [], None
        self._clients = {}
        self.env = self.server = None

    def open(self, **extra_env):
        """Create the database, migrate it and start the server; env adds to the environment."""
        env = {
            **os.environ,
            "ROOST_DATA_DIR": str(self.data_dir),
            "SECRET_KEY": TEST_SECRET_KEY,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url and "postgresql" in dj_database_url.parse(database_url)["ENGINE"]:
            self._database = _PrivateDatabase(database_url)
            self._database.create()
            env["DATABASE_URL"] = self._database.url
        else:
            env["DATABASE_URL"] = f"sqlite:///{self.data_dir / 'roost.sqlite3'}"
        env["CELERY_BROKER_URL"] = self.broker(up=True)
        # Workers render the links deliveries carry: they point at the first server.
        port = free_port()
        env["ROOST_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        self.env = env
        _manage(env, "migrate", "--noinput")
        _manage(env, "createaccesskey", "--id", TEST_ACCESS_KEY_ID, "--secret", TEST_SECRET)
        self.server = self.start_server(port=port)
        return self

    def broker(self, up):
        """Return the URL of a new broker of this run's kind, running or (up=False) not yet.

        Bring a stopped one up with `start_broker(url)`.
        """
        if uses_redis():
            broker = RedisBroker(self.data_dir)
            self._brokers.append(broker)
            if up:
                broker.start()
            return broker.url
        # SQLite cannot open a database in a directory that does not exist: the broker is down
        # until start_broker() makes the directory.
        directory = self.data_dir / f"broker-{len(self._brokers)}"
        self._brokers.append(directory)
        if up:
            directory.mkdir()
        return f"sqla+sqlite:///{directory / 'broker.sqlite3'}"

    def start_broker(self, url):
        for broker in self._brokers:
            if isinstance(broker, RedisBroker) and broker.url == url:
                broker.start()
            elif isinstance(broker, Path) and str(broker / "broker.sqlite3") in url:
                broker.mkdir()

    def start_server(self, port=None, **env):
        """Start a server process on this database; env overrides this roost's environment."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**self.env, "ROOST_PUBLIC_URL": url, **env}
        log_path = self.data_dir / f"server-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                _server_command(port),
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._servers.append(process)
        _wait_for_port(process, port, log_path, "The private Roost server")
        return LiveServer(
            url=url,
            access_key_id=TEST_ACCESS_KEY_ID,
            secret=TEST_SECRET,
            env=env,
            data_dir=self.data_dir,
            pid=process.pid,
            log_path=log_path,
            process=process,
        )

    def stop_server(self, server):
        # Closed clients first: uvicorn waits for open keep-alive connections before it exits.
        for client in self._clients.pop(server.url, []):
            client.close()
        _stop(server.process)

    def start_worker(self, *options, **env):
        """Start a Celery worker (options add to its command line, env overrides this roost's)
        and wait until it consumes."""
        number = len(self._workers) + 1
        log_path = self.data_dir / f"worker-{number}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "console", "worker",
            "--loglevel=INFO", "--concurrency=2",
            f"--hostname=roost-private-{number}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat", *options,
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            # Its own process group, so that killing it kills its pool children with it.
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env={**self.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = LiveWorker(pid=process.pid, log_path=log_path, process=process)
        self._workers.append(worker)
        deadline = time.monotonic() + START_TIMEOUT
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop_worker(worker)
                raise AssertionError(f"The private worker did not start:\n{_tail(log_path)}")
            time.sleep(0.1)
        return worker

    def kill_worker(self, worker):
        """SIGKILL the worker and its pool children at once, as a crash or an OOM kill would."""
        if worker.process.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)

    def stop_worker(self, worker):
        if worker.process.poll() is None:
            _stop(worker.process, group=True)

    def stop_workers(self):
        for worker in self._workers:
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

    def manage(self, *args):
        return _manage(self.env, *args)

    def close(self):
        self.stop_workers()
        for clients in self._clients.values():
            for client in clients:
                client.close()
        for process in self._servers:
            _stop(process)
        for broker in self._brokers:
            if isinstance(broker, RedisBroker):
                broker.stop()
        if self._database is not None:
            self._database.drop()
