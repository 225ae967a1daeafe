import base64
import hashlib
import json

import pytest

from queues.errors import InvalidMessageContents, InvalidParameterValue, MissingParameter
from queues.message_attributes import (
    decode_attributes,
    encode_attributes,
    validate_body,
    validate_message_attributes,
    validate_system_attributes,
)

ALLOWED = "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]"


def string(value, data_type="String"):
    return {"DataType": data_type, "StringValue": value}


def binary(value, data_type="Binary"):
    return {"DataType": data_type, "BinaryValue": value}


def md5_sqs_gives(attributes):
    """MD5OfMessageAttributes as SQS computes it, by AWS's published algorithm, written out here
    (queues.md5, the server's own, is what these tests check)."""
    digest = hashlib.md5()
    for name in sorted(attributes, key=lambda name: name.encode("utf-16-be")):  # Java's order
        attribute = attributes[name]
        for part in (name.encode(), attribute["DataType"].encode()):
            digest.update(len(part).to_bytes(4, "big") + part)
        if "StringValue" in attribute:
            transport, value = b"\x01", attribute["StringValue"].encode()
        else:
            transport, value = b"\x02", attribute["BinaryValue"]
        digest.update(transport + len(value).to_bytes(4, "big") + value)
    return digest.hexdigest()


def round_trip(sqs, make_queue, body="body", **message):
    """Send one message to a new queue on the live server and receive it back.

    Returns SendMessage's answer and the received message, with all its attributes.
    """
    url = make_queue(client=sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, **message)
    [received] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    return sent, received


def assert_comes_back_as_sent(sqs, make_queue, attributes):
    """The message comes back with exactly these attributes, under the digest SQS would give."""
    sent, received = round_trip(sqs, make_queue, MessageAttributes=attributes)
    assert received["MessageAttributes"] == attributes
    assert received["MD5OfMessageAttributes"] == md5_sqs_gives(attributes)
    assert sent["MD5OfMessageAttributes"] == md5_sqs_gives(attributes)


def test_the_reference_digest_is_the_one_sqs_gives():
    # Recorded from live SQS (see test_md5.py): the reference above is right, not just consistent.
    assert md5_sqs_gives({"Foo": string("Bar")}) == "ae7155c6026991b6d54b11589678bf9c"
    assert md5_sqs_gives({"timestamp": string("1493147359900", "Number")}) == (
        "235c5c510d26fb653d073faed50ae77c"
    )


def rejection(attributes, validate=validate_message_attributes):
    """Return the InvalidParameterValue message the attributes are rejected with."""
    with pytest.raises(InvalidParameterValue) as error:
        validate(attributes)
    return error.value.message


# Bodies


@pytest.mark.parametrize(
    "body",
    [
        "plain ascii ~\x7f",
        "\t\n\r",
        "\x20\ud7ff\ue000\ufffd",
        "\U00010000\U0010ffff",
        'grüß dich 😀 {"json": [1, 2]}',
    ],
)
def test_body_of_allowed_characters_is_accepted(body, sqs, make_queue):
    sent, received = round_trip(sqs, make_queue, body=body)

    assert received["Body"] == body
    assert received["MD5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageBody"] == received["MD5OfBody"]


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        ("nul\x00", "#x0"),
        ("bell\x07", "#x7"),
        ("backspace\x08", "#x8"),
        ("vertical tab\x0b", "#xB"),
        ("form feed\x0c", "#xC"),
        ("unit separator\x1f", "#x1F"),
        ("lone high surrogate \ud800", "#xD800"),
        ("lone low surrogate \udfff", "#xDFFF"),
        ("non-character \ufffe", "#xFFFE"),
        ("non-character \uffff", "#xFFFF"),
        ("non-ascii before é\x01", "#x1"),
    ],
)
def test_body_with_a_forbidden_character_is_rejected_naming_it(body, reported):
    with pytest.raises(InvalidMessageContents) as error:
        validate_body(body)
    assert error.value.message == (
        f"Invalid binary character '{reported}' was found in the message body, "
        f"the set of allowed characters is {ALLOWED}."
    )
    assert error.value.code == "InvalidMessageContents"


