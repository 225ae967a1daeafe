"""History series: expired and dead-lettered counted, hourly roll-ups, pruning, the REST ranges,
and the series agreeing with /metrics' counters for the same traffic."""

import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from console import access_keys
from console import metrics as console_metrics
from queues import activity, history, service
from queues.models import Message, QueueActivity, QueueHourlyActivity, now_ms
from tests.queues.test_rest_api import HOST, JsonClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_state():
    """Empty caches and no counts left in memory by other tests."""
    service.queue_cache.clear()
    access_keys.clear_cache()
    activity.flush()
    yield
    service.queue_cache.clear()
    access_keys.clear_cache()


@pytest.fixture
def api():
    """A REST client with a fresh access key's bearer token."""
    key, secret = access_keys.create_access_key(name="history tests")
    return JsonClient(
        headers={"Authorization": f"Bearer {key.access_key_id}:{secret}", "Host": HOST}
    )


def send(queue, count):
    entries = [service.SendEntry(body=f"m{index}", id=str(index)) for index in range(count)]
    return service.send_messages(queue, entries)[0]


def dead_letter_pair():
    dead_letter_queue = service.create_queue("dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    return service.create_queue("work", {"RedrivePolicy": policy}), dead_letter_queue


def dead_letter(queue, count):
    send(queue, count)
    service.receive_messages(queue, 10, visibility_timeout=0)
    service.receive_messages(queue, 10)  # each was received once: they move


def expire(queue, count):
    if count:
        send(queue, count)
    Message.objects.filter(queue=queue).update(sent_at=now_ms() - 15 * 24 * 3600 * 1000)
    service.sweep_expired_messages()


def test_expired_and_dead_lettered_messages_are_counted_on_their_queue():
    queue, dead_letter_queue = dead_letter_pair()
    dead_letter(queue, 2)
    expire(dead_letter_queue, 0)
    other = service.create_queue("short")
    expire(other, 3)
    activity.flush()
    row = QueueActivity.objects.get(queue=queue)
    assert (row.sent, row.received, row.dead_lettered, row.expired) == (2, 2, 2, 0)
    assert QueueActivity.objects.get(queue=dead_letter_queue).sent == 2
    assert QueueActivity.objects.get(queue=other).expired == 3


def test_beat_samples_depth_and_the_oldest_messages_age():
    queue = service.create_queue("busy")
    send(queue, 2)
    Message.objects.filter(queue=queue).update(sent_at=now_ms() - 90_000)
    history.record_queue_history()
    row = QueueActivity.objects.get(queue=queue, minute=activity.current_minute())
    assert row.visible == 2
    assert 90 <= row.oldest_age <= 100


def seed_minutes(queue, hour):
    QueueActivity.objects.bulk_create(
        QueueActivity(
            queue=queue, minute=hour * 60 + offset, sent=2, expired=1, visible=offset, oldest_age=7
        )
        for offset in range(60)
    )


def test_a_finished_hour_rolls_up_to_sums_and_highest_samples_and_again_the_same():
    queue = service.create_queue("busy")
    minute = activity.current_minute()
    hour = minute // 60 - 2
    seed_minutes(queue, hour)
    assert hour in history.roll_up(history.QUEUES, minute)
    row = QueueHourlyActivity.objects.get(queue=queue, hour=hour)
    assert (row.sent, row.expired, row.visible, row.oldest_age) == (120, 60, 59, 7)
    assert hour not in history.roll_up(history.QUEUES, minute)  # rolled once is enough
    history._roll_up_hour(history.QUEUES, hour)  # rolled again: the same, not doubled
    row.refresh_from_db()
    assert (row.sent, row.visible) == (120, 59)


def test_the_current_hour_is_not_rolled_until_a_minute_after_it_ends():
    queue = service.create_queue("busy")
    hour = activity.current_minute() // 60
    seed_minutes(queue, hour)
    assert hour not in history.roll_up(history.QUEUES, hour * 60 + 59)
    assert hour not in history.roll_up(history.QUEUES, (hour + 1) * 60)
    assert hour in history.roll_up(history.QUEUES, (hour + 1) * 60 + 1)


def test_prune_keeps_thirty_days_of_hours(monkeypatch):
    monkeypatch.setattr(activity, "PRUNE_BATCH", 2)
    queue = service.create_queue("old")
    hour = activity.current_minute() // 60
    QueueHourlyActivity.objects.bulk_create(
        QueueHourlyActivity(queue=queue, hour=hour - history.KEEP_HOURS - age, sent=1)
        for age in range(1, 5)
    )
    QueueHourlyActivity.objects.create(queue=queue, hour=hour - 24, sent=2)
    history.prune(history.QUEUES)
    assert list(QueueHourlyActivity.objects.values_list("sent", flat=True)) == [2]


def test_rest_history_of_each_range(api):
    queue = service.create_queue("orders")
    send(queue, 3)
    activity.flush()
    history.record_queue_history()
    minute = activity.current_minute()
    QueueHourlyActivity.objects.create(queue=queue, hour=minute // 60 - 48, sent=40, visible=9)
    for range_name, (resolution, buckets) in history.RANGES.items():
        response = api.get(f"/api/queues/orders/history?range={range_name}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["resolution"] == resolution
        assert set(body["series"]) == set(history.QUEUES.names)
        sent = body["series"]["sent"]
        assert len(sent) == buckets
        total = sum(value for _stamp, value in sent)
        assert total == (3 if resolution == "1m" else 43)
        assert body["series"]["visible"][-1][1] == 3
    assert sent[-1][0].endswith("+00:00")


def test_rest_history_refuses_an_unknown_range_and_queue(api):
    service.create_queue("orders")
    response = api.get("/api/queues/orders/history?range=2h")
    assert response.status_code == 400
    assert "range" in response.content.decode()
    assert api.get("/api/queues/nowhere/history").status_code in (400, 404)


def test_rest_history_needs_the_right_to_read_the_queues_attributes():
    service.create_queue("orders")
    key, secret = access_keys.create_access_key(
        name="no reads",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "sqs:SendMessage", "Resource": "*"}]}',
    )
    client = JsonClient(
        headers={"Authorization": f"Bearer {key.access_key_id}:{secret}", "Host": HOST}
    )
    assert client.get("/api/queues/orders/history").status_code == 403


