"""Links and messages carry ARNs as SNS writes them, and HTTP(S) endpoints hear of Unsubscribe.

SNS leaves an ARN's colons unescaped in SubscribeURL and UnsubscribeURL (subscribers' code looks
for the ARN in the link), and POSTs a signed UnsubscribeConfirmation to an HTTP(S) endpoint whose
subscription was removed; visiting its SubscribeURL restores the subscription.
"""

import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.notifications.receivers import HttpReceiver, wait_until
from tests.notifications.test_deliveries import assert_signed, confirm_http
from tests.notifications.test_sns_links import receive_one, subscription_arns

NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"


@pytest.fixture(scope="module")
def receiver():
    """An HTTP endpoint recording what the live worker sends it."""
    endpoint = HttpReceiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def path(topic_name):
    """A receiver path of this test's own."""
    return f"/unsubscribed/{topic_name}"


def of_type(receiver, path, kind, count=1):
    """Wait for `count` messages of one SNS type at path; return them as (request, body)."""

    def matching():
        requests = [
            request
            for request in receiver.requests(path)
            if request.headers.get("x-amz-sns-message-type") == kind
        ]
        return len(requests) >= count and requests

    found = wait_until(matching, what=f"{count} {kind} message(s) at {path}")
    return [(request, request.json()) for request in found]


def test_unsubscribe_url_carries_the_subscription_arn_with_its_colons(
    roost_worker, sns, sqs_for_sns, make_topic, topic_name
):
    topic = make_topic()
    url = sqs_for_sns.create_queue(QueueName=f"{topic_name}-arn")["QueueUrl"]
    queue_arn = sqs_for_sns.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="where do I leave?")

    link = json.loads(receive_one(sqs_for_sns, url)["Body"])["UnsubscribeURL"]

    assert f"?Action=Unsubscribe&SubscriptionArn={arn}&Token=" in link
    followed = httpx.get(link)
    assert followed.status_code == 200
    assert ET.fromstring(followed.content).tag == f"{NS}UnsubscribeResponse"
    assert subscription_arns(sns, topic) == []


def test_subscribe_url_carries_the_topic_arn_with_its_colons(
    roost_worker, receiver, path, sns, make_topic
):
    topic = make_topic()
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.endpoint(path))

    ((request, confirmation),) = of_type(receiver, path, "SubscriptionConfirmation")

    assert f"?Action=ConfirmSubscription&TopicArn={topic}&Token=" in confirmation["SubscribeURL"]
    assert httpx.get(confirmation["SubscribeURL"]).status_code == 200
    assert len(subscription_arns(sns, topic)) == 1


def test_unsubscribed_http_endpoint_gets_a_signed_unsubscribe_confirmation(
    roost_worker, roost_server, receiver, path, sns, make_topic
):
    topic = make_topic()
    arn = confirm_http(sns, receiver, topic, path)

    sns.unsubscribe(SubscriptionArn=arn)

    ((request, message),) = of_type(receiver, path, "UnsubscribeConfirmation")
    assert request.method == "POST"
    assert request.headers["content-type"] == "text/plain; charset=UTF-8"
    assert request.headers["x-amz-sns-topic-arn"] == topic
    assert request.headers["x-amz-sns-subscription-arn"] == arn
    assert request.headers["x-amz-sns-message-id"] == message["MessageId"]
    assert message["Type"] == "UnsubscribeConfirmation"
    assert message["TopicArn"] == topic
    assert message["Message"] == (
        f"You have chosen to deactivate subscription {arn}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included "
        "in this message."
    )
    assert message["SubscribeURL"] == (
        f"{roost_server.url}/?Action=ConfirmSubscription&TopicArn={topic}&Token={message['Token']}"
    )
    assert message["Timestamp"].endswith("Z")
    assert_signed(message, roost_server.url)
    assert subscription_arns(sns, topic) == []


def test_subscribe_url_of_the_unsubscribe_confirmation_restores_the_subscription(
    roost_worker, receiver, path, sns, make_topic
):
    topic = make_topic()
    arn = confirm_http(sns, receiver, topic, path, RawMessageDelivery="true")
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue='{"colour": ["red"]}'
    )
    sns.unsubscribe(SubscriptionArn=arn)
    ((_, message),) = of_type(receiver, path, "UnsubscribeConfirmation")

    wrong = httpx.get(message["SubscribeURL"].replace(message["Token"], "0" * 128))
    assert wrong.status_code == 400
    assert subscription_arns(sns, topic) == []

    restored = httpx.get(message["SubscribeURL"])

    assert restored.status_code == 200
    root = ET.fromstring(restored.content)
    assert root.find(f"{NS}ConfirmSubscriptionResult/{NS}SubscriptionArn").text == arn
    assert subscription_arns(sns, topic) == [arn]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["RawMessageDelivery"] == "true"
    assert attributes["FilterPolicy"] == '{"colour": ["red"]}'
    # Visiting the link again changes nothing.
    assert httpx.get(message["SubscribeURL"]).status_code == 200
    assert subscription_arns(sns, topic) == [arn]
    # And notifications flow to it again, with its settings.
    before = len(receiver.requests(path))
    sns.publish(
        TopicArn=topic,
        Message="welcome back",
        MessageAttributes={"colour": {"DataType": "String", "StringValue": "red"}},
    )
    back = receiver.wait_for(path, count=before + 1)[-1]
    assert back.body == "welcome back"


def test_unsubscribe_link_sends_the_confirmation_too(roost_worker, receiver, path, sns, make_topic):
    topic = make_topic()
    arn = confirm_http(sns, receiver, topic, path)
    sns.publish(TopicArn=topic, Message="hello")
    notification = receiver.wait_for(path, count=2)[-1].json()

    followed = httpx.get(notification["UnsubscribeURL"])

    assert followed.status_code == 200
    ((request, _),) = of_type(receiver, path, "UnsubscribeConfirmation")
    assert request.headers["x-amz-sns-subscription-arn"] == arn
