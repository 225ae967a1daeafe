"""Queue activity: every message sent, received and deleted counted, and depths sampled."""

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from queues import activity, service
from queues.models import Message, QueueActivity, RecentQueueActivity, now_ms

# Counts are taken once the sender's transaction commits: these tests commit as a server does.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_state():
    service.queue_cache.clear()
    activity.flush()  # drop counts other tests left in memory (their queues are gone)
    QueueActivity.objects.all().delete()
    yield
    service.queue_cache.clear()


def send(queue, count):
    entries = [service.SendEntry(body=f"m{index}", id=str(index)) for index in range(count)]
    return service.send_messages(queue, entries)[0]


def test_sends_receives_and_deletes_are_counted_in_the_current_minute():
    queue = service.create_queue("busy")
    send(queue, 7)
    received = service.receive_messages(queue, 5)
    service.delete_messages(
        queue, [(str(index), message["ReceiptHandle"]) for index, message in enumerate(received)]
    )
    activity.flush()
    row = QueueActivity.objects.get(queue=queue)
    assert row.minute == activity.current_minute()
    assert (row.sent, row.received, row.deleted) == (7, 5, 5)
    assert activity.rates([queue.id])[queue.id] == (7, 5, 5)


def test_flushes_from_several_processes_add_up():
    queue = service.create_queue("busy")
    send(queue, 3)
    activity.flush()
    send(queue, 4)
    activity.flush()
    assert QueueActivity.objects.get(queue=queue).sent == 7
    assert sum(RecentQueueActivity.objects.values_list("sent", flat=True)) == 7


def test_many_queues_are_written_in_batched_statements():
    queues = [service.create_queue(f"q{index}") for index in range(activity.ROWS_PER_STATEMENT + 1)]
    for queue in queues:
        activity.count(queue.id, sent=2)
    with CaptureQueriesContext(activity.own_connection()) as statements:
        activity.flush()
    assert len(statements) <= 4  # at most two a table
    rates = activity.rates([queue.id for queue in queues])
    assert {rate.sent for rate in rates.values()} == {2}
    assert len(rates) == len(queues)


def test_counts_for_a_deleted_queue_are_dropped_without_error():
    queue = service.create_queue("short-lived")
    send(queue, 2)
    service.delete_queue(queue)
    activity.flush()
    assert not QueueActivity.objects.exists()


def test_a_send_inside_a_transaction_that_rolls_back_is_not_counted():
    queue = service.create_queue("busy")
    with pytest.raises(RuntimeError), transaction.atomic():
        send(queue, 3)
        raise RuntimeError("the publish failed")
    activity.flush()
    assert not QueueActivity.objects.filter(queue=queue, sent__gt=0).exists()


def test_dead_lettering_counts_as_sent_into_the_dead_letter_queue():
    dead_letter_queue = service.create_queue("dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    queue = service.create_queue("work", {"RedrivePolicy": policy})
    send(queue, 2)
    service.receive_messages(queue, 10, visibility_timeout=0)
    service.receive_messages(queue, 10)  # both have been received once: they move
    activity.flush()
    rates = activity.rates([queue.id, dead_letter_queue.id])
    assert rates[queue.id] == (2, 2, 0)
    assert rates[dead_letter_queue.id] == (2, 0, 0)


def test_a_redrive_counts_as_deleted_from_the_dead_letter_queue_and_sent_to_the_source():
    dead_letter_queue = service.create_queue("dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    queue = service.create_queue("work", {"RedrivePolicy": policy})
    send(dead_letter_queue, 3)
    ids = list(Message.objects.filter(queue=dead_letter_queue).values_list("pk", flat=True))
    assert service.redrive_messages(dead_letter_queue, ids, destination=queue) == 3
    activity.flush()
    rates = activity.rates([queue.id, dead_letter_queue.id])
    assert rates[queue.id] == (3, 0, 0)
    assert rates[dead_letter_queue.id] == (3, 0, 3)


def test_the_last_minute_holds_a_burst_for_a_minute_then_drops_it():
    queue = service.create_queue("bursty")
    at = now_ms()
    period = at // activity.PERIOD_MS
    RecentQueueActivity.objects.create(queue=queue, period=period, sent=30)
    period_ms = activity.PERIOD_MS
    assert activity.rates([queue.id], at_ms=at)[queue.id].sent == 30
    assert activity.rates([queue.id], at_ms=at + 55_000)[queue.id].sent == 30
    assert queue.id not in activity.rates([queue.id], at_ms=(period + 12) * period_ms)
    assert activity.rates(None, at_ms=at)[queue.id].sent == 30


def test_rates_of_many_queues_are_read_at_once_and_picked():
    queues = [service.create_queue(f"q{index}") for index in range(3)]
    for queue in queues:
        activity.count(queue.id, sent=1)
    activity.flush()
    wanted = [queues[0].id, *range(10**9, 10**9 + activity.MANY_QUEUES)]
    assert set(activity.rates(wanted)) == {queues[0].id}


def test_depth_samples_land_beside_the_counts():
    queue = service.create_queue("busy")
    send(queue, 3)
    activity.flush()
    activity.record_depths({queue.id: service.queue_depth(queue)})
    [row] = activity.history(queue.id)
    assert (row.sent, row.visible, row.in_flight, row.delayed) == (3, 3, 0, 0)


def test_prune_keeps_a_day_of_minutes_and_a_few_minutes_of_periods(monkeypatch):
    monkeypatch.setattr(activity, "PRUNE_BATCH", 2)  # several batches
    queue = service.create_queue("old")
    now = activity.current_minute()
    QueueActivity.objects.bulk_create(
        QueueActivity(queue=queue, minute=now - activity.KEEP_MINUTES - age, sent=1)
        for age in range(1, 6)
    )
    QueueActivity.objects.create(queue=queue, minute=now - 10, sent=2)
    period = now_ms() // activity.PERIOD_MS
    RecentQueueActivity.objects.create(queue=queue, period=period - 100, sent=1)
    RecentQueueActivity.objects.create(queue=queue, period=period - 1, sent=2)
    activity.prune()
    assert list(QueueActivity.objects.values_list("sent", flat=True)) == [2]
    assert list(RecentQueueActivity.objects.values_list("sent", flat=True)) == [2]
