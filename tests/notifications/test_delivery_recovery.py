"""A stopped worker, a killed worker or a lost broker delays deliveries but never loses one.

Each live test publishes hundreds of messages (PublishBatch, ten at a time) to a topic with QUEUES
queue subscribers while something is broken, mends it, and then finds every message in every queue
exactly once. They run on the private roost, whose workers and broker they may stop. A batch to
that many queues owes more deliveries than a publish makes itself, so these go through the
outbox, its tasks and the worker's drain (what a publish delivers itself is tested in
test_queue_delivery_in_publish.py).
"""

import json
import shlex
import threading
import time

import httpx
import pytest

from notifications import dispatch, tasks
from notifications.delivery import INLINE_QUEUE_DELIVERIES
from notifications.dispatch import BROKER_DOWN_SECONDS
from tests.notifications.receivers import wait_until
from tests.servers import BASE_DIR

# Enough that a worker killed mid-delivery still has most of them to deliver.
MESSAGES = 1000
# Enough queues that a batch of ten owes more queue deliveries than a publish makes itself.
QUEUES = INLINE_QUEUE_DELIVERIES // 10 + 1
BODIES = [f"m{index:04d}" for index in range(MESSAGES)]
# Where nothing is killed mid-way the count only has to span many outbox tasks and drains of
# DRAIN_BATCH deliveries: 300 messages owe 3,300 queue deliveries.
FEWER_BODIES = BODIES[:300]
DELIVERY_SECONDS = 60
# After every message arrived, how long the queues must then stay empty.
QUIET_SECONDS = 2


@pytest.fixture
def roost(private_roost):
    """The private roost with no worker running; workers a test starts are stopped after it."""
    private_roost.stop_workers()
    yield private_roost
    private_roost.stop_workers()


@pytest.fixture
def fan_out(roost, topic_name):
    """A topic with QUEUES queue subscribers, every third raw, the others enveloped:
    (ARN, [(URL, raw)])."""
    sns, sqs = roost.client("sns"), roost.client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queues = []
    for number in range(QUEUES):
        raw = number % 3 == 2
        url = sqs.create_queue(QueueName=f"{topic_name}-{number}")["QueueUrl"]
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
    return topic, queues


def publish(sns, topic, bodies):
    """Publish bodies ten at a time; every entry must succeed."""
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": f"e{index}", "Message": body}
            for index, body in enumerate(bodies[start : start + 10])
        ]
        result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        assert not result.get("Failed"), result["Failed"]
        assert len(result["Successful"]) == len(entries)


def depth(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def assert_all_delivered_once(sqs, queues, bodies=BODIES):
    """Every queue holds each body exactly once, and nothing else arrives after."""
    deadline = time.monotonic() + DELIVERY_SECONDS
    for url, raw in queues:
        received = []
        while len(received) < len(bodies):
            assert time.monotonic() < deadline, (
                f"{url} got {len(received)} of {len(bodies)} messages in {DELIVERY_SECONDS} s"
            )
            received += _receive(sqs, url, raw, wait=1)
        assert sorted(received) == sorted(bodies)
    time.sleep(QUIET_SECONDS)  # no event shows that nothing more comes: a quiet spell must pass
    for url, raw in queues:
        extra = _receive(sqs, url, raw, wait=0)
        assert not extra, f"{url} got more than one of {extra}"


def _receive(sqs, url, raw, wait):
    """Receive up to ten bodies, hidden for the rest of the test: received twice is sent twice."""
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, VisibilityTimeout=3600
    ).get("Messages", [])
    return [
        message["Body"] if raw else json.loads(message["Body"])["Message"] for message in messages
    ]


def test_messages_published_while_no_worker_runs_are_all_delivered_once_one_starts(roost, fan_out):
    topic, queues = fan_out
    sqs = roost.client("sqs")

    publish(roost.client("sns"), topic, FEWER_BODIES)
    assert [depth(sqs, url) for url, _ in queues] == [0] * QUEUES
    roost.start_worker()

    assert_all_delivered_once(sqs, queues, FEWER_BODIES)


def test_a_worker_killed_mid_delivery_loses_nothing_once_one_restarts(roost, fan_out):
    topic, queues = fan_out
    sqs = roost.client("sqs")
    worker = roost.start_worker()
    failures = []

    def publish_all():
        try:
            publish(roost.client("sns"), topic, BODIES)
        except Exception as error:  # reported by the assertion below
            failures.append(error)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    try:
        # Kill it while it delivers: some messages are in, the publisher is still going.
        wait_until(lambda: depth(sqs, queues[0][0]) >= 100, what="deliveries to start")
        roost.kill_worker(worker)
    finally:
        publisher.join(timeout=120)
    assert not failures, failures
    assert sum(depth(sqs, url) for url, _ in queues) < QUEUES * MESSAGES
    roost.start_worker()

    assert_all_delivered_once(sqs, queues)


