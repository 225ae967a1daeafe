"""GET /metrics: Prometheus's text format, counters added up over every Roost process, depth
gauges read at scrape time, the optional bearer token."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import OperationalError
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from console import metrics
from console.live import pages
from console.live.consumers import LiveConsumer
from queues import depths as queue_depths
from tests.servers import TEST_REGION, free_port, launch_server, log_size, stop, wait_until

TOKEN = "metrics-test-token-0001"


def scrape(url, token=None):
    """{(sample name, {labels} as a frozenset): value} of one scrape, parsed as Prometheus does."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    """A sample's value; 0 when the scrape has no such series."""
    return samples.get((name, frozenset(labels.items())), 0)


def aws_client(service, server, **options):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=TEST_REGION,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret,
        config=Config(retries={"total_max_attempts": 1}),
        **options,
    )


@dataclass
class MetricsProcess:
    url: str
    log_path: Path
    access_key_id: str
    secret: str

    def scrape(self):
        return scrape(self.url, TOKEN)


@pytest.fixture(scope="module")
def other_process(roost_server):
    """One more web process of the live server (same database and data directory), as a second
    web process behind a load balancer would be; its /metrics wants a bearer token and renders
    afresh for every scrape. The tests act through the first and scrape this one."""
    port = free_port()
    env = {**roost_server.env, "ROOST_METRICS_TOKEN": TOKEN, "ROOST_METRICS_CACHE_SECONDS": "0"}
    log_path = roost_server.data_dir / f"metrics-{port}.log"
    process = launch_server(env, port, log_path)
    yield MetricsProcess(
        f"http://127.0.0.1:{port}", log_path, roost_server.access_key_id, roost_server.secret
    )
    stop(process)


def test_depth_gauges_and_counters_follow_sends_receives_and_deletes(
    roost_server, sqs_json, other_process
):
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    url = sqs_json.create_queue(QueueName=name)["QueueUrl"]
    empty = other_process.scrape()
    assert value(empty, "roost_queue_visible_messages", queue=name) == 0
    assert ("roost_queue_visible_messages", frozenset({("queue", name)})) in empty
    assert value(empty, "roost_queue_oldest_message_age_seconds", queue=name) == 0

    sqs_json.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)]
        + [{"Id": "later", "MessageBody": "later", "DelaySeconds": 300}],
    )
    received = sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    samples = other_process.scrape()

    assert len(received) == 2
    assert value(samples, "roost_queue_visible_messages", queue=name) == 1
    assert value(samples, "roost_queue_in_flight_messages", queue=name) == 2
    assert value(samples, "roost_queue_delayed_messages", queue=name) == 1
    assert value(samples, "roost_queue_oldest_message_age_seconds", queue=name) >= 0
    assert value(samples, "roost_messages_sent_total", queue=name) == 4
    assert value(samples, "roost_messages_received_total", queue=name) == 2

    sqs_json.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)
        ],
    )
    # A stale receipt handle deletes nothing, and counts nothing.
    sqs_json.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    samples = other_process.scrape()

    assert value(samples, "roost_queue_in_flight_messages", queue=name) == 0
    assert value(samples, "roost_messages_deleted_total", queue=name) == 2


def test_dead_lettered_messages_are_counted_by_source_queue(roost_server, sqs_json, other_process):
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    dead = sqs_json.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = sqs_json.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
    url = sqs_json.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs_json.send_message(QueueUrl=url, MessageBody="poison")

    assert sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages")
    assert not sqs_json.receive_message(QueueUrl=url).get("Messages")
    samples = other_process.scrape()

    assert value(samples, "roost_messages_dead_lettered_total", queue=name) == 1
    assert value(samples, "roost_queue_visible_messages", queue=f"{name}-dlq") == 1


