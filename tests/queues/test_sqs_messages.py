"""Messages through boto3 over both SQS protocols: send, receive, visibility, delete, purge.

botocore itself does not check SQS's MD5 digests (the Java and .NET SDKs do), so these tests compute
them the way the SQS developer guide describes and compare.
"""

import hashlib
import struct
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

ONE_MIB = 1_048_576


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def md5_of_attributes(attributes):
    """MD5OfMessageAttributes as the SQS developer guide defines it."""

    def field(data):
        return struct.pack(">I", len(data)) + data

    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        digest.update(field(name.encode()) + field(value["DataType"].encode()))
        if "BinaryValue" in value:
            digest.update(b"\x02" + field(value["BinaryValue"]))
        else:
            digest.update(b"\x01" + field(value["StringValue"].encode()))
    return digest.hexdigest()


def receive_one(sqs, url, **options):
    messages = sqs.receive_message(QueueUrl=url, **options).get("Messages", [])
    assert len(messages) == 1, messages
    return messages[0]


def receive_none(sqs, url, **options):
    return sqs.receive_message(QueueUrl=url, **options).get("Messages", [])


ATTRIBUTES = {
    "colour": {"DataType": "String", "StringValue": "blue ünïcode ✓"},
    "count": {"DataType": "Number", "StringValue": "-12.50e3"},
    "blob": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
    "colour.custom": {"DataType": "String.colour", "StringValue": "teal"},
    "price": {"DataType": "Number.float", "StringValue": "3.14"},
    "image": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\r\n\x1a\n"},
}


# Send, receive, delete


def test_sent_message_is_received_with_its_body_and_md5_then_deleted(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    body = "hello, roost"

    sent = sqs.send_message(QueueUrl=url, MessageBody=body)
    message = receive_one(sqs, url)

    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert "MessageAttributes" not in message
    assert depth(url) == (0, 1, 0)

    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    assert depth(url) == (0, 0, 0)
    assert receive_none(sqs, url) == []


def test_received_message_is_hidden_from_other_receivers(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="once")

    receive_one(sqs, url)

    assert receive_none(sqs, url) == []


def test_receive_returns_up_to_max_number_of_messages(sqs, make_queue):
    url = make_queue(client=sqs)
    for index in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert len(first) == 10
    assert sorted(m["Body"] for m in first + rest) == sorted(f"m{i}" for i in range(12))


@pytest.mark.parametrize("count", [0, 11])
def test_receive_with_max_number_out_of_range_is_refused(sqs, make_queue, count, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stays")

    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (1, 0, 0)


def test_message_without_a_body_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="")

    assert refused(excinfo) == ("MissingParameter", 400)
    assert depth(url) == (0, 0, 0)


# Message attributes


def test_message_attributes_of_every_type_round_trip_with_sqs_md5(sqs, make_queue):
    url = make_queue(client=sqs)

    sent = sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=ATTRIBUTES)
    message = receive_one(sqs, url, MessageAttributeNames=["All"])

    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ATTRIBUTES)
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(ATTRIBUTES)
    assert message["MessageAttributes"] == ATTRIBUTES


@pytest.mark.parametrize(
    "names, expected",
    [
        (["All"], set(ATTRIBUTES)),
        ([".*"], set(ATTRIBUTES)),
        (["colour.*"], {"colour.custom"}),
        (["colour", "count"], {"colour", "count"}),
        (["image", "missing"], {"image"}),
    ],
)
def test_message_attribute_names_select_the_attributes_returned(sqs, make_queue, names, expected):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=ATTRIBUTES)

    message = receive_one(sqs, url, MessageAttributeNames=names)

    chosen = {name: ATTRIBUTES[name] for name in expected}
    assert message["MessageAttributes"] == chosen
    # The digest covers what was returned, so a client can check it.
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(chosen)


def test_message_attributes_are_left_out_unless_asked_for(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=ATTRIBUTES)

    message = receive_one(sqs, url)

    assert "MessageAttributes" not in message
    assert "MD5OfMessageAttributes" not in message