def test_body_rejection_names_the_first_forbidden_character():
    with pytest.raises(InvalidMessageContents, match="'#x2'"):
        validate_body("ok\x02then\x03")


@pytest.mark.parametrize("body", ["", None])
def test_empty_body_is_a_missing_parameter(body):
    with pytest.raises(MissingParameter) as error:
        validate_body(body)
    assert error.value.message == "The request must contain the parameter MessageBody."


@pytest.mark.parametrize(
    "body",
    [
        "a" * (1 << 20),
        ('{"k": "v"}\n' * 100_000)[: 1 << 20],
        ("grüß 😀 " * 100_000)[: 1 << 19],
    ],
    ids=["ascii", "ascii-json", "non-ascii"],
)
def test_a_1_mib_body_of_allowed_characters_passes_validation(body):
    validate_body(body)  # raises InvalidMessageContents on any forbidden character


def test_forbidden_character_at_the_end_of_a_large_ascii_body_is_found():
    with pytest.raises(InvalidMessageContents, match="'#x1B'"):
        validate_body("a" * (1 << 20) + "\x1b")


# Message attributes: count and size


def test_no_attributes_are_valid_and_weigh_nothing():
    assert validate_message_attributes({}) == 0


def test_attribute_size_counts_utf8_name_type_and_value_bytes():
    attributes = {
        "s": string("abc"),  # 1 + 6 + 3
        "n": string("-1.5", "Number.float"),  # 1 + 12 + 4
        "b": binary(b"\x00\x01", "Binary"),  # 1 + 6 + 2
        "grüß": string("😀"),  # 6 + 6 + 4
    }
    assert validate_message_attributes(attributes) == 10 + 17 + 9 + 16


def test_ten_attributes_are_allowed():
    attributes = {f"a{i}": string("v") for i in range(10)}
    assert validate_message_attributes(attributes) == 10 * (2 + 6 + 1)


def test_eleven_attributes_are_rejected():
    attributes = {f"a{i}": string("v") for i in range(11)}
    assert rejection(attributes) == (
        "Number of message attributes [11] exceeds the allowed maximum [10]."
    )


# Message attributes: names


@pytest.mark.parametrize(
    "name",
    ["a", "Order_ID-2.v1", "attr.1øßä", "AWS", "AWSx.y", "Amazonia.y", "x.aws.y", "L" * 256],
)
def test_valid_attribute_name_is_accepted(name, sqs, make_queue):
    assert_comes_back_as_sent(sqs, make_queue, {name: string("v")})


def test_empty_attribute_name_is_rejected():
    assert rejection({"": string("v")}) == (
        "The request must contain non-empty message (user) attribute names."
    )


def test_attribute_name_longer_than_256_characters_is_rejected():
    assert rejection({"L" * 257: string("v")}) == (
        "Message (user) attribute name must be shorter than 256 bytes."
    )


@pytest.mark.parametrize("character", ["!", '"', "§", "(", "?", " ", "/", ":", "\t", "😀"])
def test_attribute_name_with_a_disallowed_character_is_rejected(character):
    assert rejection({f"bad{character}name": string("v")}) == (
        "Message (user) attributes name can only contain upper and lower score characters, "
        "digits, periods, hyphens and underscores. "
    )


@pytest.mark.parametrize("name", ["AWS.x", "aws.x", "aWs.x", "Amazon.x", "AMAZON.x", "amazon."])
def test_attribute_name_with_a_reserved_prefix_is_rejected(name):
    assert rejection({name: string("v")}) == (
        "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. "
        "These strings are reserved for internal use."
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (".x", "Message (user) attribute name must not begin with character '.'."),
        ("x.", "Message (user) attribute name must not end with character '.'."),
        ("a..b", "Message (user) attribute name must not have successive '.' characters."),
    ],
)
def test_attribute_name_with_misplaced_periods_is_rejected(name, message):
    assert rejection({name: string("v")}) == message


