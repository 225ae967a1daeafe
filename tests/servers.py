"""The one launcher of the processes live tests drive, and the one way tests wait for them.

Every Roost a test talks to starts here: the session's server and worker (tests/conftest.py), the
race tests' several servers on one database (tests/race_roost.py), the delivery tests' private
roost (tests/notifications/private_roost.py) and the fault tests' roosts (tests/faults/conftest.py).
A `Roost` is a data directory and a database and the processes started on them; what differs from
one to the next is a parameter: the database (a throwaway one on a PostgreSQL server, a URL as
given, or a SQLite file), the broker, the environment, and how many servers and workers it starts.
Each process logs to a file of its own in the data directory and is waited for until it is ready.
"""

import atexit
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

TEST_ACCESS_KEY_ID = "AKIAROOSTTESTKEY0001"
TEST_SECRET = "roost-test-secret-key-0000000000000000000"
TEST_SECRET_KEY = "roost-test-django-secret-key-not-for-production-0000000000"
TEST_REGION = "us-east-1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
WAIT_SECONDS = 20.0


def wait_until(predicate, timeout=WAIT_SECONDS, interval=0.05, what="the condition"):
    """Return predicate()'s first truthy value, or fail once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)  # the poll interval: how often the condition is looked at


# Processes ------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port):
    """Whether something accepts connections on this local port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path, lines=60):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def log_size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _logged_since(path, offset):
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read()


def manage(env, *args, check=True):
    """Run a manage.py command with this environment (a roost's database and data directory)."""
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


def spawn(command, env, log_path, group=False):
    """Start a child in the project directory, its output appended to log_path.

    With `group`, it leads a process group of its own, so that its children (a Celery worker's
    pool) are stopped or killed with it.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )


def stop(process, group=False):
    """Stop a child with SIGTERM, then SIGKILL (its whole process group when it has one)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill(process, group)


def kill(process, group=False):
    """SIGKILL a child (and its process group), as a crash or the OOM killer would."""
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    process.wait(timeout=STOP_TIMEOUT)


def await_ready(process, ready, what, log_path, group=False):
    """Wait until ready() is true; if the process exits first or takes longer than
    START_TIMEOUT, stop it and fail with the end of its log."""

    def check():
        if process.poll() is not None:
            raise AssertionError(f"it exited with {process.returncode}")
        return ready()

    try:
        wait_until(check, START_TIMEOUT, interval=0.1, what="it to be ready")
    except AssertionError as error:
        stop(process, group)
        pytest.fail(f"{what} did not start ({error}):\n{tail(log_path)}", pytrace=False)
    except BaseException:
        stop(process, group)
        raise


def server_command(port):
    if os.environ.get("ROOST_TEST_SERVER", "uvicorn") == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                "console.asgi:application"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "console.asgi:application",
            "--host", "127.0.0.1", "--port", str(port),
            "--timeout-graceful-shutdown", "5"]  # fmt: skip


def launch_servers(env, logs):
    """Start a web process on each port of `logs` (port -> its log file), all at once, then wait
    until each listens; return the processes in that order."""
    processes = [spawn(server_command(port), env, log_path) for port, log_path in logs.items()]
    try:
        for process, (port, log_path) in zip(processes, logs.items(), strict=True):
            await_ready(process, partial(listening, port), f"The Roost server on {port}", log_path)
    except BaseException:
        for process in processes:
            stop(process)
        raise
    return processes


def launch_server(env, port, log_path):
    """Start a Roost web process on this port with this env and wait until it listens."""
    [process] = launch_servers(env, {port: log_path})
    return process


def launch_worker(env, log_path, hostname, *options):
    """Start a Celery worker (options add to its command line) and wait until it consumes."""
    command = [
        sys.executable, "-m", "celery", "-A", "console", "worker",
        "--loglevel=INFO", "--concurrency=2", f"--hostname={hostname}",
        "--without-mingle", "--without-gossip", "--without-heartbeat", *options,
    ]  # fmt: skip
    start = log_size(log_path)  # a restarted worker's log goes on in the same file
    process = spawn(command, env, log_path, group=True)
    await_ready(
        process,
        lambda: b" ready." in _logged_since(log_path, start),
        "The Celery worker",
        log_path,
        group=True,
    )
    return LiveWorker(pid=process.pid, log_path=log_path, process=process)


