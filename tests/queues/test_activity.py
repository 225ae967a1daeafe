"""Queue activity: sends and receives counted per minute, and depths sampled for the charts."""

import pytest

from queues import activity, service
from queues.models import QueueActivity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state():
    service.queue_cache.clear()
    activity.flush()  # drop counts other tests left in memory (their queues are gone)
    QueueActivity.objects.all().delete()
    yield
    service.queue_cache.clear()


def send(queue, count):
    entries = [service.SendEntry(body=f"m{index}", id=str(index)) for index in range(count)]
    service.send_messages(queue, entries)


def test_sends_and_receives_are_counted_in_the_current_minute():
    queue = service.create_queue("busy")
    send(queue, 7)
    service.receive_messages(queue, 5)
    activity.flush()
    row = QueueActivity.objects.get(queue=queue)
    assert row.minute == activity.current_minute()
    assert (row.sent, row.received) == (7, 5)


def test_flushes_from_several_processes_add_up():
    queue = service.create_queue("busy")
    send(queue, 3)
    activity.flush()
    send(queue, 4)
    activity.flush()
    assert QueueActivity.objects.get(queue=queue).sent == 7


def test_counts_for_a_deleted_queue_are_dropped_without_error():
    queue = service.create_queue("short-lived")
    send(queue, 2)
    service.delete_queue(queue)
    activity.flush()
    assert not QueueActivity.objects.exists()


def test_rates_cover_the_last_minute():
    quiet = service.create_queue("quiet")
    busy = service.create_queue("busy")
    send(busy, 10)
    service.receive_messages(busy, 4)
    activity.flush()
    rates = activity.rates([quiet.id, busy.id])
    assert rates[busy.id] == (10, 4)
    assert quiet.id not in rates


def test_rates_weigh_the_previous_minute_by_what_is_left_of_it():
    queue = service.create_queue("busy")
    QueueActivity.objects.create(
        queue=queue, minute=activity.current_minute() - 1, sent=600, received=0
    )
    QueueActivity.objects.create(queue=queue, minute=activity.current_minute() - 2, sent=999)
    sent, received = activity.rates([queue.id])[queue.id]
    assert 0 <= sent <= 600
    assert received == 0


def test_depth_samples_land_beside_the_counts():
    queue = service.create_queue("busy")
    send(queue, 3)
    activity.flush()
    activity.record_depths({queue.id: service.queue_depth(queue)})
    [row] = activity.history(queue.id)
    assert (row.sent, row.visible, row.in_flight, row.delayed) == (3, 3, 0, 0)


def test_prune_keeps_a_day():
    queue = service.create_queue("old")
    now = activity.current_minute()
    QueueActivity.objects.create(queue=queue, minute=now - activity.KEEP_MINUTES - 1, sent=1)
    QueueActivity.objects.create(queue=queue, minute=now - 10, sent=2)
    activity.prune()
    assert list(QueueActivity.objects.values_list("sent", flat=True)) == [2]
