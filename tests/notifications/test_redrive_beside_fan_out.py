"""A slow redrive never holds up SNS deliveries into queues.

Move tasks run as one-batch steps on their own Celery queue, the next step queued with a
countdown that keeps to MaxNumberOfMessagesPerSecond: a worker slot is held for a batch, never for
the wait. Here two redrives at 1 message a second run on the Procfile's worker (both slots of it,
had they slept in them) while a topic fans out to three queues.
"""

import pytest

from tests.notifications.test_delivery_recovery import (  # noqa: F401 (fixtures: roost, fan_out)
    assert_all_delivered_once,
    fan_out,
    procfile_worker_options,
    publish,
    roost,
)
from tests.servers import wait_until

pytestmark = pytest.mark.live

DEAD_LETTERS = 40  # at 1 a second, each redrive runs for 40 s unless cancelled
WAIT_SECONDS = 30


def arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def dead_lettered(sqs, name, count):
    """A dead-letter queue holding `count` messages dead-lettered from its source: its ARN."""
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    policy = f'{{"deadLetterTargetArn": "{arn(sqs, dead_letters)}", "maxReceiveCount": 1}}'
    source = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"{name}-{start + i}"} for i in range(10)]
        assert not sqs.send_message_batch(QueueUrl=source, Entries=entries).get("Failed")
    for _ in range(2):  # received once, then once more: past maxReceiveCount, into the DLQ
        while sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages"
        ):
            pass
    return arn(sqs, dead_letters)


def task_of(sqs, dead_letters_arn):
    return sqs.list_message_move_tasks(SourceArn=dead_letters_arn)["Results"][0]


def wait_for(condition, what):
    return wait_until(condition, WAIT_SECONDS, interval=0.2, what=what)


def test_two_redrives_at_one_message_a_second_hold_up_no_delivery_into_queues(
    roost,  # noqa: F811 (the fixtures imported above)
    fan_out,  # noqa: F811
    topic_name,
):
    topic, queues = fan_out
    sns, sqs = roost.client("sns"), roost.client("sqs")
    redrives = [dead_lettered(sqs, f"{topic_name}-r{n}", DEAD_LETTERS) for n in range(2)]
    roost.start_worker(*procfile_worker_options("worker"))
    handles = [
        sqs.start_message_move_task(SourceArn=source, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        for source in redrives
    ]
    for source in redrives:
        wait_for(lambda s=source: task_of(sqs, s)["ApproximateNumberOfMessagesMoved"] >= 2, "moves")

    bodies = [f"during-{n}" for n in range(30)]
    publish(sns, topic, bodies)
    assert_all_delivered_once(sqs, queues, bodies)

    for source in redrives:
        task = task_of(sqs, source)
        assert task["Status"] == "RUNNING", "the deliveries came only once the redrives had ended"
        assert task["ApproximateNumberOfMessagesMoved"] < DEAD_LETTERS
    for handle in handles:
        sqs.cancel_message_move_task(TaskHandle=handle)
    for source in redrives:
        wait_for(lambda s=source: task_of(sqs, s)["Status"] == "CANCELLED", "the cancellations")