def test_message_attribute_names_matching_nothing_return_no_attributes(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=ATTRIBUTES)

    message = receive_one(sqs, url, MessageAttributeNames=["absent"])

    assert "MessageAttributes" not in message


@pytest.mark.parametrize(
    "attributes",
    [
        {"n": {"DataType": "Number", "StringValue": "twelve"}},
        {"s": {"DataType": "Text", "StringValue": "x"}},
        {"AWS.reserved": {"DataType": "String", "StringValue": "x"}},
        {"bad..name": {"DataType": "String", "StringValue": "x"}},
        {"b": {"DataType": "Binary", "StringValue": "not binary"}},
        {f"a{index}": {"DataType": "String", "StringValue": "x"} for index in range(11)},
    ],
    ids=["number", "type", "reserved-name", "dots", "binary-as-string", "eleven"],
)
def test_invalid_message_attribute_is_refused_and_nothing_sent(sqs, make_queue, attributes, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


# System attributes


def test_system_attributes_describe_the_send_and_the_receives(sqs, make_queue, roost_server):
    url = make_queue(client=sqs)
    before = int(time.time() * 1000)
    sqs.send_message(QueueUrl=url, MessageBody="facts")
    after = int(time.time() * 1000)

    message = receive_one(sqs, url, AttributeNames=["All"], VisibilityTimeout=0)
    again = receive_one(sqs, url, AttributeNames=["All"])

    facts = message["Attributes"]
    assert set(facts) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }
    assert facts["SenderId"] == roost_server.access_key_id
    assert before <= int(facts["SentTimestamp"]) <= after
    assert facts["ApproximateReceiveCount"] == "1"
    assert int(facts["SentTimestamp"]) <= int(facts["ApproximateFirstReceiveTimestamp"])
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["Attributes"]["SentTimestamp"] == facts["SentTimestamp"]
    assert (
        again["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == facts["ApproximateFirstReceiveTimestamp"]
    )


def test_system_attribute_names_select_the_attributes_returned(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="facts")

    message = receive_one(sqs, url, AttributeNames=["SentTimestamp", "ApproximateReceiveCount"])

    assert set(message["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}


def test_message_system_attribute_names_select_attributes(sqs_json, make_queue):
    """MessageSystemAttributeNames exists only in the JSON-era model."""
    url = make_queue()
    sqs_json.send_message(QueueUrl=url, MessageBody="facts")

    message = receive_one(sqs_json, url, MessageSystemAttributeNames=["SenderId"])

    assert set(message["Attributes"]) == {"SenderId"}


def test_aws_trace_header_is_kept_and_returned(sqs, make_queue):
    url = make_queue(client=sqs)
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}

    sent = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=system)
    message = receive_one(sqs, url, AttributeNames=["AWSTraceHeader"])

    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)
    assert message["Attributes"] == {"AWSTraceHeader": trace}


def test_unknown_system_attribute_name_on_receive_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stays")

    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, AttributeNames=["Colour"])

    assert refused(excinfo) == ("InvalidAttributeName", 400)
    assert depth(url) == (1, 0, 0)


# Size limit


def test_message_of_exactly_the_size_limit_is_accepted(sqs, make_queue):
    url = make_queue(client=sqs)
    body = "a" * ONE_MIB

    sqs.send_message(QueueUrl=url, MessageBody=body)

    assert receive_one(sqs, url)["Body"] == body


def test_message_one_byte_over_the_size_limit_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="a" * (ONE_MIB + 1))

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


def test_size_limit_counts_utf8_bytes_not_characters(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    body = "a" * (ONE_MIB - 1) + "é"  # 1,048,576 characters, 1,048,577 bytes

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody=body)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


