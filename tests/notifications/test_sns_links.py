"""End to end with a real worker: publishes reach queues, and the unsigned links subscribers follow.

SubscribeURL and UnsubscribeURL are plain GETs a subscriber follows without signing anything; the
token in the link is the only credential, so only the right token may change anything.
"""

import base64
import json
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.notifications.receivers import HttpReceiver

NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def receiver():
    """An HTTP endpoint recording what the live worker sends it."""
    endpoint = HttpReceiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def make_queue_for_sns(sqs_for_sns, topic_name):
    """Create a queue and return (url, arn)."""

    def make(suffix):
        url = sqs_for_sns.create_queue(QueueName=f"{topic_name}-{suffix}")["QueueUrl"]
        attributes = sqs_for_sns.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, attributes["Attributes"]["QueueArn"]

    return make


def receive_one(sqs, url, **kwargs):
    """The next message in a queue, waiting up to WAIT_SECONDS for it to arrive."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, **kwargs).get("Messages")
        if found:
            return found[0]
    raise AssertionError(f"no message reached {url} within {WAIT_SECONDS:.0f} s")


def sns_answer(response):
    """(root tag without namespace, root element) of an SNS XML answer."""
    assert response.headers["content-type"] == "text/xml"
    root = ET.fromstring(response.content)
    assert root.tag.startswith(NS)
    return root.tag[len(NS) :], root


def error_code(response):
    tag, root = sns_answer(response)
    assert tag == "ErrorResponse"
    return root.find(f"{NS}Error/{NS}Code").text


def with_token(url, token):
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, "Token": token})).geturl()


def subscription_arns(sns, topic_arn):
    found = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return [subscription["SubscriptionArn"] for subscription in found]


# Delivery into queues


def test_publish_reaches_a_subscribed_queue_as_the_sns_envelope(
    roost_worker, roost_server, sns, sqs_for_sns, make_topic, make_queue_for_sns
):
    topic = make_topic()
    url, arn = make_queue_for_sns("envelope")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]

    published = sns.publish(
        TopicArn=topic,
        Message="hello queue",
        Subject="Greeting",
        MessageAttributes={"colour": {"DataType": "String", "StringValue": "red"}},
    )

    envelope = json.loads(receive_one(sqs_for_sns, url)["Body"])
    assert {
        name: envelope[name] for name in ("Type", "MessageId", "TopicArn", "Subject", "Message")
    } == {
        "Type": "Notification",
        "MessageId": published["MessageId"],
        "TopicArn": topic,
        "Subject": "Greeting",
        "Message": "hello queue",
    }
    assert envelope["MessageAttributes"] == {"colour": {"Type": "String", "Value": "red"}}
    assert envelope["Timestamp"].endswith("Z")
    assert envelope["Signature"] and envelope["SigningCertURL"]
    unsubscribe = urlsplit(envelope["UnsubscribeURL"])
    assert f"{unsubscribe.scheme}://{unsubscribe.netloc}" == roost_server.url
    assert parse_qs(unsubscribe.query)["SubscriptionArn"] == [subscription]


def test_raw_delivery_gives_the_queue_the_bare_body_and_attributes(
    roost_worker, sns, sqs_for_sns, make_topic, make_queue_for_sns
):
    topic = make_topic()
    url, arn = make_queue_for_sns("raw")
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )

    sns.publish(
        TopicArn=topic,
        Message='{"raw": true}',
        MessageAttributes={
            "colour": {"DataType": "String", "StringValue": "red"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )

    message = receive_one(sqs_for_sns, url, MessageAttributeNames=["All"])
    assert message["Body"] == '{"raw": true}'
    assert message["MessageAttributes"] == {
        "colour": {"DataType": "String", "StringValue": "red"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    }


# UnsubscribeURL


def test_unsubscribe_link_removes_only_with_the_right_token(
    roost_worker, sns, sqs_for_sns, make_topic, make_queue_for_sns
):
    topic = make_topic()
    url, arn = make_queue_for_sns("leaving")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="bye")
    link = json.loads(receive_one(sqs_for_sns, url)["Body"])["UnsubscribeURL"]

    wrong = httpx.get(with_token(link, "f" * 64))
    missing = httpx.get(with_token(link, ""))

    assert (wrong.status_code, error_code(wrong)) == (403, "AuthorizationError")
    # Without a token it is no link: an unsigned request, refused as any other.
    assert missing.status_code == 403
    assert ET.fromstring(missing.content).find(".//{*}Code").text == "MissingAuthenticationToken"
    assert subscription_arns(sns, topic) == [subscription]

    right = httpx.get(link)

    assert right.status_code == 200
    assert sns_answer(right)[0] == "UnsubscribeResponse"
    assert subscription_arns(sns, topic) == []


# SubscribeURL


def test_subscribe_link_confirms_only_with_the_right_token(roost_worker, receiver, sns, make_topic):
    topic = make_topic()
    path = f"/confirm/{topic.rpartition(':')[2]}"
    arn = sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=receiver.endpoint(path),
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    confirmation = receiver.wait_for(path)[0].json()
    assert confirmation["Type"] == "SubscriptionConfirmation"
    link = confirmation["SubscribeURL"]
    assert parse_qs(urlsplit(link).query)["Token"] == [confirmation["Token"]]

    wrong = httpx.get(with_token(link, "0" * 128))

    assert (wrong.status_code, error_code(wrong)) == (400, "InvalidParameter")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"

    right = httpx.get(link)

    tag, root = sns_answer(right)
    assert (right.status_code, tag) == (200, "ConfirmSubscriptionResponse")
    assert root.find(f"{NS}ConfirmSubscriptionResult/{NS}SubscriptionArn").text == arn
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["ConfirmationWasAuthenticated"] == "false"


def test_signed_confirm_subscription_is_authenticated(roost_worker, receiver, sns, make_topic):
    topic = make_topic()
    path = f"/signed/{topic.rpartition(':')[2]}"
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.endpoint(path))
    token = receiver.wait_for(path)[0].json()["Token"]

    arn = sns.confirm_subscription(TopicArn=topic, Token=token, AuthenticateOnUnsubscribe="true")[
        "SubscriptionArn"
    ]

    assert subscription_arns(sns, topic) == [arn]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["ConfirmationWasAuthenticated"] == "true"


# Unsigned requests that are not links


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("GET", {"Action": "ListTopics"}),
        ("GET", {"Action": "Unsubscribe", "SubscriptionArn": "arn:aws:sns:us-east-1:0:t:x"}),
        ("POST", {"Action": "ConfirmSubscription", "TopicArn": "arn:aws:sns:x", "Token": "t"}),
        ("POST", {"Action": "Unsubscribe", "SubscriptionArn": "arn:x", "Token": "t"}),
    ],
    ids=["get-list", "get-without-token", "post-confirm", "post-unsubscribe"],
)
def test_other_unsigned_requests_still_need_a_signature(roost_server, method, params):
    params = {**params, "Version": "2010-03-31"}
    if method == "GET":
        response = httpx.get(f"{roost_server.url}/", params=params)
    else:
        response = httpx.post(f"{roost_server.url}/", data=params)

    assert response.status_code == 403
    root = ET.fromstring(response.content)
    assert root.find(".//{*}Code").text == "MissingAuthenticationToken"


def test_link_with_a_signature_parameter_is_checked_as_signed(roost_server):
    params = {
        "Action": "ConfirmSubscription",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
        "Token": "t",
        "X-Amz-Signature": base64.b16encode(b"forged").decode(),
    }

    response = httpx.get(f"{roost_server.url}/", params=params)

    # Routed as a link it would be refused for its token (InvalidParameter, 400) instead.
    assert response.status_code == 403
    assert ET.fromstring(response.content).find(".//{*}Code").text == "MissingAuthenticationToken"
