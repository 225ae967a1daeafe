"""Replaying a failed delivery: a delivery of its own, which the log keeps whatever its protocol."""

import json

import pytest
from django.conf import settings

from notifications import delivery, service
from notifications.errors import InvalidParameter
from notifications.models import Delivery
from queues import service as queue_service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Forget topics and queues cached by earlier tests (their rows were rolled back)."""
    service.topic_cache.clear()
    queue_service.queue_cache.clear()
    yield
    service.topic_cache.clear()
    queue_service.queue_cache.clear()


def test_a_replay_into_a_queue_made_since_is_delivered_and_stays_in_the_log():
    topic = service.create_topic("events")
    arn = f"arn:aws:sqs:{settings.ROOST_REGION}:{settings.ROOST_ACCOUNT_ID}:late"
    service.subscribe(topic, "sqs", arn)
    service.publish(topic, service.PublishEntry(message="hello"))
    delivery.deliver_to_queues()  # the queue does not exist yet
    failed = Delivery.objects.get()
    assert failed.status == Delivery.Status.FAILED

    queue = queue_service.create_queue("late")
    replay = delivery.replay(failed, "olga")
    assert (replay.replay_of_id, replay.replayed_by) == (failed.pk, "olga")
    assert delivery.deliver_to_queues() == 1

    replay.refresh_from_db()
    assert replay.status == Delivery.Status.DELIVERED and replay.finished_at
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED
    [received] = queue_service.receive_messages(queue, max_number=10)
    assert json.loads(received["Body"])["Message"] == "hello"
    with pytest.raises(InvalidParameter, match="only failed or dead-lettered"):
        delivery.replay(replay)
    with pytest.raises(InvalidParameter, match=f"as delivery {replay.pk}"):
        delivery.replay(failed)
