"""`make cluster` as a user runs it: nginx in front of two web processes, two workers and beat on
PostgreSQL and Redis, driven through nginx with boto3 and a browser's requests, then stopped
with a signal to its process group.

The module's cluster runs on a throwaway database of the suite's PostgreSQL server and on two
Redis databases of its own on the suite's Redis server.
"""

import contextlib
import os
import re
import signal
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
import pytest
import requests
from botocore.config import Config

from console import cluster as layout_of
from tests.conftest import QUERY_MODEL_FILE, QUERY_MODELS
from tests.servers import (
    BASE_DIR,
    TEST_REGION,
    PostgresDatabase,
    free_port,
    listening,
    suite_postgres,
    wait_until,
)

# Redis databases of the module's own, away from the suite's 0 and 1 (another pair with
# ROOST_CLUSTER_TEST_REDIS_DBS=6,7 where several runs share one Redis server).
BROKER_DB, CHANNELS_DB = map(
    int, os.environ.get("ROOST_CLUSTER_TEST_REDIS_DBS", "12,13").split(",")
)
START_TIMEOUT = 180.0  # a first start migrates a fresh database on a busy machine
STOP_TIMEOUT = 30.0
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")  # set when the suite runs under `make test`


def suite_redis():
    """The Redis server this run names (REDIS_URL, else a redis:// CELERY_BROKER_URL), or None."""
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("redis://", "rediss://")):
            return url
    return None


def redis_db(url, db):
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


pytestmark = [
    pytest.mark.skipif(
        suite_postgres() is None, reason="make cluster needs PostgreSQL: DATABASE_URL is not one"
    ),
    pytest.mark.skipif(
        suite_redis() is None,
        reason="make cluster needs Redis: neither REDIS_URL nor a redis:// CELERY_BROKER_URL is set",
    ),
]


@dataclass
class Cluster:
    """A running `make cluster` (the make process leads its process group)."""

    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path
    started: dict = field(default_factory=dict)  # pid -> command line, of every process seen

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def output(self):
        return self.log_path.read_text(errors="replace")

    def credentials(self):
        text = (self.data_dir / "first-start-credentials.txt").read_text()
        key_id = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", text)[1]
        secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", text)[1]
        password = re.search(r"password:\s+(\S+)", text)[1]
        return key_id, secret, password

    def note_processes(self):
        """Record every process below make (honcho starts each in a session of its own)."""
        self.started.update(descendants(self.process.pid))
        return self.started

    def alive(self):
        """The recorded processes still running (same pid, same command line)."""
        return {pid: command for pid, command in self.started.items() if command_of(pid) == command}


def command_of(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return None


def descendants(root):
    """{pid: command line} of every live process below root."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            command = command_of(child)
            if command:
                found[child] = command
                todo.append(child)
    return found


def readyz(url):
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory):
    """The environment a user would give `make cluster`: a throwaway database, two Redis
    databases of the module's own, a free port and a data directory."""
    import redis

    database = PostgresDatabase(suite_postgres(), "_make_cluster")
    database.create()
    redis_urls = [redis_db(suite_redis(), db) for db in (BROKER_DB, CHANNELS_DB)]
    for url in redis_urls:
        redis.Redis.from_url(url).flushdb()
    data_dir = tmp_path_factory.mktemp("cluster")
    removed = (*MAKE_VARIABLES, "ROOST_PUBLIC_URL", "SECRET_KEY", "DATABASE_TEST_NAME", "PORT")
    env = {key: value for key, value in os.environ.items() if key not in removed}
    env.update(
        DATABASE_URL=database.url,
        CELERY_BROKER_URL=redis_urls[0],
        REDIS_URL=redis_urls[1],
        ROOST_DATA_DIR=str(data_dir),
        PORT=str(free_port()),
        HOST="127.0.0.1",
    )
    try:
        yield env
    finally:
        database.drop()
        for url in redis_urls:
            redis.Redis.from_url(url).flushdb()


def start(env, log_name):
    """Run `make cluster` in a process group of its own; wait until /readyz answers 200 through
    nginx and the cluster says it is ready."""
    data_dir = Path(env["ROOST_DATA_DIR"])
    log_path = data_dir / log_name
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "-s", "cluster"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Cluster(process, int(env["PORT"]), data_dir, log_path)

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"make cluster exited with {process.returncode}")
        running.note_processes()
        # Asked before the web processes listen, nginx would count them failed for a while.
        return "Roost cluster ready" in running.output() and readyz(running.url)

    try:
        wait_until(ready, START_TIMEOUT, interval=0.2, what="the cluster to be ready")
    except BaseException as error:
        kill(running)
        if isinstance(error, AssertionError):
            pytest.fail(f"{error}:\n{running.output()[-8000:]}", pytrace=False)
        raise
    running.note_processes()
    return running


