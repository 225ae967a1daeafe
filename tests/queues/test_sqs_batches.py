"""Batch operations through boto3 over both SQS protocols: per-entry results and request faults."""

import hashlib

import pytest


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def entries(count, prefix="m"):
    return [{"Id": f"{prefix}{index}", "MessageBody": f"body-{index}"} for index in range(count)]


def receive_all(sqs, url, count, **options):
    """Receive `count` messages (failing if fewer are there)."""
    messages = []
    while len(messages) < count:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, count - len(messages)), **options
        ).get("Messages", [])
        assert batch, f"only {len(messages)} of {count} messages arrived"
        messages += batch
    return messages


# SendMessageBatch


def test_send_message_batch_sends_every_entry(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    response = sqs.send_message_batch(QueueUrl=url, Entries=entries(10))

    assert response.get("Failed", []) == []
    successful = {entry["Id"]: entry for entry in response["Successful"]}
    assert set(successful) == {f"m{index}" for index in range(10)}
    for index in range(10):
        assert (
            successful[f"m{index}"]["MD5OfMessageBody"]
            == hashlib.md5(f"body-{index}".encode()).hexdigest()
        )
    assert len({entry["MessageId"] for entry in successful.values()}) == 10
    received = receive_all(sqs, url, 10)
    assert sorted(message["Body"] for message in received) == sorted(
        f"body-{index}" for index in range(10)
    )
    assert {message["MessageId"] for message in received} == {
        entry["MessageId"] for entry in successful.values()
    }


def test_send_message_batch_entry_options_apply_per_entry(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    attributes = {"kind": {"DataType": "String", "StringValue": "typed"}}

    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "now", "MessageBody": "now", "MessageAttributes": attributes},
            {"Id": "later", "MessageBody": "later", "DelaySeconds": 60},
        ],
    )

    assert depth(url) == (1, 0, 1)
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "now"
    assert message["MessageAttributes"] == attributes


def test_oversized_entry_fails_alone_and_the_others_are_sent(sqs, make_queue, depth):
    url = make_queue(client=sqs, MaximumMessageSize=1024)
    batch = [
        {"Id": "small1", "MessageBody": "a"},
        {"Id": "big", "MessageBody": "b" * 1025},
        {"Id": "small2", "MessageBody": "c"},
    ]

    response = sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert sorted(entry["Id"] for entry in response["Successful"]) == ["small1", "small2"]
    [failed] = response["Failed"]
    assert failed["Id"] == "big"
    assert failed["Code"] == "InvalidParameterValue"
    assert failed["SenderFault"] is True
    assert failed["Message"]
    assert depth(url) == (2, 0, 0)
    assert sorted(message["Body"] for message in receive_all(sqs, url, 2)) == ["a", "c"]


def test_entry_with_forbidden_characters_fails_alone(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    batch = [{"Id": "good", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "nul\x00"}]

    response = sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert [entry["Id"] for entry in response["Successful"]] == ["good"]
    assert [(entry["Id"], entry["Code"]) for entry in response["Failed"]] == [
        ("bad", "InvalidMessageContents")
    ]
    assert depth(url) == (1, 0, 0)


def test_empty_send_batch_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(sqs.exceptions.EmptyBatchRequest) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=[])

    assert refused(excinfo) == ("AWS.SimpleQueueService.EmptyBatchRequest", 400)
    assert depth(url) == (0, 0, 0)


def test_send_batch_of_eleven_entries_is_refused_and_sends_nothing(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=entries(11))

    assert refused(excinfo) == ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)
    assert depth(url) == (0, 0, 0)


def test_send_batch_with_repeated_ids_is_refused_and_sends_nothing(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    batch = entries(3) + [{"Id": "m1", "MessageBody": "again"}]

    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert refused(excinfo) == ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)
    assert depth(url) == (0, 0, 0)


@pytest.mark.parametrize("entry_id", ["has space", "dot.ted", "x" * 81, "ünï"])
def test_send_batch_with_an_invalid_entry_id_is_refused_and_sends_nothing(
    sqs, make_queue, depth, entry_id
):
    url = make_queue(client=sqs)
    batch = entries(2) + [{"Id": entry_id, "MessageBody": "x"}]

    with pytest.raises(sqs.exceptions.InvalidBatchEntryId) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert refused(excinfo) == ("AWS.SimpleQueueService.InvalidBatchEntryId", 400)
    assert depth(url) == (0, 0, 0)


def test_send_batch_longer_than_the_limit_in_total_is_refused_and_sends_nothing(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs)
    # Each entry fits on its own; together they pass 1 MiB.
    batch = [{"Id": f"m{index}", "MessageBody": "a" * 300_000} for index in range(4)]

    with pytest.raises(sqs.exceptions.BatchRequestTooLong) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert refused(excinfo) == ("AWS.SimpleQueueService.BatchRequestTooLong", 400)
    assert depth(url) == (0, 0, 0)