def test_a_scrape_of_one_web_process_counts_what_another_did(roost_server, sqs_json, other_process):
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    url = sqs_json.create_queue(QueueName=name)["QueueUrl"]
    before = other_process.scrape()

    for n in range(3):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"through the first process {n}")
    # The same series counted in both processes' files is added up.
    aws_client("sqs", other_process).send_message(QueueUrl=url, MessageBody="through this one")
    after = other_process.scrape()

    assert value(after, "roost_messages_sent_total", queue=name) == 4
    requests = {"service": "sqs", "action": "SendMessage", "status": "200"}
    sent = value(after, "roost_aws_requests_total", **requests)
    assert sent - value(before, "roost_aws_requests_total", **requests) >= 4
    # Every answered request is timed, whatever its status (earlier tests' refused sends too).
    duration = {"service": "sqs", "action": "SendMessage"}
    answered = sum(
        count
        for (name, labels), count in after.items()
        if name == "roost_aws_requests_total" and set(duration.items()) <= labels
    )
    assert value(after, "roost_aws_request_duration_seconds_count", **duration) == answered


def test_the_token_guards_metrics_when_set(roost_server, other_process):
    assert httpx.get(f"{other_process.url}/metrics").status_code == 401
    wrong = httpx.get(f"{other_process.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{other_process.url}/metrics").status_code == 405
    assert other_process.scrape()
    # Without ROOST_METRICS_TOKEN, /metrics is open.
    assert scrape(roost_server.url)


def test_unknown_actions_share_one_label_value(roost_server, other_process):
    garbage = f"NoSuchAction{uuid.uuid4().hex[:8]}"
    unknown = {"service": "sqs", "action": "unknown"}
    before = other_process.scrape()

    query = httpx.post(roost_server.url, data={"Action": garbage, "Version": "2012-11-05"})
    target = httpx.post(
        roost_server.url,
        content=b"{}",
        headers={
            "X-Amz-Target": f"AmazonSQS.{garbage}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    after = other_process.scrape()

    assert query.status_code >= 400 and target.status_code >= 400
    assert all(garbage not in str(labels) for _name, labels in after)
    count = "roost_aws_request_duration_seconds_count"
    assert value(after, count, **unknown) - value(before, count, **unknown) == 2


def test_topic_counters_count_publishes_deliveries_and_filtered_out_messages(
    roost_server, roost_worker, sqs_json, other_process
):
    sns = aws_client("sns", roost_server)
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs_json.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs_json.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["keep"]})},
    )
    for kind in ("keep", "drop"):
        sns.publish(
            TopicArn=topic_arn,
            Message=kind,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )

    def delivered():
        samples = other_process.scrape()
        outcome = {"topic": name, "protocol": "sqs", "outcome": "delivered"}
        return samples if value(samples, "roost_topic_deliveries_total", **outcome) else None

    samples = wait_until(delivered, what="the worker's delivery to show in /metrics")
    deliveries = {"topic": name, "protocol": "sqs"}
    assert value(samples, "roost_topic_messages_published_total", topic=name) == 2
    assert value(samples, "roost_topic_deliveries_total", **deliveries, outcome="delivered") == 1
    assert value(samples, "roost_topic_deliveries_total", **deliveries, outcome="filtered_out") == 1
    assert value(samples, "roost_topic_deliveries_total", **deliveries, outcome="failed") == 0
    assert value(samples, "roost_messages_sent_total", queue=name) == 1


def test_celery_tasks_are_counted_by_name_and_outcome(roost_server, roost_worker, other_process):
    # Every worker that starts sends itself the delivery sweep (notifications.tasks).
    swept = {"task": "notifications.tasks.sweep_deliveries", "outcome": "succeeded"}

    wait_until(
        lambda: value(other_process.scrape(), "roost_celery_tasks_total", **swept) >= 1,
        what="the worker's start-up sweep to show in /metrics",
    )


def test_scrapes_stay_out_of_the_access_log(other_process):
    start = log_size(other_process.log_path)
    marker = f"control-{uuid.uuid4().hex}"

    assert other_process.scrape() is not None
    assert httpx.get(f"{other_process.url}/login/?{marker}").status_code == 200

    def logged():
        with open(other_process.log_path, "rb") as log:
            log.seek(start)
            text = log.read().decode(errors="replace")
        return text if marker in text else None

    assert "/metrics" not in wait_until(logged, what="the control request in the access log")


def still_fragments(user):
    """A live page for the test below: one region that never changes."""
    return {"still": '<b id="still">1</b>'}