def kill(running):
    """SIGKILL whatever of the cluster is left (a failed test's cleanup)."""
    if running.process.poll() is None:
        running.note_processes()
    for pid in running.alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if running.process.poll() is None:
        os.killpg(running.process.pid, signal.SIGKILL)
    running.process.wait(timeout=STOP_TIMEOUT)


def stop(running, signum):
    """Send signum to make's process group, as Ctrl-C at the terminal (SIGINT) or a process
    manager (SIGTERM) does, and wait for make to exit."""
    running.note_processes()
    os.killpg(running.process.pid, signum)
    try:
        running.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"make cluster still runs {STOP_TIMEOUT:g} s after {signal.Signals(signum).name}"
        )


def assert_stopped_cleanly(running, signum):
    output = running.output()
    # make always ends by the signal it was sent, after its recipe has exited; a recipe that
    # failed would have made it say "make: *** [...] Error N" first.
    assert running.process.returncode == -signum
    assert "make: ***" not in output
    assert "Stopped every process in" in output
    assert "Traceback" not in output
    assert running.alive() == {}
    with pytest.raises(ProcessLookupError):
        os.killpg(running.process.pid, 0)  # no process is left in make's group
    assert not listening(running.port)


@pytest.fixture(scope="module")
def cluster(cluster_env):
    """A first `make cluster` on a fresh database, until the module ends (or a test stops it)."""
    running = start(cluster_env, "make-cluster.log")
    yield running
    if running.process.poll() is None:
        stop(running, signal.SIGTERM)
    kill(running)


def client(running, protocol="json", **config):
    key_id, secret, _ = running.credentials()
    session = boto3.Session()
    if protocol == "query":
        assert QUERY_MODEL_FILE.exists(), "fetch the query model with `make query-model`"
        core = botocore.session.Session()
        core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        session = boto3.Session(botocore_session=core)
    sqs = session.client(
        "sqs",
        endpoint_url=running.url,
        region_name=TEST_REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, **config),
    )
    assert sqs.meta.service_model.protocol == protocol
    return sqs


