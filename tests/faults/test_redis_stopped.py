"""Redis stopped for 10 s under a Roost that uses it as Celery broker and channel layer.

Meanwhile the API keeps answering: publishes are accepted and committed, console pages and the
live stream answer. Once Redis is back, every publish reaches every subscribed queue: at least
once (duplicates are counted, not failed), nothing lost.
"""

import json
import time
from collections import Counter

import pytest

from tests.faults.conftest import fault_roost, wait_for

pytestmark = [pytest.mark.live, pytest.mark.faults]

OUTAGE_SECONDS = 10
DELIVERY_SECONDS = 90


@pytest.fixture
def roost(private_redis):
    """A Roost whose broker and channel layer are a redis-server of this test's own."""
    with fault_roost(
        "redis-down", CELERY_BROKER_URL=private_redis.url(0), REDIS_URL=private_redis.url(1)
    ) as roost:
        roost.start_worker()
        roost.start_beat()
        yield roost


def subscribed_queues(roost, topic):
    """Two queues subscribed to the topic, one enveloped and one raw: [(url, raw)]."""
    sns, sqs = roost.client("sns"), roost.client("sqs")
    queues = []
    for raw in (False, True):
        url = sqs.create_queue(QueueName=f"redis-down-{'raw' if raw else 'sns'}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true" if raw else "false"},
        )
        queues.append((url, raw))
    return queues


class Inbox:
    """What a queue has delivered so far, every copy counted."""

    def __init__(self, sqs, url, raw):
        self.sqs, self.url, self.raw, self.bodies = sqs, url, raw, Counter()

    def fetch(self):
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", [])
        for message in messages:
            body = message["Body"]
            self.bodies[body if self.raw else json.loads(body)["Message"]] += 1
        return bool(messages)

    def has(self, bodies):
        while self.fetch():
            pass
        return set(bodies) <= set(self.bodies)


def first_live_event(console, page="overview"):
    """Open the console's live stream (SSE) and return its first event."""
    with console.stream("GET", f"/live/sse/?page={page}", timeout=10) as response:
        assert response.status_code == 200
        text = ""
        for chunk in response.iter_text():
            text += chunk
            if "event: live" in text:
                return text
    pytest.fail(f"the live stream ended without an event: {text!r}")


def test_with_redis_stopped_for_10_s_the_api_answers_and_every_publish_is_delivered_after(
    roost, private_redis
):
    sns, console = roost.client("sns"), roost.console()
    topic = sns.create_topic(Name="redis-down")["TopicArn"]
    inboxes = [Inbox(roost.client("sqs"), url, raw) for url, raw in subscribed_queues(roost, topic)]
    sns.publish(TopicArn=topic, Message="before")
    wait_for(lambda: all(inbox.has(["before"]) for inbox in inboxes), 30, "the first delivery")

    private_redis.stop()
    stopped = time.monotonic()
    published, latencies, pages = [], [], 0
    while time.monotonic() - stopped < OUTAGE_SECONDS:  # the outage lasts this long by design
        body = f"during-{len(published)}"
        started = time.monotonic()
        assert sns.publish(TopicArn=topic, Message=body)["MessageId"]
        latencies.append(time.monotonic() - started)
        published.append(body)
        assert console.get("/").status_code == 200
        assert console.get("/topics/redis-down/").status_code == 200
        pages += 2
        if len(published) == 1:
            assert "event: live" in first_live_event(console)
    # Committed: the topic's delivery log already holds every one of them.
    assert all(inbox.bodies.total() == 1 for inbox in inboxes)

    private_redis.start()
    back = time.monotonic()
    after = []

    def all_delivered():
        # Traffic goes on after the outage, as it would: each publish also hands work over.
        after.append(f"after-{len(after)}")
        sns.publish(TopicArn=topic, Message=after[-1])
        return all(inbox.has(["before", *published]) for inbox in inboxes)

    wait_for(all_delivered, DELIVERY_SECONDS, "every publish to be delivered", interval=1)
    recovered = time.monotonic() - back
    wait_for(lambda: all(inbox.has(after) for inbox in inboxes), 30, "publishes after the outage")

    expected = {"before", *published, *after}
    for inbox in inboxes:
        assert set(inbox.bodies) == expected
    duplicates = sum(count - 1 for inbox in inboxes for count in inbox.bodies.values())
    print(
        f"\n{len(published)} publishes and {pages} console pages during the outage, slowest "
        f"publish {max(latencies):.2f} s; all delivered {recovered:.1f} s after Redis was back; "
        f"duplicates {duplicates}"
    )
