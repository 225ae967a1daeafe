"""Topic history: published, delivered, failed and filtered out per minute, rolled up by the
hour, read from the REST API, and agreeing with /metrics' topic counters."""

import os
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from console import access_keys
from console import metrics as console_metrics
from notifications import activity as topic_activity
from notifications import metrics, service
from notifications.models import TopicActivity, TopicHourlyActivity
from queues import activity, history
from queues import service as queue_service
from tests.queues.test_rest_api import HOST, JsonClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_state():
    """Empty caches and no counts left in memory by other tests."""
    queue_service.queue_cache.clear()
    service.topic_cache.clear()
    access_keys.clear_cache()
    activity.flush()
    topic_activity.flush()
    yield
    queue_service.queue_cache.clear()
    service.topic_cache.clear()
    access_keys.clear_cache()


@pytest.fixture
def api():
    """A REST client with a fresh access key's bearer token."""
    key, secret = access_keys.create_access_key(name="topic history")
    return JsonClient(
        headers={"Authorization": f"Bearer {key.access_key_id}:{secret}", "Host": HOST}
    )


def scrape():
    """{(sample name, topic, outcome): value} of the counters /metrics serves."""
    files = console_metrics.read_files(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    text = console_metrics.render_files(files).decode()
    totals = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, sample.labels.get("topic"), sample.labels.get("outcome"))
            totals[key] = totals.get(key, 0) + sample.value
    return totals


def publish(topic, count, kind):
    for index in range(count):
        entry = service.PublishEntry(
            message=f"m{index}",
            message_attributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
        service.publish(topic, entry)


def test_publishes_deliveries_and_filtered_out_are_counted_and_agree_with_metrics(api):
    topic = service.create_topic("orders")
    everything = queue_service.create_queue("everything")
    only_big = queue_service.create_queue("only-big")
    service.subscribe(topic, "sqs", everything.arn)
    service.subscribe(topic, "sqs", only_big.arn, {"FilterPolicy": '{"kind": ["big"]}'})
    before = scrape()
    publish(topic, 3, "small")
    publish(topic, 2, "big")
    subscription = service.subscribe(topic, "sqs", queue_service.create_queue("gone").arn)[0]
    metrics.delivered([SimpleNamespace(subscription=subscription)], "failed")
    topic_activity.flush()
    after = scrape()

    row = TopicActivity.objects.get(topic=topic)
    assert (row.published, row.delivered, row.failed, row.filtered_out) == (5, 7, 1, 3)
    series = api.get("/api/topics/orders/history?range=1h").json()
    assert series["resolution"] == "1m"
    totals = {name: sum(v for _at, v in values) for name, values in series["series"].items()}
    assert totals == {"published": 5, "delivered": 7, "failed": 1, "filtered_out": 3}

    def delta(name, outcome=None):
        key = (name, "orders", outcome)
        return after.get(key, 0) - before.get(key, 0)

    assert totals["published"] == delta("roost_topic_messages_published_total")
    for outcome in ("delivered", "failed", "filtered_out"):
        assert totals[outcome] == delta("roost_topic_deliveries_total", outcome)


def test_topic_hours_roll_up_and_are_pruned(api):
    topic = service.create_topic("orders")
    minute = activity.current_minute()
    hour = minute // 60 - 3
    TopicActivity.objects.bulk_create(
        TopicActivity(topic=topic, minute=hour * 60 + offset, published=1, delivered=2)
        for offset in range(60)
    )
    TopicHourlyActivity.objects.create(topic=topic, hour=minute // 60 - history.KEEP_HOURS - 1)
    topic_activity.record_topic_history(minute)
    [row] = TopicHourlyActivity.objects.all()
    assert (row.hour, row.published, row.delivered) == (hour, 60, 120)
    body = api.get("/api/topics/orders/history?range=7d").json()
    assert body["resolution"] == "1h"
    assert len(body["series"]["published"]) == 7 * 24
    assert sum(v for _at, v in body["series"]["published"]) == 60


def test_topic_history_needs_the_right_to_read_the_topic(api):
    service.create_topic("orders")
    key, secret = access_keys.create_access_key(
        name="publisher",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "sns:Publish", "Resource": "*"}]}',
    )
    client = JsonClient(
        headers={"Authorization": f"Bearer {key.access_key_id}:{secret}", "Host": HOST}
    )
    assert client.get("/api/topics/orders/history").status_code == 403
    assert api.get("/api/topics/orders/history?range=1y").status_code == 400