def launch_beat(env, log_path, schedule):
    """Start Celery beat, which sends the periodic sweeps (as `make run` does)."""
    command = [sys.executable, "-m", "celery", "-A", "console", "beat", "--loglevel=INFO",
               f"--schedule={schedule}"]  # fmt: skip
    return spawn(command, env, log_path, group=True)


class RedisServer:
    """A redis-server on a free port of its own, to stop and start again on that port."""

    def __init__(self, directory, port=None):
        self.directory = directory
        self.port = port or free_port()
        self.process = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        log_path = self.directory / f"redis-{self.port}.log"
        self.process = spawn(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            None, log_path,
        )  # fmt: skip
        await_ready(self.process, partial(listening, self.port), "redis-server", log_path)

    def stop(self):
        if self.process is not None:
            stop(self.process)
            self.process = None


# Databases ------------------------------------------------------------------------------------


def suite_postgres():
    """The PostgreSQL server this run's DATABASE_URL names, or None on a SQLite run."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url and "postgresql" in dj_database_url.parse(url)["ENGINE"] else None


class PostgresDatabase:
    """A throwaway database on the PostgreSQL server `url` names: roost_live_<pid><suffix>."""

    def __init__(self, url, suffix=""):
        self.name = f"roost_live_{os.getpid()}{suffix}"
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self._admin_url = urlunsplit(parts._replace(path="/postgres"))

    def _execute(self, sql):
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, template=None):
        """Create it empty, or as a copy of the database `template` (which nothing may be
        connected to)."""
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        self._execute(f'CREATE DATABASE "{self.name}"{copy}')

    def copy_to(self, name):
        """Copy this database (nothing connected to it) to a new one, `name`, replacing any."""
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        atexit.register(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self):
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# Migrating a database takes a manage.py process or two (seconds, more on PostgreSQL), the same
# for every roost: the first roost of a kind migrates its own and leaves a copy here, and later
# roosts start from a copy of that. Keyed by the database's kind (and PostgreSQL server) and the
# SECRET_KEY the test access key was stored under; values are a SQLite file or a database name.
_migrated = {}
_migrated_dir = None


def _migrated_sqlite_file():
    global _migrated_dir
    if _migrated_dir is None:
        _migrated_dir = Path(tempfile.mkdtemp(prefix="roost-migrated-"))
        atexit.register(shutil.rmtree, _migrated_dir, ignore_errors=True)
    return _migrated_dir / f"roost-{len(_migrated)}.sqlite3"


# Roosts ---------------------------------------------------------------------------------------


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
        return manage(self.env, *args, check=check)

    def log(self):
        return self.log_path.read_text(errors="replace")


@dataclass
class LiveWorker:
    """A running Celery worker for a live server."""

    pid: int
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def log(self):
        return self.log_path.read_text(errors="replace")


class Roost:
    """A data directory and a database, and the servers and workers started on them.

    `name` tells the roosts of one session apart (their databases', workers' names). The database
    is `database_url` as given, else a throwaway one on the PostgreSQL server `postgres` names,
    else a SQLite file; the broker is `broker_url`, else a SQLite file. `env` adds to the
    processes' environment (None removes a variable). `open()` prepares the database; `close()`
    stops every process started here and drops the throwaway database.
    """

    def __init__(
        self, data_dir, name="roost", *, postgres=None, database_url=None, broker_url=None, **env
    ):
        self.data_dir = Path(data_dir)
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = None
        if database_url is None and postgres:
            self.database = PostgresDatabase(postgres, "" if name == "roost" else f"_{name}")
            database_url = self.database.url
        env = {
            **os.environ,
            "ROOST_DATA_DIR": str(self.data_dir),
            "SECRET_KEY": TEST_SECRET_KEY,
            "ROOST_PUBLIC_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url or f"sqlite:///{self.data_dir / 'roost.sqlite3'}",
            "CELERY_BROKER_URL": broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.sqlite3'}",
            **env,
        }
        self.env = {key: value for key, value in env.items() if value is not None}
        self.server = None  # the web process on the roost's own port, once started
        self.workers = []
        self._groups = {}  # every process started here -> whether it leads a process group

    def open(self):
        """Create the database, migrate it and add the test access key (or copy a database of
        the same kind that an earlier roost of the session prepared so)."""
        key = self._migrated_key()
        template = _migrated.get(key)
        if self.database is not None:
            self.database.create(template)
        elif template is not None:
            shutil.copyfile(template, self._sqlite_file())
        if template is None:
            self.manage("migrate", "--noinput")
            self.manage("createaccesskey", "--id", TEST_ACCESS_KEY_ID, "--secret", TEST_SECRET)
            self._keep_migrated(key)
        return self

    def _sqlite_file(self):
        return self.data_dir / "roost.sqlite3"

    def _migrated_key(self):
        """What a copy of this roost's freshly opened database depends on, or None when it is
        not a database this roost creates (a URL given as is)."""
        secret = self.env.get("SECRET_KEY")
        if self.database is not None:
            return ("postgresql", self.database._admin_url, secret)
        if self.env["DATABASE_URL"] == f"sqlite:///{self._sqlite_file()}":
            return ("sqlite", secret)
        return None

    def _keep_migrated(self, key):
        if key is None:
            return
        if self.database is not None:
            name = f"{self.database.name}_migrated"
            self.database.copy_to(name)
        else:
            # Through SQLite's backup API, which reads what is still in the WAL too.
            name = _migrated_sqlite_file()
            with (
                closing(sqlite3.connect(self._sqlite_file())) as source,
                closing(sqlite3.connect(name)) as copy,
            ):
                source.backup(copy)
        _migrated[key] = name

    def manage(self, *args, check=True):
        return manage(self.env, *args, check=check)

    def start_servers(self, ports, **env):
        """Start web processes on these ports at once and wait until each listens; env overrides
        the roost's environment for them. The one on the roost's own port logs to server.log."""
        env = {**self.env, **env}
        logs = {
            port: self.data_dir / ("server.log" if port == self.port else f"server-{port}.log")
            for port in ports
        }
        servers = []
        for port, process in zip(ports, launch_servers(env, logs), strict=True):
            self._groups[process] = False
            server = LiveServer(
                url=f"http://127.0.0.1:{port}",
                access_key_id=TEST_ACCESS_KEY_ID,
                secret=TEST_SECRET,
                env=env,
                data_dir=self.data_dir,
                pid=process.pid,
                log_path=logs[port],
                process=process,
            )
            if port == self.port:
                self.server = server
            servers.append(server)
        return servers

    def start_server(self, port=None, **env):
        """Start a web process (on the roost's own port unless told another; again, after a
        kill) and wait until it listens."""
        [server] = self.start_servers([port or self.port], **env)
        return server

    def start_worker(self, *options, name=None, **env):
        """Start a Celery worker (options add to its command line, env overrides the roost's)
        and wait until it consumes. It logs to <name>.log: worker.log, worker-2.log, …"""
        name = name or ("worker" if not self.workers else f"worker-{len(self.workers) + 1}")
        worker = launch_worker(
            {**self.env, **env},
            self.data_dir / f"{name}.log",
            f"roost-{self.name}-{name}-{os.getpid()}@%h",
            *options,
        )
        self._groups[worker.process] = True
        self.workers.append(worker)
        return worker

    def start_beat(self):
        process = launch_beat(self.env, self.data_dir / "beat.log", self.data_dir / "beat-schedule")
        self._groups[process] = True
        return process

    def stop(self, process):
        stop(process, self._groups.get(process, False))

    def kill(self, process):
        kill(process, self._groups.get(process, False))

    def close(self):
        for process, group in reversed(self._groups.items()):
            stop(process, group)
        if self.database is not None:
            self.database.drop()


@contextmanager
def temporary_roost(name, roost_class=Roost, **options):
    """A roost (roost_class, with these options) in a temporary data directory, opened, until exit."""
    with tempfile.TemporaryDirectory(prefix=f"roost-{name}-") as tmp:
        roost = roost_class(Path(tmp), name, **options)
        try:
            yield roost.open()
        finally:
            roost.close()


@contextmanager
def live_server(name="roost"):
    """Run a Roost server with its own data directory, database and access key until exit.

    `name` tells the servers of one session apart. The session's own ("roost") uses the run's
    broker when it names one (Redis in CI); any other gets a SQLite broker of its own: sharing the
    first's Redis, each worker would also run the other server's tasks against the wrong database.
    """
    broker_url = os.environ.get("CELERY_BROKER_URL") if name == "roost" else None
    with temporary_roost(name, postgres=suite_postgres(), broker_url=broker_url) as roost:
        yield roost.start_server()


@contextmanager
def live_worker(server):
    """Run a Celery worker for this live server's background tasks, against its env, until exit."""
    worker = launch_worker(
        server.env,
        server.data_dir / "worker.log",
        f"roost-test-{os.getpid()}-{server.data_dir.name}@%h",
    )
    try:
        yield worker
    finally:
        stop(worker.process, group=True)