def test_send_batch_of_exactly_the_limit_in_total_is_accepted(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    batch = [{"Id": f"m{index}", "MessageBody": "a" * 262_144} for index in range(4)]

    response = sqs.send_message_batch(QueueUrl=url, Entries=batch)

    assert len(response["Successful"]) == 4
    assert depth(url) == (4, 0, 0)


# DeleteMessageBatch


def test_delete_message_batch_deletes_every_entry(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(5))
    received = receive_all(sqs, url, 5)

    response = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"d{index}", "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received)
        ],
    )

    assert sorted(entry["Id"] for entry in response["Successful"]) == [
        f"d{index}" for index in range(5)
    ]
    assert response.get("Failed", []) == []
    assert depth(url) == (0, 0, 0)


def test_delete_batch_entry_with_an_invalid_handle_fails_alone(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(2))
    received = receive_all(sqs, url, 2)

    response = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "ReceiptHandle": received[0]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "garbage"},
        ],
    )

    assert [entry["Id"] for entry in response["Successful"]] == ["good"]
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "bad",
        "ReceiptHandleIsInvalid",
        True,
    )
    assert depth(url) == (0, 1, 0)


def test_empty_delete_batch_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(sqs.exceptions.EmptyBatchRequest) as excinfo:
        sqs.delete_message_batch(QueueUrl=url, Entries=[])

    assert refused(excinfo) == ("AWS.SimpleQueueService.EmptyBatchRequest", 400)


def test_delete_batch_with_repeated_ids_is_refused_and_deletes_nothing(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(2))
    received = receive_all(sqs, url, 2)

    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as excinfo:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "same", "ReceiptHandle": m["ReceiptHandle"]} for m in received],
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)
    assert depth(url) == (0, 2, 0)


def test_delete_batch_of_eleven_entries_is_refused_and_deletes_nothing(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(1))
    [message] = receive_all(sqs, url, 1)

    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest) as excinfo:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": f"d{index}", "ReceiptHandle": message["ReceiptHandle"]}
                for index in range(11)
            ],
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)
    assert depth(url) == (0, 1, 0)


def test_delete_batch_with_an_invalid_entry_id_is_refused_and_deletes_nothing(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(1))
    [message] = receive_all(sqs, url, 1)

    with pytest.raises(sqs.exceptions.InvalidBatchEntryId) as excinfo:
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": "not valid!", "ReceiptHandle": message["ReceiptHandle"]}]
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.InvalidBatchEntryId", 400)
    assert depth(url) == (0, 1, 0)


# ChangeMessageVisibilityBatch


def test_change_visibility_batch_changes_every_entry(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(3))
    received = receive_all(sqs, url, 3)

    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"c{index}", "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
            for index, message in enumerate(received)
        ],
    )

    assert sorted(entry["Id"] for entry in response["Successful"]) == ["c0", "c1", "c2"]
    assert response.get("Failed", []) == []
    assert depth(url) == (3, 0, 0)
    again = receive_all(sqs, url, 3)
    assert {m["MessageId"] for m in again} == {m["MessageId"] for m in received}


def test_change_visibility_batch_entry_with_an_invalid_handle_fails_alone(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(2))
    received = receive_all(sqs, url, 2)

    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "ReceiptHandle": received[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )

    assert [entry["Id"] for entry in response["Successful"]] == ["good"]
    assert [(entry["Id"], entry["Code"]) for entry in response["Failed"]] == [
        ("bad", "ReceiptHandleIsInvalid")
    ]
    assert depth(url) == (1, 1, 0)


def test_change_visibility_batch_entry_out_of_range_fails_alone(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(2))
    received = receive_all(sqs, url, 2)

    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "ReceiptHandle": received[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {
                "Id": "long",
                "ReceiptHandle": received[1]["ReceiptHandle"],
                "VisibilityTimeout": 43_201,
            },
        ],
    )

    assert [entry["Id"] for entry in response["Successful"]] == ["good"]
    assert [(entry["Id"], entry["Code"]) for entry in response["Failed"]] == [
        ("long", "InvalidParameterValue")
    ]
    assert depth(url) == (1, 1, 0)


def test_empty_change_visibility_batch_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(sqs.exceptions.EmptyBatchRequest) as excinfo:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[])

    assert refused(excinfo) == ("AWS.SimpleQueueService.EmptyBatchRequest", 400)


def test_change_visibility_batch_with_repeated_ids_is_refused_and_changes_nothing(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(2))
    received = receive_all(sqs, url, 2)

    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as excinfo:
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "same", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for m in received
            ],
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)
    assert depth(url) == (0, 2, 0)


def test_change_visibility_batch_of_eleven_entries_is_refused_and_changes_nothing(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(1))
    [message] = receive_all(sqs, url, 1)

    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest) as excinfo:
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": f"c{index}",
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": 0,
                }
                for index in range(11)
            ],
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)
    assert depth(url) == (0, 1, 0)


def test_change_visibility_batch_with_an_invalid_entry_id_is_refused_and_changes_nothing(
    sqs, make_queue, depth
):
    url = make_queue(client=sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=entries(1))
    [message] = receive_all(sqs, url, 1)

    with pytest.raises(sqs.exceptions.InvalidBatchEntryId) as excinfo:
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": "not valid!",
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": 0,
                }
            ],
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.InvalidBatchEntryId", 400)
    assert depth(url) == (0, 1, 0)
