"""FIFO queues through boto3 over both SQS protocols: order, groups, de-duplication, sequence."""

import pytest
from botocore.exceptions import ClientError


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def send(sqs, url, body, group="g", dedup=None, **options):
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup or body,
        **options,
    )


def receive(sqs, url, count=1, **options):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, **options).get(
        "Messages", []
    )


def bodies(messages):
    return [message["Body"] for message in messages]


def delete(sqs, url, messages):
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_messages_of_one_group_are_received_in_send_order(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    sent = [f"m{index}" for index in range(8)]
    for body in sent:
        send(sqs, url, body)

    received = []
    while len(received) < len(sent):
        batch = receive(sqs, url, count=3)
        assert batch, received
        received += batch
        delete(sqs, url, batch)

    assert bodies(received) == sent


def test_group_is_held_while_one_of_its_messages_is_in_flight(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    send(sqs, url, "g1")
    send(sqs, url, "g2")

    [first] = receive(sqs, url)

    assert first["Body"] == "g1"
    assert receive(sqs, url, count=10) == []
    delete(sqs, url, [first])
    assert bodies(receive(sqs, url, count=10)) == ["g2"]


def test_other_groups_flow_while_one_group_is_held(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    send(sqs, url, "a1", group="a")
    send(sqs, url, "a2", group="a")
    send(sqs, url, "b1", group="b")
    send(sqs, url, "b2", group="b")

    [first] = receive(sqs, url)
    others = receive(sqs, url, count=10)

    assert first["Body"] == "a1"
    # b flows in order; a2 waits behind the in-flight a1.
    assert bodies(others) == ["b1", "b2"]


def test_message_returned_to_its_group_is_received_before_later_ones(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    send(sqs, url, "first")
    send(sqs, url, "second")
    [first] = receive(sqs, url)

    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )

    assert bodies(receive(sqs, url, count=10)) == ["first", "second"]


def test_same_deduplication_id_within_the_window_returns_the_same_message_id(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs, FifoQueue=True)

    first = send(sqs, url, "one", dedup="same")
    second = send(sqs, url, "two", dedup="same")

    assert second["MessageId"] == first["MessageId"]
    assert depth(url) == (1, 0, 0)
    assert bodies(receive(sqs, url, count=10)) == ["one"]


def test_deduplication_id_still_counts_after_the_message_is_deleted(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)
    first = send(sqs, url, "one", dedup="same")
    delete(sqs, url, receive(sqs, url))

    again = send(sqs, url, "one", dedup="same")

    assert again["MessageId"] == first["MessageId"]
    assert depth(url) == (0, 0, 0)


def test_content_based_deduplication_uses_the_body(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True, ContentBasedDeduplication=True)

    first = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    second = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    other = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")

    assert second["MessageId"] == first["MessageId"]
    assert other["MessageId"] != first["MessageId"]
    assert depth(url) == (2, 0, 0)


def test_explicit_deduplication_id_overrides_content_based_deduplication(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True, ContentBasedDeduplication=True)

    first = send(sqs, url, "same body", dedup="one")
    second = send(sqs, url, "same body", dedup="two")

    assert second["MessageId"] != first["MessageId"]
    assert depth(url) == (2, 0, 0)


def test_queue_deduplication_scope_spans_groups(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)

    first = send(sqs, url, "x", group="a", dedup="same")
    second = send(sqs, url, "x", group="b", dedup="same")

    assert second["MessageId"] == first["MessageId"]
    assert depth(url) == (1, 0, 0)


def test_message_group_deduplication_scope_deduplicates_within_each_group(sqs, make_queue, depth):
    url = make_queue(
        client=sqs,
        FifoQueue=True,
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )

    in_a = send(sqs, url, "x", group="a", dedup="same")
    in_b = send(sqs, url, "x", group="b", dedup="same")
    again_in_a = send(sqs, url, "x", group="a", dedup="same")

    assert in_b["MessageId"] != in_a["MessageId"]
    assert again_in_a["MessageId"] == in_a["MessageId"]
    assert depth(url) == (2, 0, 0)


def test_sequence_numbers_increase_and_are_reported_on_receive(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)

    sent = [send(sqs, url, f"m{index}", group=f"g{index % 2}") for index in range(4)]
    received = receive(sqs, url, count=10, AttributeNames=["All"])

    numbers = [int(response["SequenceNumber"]) for response in sent]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 4
    by_id = {message["MessageId"]: message for message in received}
    for response in sent:
        assert (
            by_id[response["MessageId"]]["Attributes"]["SequenceNumber"]
            == (response["SequenceNumber"])
        )


def test_fifo_system_attributes_are_reported_on_receive(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)
    send(sqs, url, "facts", group="orders", dedup="order-17")

    [message] = receive(sqs, url, AttributeNames=["All"])

    assert message["Attributes"]["MessageGroupId"] == "orders"
    assert message["Attributes"]["MessageDeduplicationId"] == "order-17"


def test_fifo_message_without_a_group_id_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")

    assert refused(excinfo) == ("MissingParameter", 400)
    assert depth(url) == (0, 0, 0)


def test_fifo_message_without_deduplication_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


def test_per_message_delay_on_a_fifo_queue_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)

    with pytest.raises(ClientError) as excinfo:
        send(sqs, url, "x", DelaySeconds=5)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


def test_deduplication_id_on_a_standard_queue_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        send(sqs, url, "x")

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


def test_fifo_batch_entry_without_a_group_id_fails_alone(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True)

    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "a"},
            {"Id": "b", "MessageBody": "b", "MessageDeduplicationId": "b"},
            {"Id": "c", "MessageBody": "c", "MessageGroupId": "g", "MessageDeduplicationId": "c"},
        ],
    )

    assert sorted(entry["Id"] for entry in response["Successful"]) == ["a", "c"]
    assert [(entry["Id"], entry["Code"]) for entry in response["Failed"]] == [
        ("b", "MissingParameter")
    ]
    assert bodies(receive(sqs, url, count=10)) == ["a", "c"]


def test_fifo_batch_keeps_entry_order_within_a_group(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True, ContentBasedDeduplication=True)

    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"m{index}", "MessageBody": f"m{index}", "MessageGroupId": "g"}
            for index in range(10)
        ],
    )

    assert bodies(receive(sqs, url, count=10)) == [f"m{index}" for index in range(10)]


def test_fifo_queue_delay_holds_the_group(sqs, make_queue, depth):
    url = make_queue(client=sqs, FifoQueue=True, DelaySeconds=1)

    send(sqs, url, "later")

    assert receive(sqs, url) == []
    assert depth(url) == (0, 0, 1)
    assert bodies(receive(sqs, url, WaitTimeSeconds=5)) == ["later"]
