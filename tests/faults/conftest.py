"""Launchers for the fault tests: Roosts of their own, and a PostgreSQL and a Redis to break.

Every fault test breaks only what it started: its own Roost processes, a redis-server on a free
port, a PostgreSQL cluster in a temporary directory. The shared server, worker, PostgreSQL and
Redis of the rest of the suite (and of CI) are never touched.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config

from tests.conftest import (
    BASE_DIR,
    QUERY_MODELS,
    START_TIMEOUT,
    TEST_ACCESS_KEY_ID,
    TEST_REGION,
    TEST_SECRET,
    TEST_SECRET_KEY,
    LiveServer,
    LiveWorker,
    _free_port,
    _manage,
    _PostgresDatabase,
    _stop,
    _tail,
    launch_server,
)

CONSOLE_USER = "faults"
CONSOLE_PASSWORD = "a-long-password-for-faults"


def wait_for(condition, timeout, what, interval=0.05):
    """Poll `condition()` until it returns something truthy; return it, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s", pytrace=False)
        time.sleep(interval)


def require(binary):
    """Skip, loudly, when a program these tests need is not installed."""
    if shutil.which(binary) is None and not os.path.exists(binary):
        pytest.skip(f"FAULT TEST NOT RUN: {binary} is not installed on this machine")


# PostgreSQL and Redis of a test's own ---------------------------------------------------------


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, to stop and start at will.

    PostgreSQL refuses to run as root; as root (CI), its programs run as the postgres user.
    """

    def __init__(self, directory):
        self.bin = _postgres_bin()
        self.directory = directory
        self.data = directory / "data"
        self.log_path = directory / "postgres.log"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/roost"

    def _run(self, *command, check=True):
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
            check=check,
        )  # fmt: skip

    def create(self):
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self.start()
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE roost")
        return self

    def start(self):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        result = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path),
            "-o", options, "-w", "-t", "30", "start", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}", pytrace=False)

    def stop(self, mode="fast"):
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop",
            check=False,
        )  # fmt: skip


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own, with an empty database `roost`."""
    if _postgres_bin() is None:
        pytest.skip("FAULT TEST NOT RUN: PostgreSQL's server programs (initdb, pg_ctl) are missing")
    with tempfile.TemporaryDirectory(prefix="roost-faults-pg-") as tmp:
        postgres = PrivatePostgres(Path(tmp))
        try:
            yield postgres.create()
        finally:
            postgres.stop(mode="immediate")


class PrivateRedis:
    """A redis-server on a free port of its own, to be stopped and started again on that port."""

    def __init__(self, directory):
        self.directory = directory
        self.port = _free_port()
        self.process = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        log_path = self.directory / "redis.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: _listening(self.port), START_TIMEOUT, "redis-server to listen")

    def stop(self):
        if self.process is not None:
            _stop(self.process)
            self.process = None


