"""Malformed SNS requests against a live server: an XML 4xx every time, and nothing changed.

As in tests/queues/test_wire_fuzz.py, each request is a valid one with one thing broken: a
parameter nested under a plain value, a list or map that is not one, a map entry without its
key, a character SNS refuses, a missing required parameter, JSON nested too deep inside
DeliveryPolicy, FilterPolicy, RedrivePolicy or a MessageStructure=json message.
"""

import json
import random
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from notifications.wire.sns_query import REQUIRED
from tests.wire_fuzz import SNS_XMLNS, RawClient, Snapshot, assert_unchanged, xml_error

REQUESTS_PER_EXAMPLE = 50
EXAMPLES = 130
# With tests/queues/test_wire_fuzz.py's 14,000, at least 20,000 a run.
MINIMUM_REQUESTS = 6_000

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
BAD_TEXT = ["\x00", "a\x00b", "\x08", "\x1f", "\ufffe", "\uffff"]
FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _deep(rng):
    depth = rng.choice([65, 100, 200, 3000, 3000, 20_000] if rng.random() < 0.1 else [65, 100, 200])
    if rng.random() < 0.5:
        return '{"default": ' + "[" * depth + '"x"' + "]" * depth + "}"
    return '{"a":' * depth + "1" + "}" * depth


