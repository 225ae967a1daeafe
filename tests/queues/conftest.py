"""Fixtures for the live SQS tests here; the server and its clients come from tests/conftest."""

import pytest

from tests.servers import free_port, launch_servers, stop


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


@pytest.fixture(scope="session")
def roost_server_urls(roost_server):
    """The live server's URL and two more server processes' on the same database and key.

    One server process runs all its database work on one thread, so only receivers spread over
    processes can race for the same rows, as they do under any multi-process deployment.
    """
    logs = {free_port(): roost_server.data_dir / f"server-{number}.log" for number in (2, 3)}
    processes = launch_servers(roost_server.env, logs)
    try:
        yield [roost_server.url, *(f"http://127.0.0.1:{port}" for port in logs)]
    finally:
        for process in processes:
            stop(process)