@pytest.mark.parametrize("character", ["é", "😀"])
def test_message_of_exactly_the_size_limit_in_multibyte_characters_is_accepted(
    sqs, make_queue, character
):
    """Escaped on the wire (JSON \\u00e9, form %C3%A9), such a body is three times its size."""
    url = make_queue(client=sqs)
    body = character * (ONE_MIB // len(character.encode()))

    sqs.send_message(QueueUrl=url, MessageBody=body)

    assert receive_one(sqs, url)["Body"] == body


def test_size_limit_counts_message_attributes(sqs, make_queue, depth):
    url = make_queue(client=sqs, MaximumMessageSize=1024)
    # Name (4) + type (6) + value (20) bytes push a 1,000-byte body past 1,024.
    attributes = {"note": {"DataType": "String", "StringValue": "x" * 20}}

    sqs.send_message(QueueUrl=url, MessageBody="a" * 994, MessageAttributes=attributes)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="a" * 995, MessageAttributes=attributes)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (1, 0, 0)


def test_queue_maximum_message_size_lowers_the_limit(sqs, make_queue, depth):
    url = make_queue(client=sqs, MaximumMessageSize=1024)

    sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1025)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (1, 0, 0)


# Body characters


def test_body_with_every_kind_of_allowed_character_round_trips(sqs, make_queue):
    url = make_queue(client=sqs)
    body = 'tab\there\r\nCRLF & <xml> "quotes" ünïcode \ue000 \ufffd 😀 \U0010fffd end'

    sent = sqs.send_message(QueueUrl=url, MessageBody=body)
    message = receive_one(sqs, url)

    assert message["Body"] == body
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x1f", "\ufffe", "\uffff"])
def test_body_with_a_character_sqs_forbids_is_refused(sqs, make_queue, character, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody=f"before{character}after")

    assert refused(excinfo) == ("InvalidMessageContents", 400)
    assert depth(url) == (0, 0, 0)


# Delays


def test_per_message_delay_hides_the_message_until_it_passes(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)

    assert receive_none(sqs, url) == []
    assert depth(url) == (0, 0, 1)
    message = receive_one(sqs, url, WaitTimeSeconds=5)
    assert message["Body"] == "later"


def test_queue_delay_applies_when_the_message_gives_none(sqs, make_queue, depth):
    url = make_queue(client=sqs, DelaySeconds=1)

    sqs.send_message(QueueUrl=url, MessageBody="later")

    assert receive_none(sqs, url) == []
    assert depth(url) == (0, 0, 1)
    assert receive_one(sqs, url, WaitTimeSeconds=5)["Body"] == "later"


def test_per_message_delay_zero_overrides_the_queue_delay(sqs, make_queue):
    url = make_queue(client=sqs, DelaySeconds=900)

    sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)

    assert receive_one(sqs, url)["Body"] == "now"


def test_per_message_delay_over_900_seconds_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="never", DelaySeconds=901)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert depth(url) == (0, 0, 0)


# Visibility timeout


def test_message_reappears_after_its_visibility_timeout_with_receive_count_two(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="again")

    first = receive_one(sqs, url, VisibilityTimeout=1, AttributeNames=["All"])
    assert receive_none(sqs, url) == []
    second = receive_one(sqs, url, WaitTimeSeconds=5, AttributeNames=["All"])

    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_visibility_timeout_applies_when_receive_gives_none(sqs, make_queue):
    url = make_queue(client=sqs, VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="again")

    first = receive_one(sqs, url)
    assert receive_none(sqs, url) == []

    assert receive_one(sqs, url, WaitTimeSeconds=5)["MessageId"] == first["MessageId"]


def test_change_message_visibility_to_zero_makes_it_visible_at_once(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="back")
    first = receive_one(sqs, url)

    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )

    again = receive_one(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_message_visibility_extends_the_hiding(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="held")
    first = receive_one(sqs, url, VisibilityTimeout=1)

    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=30
    )

    # Past the original one second, the message is still hidden.
    assert receive_none(sqs, url, WaitTimeSeconds=2) == []


def test_change_message_visibility_over_12_hours_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="held")
    first = receive_one(sqs, url)

    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=43_201
        )

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert receive_none(sqs, url) == []


# Receipt handles


def test_stale_receipt_handle_delete_succeeds_but_keeps_the_message(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="survivor")
    stale = receive_one(sqs, url, VisibilityTimeout=0)
    current = receive_one(sqs, url, VisibilityTimeout=30)

    response = sqs.delete_message(QueueUrl=url, ReceiptHandle=stale["ReceiptHandle"])

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert depth(url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=current["ReceiptHandle"])
    assert depth(url) == (0, 0, 0)


