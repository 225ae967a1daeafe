"""A standard topic's queue subscribers get a message in the Publish that accepts it.

Publish and PublishBatch deliver into a few queues inside their own transaction (up to
notifications.delivery.INLINE_QUEUE_DELIVERIES), so these tests run with no worker at all: what is
in the queues when the call answers was put there by the call. What a queue refuses still goes
through the outbox and the worker, and on to the subscription's dead-letter queue.
"""

import json
import threading
from collections import Counter

import pytest

from tests.notifications.test_deliveries import (
    assert_signed,
    queue_arn,
    receive_all,
    subscribe_queue,
)
from tests.servers import wait_until

# Publishes acknowledged before the web process is killed under its publishers.
KILL_AFTER = 150
PUBLISHERS = 3


@pytest.fixture
def roost(private_roost):
    """The private roost with no worker running; workers a test starts are stopped after it."""
    private_roost.stop_workers()
    yield private_roost
    private_roost.stop_workers()


def received_now(sqs, url):
    """The messages the queue holds right now (a receive that does not wait), hidden for a while."""
    messages = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        VisibilityTimeout=600,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    return messages


def test_queues_hold_the_message_when_publish_answers_raw_enveloped_and_filtered(roost, topic_name):
    sns, sqs = roost.client("sns"), roost.client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    urls = {
        name: sqs.create_queue(QueueName=f"{topic_name}-{name}")["QueueUrl"]
        for name in ("envelope", "raw", "filtered")
    }
    subscribe_queue(sns, sqs, topic, urls["envelope"])
    subscribe_queue(sns, sqs, topic, urls["raw"], RawMessageDelivery="true")
    subscribe_queue(
        sns, sqs, topic, urls["filtered"], FilterPolicy=json.dumps({"colour": ["blue"]})
    )
    attributes = {"colour": {"DataType": "String", "StringValue": "red"}}

    message_id = sns.publish(
        TopicArn=topic, Message="hello", Subject="greeting", MessageAttributes=attributes
    )["MessageId"]

    [enveloped] = received_now(sqs, urls["envelope"])
    envelope = json.loads(enveloped["Body"])
    assert envelope["Type"] == "Notification"
    assert (envelope["MessageId"], envelope["Message"], envelope["Subject"]) == (
        message_id,
        "hello",
        "greeting",
    )
    assert envelope["MessageAttributes"] == {"colour": {"Type": "String", "Value": "red"}}
    assert_signed(envelope, roost.url)
    [raw] = received_now(sqs, urls["raw"])
    assert raw["Body"] == "hello"
    assert raw["MessageAttributes"] == {"colour": {"DataType": "String", "StringValue": "red"}}
    assert received_now(sqs, urls["filtered"]) == []

    result = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {
                "Id": colour,
                "Message": colour,
                "MessageAttributes": {"colour": {"DataType": "String", "StringValue": colour}},
            }
            for colour in ("blue", "green")
        ],
    )
    assert not result.get("Failed"), result["Failed"]
    assert sorted(m["Body"] for m in received_now(sqs, urls["raw"])) == ["blue", "green"]
    [blue] = received_now(sqs, urls["filtered"])
    assert json.loads(blue["Body"])["Message"] == "blue"
    assert len(received_now(sqs, urls["envelope"])) == 2


def test_a_deleted_queue_s_delivery_goes_through_the_worker_to_the_dead_letter_queue(
    roost, topic_name
):
    sns, sqs = roost.client("sns"), roost.client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    gone, kept, dead_letters = (
        sqs.create_queue(QueueName=f"{topic_name}-{name}")["QueueUrl"]
        for name in ("gone", "kept", "dead")
    )
    subscribe_queue(
        sns,
        sqs,
        topic,
        gone,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(sqs, dead_letters)}),
    )
    subscribe_queue(sns, sqs, topic, kept, RawMessageDelivery="true")
    sqs.delete_queue(QueueUrl=gone)

    sns.publish(TopicArn=topic, Message="for both")

    [delivered] = received_now(sqs, kept)
    assert delivered["Body"] == "for both"
    assert received_now(sqs, dead_letters) == [], "given up on before any worker ran"
    roost.start_worker()
    [dead] = receive_all(sqs, dead_letters, 1, MessageAttributeNames=["All"])
    assert json.loads(dead["Body"])["Message"] == "for both"
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "QueueDoesNotExist"


class Publisher(threading.Thread):
    """Publish one message at a time until a call fails; remember what was acknowledged."""

    def __init__(self, number, client, topic):
        super().__init__(daemon=True)
        self.number, self.client, self.topic = number, client, topic
        self.acknowledged, self.unanswered, self.error = set(), set(), None

    def run(self):
        sequence = 0
        while True:
            body = f"p{self.number}-{sequence}"
            try:
                self.client.publish(TopicArn=self.topic, Message=body)
            except Exception as error:  # the server died under this request
                self.unanswered.add(body)
                self.error = error
                return
            self.acknowledged.add(body)
            sequence += 1


def test_a_web_process_killed_mid_publish_leaves_every_message_in_every_queue_or_in_none(
    roost, topic_name
):
    sns, sqs = roost.client("sns"), roost.client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    urls = [sqs.create_queue(QueueName=f"{topic_name}-{n}")["QueueUrl"] for n in range(3)]
    for url in urls:
        subscribe_queue(sns, sqs, topic, url, RawMessageDelivery="true")
    doomed = roost.start_server()
    publishers = [
        Publisher(number, roost.client("sns", doomed), topic) for number in range(PUBLISHERS)
    ]
    for publisher in publishers:
        publisher.start()
    try:
        wait_until(
            lambda: sum(len(p.acknowledged) for p in publishers) >= KILL_AFTER,
            what=f"{KILL_AFTER} acknowledged publishes",
        )
    finally:
        roost.kill(doomed.process)
    for publisher in publishers:
        publisher.join(timeout=60)
    assert all(publisher.error is not None for publisher in publishers), "outlived the server"

    acknowledged = set().union(*(publisher.acknowledged for publisher in publishers))
    unanswered = set().union(*(publisher.unanswered for publisher in publishers))
    found = [Counter(message["Body"] for message in drained(sqs, url)) for url in urls]
    for bodies in found:
        assert acknowledged <= set(bodies), f"lost: {sorted(acknowledged - set(bodies))[:20]}"
        assert set(bodies) <= acknowledged | unanswered, "received bodies nobody published"
        assert max(bodies.values()) == 1, "a message reached a queue twice"
    # A publish cut off by the kill committed with every delivery, or with none.
    assert found[0].keys() == found[1].keys() == found[2].keys()


def drained(sqs, url):
    """Everything the queue holds, each message hidden once received."""
    received = []
    while batch := received_now(sqs, url):
        received += batch
    return received
