"""Dead-letter queues and redrive through boto3 over both SQS protocols.

Redrive (StartMessageMoveTask) runs as a Celery task, so those tests use the live worker.
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

MOVE_DEADLINE_SECONDS = 30

ATTRIBUTES = {
    "kind": {"DataType": "String", "StringValue": "order"},
    "total": {"DataType": "Number", "StringValue": "12.5"},
    "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
}


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def redrive_policy(dead_letter_arn, max_receive_count=1):
    return json.dumps(
        {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}
    )


def receive(sqs, url, count=10, **options):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, **options).get(
        "Messages", []
    )


def dead_letter(sqs, source, count):
    """Receive `count` messages from a maxReceiveCount=1 source twice, so all go to its DLQ."""
    first = receive(sqs, source, VisibilityTimeout=0, AttributeNames=["All"])
    assert len(first) == count
    assert receive(sqs, source, VisibilityTimeout=0) == []
    return first


def wait_for_task(sqs, dead_letters_arn, *statuses):
    """Poll ListMessageMoveTasks until the newest task reaches one of `statuses`."""
    deadline = time.monotonic() + MOVE_DEADLINE_SECONDS
    while True:
        [task] = sqs.list_message_move_tasks(SourceArn=dead_letters_arn, MaxResults=1)["Results"]
        if task["Status"] in statuses:
            return task
        assert time.monotonic() < deadline, f"task still {task} after {MOVE_DEADLINE_SECONDS} s"
        time.sleep(0.2)  # the poll interval


@pytest.fixture
def dead_letter_pair(sqs, make_queue, queue_arn):
    """A dead-letter queue and a source sending there after one receive: (dlq url, source url)."""
    dead_letters = make_queue(client=sqs)
    source = make_queue(client=sqs, RedrivePolicy=redrive_policy(queue_arn(dead_letters)))
    return dead_letters, source


# Dead-lettering


def test_message_received_more_than_max_receive_count_moves_to_the_dlq(
    sqs, dead_letter_pair, queue_arn, depth
):
    dead_letters, source = dead_letter_pair
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison", MessageAttributes=ATTRIBUTES)

    [first] = dead_letter(sqs, source, 1)
    [moved] = receive(sqs, dead_letters, AttributeNames=["All"], MessageAttributeNames=["All"])

    assert depth(source) == (0, 0, 0)
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Body"] == "poison"
    assert moved["MessageAttributes"] == ATTRIBUTES
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert moved["Attributes"]["SentTimestamp"] == first["Attributes"]["SentTimestamp"]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == queue_arn(source)


def test_message_is_received_max_receive_count_times_before_it_moves(
    sqs, make_queue, queue_arn, depth
):
    dead_letters = make_queue(client=sqs)
    source = make_queue(client=sqs, RedrivePolicy=redrive_policy(queue_arn(dead_letters), 3))
    sqs.send_message(QueueUrl=source, MessageBody="retried")

    counts = [
        receive(sqs, source, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])[0][
            "Attributes"
        ]["ApproximateReceiveCount"]
        for _ in range(3)
    ]

    assert counts == ["1", "2", "3"]
    assert receive(sqs, source) == []
    assert depth(dead_letters) == (1, 0, 0)


def test_deleted_message_never_reaches_the_dlq(sqs, dead_letter_pair, depth):
    dead_letters, source = dead_letter_pair
    sqs.send_message(QueueUrl=source, MessageBody="handled")

    [message] = receive(sqs, source, VisibilityTimeout=0)
    sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])

    assert receive(sqs, source) == []
    assert depth(dead_letters) == (0, 0, 0)


def test_fifo_dead_letters_keep_their_group(sqs, make_queue, queue_arn):
    dead_letters = make_queue(client=sqs, FifoQueue=True)
    source = make_queue(
        client=sqs, FifoQueue=True, RedrivePolicy=redrive_policy(queue_arn(dead_letters))
    )
    sqs.send_message(
        QueueUrl=source, MessageBody="poison", MessageGroupId="g1", MessageDeduplicationId="d1"
    )

    dead_letter(sqs, source, 1)
    [moved] = receive(sqs, dead_letters, AttributeNames=["All"])

    assert moved["Body"] == "poison"
    assert moved["Attributes"]["MessageGroupId"] == "g1"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == queue_arn(source)


def test_standard_queue_cannot_use_a_fifo_dlq(sqs, make_queue, queue_arn):
    dead_letters = make_queue(client=sqs, FifoQueue=True)
    source = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(
            QueueUrl=source,
            Attributes={"RedrivePolicy": redrive_policy(queue_arn(dead_letters))},
        )

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" not in attributes


# ListDeadLetterSourceQueues


def test_list_dead_letter_source_queues_lists_every_source(sqs, make_queue, queue_arn):
    dead_letters = make_queue(client=sqs)
    policy = redrive_policy(queue_arn(dead_letters))
    sources = sorted(make_queue(client=sqs, RedrivePolicy=policy) for _ in range(3))
    make_queue(client=sqs)  # not a source

    response = sqs.list_dead_letter_source_queues(QueueUrl=dead_letters)

    assert sorted(response["queueUrls"]) == sources


def test_list_dead_letter_source_queues_pages(sqs, make_queue, queue_arn):
    dead_letters = make_queue(client=sqs)
    policy = redrive_policy(queue_arn(dead_letters))
    sources = sorted(make_queue(client=sqs, RedrivePolicy=policy) for _ in range(3))

    first = sqs.list_dead_letter_source_queues(QueueUrl=dead_letters, MaxResults=2)
    second = sqs.list_dead_letter_source_queues(
        QueueUrl=dead_letters, MaxResults=2, NextToken=first["NextToken"]
    )

    assert len(first["queueUrls"]) == 2
    assert "NextToken" not in second
    assert sorted(first["queueUrls"] + second["queueUrls"]) == sources


def test_queue_without_sources_lists_none(sqs, make_queue):
    url = make_queue(client=sqs)

    response = sqs.list_dead_letter_source_queues(QueueUrl=url)

    assert response.get("queueUrls", []) == []


def test_removing_the_redrive_policy_removes_the_source(sqs, dead_letter_pair):
    dead_letters, source = dead_letter_pair

    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": ""})

    assert sqs.list_dead_letter_source_queues(QueueUrl=dead_letters).get("queueUrls", []) == []


# Redrive


def test_redrive_returns_dead_letters_to_their_source_with_the_receive_count_restarted(
    sqs, roost_worker, dead_letter_pair, queue_arn, depth
):
    dead_letters, source = dead_letter_pair
    bodies = [f"m{index}" for index in range(3)]
    for body in bodies:
        sqs.send_message(QueueUrl=source, MessageBody=body)
    dead_letter(sqs, source, 3)
    assert depth(dead_letters) == (3, 0, 0)

    handle = sqs.start_message_move_task(SourceArn=queue_arn(dead_letters))["TaskHandle"]
    task = wait_for_task(sqs, queue_arn(dead_letters), "COMPLETED")

    assert handle
    assert task["SourceArn"] == queue_arn(dead_letters)
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert task["ApproximateNumberOfMessagesToMove"] == 3
    assert depth(dead_letters) == (0, 0, 0)
    redriven = receive(sqs, source, AttributeNames=["All"])
    assert sorted(message["Body"] for message in redriven) == bodies
    # A count carried over from before would send them straight back to the DLQ.
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in redriven] == ["1", "1", "1"]
    assert all("DeadLetterQueueSourceArn" not in m["Attributes"] for m in redriven)
    assert depth(source) == (0, 3, 0)


def test_redrive_to_a_chosen_destination_moves_messages_there(
    sqs, roost_worker, dead_letter_pair, make_queue, queue_arn, depth
):
    dead_letters, source = dead_letter_pair
    destination = make_queue(client=sqs)
    sqs.send_message(QueueUrl=source, MessageBody="elsewhere")
    dead_letter(sqs, source, 1)

    sqs.start_message_move_task(
        SourceArn=queue_arn(dead_letters), DestinationArn=queue_arn(destination)
    )
    task = wait_for_task(sqs, queue_arn(dead_letters), "COMPLETED")

    assert task["DestinationArn"] == queue_arn(destination)
    assert task["ApproximateNumberOfMessagesMoved"] == 1
    assert [m["Body"] for m in receive(sqs, destination)] == ["elsewhere"]
    assert depth(source) == (0, 0, 0)
    assert depth(dead_letters) == (0, 0, 0)


def test_cancelled_redrive_stops_and_leaves_the_rest_in_the_dlq(
    sqs, roost_worker, dead_letter_pair, queue_arn, depth
):
    dead_letters, source = dead_letter_pair
    sqs.send_message_batch(
        QueueUrl=source,
        Entries=[{"Id": f"m{index}", "MessageBody": f"m{index}"} for index in range(5)],
    )
    dead_letter(sqs, source, 5)

    handle = sqs.start_message_move_task(
        SourceArn=queue_arn(dead_letters), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=queue_arn(dead_letters))["Results"][0]
    cancelled = sqs.cancel_message_move_task(TaskHandle=handle)
    task = wait_for_task(sqs, queue_arn(dead_letters), "CANCELLED")

    assert running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    assert cancelled["ApproximateNumberOfMessagesMoved"] <= task["ApproximateNumberOfMessagesMoved"]
    moved = task["ApproximateNumberOfMessagesMoved"]
    assert moved < 5
    assert depth(dead_letters)[0] == 5 - moved
    assert depth(source)[0] == moved


def test_redrive_from_a_queue_that_is_not_a_dlq_is_refused(sqs, make_queue, queue_arn, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stays")

    with pytest.raises(ClientError) as excinfo:
        sqs.start_message_move_task(SourceArn=queue_arn(url))

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert sqs.list_message_move_tasks(SourceArn=queue_arn(url)).get("Results", []) == []
    assert depth(url) == (1, 0, 0)


def test_redrive_from_a_missing_queue_is_refused(sqs, queue_name):
    arn = f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"

    with pytest.raises(sqs.exceptions.ResourceNotFoundException) as excinfo:
        sqs.start_message_move_task(SourceArn=arn)

    assert refused(excinfo) == ("ResourceNotFoundException", 404)


def test_redrive_to_a_missing_destination_is_refused(sqs, dead_letter_pair, queue_arn, depth):
    dead_letters, source = dead_letter_pair
    sqs.send_message(QueueUrl=source, MessageBody="stays")
    dead_letter(sqs, source, 1)

    with pytest.raises(sqs.exceptions.ResourceNotFoundException) as excinfo:
        sqs.start_message_move_task(
            SourceArn=queue_arn(dead_letters),
            DestinationArn=f"{queue_arn(dead_letters)}-missing",
        )

    assert refused(excinfo) == ("ResourceNotFoundException", 404)
    assert sqs.list_message_move_tasks(SourceArn=queue_arn(dead_letters)).get("Results", []) == []
    assert depth(dead_letters) == (1, 0, 0)


def test_cancelling_an_unknown_task_is_refused(sqs):
    with pytest.raises(sqs.exceptions.ResourceNotFoundException) as excinfo:
        sqs.cancel_message_move_task(TaskHandle="not-a-task")

    assert refused(excinfo) == ("ResourceNotFoundException", 404)