def test_messages_published_while_the_broker_is_down_are_all_delivered_once_it_is_back(
    roost, fan_out
):
    topic, queues = fan_out
    sqs = roost.client("sqs")
    broker = roost.broker(up=False)
    # A server that cannot reach its broker: every publish commits, and hands Celery nothing.
    server = roost.start_server(CELERY_BROKER_URL=broker)
    sns = roost.client("sns", server)
    try:
        publish(sns, topic, FEWER_BODIES)
        assert "could not queue notifications.tasks.deliver_to_queues" in server.log()
        assert [depth(sqs, url) for url, _ in queues] == [0] * QUEUES

        roost.start_broker(broker)
        roost.start_worker(CELERY_BROKER_URL=broker)
        assert_all_delivered_once(sqs, queues, FEWER_BODIES)

        # With its broker back, the server hands new publishes over again, once it tries again:
        # the behaviour under test is that it does so after BROKER_DOWN_SECONDS, so let them pass.
        time.sleep(BROKER_DOWN_SECONDS)
        after = [f"after-{number}" for number in range(10)]  # a full batch: through the outbox
        publish(sns, topic, after)
        assert_all_delivered_once(sqs, queues, after)
    finally:
        roost.stop_server(server)


def test_after_the_broker_failed_dispatch_skips_it_for_a_while_then_one_call_tries_again(
    monkeypatch,
):
    clock = [1000.0]
    monkeypatch.setattr(dispatch, "time", type("Clock", (), {"monotonic": lambda: clock[0]}))
    monkeypatch.setattr(dispatch, "_skip_until", 0.0)
    tries = []

    def broker_down(args, **options):
        tries.append(args)
        raise ConnectionRefusedError("the broker is down")

    monkeypatch.setattr(tasks.attempt_deliveries, "apply_async", broker_down)
    dispatch.attempt([1])
    dispatch.attempt([2])
    clock[0] += BROKER_DOWN_SECONDS - 0.1
    dispatch.attempt([3])
    assert tries == [([1],)]

    monkeypatch.setattr(
        tasks.attempt_deliveries, "apply_async", lambda args, **o: tries.append(args)
    )
    clock[0] += 0.1
    dispatch.attempt([4])
    dispatch.attempt([5])
    assert tries == [([1],), ([4],), ([5],)]


def procfile_worker_options(process):
    """The options that shape a worker (queues, pool, concurrency) on its line of the Procfile."""
    line = next(
        line
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith(f"{process}:")
    )
    options = [
        option
        for option in shlex.split(line.partition(":")[2])
        if option.startswith(("--queues=", "--pool=", "--concurrency="))
    ]
    assert any(option.startswith("--queues=") for option in options), line
    return options


def test_a_webhook_that_does_not_answer_holds_up_no_queue_delivery(roost, fan_out, http_receiver):
    """With the Procfile's two workers, sends to a stuck endpoint occupy the outbound worker
    only: messages published meanwhile still reach the topic's queues at once."""
    topic, queues = fan_out
    sns, sqs = roost.client("sns"), roost.client("sqs")
    for process in ("worker", "outbound"):
        roost.start_worker(*procfile_worker_options(process))
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=http_receiver.endpoint("stuck"))
    confirmation = http_receiver.wait_for("stuck")[0].json()
    assert httpx.get(confirmation["SubscribeURL"], timeout=10).status_code == 200
    http_receiver.hold("stuck")
    try:
        first = [f"first-{number}" for number in range(3)]
        for body in first:  # three publishes: three tasks, each stuck on its POST
            sns.publish(TopicArn=topic, Message=body)
        http_receiver.wait_for("stuck", count=1 + len(first))
        assert http_receiver.held("stuck") == len(first)

        then = [f"then-{number}" for number in range(10)]
        publish(sns, topic, then)

        assert_all_delivered_once(sqs, queues, first + then)
        assert http_receiver.held("stuck") >= len(first), "queue deliveries waited for the POSTs"
    finally:
        http_receiver.release("stuck")
    received = http_receiver.wait_for("stuck", count=1 + len(first) + len(then))
    assert sorted(request.json()["Message"] for request in received[1:]) == sorted(first + then)