def test_stale_receipt_handle_cannot_change_visibility(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="held")
    stale = receive_one(sqs, url, VisibilityTimeout=0)
    receive_one(sqs, url, VisibilityTimeout=30)

    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=stale["ReceiptHandle"], VisibilityTimeout=0
        )

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    # The current receive's hiding stands.
    assert receive_none(sqs, url) == []


def test_deleting_an_already_deleted_message_succeeds(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="gone")
    message = receive_one(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    response = sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert depth(url) == (0, 0, 0)


@pytest.mark.parametrize("handle", ["garbage", "cnN0MTp4Onk6eg==", "a" * 300])
def test_malformed_receipt_handle_is_refused_on_delete(sqs, make_queue, handle, depth):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stays")
    receive_one(sqs, url)

    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    assert refused(excinfo) == ("ReceiptHandleIsInvalid", 400)
    assert depth(url) == (0, 1, 0)


def test_malformed_receipt_handle_is_refused_on_change_visibility(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stays")
    receive_one(sqs, url)

    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="garbage", VisibilityTimeout=0)

    assert refused(excinfo) == ("ReceiptHandleIsInvalid", 400)
    assert receive_none(sqs, url) == []


# Long polling


def test_long_poll_returns_as_soon_as_a_message_arrives(sqs, sqs_client, protocol, make_queue):
    url = make_queue(client=sqs)
    sender = sqs_client(protocol)
    wait_seconds = 10

    def send_soon():
        # The behaviour under test: the message arrives while the receive already waits (which
        # nothing outside the server shows), so it is sent a fixed while after the receive.
        time.sleep(0.5)
        sender.send_message(QueueUrl=url, MessageBody="woken")

    thread = threading.Thread(target=send_soon)
    started = time.monotonic()
    thread.start()
    try:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait_seconds).get(
            "Messages", []
        )
    finally:
        thread.join()
    elapsed = time.monotonic() - started

    assert [message["Body"] for message in messages] == ["woken"]
    assert elapsed < wait_seconds


def test_empty_long_poll_returns_after_the_wait(sqs, make_queue):
    url = make_queue(client=sqs)

    started = time.monotonic()
    response = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    elapsed = time.monotonic() - started

    assert response.get("Messages", []) == []
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert 0.9 <= elapsed < 5


def test_queue_receive_wait_time_applies_when_receive_gives_none(sqs, make_queue):
    url = make_queue(client=sqs, ReceiveMessageWaitTimeSeconds=1)

    started = time.monotonic()
    assert receive_none(sqs, url) == []
    elapsed = time.monotonic() - started

    assert 0.9 <= elapsed < 5


def test_long_poll_over_20_seconds_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)

    assert refused(excinfo) == ("InvalidParameterValue", 400)


# Purge


def test_purge_queue_deletes_every_message(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    for index in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    receive_one(sqs, url)
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)

    sqs.purge_queue(QueueUrl=url)

    assert depth(url) == (0, 0, 0)
    assert receive_none(sqs, url) == []


def test_second_purge_within_a_minute_is_refused(sqs, make_queue, depth):
    url = make_queue(client=sqs)
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="after the purge")

    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as excinfo:
        sqs.purge_queue(QueueUrl=url)

    assert refused(excinfo) == ("AWS.SimpleQueueService.PurgeQueueInProgress", 403)
    assert depth(url) == (1, 0, 0)


def test_messages_sent_after_a_purge_are_delivered(sqs, make_queue):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="purged")
    sqs.purge_queue(QueueUrl=url)
    body = f"fresh-{uuid.uuid4()}"

    sqs.send_message(QueueUrl=url, MessageBody=body)

    assert receive_one(sqs, url)["Body"] == body


def test_request_over_the_servers_body_cap_gets_an_error_the_sdk_can_parse(sqs, make_queue):
    url = make_queue(client=sqs)
    with pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=url, MessageBody="x" * (9 * 1024 * 1024))
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLarge"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