def _listening(port):
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, running."""
    require("redis-server")
    with tempfile.TemporaryDirectory(prefix="roost-faults-redis-") as tmp:
        redis = PrivateRedis(Path(tmp))
        redis.start()
        try:
            yield redis
        finally:
            redis.stop()


# A Roost of a test's own ----------------------------------------------------------------------


class FaultRoost:
    """One Roost (database, web process, workers) that a test may kill, restart and starve."""

    def __init__(self, data_dir, database_url, **extra_env):
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ROOST_DATA_DIR": str(data_dir),
            "SECRET_KEY": TEST_SECRET_KEY,
            "ROOST_PUBLIC_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"sqla+sqlite:///{data_dir / 'broker.sqlite3'}",
            **extra_env,
        }
        if "REDIS_URL" not in extra_env:
            self.env.pop("REDIS_URL", None)
        self.log_path = data_dir / "server.log"
        self.server = None
        self.processes = []
        self._clients = []

    def open(self):
        _manage(self.env, "migrate", "--noinput")
        _manage(self.env, "createaccesskey", "--id", TEST_ACCESS_KEY_ID, "--secret", TEST_SECRET)
        self.start_server()
        return self

    def start_server(self):
        """Start the web process on this roost's port (again, after a kill)."""
        process = launch_server(self.env, self.port, self.log_path)
        self.processes.append((process, False))
        self.server = LiveServer(
            url=self.url,
            access_key_id=TEST_ACCESS_KEY_ID,
            secret=TEST_SECRET,
            env=self.env,
            data_dir=self.data_dir,
            pid=process.pid,
            log_path=self.log_path,
            process=process,
        )
        return self.server

    def kill_server(self):
        """SIGKILL the web process, as a crash or the OOM killer would."""
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=10)

    def start_worker(self, *options, name="worker"):
        """Start a Celery worker (its own process group) and wait until it consumes."""
        log_path = self.data_dir / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "console", "worker",
            "--loglevel=INFO", "--concurrency=2",
            f"--hostname=roost-faults-{name}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat", *options,
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            start = log.tell()
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append((process, True))

        def ready():
            if process.poll() is not None:
                pytest.fail(f"The worker exited:\n{_tail(log_path)}", pytrace=False)
            with open(log_path, "rb") as log:
                log.seek(start)
                return b" ready." in log.read()

        wait_for(ready, START_TIMEOUT, f"the worker to start:\n{_tail(log_path)}", interval=0.1)
        return LiveWorker(pid=process.pid, log_path=log_path, process=process)

    def start_beat(self):
        """Start Celery beat, which sends the periodic sweeps (as `make run` does)."""
        log_path = self.data_dir / "beat.log"
        command = [
            sys.executable, "-m", "celery", "-A", "console", "beat", "--loglevel=INFO",
            f"--schedule={self.data_dir / 'beat-schedule'}",
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append((process, True))
        return process

    def kill_group(self, process):
        """SIGKILL a worker and its pool children at once."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def client(self, service, protocol=None):
        """A boto3 client for this roost, without retries (SQS: protocol "json" or "query")."""
        core = botocore.session.Session()
        if service == "sqs" and protocol == "query":
            core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        client = boto3.Session(botocore_session=core).client(
            service,
            endpoint_url=self.url,
            region_name=TEST_REGION,
            aws_access_key_id=TEST_ACCESS_KEY_ID,
            aws_secret_access_key=TEST_SECRET,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )
        if protocol is not None:
            assert client.meta.service_model.protocol == protocol
        self._clients.append(client)
        return client

    def rest(self):
        """An httpx client for the REST API, with the test key as bearer token."""
        client = httpx.Client(
            base_url=f"{self.url}/api",
            headers={"Authorization": f"Bearer {TEST_ACCESS_KEY_ID}:{TEST_SECRET}"},
            timeout=30,
        )
        self._clients.append(client)
        return client

    def console(self):
        """An httpx client logged in to the console as an operator."""
        _manage(
            self.env, "shell", "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_superuser({CONSOLE_USER!r}, '', {CONSOLE_PASSWORD!r})",
        )  # fmt: skip
        client = httpx.Client(base_url=self.url, timeout=30)
        self._clients.append(client)
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = client.post(
            "/login/",
            data={"username": CONSOLE_USER, "password": CONSOLE_PASSWORD,
                  "csrfmiddlewaretoken": token},
        )  # fmt: skip
        assert answer.status_code == 302, answer.text
        return client

    def log(self, name="server"):
        return (self.data_dir / f"{name}.log").read_text(errors="replace")

    def close(self):
        for client in self._clients:
            client.close()
        for process, group in reversed(self.processes):
            _stop(process, group=group)


@contextmanager
def fault_roost(name, database_url=None, **extra_env):
    """Run a Roost of a test's own until exit: its own data directory and database.

    Without `database_url`, it gets a SQLite file, or a database of its own on the suite's
    PostgreSQL when DATABASE_URL names one.
    """
    with tempfile.TemporaryDirectory(prefix=f"roost-faults-{name}-") as tmp:
        data_dir = Path(tmp)
        postgres = None
        if database_url is None:
            suite_url = os.environ.get("DATABASE_URL", "")
            if suite_url.startswith(("postgres://", "postgresql://")):
                postgres = _PostgresDatabase(suite_url, f"_faults_{name}")
                postgres.create()
                database_url = postgres.url
            else:
                database_url = f"sqlite:///{data_dir / 'roost.sqlite3'}"
        roost = FaultRoost(data_dir, database_url, **extra_env)
        try:
            yield roost.open()
        finally:
            roost.close()
            if postgres is not None:
                postgres.drop()


_LOG_OFFSETS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what a fault test's own processes logged to its report when it fails."""
    report = yield
    roost = item.funcargs.get("roost") if hasattr(item, "funcargs") else None
    if not isinstance(roost, FaultRoost):
        return report
    if report.failed:
        for path in sorted(roost.data_dir.glob("*.log")):
            text = path.read_bytes()[-15_000:].decode(errors="replace")
            if text.strip():
                report.sections.append((f"{path.name} during this test", text))
    return report