def test_first_invalid_attribute_by_name_is_reported():
    attributes = {"b": string(""), "a": string("", "Number")}
    assert rejection(attributes) == (
        "Message (user) attribute 'a' must contain a non-empty value of type 'Number'."
    )


# Message attributes: data types


@pytest.mark.parametrize(
    "value",
    [
        string("x", "String.json"),
        string("1", "Number.java.lang.Long"),
        binary(b"GIF89a", "Binary.gif"),
        string("x", "String." + "t" * 249),
    ],
)
def test_custom_data_type_is_accepted(value, sqs, make_queue):
    assert_comes_back_as_sent(sqs, make_queue, {"a": value})


def test_attribute_without_type_or_value_is_rejected():
    assert rejection({"a": {}}) == (
        "The message (user) attribute 'a' must contain a non-empty message attribute value."
    )


@pytest.mark.parametrize("data_type", [None, ""])
def test_attribute_without_a_data_type_is_rejected(data_type):
    assert rejection({"a": {"DataType": data_type, "StringValue": "v"}}) == (
        "The message (user) attribute 'a' must contain a non-empty message attribute type."
    )


@pytest.mark.parametrize(
    "data_type", ["string", "Str", "Strings", "StringList", "String.", "Number.", ".String", "Bool"]
)
def test_unknown_data_type_is_rejected(data_type):
    assert rejection({"a": string("1", data_type)}) == (
        "The type of message (user) attribute 'a' is invalid. You must use only the following "
        "supported type prefixes: Binary, Number, String."
    )


def test_data_type_with_a_forbidden_character_is_rejected():
    assert "type of message (user) attribute 'a' is invalid" in rejection(
        {"a": string("v", "String.\x00")}
    )


def test_data_type_longer_than_256_characters_is_rejected():
    assert rejection({"a": string("x", "String." + "t" * 250)}) == (
        "Message (user) attribute type must be shorter than 256 bytes."
    )


@pytest.mark.parametrize("key", ["StringListValues", "BinaryListValues"])
def test_list_values_are_rejected(key):
    attribute = {"DataType": "String", key: ["x"]}
    assert rejection({"a": attribute}) == (
        "Message attribute list values in SendMessage operation are not supported."
    )


# Message attributes: values


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        (string(""), "String"),
        (string("", "Number"), "Number"),
        (string("", "String.json"), "String.json"),
        (binary(b""), "Binary"),
        ({"DataType": "String"}, "String"),
    ],
)
def test_empty_value_is_rejected(value, data_type):
    assert rejection({"a": value}) == (
        f"Message (user) attribute 'a' must contain a non-empty value of type '{data_type}'."
    )


def test_attribute_with_both_string_and_binary_values_is_rejected():
    attribute = {"DataType": "String", "StringValue": "x", "BinaryValue": b"x"}
    assert rejection({"a": attribute}) == "Message (user) attribute 'a' must have a single value."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (binary(b"x", "String"), "with type 'String' must use field 'String'."),
        (binary(b"1", "Number.int"), "with type 'Number.int' must use field 'String'."),
        (string("x", "Binary"), "with type 'Binary' must use field 'Binary'."),
    ],
)
def test_value_in_the_wrong_field_for_its_type_is_rejected(value, message):
    assert rejection({"a": value}) == f"Message (user) attribute 'a' {message}"


@pytest.mark.parametrize(("value", "reported"), [("bell\x07", "#x7"), ("\uffff", "#xFFFF")])
def test_string_value_with_a_forbidden_character_is_rejected(value, reported):
    assert rejection({"a": string(value)}) == (
        f"Invalid binary character '{reported}' was found in the value of message (user) "
        f"attribute 'a', the set of allowed characters is {ALLOWED}."
    )


def test_binary_value_may_hold_any_bytes():
    assert validate_message_attributes({"a": binary(bytes(range(256)))}) == 1 + 6 + 256


