"""A worker killed with SIGKILL in the middle of a redrive loses no message and no task.

The SNS fan-out's version of this (a worker killed mid-delivery) is in
tests/notifications/test_delivery_recovery.py; this is the message move task's.
"""

import pytest

from tests.faults.conftest import fault_roost, wait_for

pytestmark = [pytest.mark.live, pytest.mark.faults]

MESSAGES = 200
RATE = 40  # messages a second: the move takes ~5 s, long enough to kill it mid-way
KILL_AFTER = 40


@pytest.fixture
def roost():
    """A Roost of this test's own: its worker gets killed."""
    with fault_roost("move-kill") as roost:
        yield roost


def arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def dead_lettered(sqs, count):
    """A source queue and its DLQ holding `count` dead letters from it: (source, dlq) URLs."""
    dead_letters = sqs.create_queue(QueueName="moved-dlq")["QueueUrl"]
    policy = f'{{"deadLetterTargetArn": "{arn(sqs, dead_letters)}", "maxReceiveCount": 1}}'
    source = sqs.create_queue(QueueName="moved", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i:04d}"} for i in range(10)]
        assert not sqs.send_message_batch(QueueUrl=source, Entries=entries).get("Failed")
    for _ in range(2):  # received once, then once more: past maxReceiveCount, into the DLQ
        while sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages"
        ):
            pass
    assert depth(sqs, dead_letters) == count
    return source, dead_letters


def depth(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def task_of(sqs, dead_letters_arn):
    return sqs.list_message_move_tasks(SourceArn=dead_letters_arn, MaxResults=1)["Results"][0]


def test_a_redrive_whose_worker_was_killed_finishes_once_a_worker_starts(roost):
    sqs = roost.client("sqs")
    source, dead_letters = dead_lettered(sqs, MESSAGES)
    dead_letters_arn = arn(sqs, dead_letters)
    worker = roost.start_worker(name="worker-1")

    sqs.start_message_move_task(SourceArn=dead_letters_arn, MaxNumberOfMessagesPerSecond=RATE)
    wait_for(
        lambda: task_of(sqs, dead_letters_arn)["ApproximateNumberOfMessagesMoved"] >= KILL_AFTER,
        30,
        f"the move task to move {KILL_AFTER} messages",
    )
    roost.kill_group(worker.process)
    killed = task_of(sqs, dead_letters_arn)
    assert killed["Status"] == "RUNNING"
    assert depth(sqs, dead_letters) > 0, "the task finished before the kill: nothing was tested"
    assert depth(sqs, source) + depth(sqs, dead_letters) == MESSAGES

    roost.start_worker(name="worker-2")
    task = wait_for(
        lambda: (task := task_of(sqs, dead_letters_arn))["Status"] != "RUNNING" and task,
        60,
        "the move task to finish after a new worker started",
    )

    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == MESSAGES
    assert depth(sqs, dead_letters) == 0
    bodies = []
    while messages := sqs.receive_message(
        QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=600
    ).get("Messages"):
        bodies += [message["Body"] for message in messages]
    assert sorted(bodies) == [f"m{index:04d}" for index in range(MESSAGES)]
    print(f"\nkilled after {killed['ApproximateNumberOfMessagesMoved']} moved; all {MESSAGES} back")