def scrape():
    """{(sample name, queue): value} of the counters /metrics serves (this process's files)."""
    files = console_metrics.read_files(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    text = console_metrics.render_files(files).decode()
    return {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_series_totals_equal_the_metrics_counters_for_the_same_traffic(api):
    queue, dead_letter_queue = dead_letter_pair()
    before = scrape()
    send(queue, 4)
    received = service.receive_messages(queue, 2)
    service.delete_messages(queue, [(str(i), m["ReceiptHandle"]) for i, m in enumerate(received)])
    dead_letter(queue, 3)  # 2 left from above + 3 more: received, then moved
    expire(dead_letter_queue, 0)  # what was dead-lettered into it expires
    activity.flush()
    after = scrape()
    pairs = {
        "sent": "roost_messages_sent_total",
        "received": "roost_messages_received_total",
        "deleted": "roost_messages_deleted_total",
        "dead_lettered": "roost_messages_dead_lettered_total",
        "expired": "roost_messages_expired_total",
    }
    for queue_name in ("work", "dlq"):
        series = api.get(f"/api/queues/{queue_name}/history?range=1h").json()["series"]
        for name, metric in pairs.items():
            if name == "sent" and queue_name == "dlq":
                continue  # the series counts dead-lettering into a queue as sent; the counter not
            delta = after.get((metric, queue_name), 0) - before.get((metric, queue_name), 0)
            assert sum(value for _at, value in series[name]) == delta, (queue_name, name)
