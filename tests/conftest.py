"""Fixtures for unit tests (pytest-django's test database) and live tests (a real Roost process).

Live tests talk to a server started once per session in its own data directory and database, so
nothing they do reaches the unit tests' database or a developer's `var/`.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
import dj_database_url
import pytest
from botocore.config import Config

from console.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent
QUERY_MODELS = BASE_DIR / ".venv" / "query-models"
QUERY_MODEL_FILE = QUERY_MODELS / "sqs" / "2012-11-05" / "service-2.json"

TEST_ACCESS_KEY_ID = "AKIAROOSTTESTKEY0001"
TEST_SECRET = "roost-test-secret-key-0000000000000000000"
TEST_SECRET_KEY = "roost-test-django-secret-key-not-for-production-0000000000"
TEST_REGION = "us-east-1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Unit tests must never enqueue into a broker a real worker reads (a developer's var/ broker,
# or the Redis that the live worker consumes in CI).
celery_app.conf.broker_url = "memory://"


_LOG_OFFSETS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items):
    for item in items:
        if "roost_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what the live server and worker logged during a failed test to its report."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    logs = {
        name: funcargs[name].log_path
        for name in ("roost_server", "roost_worker")
        if isinstance(funcargs.get(name), (LiveServer, LiveWorker))
    }
    if not logs:
        return report
    if report.when == "setup":
        item.stash[_LOG_OFFSETS] = {name: _size(path) for name, path in logs.items()}
    elif report.failed:
        offsets = item.stash.get(_LOG_OFFSETS, {})
        for name, path in logs.items():
            try:
                with open(path, "rb") as log:
                    log.seek(offsets.get(name, 0))
                    text = log.read()[-20_000:].decode(errors="replace")
            except FileNotFoundError:  # the last test's teardown: the server's directory is gone
                continue
            if text.strip():
                report.sections.append((f"{name} log during this test", text))
    return report


def _size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class LiveServer:
    """A running Roost server and what a test needs to reach it."""

    url: str
    access_key_id: str
    secret: str
    env: dict = field(repr=False)
    data_dir: Path
    pid: int
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def manage(self, *args, check=True):
        """Run a manage.py command against the live server's database and data directory."""
        return _manage(self.env, *args, check=check)

    def log(self):
        return self.log_path.read_text(errors="replace")


@dataclass
class LiveWorker:
    """A running Celery worker for the live server."""

    pid: int
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def log(self):
        return self.log_path.read_text(errors="replace")


def _manage(env, *args, check=True):
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path, lines=60):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def _stop(process, group=False):
    """Stop a child with SIGTERM, then SIGKILL (its whole process group when it has one)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)


class _PostgresDatabase:
    """A throwaway database on the server that DATABASE_URL names."""

    def __init__(self, url, suffix=""):
        self.name = f"roost_live_{os.getpid()}{suffix}"
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self._admin_url = urlunsplit(parts._replace(path="/postgres"))

    def _execute(self, sql):
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self):
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _server_command(port):
    if os.environ.get("ROOST_TEST_SERVER", "uvicorn") == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                "console.asgi:application"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "console.asgi:application",
            "--host", "127.0.0.1", "--port", str(port),
            "--timeout-graceful-shutdown", "5"]  # fmt: skip


def _wait_for_port(process, port, log_path, what):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{what} exited with {process.returncode} before listening on {port}:\n"
                f"{_tail(log_path)}",
                pytrace=False,
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    _stop(process)
    pytest.fail(
        f"{what} did not listen on {port} within {START_TIMEOUT:.0f} s:\n{_tail(log_path)}",
        pytrace=False,
    )


def launch_server(env, port, log_path):
    """Start a Roost web process on this port with this env and wait until it listens."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            _server_command(port),
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(process, port, log_path, "The Roost server")
    except BaseException:
        _stop(process)
        raise
    return process