def templates(topic, subscription, queue_arn):
    """Valid requests (as query pairs) for the SNS operations the fuzz breaks."""
    return {
        "CreateTopic": [
            ("Name", "fuzz-created"),
            ("Attributes.entry.1.key", "DisplayName"),
            ("Attributes.entry.1.value", "Fuzz"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "fuzz"),
        ],
        "GetTopicAttributes": [("TopicArn", topic)],
        "SetTopicAttributes": [
            ("TopicArn", topic),
            ("AttributeName", "DisplayName"),
            ("AttributeValue", "x"),
        ],
        "Subscribe": [
            ("TopicArn", topic),
            ("Protocol", "sqs"),
            ("Endpoint", queue_arn),
            ("Attributes.entry.1.key", "RawMessageDelivery"),
            ("Attributes.entry.1.value", "true"),
            ("ReturnSubscriptionArn", "true"),
        ],
        "SetSubscriptionAttributes": [
            ("SubscriptionArn", subscription),
            ("AttributeName", "RawMessageDelivery"),
            ("AttributeValue", "false"),
        ],
        "GetSubscriptionAttributes": [("SubscriptionArn", subscription)],
        "ListSubscriptionsByTopic": [("TopicArn", topic)],
        "Publish": [
            ("TopicArn", topic),
            ("Message", "hello"),
            ("Subject", "s"),
            ("MessageAttributes.entry.1.Name", "a"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", "v"),
        ],
        "PublishBatch": [
            ("TopicArn", topic),
            ("PublishBatchRequestEntries.member.1.Id", "one"),
            ("PublishBatchRequestEntries.member.1.Message", "m"),
        ],
        "TagResource": [
            ("ResourceArn", topic),
            ("Tags.member.1.Key", "owner"),
            ("Tags.member.1.Value", "fuzz"),
        ],
        "UntagResource": [("ResourceArn", topic), ("TagKeys.member.1", "team")],
        "ListTagsForResource": [("ResourceArn", topic)],
        "DeleteTopic": [("TopicArn", topic)],
        "Unsubscribe": [("SubscriptionArn", subscription)],
    }


# JSON-valued parameters, and deep JSON to put in them.
DEEP_JSON = [
    ("SetTopicAttributes", "DeliveryPolicy"),
    ("SetTopicAttributes", "Policy"),
    ("SetSubscriptionAttributes", "FilterPolicy"),
    ("SetSubscriptionAttributes", "RedrivePolicy"),
    ("SetSubscriptionAttributes", "DeliveryPolicy"),
]


def request(templates_by_op, rng):
    """(body, why) of one malformed SNS request."""
    operation = rng.choice(sorted(templates_by_op))
    pairs = [("Action", operation), ("Version", "2010-03-31"), *templates_by_op[operation]]
    values = list(range(2, len(pairs)))
    choice = rng.choice(["nested", "conflict", "text", "text", "list", "missing", "deep"])
    if choice == "deep":
        target, attribute = rng.choice(DEEP_JSON)
        if rng.random() < 0.3:
            pairs = [
                ("Action", "Publish"),
                ("Version", "2010-03-31"),
                *templates_by_op["Publish"][:1],
                ("MessageStructure", "json"),
                ("Message", _deep(rng)),
            ]
            why = "deep MessageStructure=json message"
        else:
            pairs = [
                ("Action", target),
                ("Version", "2010-03-31"),
                templates_by_op[target][0],
                ("AttributeName", attribute),
                ("AttributeValue", _deep(rng)),
            ]
            why = f"deep {attribute}"
    elif choice == "text":
        index = rng.choice(values)
        bad = rng.choice(BAD_TEXT)
        pairs[index] = (pairs[index][0], bad)
        why = f"{pairs[index][0]} holds {bad!r}"
    elif choice == "missing" and REQUIRED.get(operation):
        name = rng.choice(REQUIRED[operation])
        pairs = [pair for pair in pairs if pair[0].split(".")[0] != name]
        why = f"no {name}"
    elif choice == "list" and any("." in name for name, _ in pairs):
        index = rng.choice([i for i, (name, _) in enumerate(pairs) if "." in name])
        name, value = pairs[index]
        top, element, number, *rest = name.split(".")
        stem = f"{top}.{element}.{number}"
        broken = [
            f"{top}.item.{number}{''.join('.' + part for part in rest)}",  # not .member/.entry
            f"{top}.{element}.x{''.join('.' + part for part in rest)}",  # not numbered
            # A value where a structure belongs, or a structure where a value does.
            stem if rest else f"{stem}.x",
        ]
        if element == "entry":
            broken.append(f"{stem}.value")  # a map entry without its key
        broken = rng.choice(broken)
        pairs = [pair for pair in pairs if not pair[0].startswith(stem)]
        pairs.append((broken, value))
        why = f"{name} sent as {broken}"
    elif choice == "conflict":
        name = pairs[rng.choice(values)][0]
        pairs.append((f"{name}.x", "y"))
        why = f"{name} also given as {name}.x"
    else:
        index = rng.choice(values)
        name, value = pairs[index]
        pairs[index] = (f"{name}.{rng.choice(['x', '1', 'member.1', 'entry.1.key'])}", value)
        why = f"{name} nested as {pairs[index][0]}"
    body = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    return body.encode(), f"{operation}: {why}"


@pytest.fixture(scope="module")
def fuzz_topic(roost_server, sqs_client):
    """A topic with tags and a confirmed queue subscription for the fuzz to aim at."""
    import boto3  # noqa: PLC0415

    sns = boto3.client(
        "sns",
        endpoint_url=roost_server.url,
        region_name="us-east-1",
        aws_access_key_id=roost_server.access_key_id,
        aws_secret_access_key=roost_server.secret,
    )
    sqs = sqs_client("json")
    queue = sqs.create_queue(QueueName="fuzz-sns-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="fuzz-topic", Tags=[{"Key": "team", "Value": "fuzz"}])["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    yield topic, subscription, queue_arn
    sns.delete_topic(TopicArn=topic)
    sqs.delete_queue(QueueUrl=queue)


def test_malformed_sns_requests_get_an_xml_4xx_and_change_nothing(roost_server, fuzz_topic):
    snapshot = Snapshot(roost_server)
    before = snapshot.take()
    templates_by_op = templates(*fuzz_topic)
    client = RawClient(roost_server)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(seed=st.integers(0, 2**32 - 1))
    def fuzz(seed):
        rng = random.Random(seed)
        for _ in range(REQUESTS_PER_EXAMPLE):
            body, why = request(templates_by_op, rng)
            if rng.random() < 0.05:
                response = client.send("POST", "/", dict(FORM_HEADERS), body, service=None)
                why = f"unsigned {why}"
            else:
                response = client.send("POST", "/", dict(FORM_HEADERS), body, service="sns")
            status, headers, content = response
            assert 400 <= status < 500, f"{status} for {why}: {content[:300]!r}"
            xml_error(status, headers, content, SNS_XMLNS)

    try:
        fuzz()
    finally:
        client.close()
    assert_unchanged(before, snapshot.take())
    # Counted, so that the fuzz cannot shrink unnoticed.
    assert client.sent >= MINIMUM_REQUESTS


def test_deep_json_message_structure_is_refused(roost_server, fuzz_topic):
    client = RawClient(roost_server)
    message = json.dumps({"default": "x"})[:-1] + ', "sqs": ' + "[" * 5000 + "]" * 5000 + "}"
    body = (
        f"Action=Publish&Version=2010-03-31&TopicArn={quote(fuzz_topic[0], safe='')}"
        f"&MessageStructure=json&Message={quote(message, safe='')}"
    ).encode()

    status, headers, content = client.send("POST", "/", dict(FORM_HEADERS), body, service="sns")
    client.close()

    assert status == 400
    assert xml_error(status, headers, content, SNS_XMLNS) == "InvalidParameter"


@pytest.mark.parametrize("attribute", ["DeliveryPolicy", "Policy"])
def test_deep_json_topic_attribute_is_refused_and_not_stored(roost_server, fuzz_topic, attribute):
    client = RawClient(roost_server)
    value = '{"http": ' + "[" * 5000 + "]" * 5000 + "}"
    body = (
        f"Action=SetTopicAttributes&Version=2010-03-31&TopicArn={quote(fuzz_topic[0], safe='')}"
        f"&AttributeName={attribute}&AttributeValue={quote(value, safe='')}"
    ).encode()
    before = Snapshot(roost_server).take()

    status, headers, content = client.send("POST", "/", dict(FORM_HEADERS), body, service="sns")
    client.close()

    assert status == 400
    assert xml_error(status, headers, content, SNS_XMLNS) == "InvalidParameter"
    assert_unchanged(before, Snapshot(roost_server).take())