@pytest.mark.django_db(transaction=True)
def test_live_connections_count_open_websockets(monkeypatch):
    monkeypatch.setitem(pages.PAGES, "still", f"{__name__}.still_fragments")
    user = User.objects.create_user("watcher", password="pw-long-enough")

    def live():
        return REGISTRY.get_sample_value("roost_live_connections")

    async def open_and_close():
        connection = WebsocketCommunicator(
            LiveConsumer.as_asgi(),
            "/live/ws/?page=still",
            headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")],
        )
        connection.scope["user"] = user
        before = live()
        connected, _ = await connection.connect()
        assert connected
        await connection.receive_from(timeout=2)
        during = live()
        await connection.disconnect()
        return before, during, live()

    before, during, after = in_own_event_loop(open_and_close)

    assert during == before + 1
    assert after == before


# Run by two processes: the same series in each one's files, as web processes and workers leave them.
_COUNT_SOMETHING = """
from prometheus_client import Counter, Gauge, Histogram
counter = Counter("roost_test_things", 'Things, "quoted" \\\\ and\\nsplit.', ["queue"])
counter.labels("plain").inc(3)
counter.labels('odd "name" \\\\ with\\nnewline').inc()
histogram = Histogram("roost_test_seconds", "Seconds.", ["action"], buckets=(0.01, 1))
for seconds in (0.001, 0.5, 5):
    histogram.labels("SendMessage").observe(seconds)
Gauge("roost_test_open", "Open.", multiprocess_mode="livesum").inc(2)
"""


def test_summing_the_files_writes_what_prometheus_client_would(tmp_path):
    """console.metrics adds up the processes' files itself, faster than prometheus_client's
    MultiProcessCollector; both must say the same of every kind of metric Roost defines."""
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", _COUNT_SOMETHING],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
            check=True,
            timeout=60,
        )

    ours = families(metrics.render_files(metrics.read_files(tmp_path)).decode())
    theirs = CollectorRegistry()
    MultiProcessCollector(theirs, path=str(tmp_path))

    assert ours == families(generate_latest(theirs).decode())
    assert ours["roost_test_seconds"][2] == [
        ("roost_test_seconds_bucket", (("action", "SendMessage"), ("le", "+Inf")), 6.0),
        ("roost_test_seconds_bucket", (("action", "SendMessage"), ("le", "0.01")), 2.0),
        ("roost_test_seconds_bucket", (("action", "SendMessage"), ("le", "1.0")), 4.0),
        ("roost_test_seconds_count", (("action", "SendMessage"),), 6.0),
        ("roost_test_seconds_sum", (("action", "SendMessage"),), 11.002),
    ]
    assert ours["roost_test_things"][2] == [
        ("roost_test_things_total", (("queue", 'odd "name" \\ with\nnewline'),), 2.0),
        ("roost_test_things_total", (("queue", "plain"),), 6.0),
    ]
    assert ours["roost_test_open"][2] == [("roost_test_open", (), 4.0)]


def in_own_event_loop(async_function):
    """Await async_function() on a thread and event loop of its own: async_to_sync refuses to run
    where an earlier test in the session left an event loop marked running."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, async_function()).result()


def families(text):
    """{name: (type, help, sorted samples)} of a scrape's text, as Prometheus parses it."""
    return {
        family.name: (
            family.type,
            family.documentation,
            sorted((s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples),
        )
        for family in text_string_to_metric_families(text)
    }


def test_a_scrape_without_the_database_serves_the_counters_and_counts_the_error(
    monkeypatch, settings
):
    """The database is out of reach: the depth query fails (as it does then), the scrape does not."""
    settings.ROOST_METRICS_CACHE_SECONDS = 0
    settings.ROOST_METRICS_TOKEN = None
    settings.METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]  # this process's files

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(queue_depths, "depths_by_name", unreachable)
    errors = REGISTRY.get_sample_value("roost_scrape_errors_total", {"reason": "database"}) or 0

    async def get_metrics():
        transport = httpx.ASGITransport(app=metrics.router(None))
        async with httpx.AsyncClient(transport=transport, base_url="http://roost") as client:
            return await client.get("/metrics")

    first = in_own_event_loop(get_metrics)
    second = in_own_event_loop(get_metrics)

    assert first.status_code == second.status_code == 200
    assert not any(name.startswith("roost_queue_") for name in families(second.text))
    assert families(second.text)["roost_scrape_errors"][2] == [
        ("roost_scrape_errors_total", (("reason", "database"),), errors + 2)
    ]