@contextmanager
def live_server(name="roost"):
    """Run a Roost server with its own data directory, database and access key until exit.

    `name` tells servers of one test session apart (their PostgreSQL databases' names).
    """
    with tempfile.TemporaryDirectory(prefix=f"{name}-live-") as tmp:
        data_dir = Path(tmp)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "ROOST_DATA_DIR": str(data_dir),
            "SECRET_KEY": TEST_SECRET_KEY,
            "ROOST_PUBLIC_URL": url,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "PYTHONUNBUFFERED": "1",
        }
        # A second server in one session gets a broker of its own: sharing the first's Redis,
        # each worker would also run the other server's tasks against the wrong database.
        if name != "roost" or not env.get("CELERY_BROKER_URL"):
            env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{data_dir / 'broker.sqlite3'}"

        postgres = None
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url and "postgresql" in dj_database_url.parse(database_url)["ENGINE"]:
            suffix = "" if name == "roost" else f"_{name}"
            postgres = _PostgresDatabase(database_url, suffix)
            postgres.create()
            env["DATABASE_URL"] = postgres.url
        else:
            env["DATABASE_URL"] = f"sqlite:///{data_dir / 'roost.sqlite3'}"

        log_path = data_dir / "server.log"
        process = None
        try:
            _manage(env, "migrate", "--noinput")
            _manage(env, "createaccesskey", "--id", TEST_ACCESS_KEY_ID, "--secret", TEST_SECRET)
            process = launch_server(env, port, log_path)
            yield LiveServer(
                url=url,
                access_key_id=TEST_ACCESS_KEY_ID,
                secret=TEST_SECRET,
                env=env,
                data_dir=data_dir,
                pid=process.pid,
                log_path=log_path,
                process=process,
            )
        finally:
            if process is not None:
                _stop(process)
            if postgres is not None:
                postgres.drop()


@contextmanager
def live_worker(server):
    """Run a Celery worker for this live server's background tasks, against its env, until exit."""
    log_path = server.data_dir / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "console", "worker",
        "--loglevel=INFO", "--concurrency=2",
        f"--hostname=roost-test-{os.getpid()}-{server.data_dir.name}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        # Its own process group, so the pool children can be killed with it if it hangs.
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=server.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not start:\n{_tail(log_path)}", pytrace=False)
            time.sleep(0.2)
        yield LiveWorker(pid=process.pid, log_path=log_path, process=process)
    finally:
        _stop(process, group=True)


@pytest.fixture(scope="session")
def roost_server():
    """A real Roost server process with its own data directory, database and access key."""
    with live_server() as server:
        yield server


@pytest.fixture(scope="session")
def roost_worker(roost_server):
    """A Celery worker running the live server's background tasks, against the same env."""
    with live_worker(roost_server) as worker:
        yield worker


@pytest.fixture(scope="session")
def sqs_client(roost_server):
    """Build a boto3 SQS client for the live server speaking "json" or "query"."""

    def make(protocol="json", **kwargs):
        if protocol == "json":
            session = boto3.Session()
        elif protocol == "query":
            if not QUERY_MODEL_FILE.exists():
                pytest.fail(
                    f"{QUERY_MODEL_FILE} is missing; fetch the SQS query-protocol model with "
                    "`make query-model` (or `make .venv`).",
                    pytrace=False,
                )
            core = botocore.session.Session()
            core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
            session = boto3.Session(botocore_session=core)
        else:
            raise ValueError(f"protocol must be 'json' or 'query', not {protocol!r}")
        options = {
            "endpoint_url": roost_server.url,
            "region_name": TEST_REGION,
            "aws_access_key_id": roost_server.access_key_id,
            "aws_secret_access_key": roost_server.secret,
            # No retries: a server error must fail the test that caused it, at once.
            "config": Config(retries={"total_max_attempts": 1}),
            **kwargs,
        }
        client = session.client("sqs", **options)
        spoken = client.meta.service_model.protocol
        if spoken != protocol:
            pytest.fail(f"the {protocol} SQS client speaks {spoken!r}", pytrace=False)
        return client

    return make


@pytest.fixture(params=["json", "query"])
def sqs(request, sqs_client):
    """A boto3 SQS client for the live server, once per protocol."""
    return sqs_client(request.param)


@pytest.fixture
def sqs_json(sqs_client):
    """A boto3 SQS client for the live server speaking the JSON protocol."""
    return sqs_client("json")


@pytest.fixture
def sqs_query(sqs_client):
    """A boto3 SQS client for the live server speaking the query (XML) protocol."""
    return sqs_client("query")


@pytest.fixture
def queue_name():
    """A queue name no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_queue(queue_name, sqs_client):
    """Create queues on the live server and return their URLs: make_queue(FifoQueue=True, ...).

    Attribute values may be plain Python values (True, 30); they are sent as SQS strings. A FIFO
    queue gets the `.fifo` suffix. Pass client= to create it through a given client (default:
    JSON), name= to choose the name; later calls in one test get `-2`, `-3`, … suffixes.
    """
    created = []

    def make(name=None, client=None, tags=None, **attributes):
        if name is None:
            name = queue_name if not created else f"{queue_name}-{len(created) + 1}"
        attributes = {key: _sqs_value(value) for key, value in attributes.items()}
        if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
            name += ".fifo"
        params = {"QueueName": name, "Attributes": attributes}
        if tags:
            params["tags"] = tags
        url = (client or sqs_client("json")).create_queue(**params)["QueueUrl"]
        created.append(url)
        return url

    return make


def _sqs_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
