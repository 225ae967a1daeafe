"""Fixtures for the live SQS tests here; the server and its clients come from tests/conftest."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def fresh_queue_cache():
    """For service-level tests: forget queues cached by earlier tests (their rows were rolled
    back), before and after."""
    from queues import service  # noqa: PLC0415 (Django is set up by the time fixtures run)

    service.queue_cache.clear()
    yield
    service.queue_cache.clear()


@pytest.fixture(scope="session")
def shared_sqs_clients(sqs_client):
    """One boto3 SQS client per protocol for the whole session (building one costs ~0.15 s)."""
    return {protocol: sqs_client(protocol) for protocol in ("json", "query")}


@pytest.fixture(params=["json", "query"])
def sqs(request, shared_sqs_clients):
    """A boto3 SQS client for the live server, once per protocol (tests/conftest's, shared)."""
    return shared_sqs_clients[request.param]


@pytest.fixture
def protocol(sqs):
    """The SQS protocol the parametrized `sqs` client speaks: "json" or "query"."""
    return sqs.meta.service_model.protocol


@pytest.fixture(scope="session")
def observer(sqs_client):
    """A JSON client of its own for reading queue state beside the client under test."""
    return sqs_client("json")


@pytest.fixture
def depth(observer):
    """Count a queue's messages as SQS reports them: depth(url) -> (visible, in flight, delayed)."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]

    def count(url):
        attributes = observer.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return tuple(int(attributes[name]) for name in names)

    return count


@pytest.fixture
def queue_arn(observer):
    """Read a queue's ARN: queue_arn(url)."""

    def read(url):
        return observer.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    return read


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_command(port):
    if os.environ.get("ROOST_TEST_SERVER", "uvicorn") == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                "console.asgi:application"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "console.asgi:application",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip


@pytest.fixture(scope="session")
def roost_server_urls(roost_server):
    """The live server's URL and two more server processes' on the same database and key.

    One server process runs all its database work on one thread, so only receivers spread over
    processes can race for the same rows, as they do under any multi-process deployment.
    """
    processes, urls = [], [roost_server.url]
    try:
        for number in range(2):
            port = _free_port()
            log = open(roost_server.data_dir / f"server-{number + 2}.log", "wb")  # noqa: SIM115
            processes.append(
                subprocess.Popen(
                    _server_command(port),
                    cwd=Path(__file__).resolve().parents[2],
                    env=roost_server.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
            deadline = time.monotonic() + 30
            while True:
                assert processes[-1].poll() is None, f"extra server {number + 2} exited"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"extra server {number + 2} did not start"
                    time.sleep(0.1)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
