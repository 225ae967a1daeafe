"""Stopping Roost: on SIGTERM or SIGINT the web process answers the long polls in flight (no
messages) and ends its live streams, and `manage.py serve` stops every process on its own.

Each test stops the processes it starts; the web processes run on a roost of this module's own.
"""

import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.servers import (
    BASE_DIR,
    STOP_TIMEOUT,
    TEST_REGION,
    Roost,
    free_port,
    listening,
    suite_postgres,
    temporary_roost,
    wait_until,
)

pytestmark = pytest.mark.live

QUERY_MODELS = BASE_DIR / ".venv" / "query-models"
USERNAME = "shutdown-watcher"
PASSWORD = "shutdown-watcher-password"
WAITING = re.compile(r"long poll on queue \d+ waits")
# What must never appear in the output of a stop.
FAILURES = re.compile(r"ERROR|CRITICAL|Traceback|SIGKILL")


@pytest.fixture(scope="module")
def roost():
    """A roost of this module's own, with a console user: its web processes get stopped."""
    with temporary_roost("shutdown", postgres=suite_postgres()) as roost:
        roost.manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth.models import User\n"
            f"User.objects.create_user({USERNAME!r}, password={PASSWORD!r})\n",
        )
        yield roost


@pytest.fixture
def server(roost):
    """A web process of the roost, logging at DEBUG so that a test sees its long polls wait."""
    server = roost.start_server(LOG_LEVEL="DEBUG")
    yield server
    roost.stop(server.process)


def sqs_client(server, protocol):
    if protocol == "query":
        core = botocore.session.Session()
        core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        session = boto3.Session(botocore_session=core)
    else:
        session = boto3.Session()
    client = session.client(
        "sqs",
        endpoint_url=server.url,
        region_name=TEST_REGION,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )
    assert client.meta.service_model.protocol == protocol
    return client


def in_background(call):
    """Run call() in a thread; a Future of its result or its exception."""
    future = Future()

    def run():
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future


def log_since(server, offset):
    with open(server.log_path, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def stopped(server, signum=signal.SIGTERM):
    """Send the signal and wait for the web process to exit; its exit status."""
    server.process.send_signal(signum)
    return server.process.wait(timeout=STOP_TIMEOUT)


def console_cookies(server):
    with httpx.Client(base_url=server.url) as client:
        client.get("/login/").raise_for_status()
        response = client.post(
            "/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, response.text
        return dict(client.cookies)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_long_polls_in_flight_when_the_server_stops_answer_with_no_messages(server, signum):
    """Both SQS protocols; a 20 s wait ends with an empty 200 answer, not a closed connection."""
    clients = {protocol: sqs_client(server, protocol) for protocol in ("json", "query")}
    url = clients["json"].create_queue(QueueName=f"shutdown-{signum.name.lower()}")["QueueUrl"]
    offset = server.log_path.stat().st_size
    polls = {
        protocol: in_background(
            lambda client=client: client.receive_message(QueueUrl=url, WaitTimeSeconds=20)
        )
        for protocol, client in clients.items()
    }
    wait_until(
        lambda: len(WAITING.findall(log_since(server, offset))) == 2, what="both long polls to wait"
    )

    stopped(server, signum)

    for protocol, poll in polls.items():
        answer = poll.result(timeout=STOP_TIMEOUT)
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200, protocol
        assert answer.get("Messages", []) == [], protocol
    log = log_since(server, offset)
    assert "Stopping: 2 long poll(s) answer now" in log
    assert not FAILURES.search(log), log
    assert not listening(int(server.url.rsplit(":", 1)[1]))


def test_an_open_sse_stream_ends_when_the_server_stops(server):
    offset = server.log_path.stat().st_size
    with (
        httpx.Client(base_url=server.url, cookies=console_cookies(server), timeout=10) as client,
        client.stream("GET", "/live/sse/", params={"page": "overview"}) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert "event: live" in lines  # reads up to the first event, leaving the stream open

        stopped(server)

        rest = list(lines)  # ends when the server ends the response; raises if it is cut off
    assert "event: live" not in rest  # nothing after the stop but the end
    log = log_since(server, offset)
    assert "live stream of overview closed" in log
    assert not FAILURES.search(log), log


def test_an_open_websocket_is_closed_for_the_page_to_reconnect_when_the_server_stops(server):
    offset = server.log_path.stat().st_size
    cookies = "; ".join(f"{name}={value}" for name, value in console_cookies(server).items())
    with connect(
        f"ws{server.url.removeprefix('http')}/live/ws/?page=overview",
        additional_headers={"Cookie": cookies},
        origin=server.url,
        open_timeout=10,
    ) as websocket:
        assert websocket.recv(timeout=10)  # the page's regions: the stream is running

        stopped(server)

        with pytest.raises(ConnectionClosed) as closed:
            while True:  # a change may still come before the close
                websocket.recv(timeout=STOP_TIMEOUT)
    # htmx's WebSocket extension reconnects after 1006 (dropped: Daphne), 1011, 1012 (uvicorn's
    # "service restart") and 1013 only.
    assert closed.value.rcvd is None or closed.value.rcvd.code in (1011, 1012, 1013)
    assert "live stream of overview closed" in log_since(server, offset)
    assert not FAILURES.search(log_since(server, offset)), log_since(server, offset)


def test_serve_stops_every_process_on_its_own(tmp_path):
    """`manage.py serve` (what `make run` runs) with the Procfile: web, two workers and beat.

    SIGTERM to its process group, as a process manager sends it. (A Ctrl-C reaches honcho as
    SIGINT, which it passes on as SIGTERM too: test_first_start stops serve with SIGINT.)
    """
    # A name of its own: the default one is the session roost's, whose database this would drop.
    roost = Roost(tmp_path, "servestop", postgres=suite_postgres())
    if roost.database is not None:
        roost.database.create()
    try:
        roost.manage("migrate", "--noinput")
        # A counter an earlier run left: counters start again from 0 at each start.
        stale = roost.data_dir / "metrics" / "counter_999999.db"
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_bytes(b"stale")
        port = free_port()
        env = {
            **roost.env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output = read_until_running(serve)
            os.killpg(serve.pid, signal.SIGTERM)
            output += serve.stdout.read().decode(errors="replace")
            returncode = serve.wait(timeout=STOP_TIMEOUT)
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
        assert returncode == 0, output
        assert not FAILURES.search(output), output
        for process in ("web", "worker", "outbound", "beat"):
            assert f"{process}.1 stopped" in output
        assert not listening(port)
        assert not stale.exists()
    finally:
        if roost.database is not None:
            roost.database.drop()


def read_until_running(serve):
    """serve's output until the first start's secrets are shown and both workers are ready."""
    lines = []
    for line in serve.stdout:
        lines.append(line.decode(errors="replace"))
        shown = "".join(lines)
        if shown.count("=" * 72) >= 2 and len(re.findall(r"@\S+ ready\.", shown)) >= 2:
            return shown
    pytest.fail(f"serve exited before it was running:\n{''.join(lines)}", pytrace=False)
