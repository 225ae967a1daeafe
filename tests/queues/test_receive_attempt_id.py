"""FIFO ReceiveRequestAttemptId: a retried receive gets the same messages and receipt handles.

SQS keeps an attempt for five minutes; a retry returns the earlier answer while its messages are
still held by that receive, untouched (not deleted, their visibility not changed), and restarts
their visibility timeout.
"""

import pytest

ALL = ["All"]


def send(sqs, url, body, group="g"):
    sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
    )


def receive(sqs, url, attempt=None, count=10, **options):
    if attempt is not None:
        options["ReceiveRequestAttemptId"] = attempt
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=ALL, **options
    ).get("Messages", [])


def handles(messages):
    return [(message["Body"], message["ReceiptHandle"]) for message in messages]


@pytest.fixture
def fifo(sqs, make_queue):
    """A FIFO queue holding a1, a2 in group a and b1 in group b."""
    url = make_queue(client=sqs, FifoQueue=True)
    for body, group in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        send(sqs, url, body, group)
    return url


def test_retry_with_the_same_attempt_id_returns_the_same_messages_and_handles(sqs, fifo):
    first = receive(sqs, fifo, attempt="attempt-1", count=2)

    retried = receive(sqs, fifo, attempt="attempt-1", count=2)

    assert [message["Body"] for message in first] == ["a1", "a2"]
    assert handles(retried) == handles(first)
    # The same receive, not another one.
    assert [message["Attributes"]["ApproximateReceiveCount"] for message in retried] == ["1", "1"]
    # And the handles work.
    for message in retried:
        sqs.delete_message(QueueUrl=fifo, ReceiptHandle=message["ReceiptHandle"])
    assert [message["Body"] for message in receive(sqs, fifo)] == ["b1"]


def test_a_different_attempt_id_receives_normally(sqs, fifo):
    first = receive(sqs, fifo, attempt="attempt-1", count=2)

    other = receive(sqs, fifo, attempt="attempt-2", count=2)
    none = receive(sqs, fifo, attempt="attempt-3", count=2)
    retried = receive(sqs, fifo, attempt="attempt-1", count=2)

    assert [message["Body"] for message in other] == ["b1"]
    assert none == []
    assert handles(retried) == handles(first)


def test_retry_after_a_message_was_deleted_receives_afresh(sqs, fifo):
    first = receive(sqs, fifo, attempt="attempt-1", count=1)
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=first[0]["ReceiptHandle"])

    retried = receive(sqs, fifo, attempt="attempt-1", count=1)

    assert [message["Body"] for message in retried] == ["a2"]


def test_retry_after_a_visibility_change_receives_afresh(sqs, fifo):
    first = receive(sqs, fifo, attempt="attempt-1", count=1)
    sqs.change_message_visibility(
        QueueUrl=fifo, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
    )

    retried = receive(sqs, fifo, attempt="attempt-1", count=1)

    assert [message["Body"] for message in retried] == ["a1"]
    assert retried[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]
    assert retried[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_retry_restarts_the_visibility_timeout(sqs, fifo, depth):
    receive(sqs, fifo, attempt="attempt-1", count=3, VisibilityTimeout=0)
    assert depth(fifo) == (3, 0, 0)

    # Visible again, the messages were no longer held by that receive: a fresh receive.
    again = receive(sqs, fifo, attempt="attempt-1", count=3, VisibilityTimeout=600)
    retried = receive(sqs, fifo, attempt="attempt-1", count=3, VisibilityTimeout=600)

    assert [message["Attributes"]["ApproximateReceiveCount"] for message in again] == ["2"] * 3
    assert handles(retried) == handles(again)
    assert depth(fifo) == (0, 3, 0)


def test_an_empty_receive_is_not_remembered(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    assert receive(sqs, url, attempt="early") == []
    send(sqs, url, "late")

    assert [message["Body"] for message in receive(sqs, url, attempt="early")] == ["late"]


@pytest.mark.parametrize(
    "attempt",
    ["x" * 129, "has space", "tab\t", "é"],
    ids=["too-long", "space", "control", "non-ascii"],
)
def test_invalid_attempt_id_is_refused(sqs, fifo, depth, attempt):
    with pytest.raises(sqs.exceptions.ClientError) as excinfo:
        receive(sqs, fifo, attempt=attempt)

    error = excinfo.value.response["Error"]
    assert (error["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidParameterValue",
        400,
    )
    assert "ReceiveRequestAttemptId" in error["Message"]
    assert depth(fifo) == (3, 0, 0)


def test_longest_allowed_attempt_id_with_punctuation_is_accepted(sqs, fifo):
    attempt = ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" * 4)[:128]

    first = receive(sqs, fifo, attempt=attempt, count=1)

    assert handles(receive(sqs, fifo, attempt=attempt, count=1)) == handles(first)


def test_standard_queue_ignores_the_attempt_id(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")

    first = receive(sqs, url, attempt="same", count=1)
    second = receive(sqs, url, attempt="same", count=1)

    assert {first[0]["Body"], second[0]["Body"]} == {"one", "two"}
