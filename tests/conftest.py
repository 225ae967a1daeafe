"""Fixtures for unit tests (pytest-django's test database) and live tests (a real Roost process).

Live tests talk to a server started once per session in its own data directory and database, so
nothing they do reaches the unit tests' database or a developer's `var/`.
"""

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config

from console.celery import app as celery_app
from tests.servers import (
    TEST_REGION,
    LiveServer,
    LiveWorker,
    launch_server,  # noqa: F401
    live_server,
    live_worker,
    log_size,
)

# Re-exported, like launch_server above: tests that start web processes of their own import
# these from here.
from tests.servers import free_port as _free_port  # noqa: F401
from tests.servers import stop as _stop  # noqa: F401

BASE_DIR = Path(__file__).resolve().parent.parent
QUERY_MODELS = BASE_DIR / ".venv" / "query-models"
QUERY_MODEL_FILE = QUERY_MODELS / "sqs" / "2012-11-05" / "service-2.json"

# Unit tests must never enqueue into a broker a real worker reads (a developer's var/ broker,
# or the Redis that the live worker consumes in CI).
celery_app.conf.broker_url = "memory://"

# What unit tests count (queues.service counts every send) goes to metrics files of their own, not
# to a developer's var/metrics, where a running `make run` would add it to its /metrics. Live
# servers are unaffected: their settings choose their own data directory's.
_METRICS_DIR = tempfile.mkdtemp(prefix="roost-test-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR
atexit.register(shutil.rmtree, _METRICS_DIR, ignore_errors=True)


_LOG_OFFSETS = pytest.StashKey[dict]()


@pytest.fixture(autouse=True, scope="session")
def _queue_activity_written_by_hand():
    """Unit tests write counted queue activity with activity.flush(): a background writer, on a
    connection of its own, could not see a test's uncommitted queues."""
    from queues import activity  # noqa: PLC0415 (Django is set up once the session starts)

    activity.background = False


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
        item.stash[_LOG_OFFSETS] = {name: log_size(path) for name, path in logs.items()}
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


@pytest.fixture(scope="session")
def roost_server():
    """A real Roost server process with its own data directory, database and access key."""
    with live_server() as server:
        yield server


@pytest.fixture(scope="session")
def rest(roost_server):
    """An httpx client for the live server's REST API (/api/), sending the test key as bearer."""
    with httpx.Client(
        base_url=f"{roost_server.url}/api",
        headers={"Authorization": f"Bearer {roost_server.access_key_id}:{roost_server.secret}"},
        timeout=30,
    ) as client:
        yield client


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
                    "`make query-model` (or `make test`).",
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


@pytest.fixture(scope="session")
def sns(roost_server):
    """A boto3 SNS client for the live server (one per session; building one costs ~0.15 s)."""
    return boto3.Session().client(
        "sns",
        endpoint_url=roost_server.url,
        region_name=TEST_REGION,
        aws_access_key_id=roost_server.access_key_id,
        aws_secret_access_key=roost_server.secret,
        # No retries: a server error must fail the test that caused it, at once.
        config=Config(retries={"total_max_attempts": 1}),
    )


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
