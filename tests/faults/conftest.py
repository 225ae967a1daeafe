"""Launchers for the fault tests: Roosts of their own, and a PostgreSQL and a Redis to break.

Every fault test breaks only what it started: its own Roost processes, a redis-server on a free
port, a PostgreSQL cluster in a temporary directory. The shared server, worker, PostgreSQL and
Redis of the rest of the suite (and of CI) are never touched.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config

from tests.conftest import QUERY_MODELS
from tests.servers import (
    TEST_ACCESS_KEY_ID,
    TEST_REGION,
    TEST_SECRET,
    RedisServer,
    Roost,
    free_port,
    suite_postgres,
    temporary_roost,
    wait_until,
)

CONSOLE_USER = "faults"
CONSOLE_PASSWORD = "a-long-password-for-faults"


def wait_for(condition, timeout, what, interval=0.05):
    """tests.servers.wait_until, with the argument order the fault tests use."""
    return wait_until(condition, timeout, interval, what)


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
        self.port = free_port()
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


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, running."""
    require("redis-server")
    with tempfile.TemporaryDirectory(prefix="roost-faults-redis-") as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            yield redis
        finally:
            redis.stop()


# A Roost of a test's own ----------------------------------------------------------------------


class FaultRoost(Roost):
    """One Roost (database, web process, workers) that a test may kill, restart and starve."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = []

    def kill_server(self):
        """SIGKILL the web process, as a crash or the OOM killer would."""
        self.kill(self.server.process)

    def kill_group(self, process):
        """SIGKILL a worker and its pool children at once."""
        self.kill(process)

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
        self.manage(
            "shell", "-c",
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
        super().close()


@contextmanager
def fault_roost(name, database_url=None, **extra_env):
    """Run a Roost of a test's own, its web process started, until exit.

    Without `database_url`, it gets a SQLite file, or a database of its own on the suite's
    PostgreSQL when DATABASE_URL names one. Its channel layer stays in its processes unless
    REDIS_URL is given: the suite's Redis is not a fault test's to break.
    """
    extra_env.setdefault("REDIS_URL", None)
    with temporary_roost(
        f"faults-{name}",
        FaultRoost,
        postgres=suite_postgres(),
        database_url=database_url,
        **extra_env,
    ) as roost:
        roost.start_server()
        yield roost


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
