import hashlib

import pytest
from moto.sqs.models import Message as MotoMessage

from queues.md5 import md5_of_body, md5_of_message_attributes


def string(value, data_type="String"):
    return {"DataType": data_type, "StringValue": value}


def binary(value, data_type="Binary"):
    return {"DataType": data_type, "BinaryValue": value}


# Digests live SQS returned, recorded in LocalStack's AWS-validated snapshot tests
# (tests/aws/services/sqs/test_sqs.snapshot.json).
RECORDED_FROM_SQS = [
    (
        {"General": string("Kenobi"), "Hello": string("There"), "Help.Me": string("Me")},
        "4c360f3fdafd970e05fae2f149d997f5",
    ),
    ({"General": string("Kenobi"), "Hello": string("There")}, "fca026605781cb4126a1e9044df24232"),
    ({"Hello": string("There")}, "a311262e065454b75da111d535b8dacd"),
    ({"Hello": string("There"), "Help.Me": string("Me")}, "83fee93c1bcd8b9a5a923ffacdc636c7"),
    ({"Foo": string("Bar")}, "ae7155c6026991b6d54b11589678bf9c"),
    (
        {
            "attr1": binary(
                b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
            )
        },
        "8cbe4db156db8a94db8b801b7addb984",
    ),
]


@pytest.mark.parametrize(("attributes", "expected"), RECORDED_FROM_SQS)
def test_attribute_md5_matches_digest_recorded_from_sqs(attributes, expected):
    assert md5_of_message_attributes(attributes) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("msg", "6e2baaf3b97dbeef01c0043275f9a0e7"),
        ("test", "098f6bcd4621d373cade4e832627b4f6"),
        ("message-body-1", "19c9e282d65f9733bc6b35d50062c7ee"),
    ],
)
def test_body_md5_matches_digest_recorded_from_sqs(body, expected):
    assert md5_of_body(body) == expected


def test_body_md5_hashes_utf8_bytes():
    body = "héllo 😀 wörld"
    assert md5_of_body(body) == hashlib.md5(body.encode("utf-8")).hexdigest()


def test_number_and_custom_type_attribute_md5s_match_published_examples():
    timestamp = {"timestamp": string("1493147359900", "Number")}
    big = {"UserId": string("1234567890123456789012", "Number.bigint")}
    assert md5_of_message_attributes(timestamp) == "235c5c510d26fb653d073faed50ae77c"
    assert md5_of_message_attributes(big) == "797ab158d73dcb5242dedc4412c8e855"


def test_system_attribute_md5_uses_the_same_algorithm():
    trace = {"AWSTraceHeader": string("some-trace-id")}
    assert md5_of_message_attributes(trace) == "fdce4f2818803f2f73becc09a54792c0"


def test_no_attributes_have_no_md5():
    assert md5_of_message_attributes({}) == ""


def test_attribute_md5_ignores_insertion_order():
    forward = {"a": string("1"), "b": string("2"), "c": binary(b"3")}
    backward = dict(reversed(list(forward.items())))
    assert md5_of_message_attributes(forward) == md5_of_message_attributes(backward)


def test_binary_and_string_values_with_the_same_bytes_differ_by_transport_type():
    assert md5_of_message_attributes({"a": string("x")}) != md5_of_message_attributes(
        {"a": binary(b"x", "String")}
    )


def test_unicode_name_and_value_are_length_prefixed_in_utf8_bytes():
    name, value = "attr.1øßä", "grüß 😀"
    expected = hashlib.md5(
        len(name.encode()).to_bytes(4, "big")
        + name.encode()
        + b"\x00\x00\x00\x06String"
        + b"\x01"
        + len(value.encode()).to_bytes(4, "big")
        + value.encode()
    ).hexdigest()
    assert md5_of_message_attributes({name: string(value)}) == expected


def test_names_sort_in_utf16_order_like_the_java_sdk():
    # U+FF21 sorts after U+1D400 by code point but before it in UTF-16 (surrogates are D800-DFFF).
    attributes = {"\U0001d400": string("astral"), "\uff21": string("bmp")}
    expected = hashlib.md5()
    for name in ("\U0001d400", "\uff21"):
        value = attributes[name]["StringValue"]
        for part in (name.encode(), b"String"):
            expected.update(len(part).to_bytes(4, "big") + part)
        expected.update(b"\x01" + len(value.encode()).to_bytes(4, "big") + value.encode())
    assert md5_of_message_attributes(attributes) == expected.hexdigest()


@pytest.mark.parametrize(
    "attributes",
    [
        {"Foo": string("Bar")},
        {"n": string("-12.5e3", "Number"), "s": string("grüß 😀", "String.json")},
        {"gif": binary(bytes(range(256)), "Binary.gif"), "plain": binary(b"\x00")},
        {f"attr{i}": string(str(i) * (i + 1)) for i in range(10)},
    ],
)
def test_attribute_md5_matches_motos_independent_implementation(attributes):
    # botocore has no client-side SQS MD5 check (the Java, Go and .NET SDKs do), so moto's
    # implementation in the dev environment is the independent reference here.
    reference = MotoMessage("id", "body")
    reference.message_attributes = attributes
    assert md5_of_message_attributes(attributes) == reference.attribute_md5