@pytest.mark.parametrize(
    "number",
    [
        "0",
        "-0",
        "42",
        "-1.5",
        "+5",
        ".5",
        "5.",
        "1e5",
        "1E-5",
        "1493147359900",
        "9" * 38,
        "0.000" + "1" * 38,
        "1" + "0" * 126,
        "1e126",
        "-1e128",
        "1.5e-200",
    ],
)
def test_number_within_sqs_limits_is_accepted(number, sqs, make_queue):
    # SQS keeps a number as the string it was sent as: "+5", ".5" and "1e5" come back so.
    assert_comes_back_as_sent(sqs, make_queue, {"n": string(number, "Number")})


@pytest.mark.parametrize(
    "number",
    ["abc", " 1", "1 ", "1_000", "0x10", "NaN", "Infinity", "١٢", "1e", ".", "e5", "--1", "1.2.3"],
)
def test_value_that_is_not_a_number_is_rejected(number):
    assert rejection({"n": string(number, "Number.custom")}) == (
        "Can't cast the value of message (user) attribute 'n' to a number."
    )


@pytest.mark.parametrize(
    "number", ["1" * 39, "1." + "1" * 38, "1e127", "1.1e126", "-1e129", "-2" + "0" * 128]
)
def test_number_beyond_sqs_limits_is_rejected(number):
    assert rejection({"n": string(number, "Number")}) == (
        "The value of message (user) attribute 'n' is out of range for a number: it can have up "
        "to 38 digits of precision and be between -10^128 and 10^126."
    )


def test_long_non_number_is_rejected_as_not_a_number():
    assert rejection({"n": string("1" * 200_000 + "x", "Number")}) == (
        "Can't cast the value of message (user) attribute 'n' to a number."
    )


# System attributes


def test_trace_header_system_attribute_is_accepted():
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert validate_system_attributes({"AWSTraceHeader": string(header)}) == (
        len("AWSTraceHeader") + 6 + len(header)
    )


def test_no_system_attributes_are_valid():
    assert validate_system_attributes({}) == 0


@pytest.mark.parametrize("name", ["Foo", "awstraceheader", "SenderId"])
def test_unknown_system_attribute_is_rejected(name):
    assert rejection({name: string("v")}, validate_system_attributes) == (
        f"Message system attribute name '{name}' is invalid."
    )


@pytest.mark.parametrize("data_type", ["Number", "String.custom", "Binary"])
def test_trace_header_of_another_type_is_rejected(data_type):
    assert rejection({"AWSTraceHeader": string("1", data_type)}, validate_system_attributes) == (
        "The message system attribute 'AWSTraceHeader' is reserved for AWS X-Ray trace header. "
        "The type must be 'String'."
    )


def test_empty_trace_header_is_rejected():
    assert rejection({"AWSTraceHeader": string("")}, validate_system_attributes) == (
        "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'."
    )


# Storage


def test_no_attributes_encode_to_an_empty_string():
    assert encode_attributes({}) == ""
    assert decode_attributes("") == {}


@pytest.mark.parametrize(
    "attributes",
    [
        {"s": string("v")},
        {"grüß": string('😀 "quoted" \\ back'), "n": string("-1.5e3", "Number.float")},
        {"b": binary(bytes(range(256)), "Binary.raw"), "empty-ish": binary(b"\x00")},
        {f"a{i}": string(str(i)) for i in range(10)},
    ],
)
def test_attributes_round_trip_through_storage(attributes):
    assert decode_attributes(encode_attributes(attributes)) == attributes


def test_stored_attributes_are_compact_json_with_base64_binary():
    text = encode_attributes({"b": binary(b"\xff\x00"), "s": string("é")})
    assert (
        text
        == '{"b":{"DataType":"Binary","BinaryValue":"/wA="},"s":{"DataType":"String","StringValue":"é"}}'
    )
    assert json.loads(text)["b"]["BinaryValue"] == base64.b64encode(b"\xff\x00").decode()


def test_decoded_binary_values_are_bytes():
    decoded = decode_attributes(encode_attributes({"b": binary(b"raw")}))
    assert decoded["b"]["BinaryValue"] == b"raw"
    assert isinstance(decoded["b"]["BinaryValue"], bytes)
