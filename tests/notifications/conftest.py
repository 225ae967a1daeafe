"""Fixtures for the live SNS tests here; the server and worker come from tests/conftest."""

import uuid

import pytest

TEST_REGION = "us-east-1"


@pytest.fixture(scope="session")
def sqs_for_sns(sqs_client):
    """A boto3 SQS client (JSON) for the queues SNS tests subscribe and read."""
    return sqs_client("json")


@pytest.fixture
def topic_name():
    """A topic name no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_topic(sns, topic_name):
    """Create topics on the live server and return their ARNs: make_topic(name=None, **attrs).

    Later calls in one test get `-2`, `-3`, … suffixes; FifoTopic=True adds `.fifo`.
    """
    created = []

    def make(name=None, tags=None, **attributes):
        if name is None:
            name = topic_name if not created else f"{topic_name}-{len(created) + 1}"
        attributes = {
            key: ("true" if value is True else "false" if value is False else str(value))
            for key, value in attributes.items()
        }
        if attributes.get("FifoTopic") == "true" and not name.endswith(".fifo"):
            name += ".fifo"
        params = {"Name": name, "Attributes": attributes}
        if tags:
            params["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
        arn = sns.create_topic(**params)["TopicArn"]
        created.append(arn)
        return arn

    return make


# Deliveries: real endpoints, and a Roost of the delivery tests' own --------------------------


@pytest.fixture
def http_receiver():
    """An HTTP endpoint in the test process that records what it gets and fails on command."""
    from tests.notifications.receivers import HttpReceiver

    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def smtp_server():
    """An SMTP server in the test process; the private roost's workers send their email to it."""
    from tests.notifications.receivers import SmtpServer

    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def private_roost(smtp_server):
    """A live Roost with its own database and broker, whose workers and broker tests may stop."""
    import tempfile
    from pathlib import Path

    from tests.notifications.private_roost import PrivateRoost

    with tempfile.TemporaryDirectory(prefix="roost-private-") as tmp:
        roost = PrivateRoost(Path(tmp))
        try:
            yield roost.open(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=str(smtp_server.port),
            )
        finally:
            roost.close()


_PRIVATE_LOG_OFFSETS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what the private roost's processes logged during a failed test to its report."""
    report = yield
    roost = getattr(item, "funcargs", {}).get("private_roost")
    if roost is None or roost.env is None:
        return report
    if report.when == "setup":
        item.stash[_PRIVATE_LOG_OFFSETS] = {path: path.stat().st_size for path in roost.logs()}
    elif report.failed:
        offsets = item.stash.get(_PRIVATE_LOG_OFFSETS, {})
        for path in roost.logs():
            with open(path, "rb") as log:
                log.seek(offsets.get(path, 0))
                text = log.read()[-20_000:].decode(errors="replace")
            if text.strip():
                report.sections.append((f"private roost {path.name} during this test", text))
    return report