def test_first_start_migrates_before_the_web_processes_and_shows_the_secrets_last(cluster):
    output = cluster.output()
    key_id, secret, password = cluster.credentials()

    last_migration = output.rindex("Applying sessions.0001_initial... OK")
    assert last_migration < output.index("web-1.1 started")
    assert last_migration < output.index("web-2.1 started")
    ready = output.index("Roost cluster ready")
    assert ready < output.index(secret) and ready < output.index(password)
    assert output.count(secret) == 1


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_sqs_works_through_nginx(cluster, protocol):
    sqs = client(cluster, protocol)
    name = f"cluster-{protocol}-{uuid.uuid4().hex[:8]}"

    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    # The largest message SQS takes: with the request around it, more than nginx's default
    # limit on a body (1 MiB).
    body = f"hello over {protocol} ".ljust(1024 * 1024, "x")
    sqs.send_message(QueueUrl=url, MessageBody=body)
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # The Host header reached Roost as the SDK signed it, port and all.
    assert url == f"{cluster.url}/000000000000/{name}"
    assert message["Body"] == body
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_requests_are_spread_round_robin_over_both_web_processes(cluster):
    marker = f"round-robin-{uuid.uuid4().hex}"
    sqs = client(cluster, user_agent_extra=marker)

    for _ in range(6):
        sqs.list_queues()

    upstreams = Counter(
        re.search(r"upstream=(\S+)", line)[1]
        for line in (cluster.data_dir / "cluster" / "nginx-access.log").read_text().splitlines()
        if marker in line
    )
    sockets = layout_of.Layout.in_data_dir(cluster.data_dir).sockets
    assert upstreams == {f"unix:{socket}": 3 for socket in sockets}
    # Each socket is served by a uvicorn process of its own.
    servers = {
        socket: [
            pid
            for pid, command in cluster.note_processes().items()
            if "uvicorn" in command and f"--uds {socket} " in command and "/bin/sh" not in command
        ]
        for socket in sockets
    }
    assert all(len(pids) == 1 for pids in servers.values()), servers
    assert len({pids[0] for pids in servers.values()}) == len(sockets)


def test_console_login_and_live_page_work_through_nginx(cluster):
    import websockets.sync.client

    _, _, password = cluster.credentials()
    browser = requests.Session()
    login = browser.get(f"{cluster.url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
    answer = browser.post(
        f"{cluster.url}/login/",
        data={"username": "admin", "password": password, "csrfmiddlewaretoken": token},
        headers={"Origin": cluster.url, "Referer": f"{cluster.url}/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    assert browser.get(f"{cluster.url}/", timeout=10).status_code == 200

    name = f"cluster-live-{uuid.uuid4().hex[:8]}"
    with websockets.sync.client.connect(
        f"ws://127.0.0.1:{cluster.port}/live/ws/?page=overview",
        additional_headers={
            "Origin": cluster.url,
            "Cookie": f"sessionid={browser.cookies['sessionid']}",
        },
        open_timeout=10,
    ) as socket:
        socket.recv(timeout=10)  # the page's regions as they are now
        client(cluster).create_queue(QueueName=name)
        wait_until(lambda: name in socket.recv(timeout=10), what="the new queue on the live page")

    with browser.get(f"{cluster.url}/live/sse/?page=overview", stream=True, timeout=10) as events:
        assert events.headers["Content-Type"].startswith("text/event-stream")
        lines = events.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 1000"
        assert wait_until(lambda: name in next(lines), what="the queue in the event stream")


def test_metrics_through_nginx_show_each_queues_visible_messages(cluster):
    from prometheus_client.parser import text_string_to_metric_families

    sqs = client(cluster)
    name = f"cluster-metrics-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def visible():
        answer = requests.get(f"{cluster.url}/metrics", timeout=10)
        assert answer.status_code == 200
        samples = [
            sample
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
            if sample.name == "roost_queue_visible_messages" and sample.labels.get("queue") == name
        ]
        return samples and samples[0].value

    assert wait_until(visible, what=f"roost_queue_visible_messages of {name}") == 2


def test_ctrl_c_stops_every_process_nginx_included(cluster):
    assert any("nginx: master" in command for command in cluster.note_processes().values())

    stop(cluster, signal.SIGINT)

    assert_stopped_cleanly(cluster, signal.SIGINT)


def test_a_later_start_skips_applied_migrations_and_stops_on_sigterm(cluster_env, cluster):
    if cluster.process.poll() is None:
        stop(cluster, signal.SIGTERM)
    running = start(cluster_env, "make-cluster-again.log")
    try:
        output = running.output()
        assert "No migrations to apply." in output
        assert "AWS_SECRET_ACCESS_KEY" not in output
        assert readyz(running.url)

        stop(running, signal.SIGTERM)

        assert_stopped_cleanly(running, signal.SIGTERM)
    finally:
        kill(running)
