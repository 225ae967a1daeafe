"""A subscription's throttle policy (maxReceivesPerSecond) paces its HTTP(S) deliveries.

Send slots are reserved in the database, so the rate holds however many worker threads and
processes deliver; the live test sends two batches at once (two tasks, on the live worker's two
processes) and counts what the endpoint receives in every one-second window.
"""

import json
import threading
import time

import pytest

from notifications import throttle
from notifications.models import Subscription, Topic
from tests.notifications.receivers import HttpReceiver
from tests.notifications.test_deliveries import confirm_http

RATE = 2
BATCHES = 2
PER_BATCH = 6


class TimedReceiver(HttpReceiver):
    """The HTTP receiver, also noting when each request arrived (monotonic seconds)."""

    def __init__(self):
        self.arrivals = []
        self._arrivals_lock = threading.Lock()
        super().__init__()

    def _handle(self, handler):
        arrived = time.monotonic()
        path = handler.path.split("?")[0]
        with self._arrivals_lock:
            self.arrivals.append((path, arrived))
        super()._handle(handler)

    def times(self, path):
        with self._arrivals_lock:
            return sorted(at for arrived_path, at in self.arrivals if arrived_path == path)


@pytest.fixture(scope="module")
def receiver():
    """An HTTP endpoint recording what the live worker sends it, and when."""
    endpoint = TimedReceiver()
    yield endpoint
    endpoint.close()


def most_in_one_second(times):
    return max(sum(1 for other in times if start <= other < start + 1.0) for start in times)


def test_deliveries_to_a_throttled_endpoint_keep_to_its_rate(
    roost_worker, receiver, sns, make_topic, topic_name
):
    topic = make_topic()
    paced, free = f"/paced/{topic_name}", f"/free/{topic_name}"
    arn = confirm_http(sns, receiver, topic, paced)
    confirm_http(sns, receiver, topic, free)
    sns.set_subscription_attributes(
        SubscriptionArn=arn,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps({"throttlePolicy": {"maxReceivesPerSecond": RATE}}),
    )
    before = len(receiver.times(paced))  # the confirmation

    for batch in range(BATCHES):
        sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[
                {"Id": str(index), "Message": f"{batch}-{index}"} for index in range(PER_BATCH)
            ],
        )

    total = BATCHES * PER_BATCH
    receiver.wait_for(paced, count=before + total, timeout=total / RATE + 30)
    receiver.wait_for(free, count=1 + total)
    notifications = receiver.times(paced)[before:]
    messages = sorted(request.json()["Message"] for request in receiver.requests(paced)[before:])
    assert messages == sorted(f"{b}-{i}" for b in range(BATCHES) for i in range(PER_BATCH))
    # Unthrottled, all twelve arrive within a fraction of a second; paced, two a second. The
    # bound leaves room for a late send bunching up with the next.
    assert most_in_one_second(notifications) <= 2 * RATE
    # The other subscription of the topic is not held back by this one's pace.
    assert receiver.times(free)[-1] < notifications[-1]


# Reserving slots -------------------------------------------------------------------------------


@pytest.fixture
def subscription(db):
    """An HTTP subscription row to reserve slots for."""
    topic = Topic.objects.create(name="throttled")
    return Subscription.objects.create(
        topic=topic,
        uuid="00000000-0000-0000-0000-000000000001",
        protocol="http",
        endpoint="http://example.test/",
        status=Subscription.Status.CONFIRMED,
        confirmation_token="c" * 128,
        unsubscribe_token="u" * 64,
    )


def test_slots_are_one_interval_apart_then_free_again(subscription):
    now = 1_000_000_000_000_000

    starts = [throttle.reserve(subscription.pk, 4, now) for _ in range(5)]

    assert starts == [now + step * 250_000 for step in range(5)]
    # Once the reserved slots are past, the next delivery may start at once.
    assert throttle.reserve(subscription.pk, 4, now + 10_000_000) == now + 10_000_000


def test_each_subscription_has_its_own_slots(subscription):
    other = Subscription.objects.create(
        topic=subscription.topic,
        uuid="00000000-0000-0000-0000-000000000002",
        protocol="http",
        endpoint="http://other.test/",
        confirmation_token="d" * 128,
        unsubscribe_token="v" * 64,
    )
    now = 1_000_000_000_000_000

    assert throttle.reserve(subscription.pk, 1, now) == now
    assert throttle.reserve(other.pk, 1, now) == now
    assert throttle.reserve(subscription.pk, 1, now) == now + 1_000_000
