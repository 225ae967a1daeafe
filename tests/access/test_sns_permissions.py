"""Access keys' IAM policies on SNS, over boto3 against the live server."""

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.access.conftest import (
    ACCOUNT_ID,
    REGION,
    allow,
    denial,
    keys_with_policies,
    queue_arn,
    sns_client,
    topic_arn,
)

PREFIX = f"acc{uuid.uuid4().hex[:6]}"
NEWS = f"arn:aws:sns:*:*:{PREFIX}-news-*"

POLICIES = {
    "full": None,
    "publisher": allow("sns:Publish", NEWS),
    "deny_delete": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sns:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sns:DeleteTopic", "Resource": "*"},
        ],
    },
    "not_action": allow(None, NotAction="sns:Subscribe"),
    "not_resource": allow("sns:*", None, NotResource=f"arn:aws:sns:*:*:{PREFIX}-secret-*"),
    "news_only": allow("sns:*", NEWS),
    "creator": allow("sns:CreateTopic", f"arn:aws:sns:*:*:{PREFIX}-*"),
}


@pytest.fixture(scope="module")
def keys(roost_server):
    """One access key per policy in POLICIES, made in one go."""
    made = keys_with_policies(roost_server, list(POLICIES.values()))
    return dict(zip(POLICIES, made, strict=True))


@pytest.fixture(scope="module")
def clients(roost_server, keys):
    """A boto3 SNS client per policy name."""
    return {name: sns_client(roost_server, key) for name, key in keys.items()}


@pytest.fixture
def make_topic(admin_sns):
    """make_topic(kind) -> the ARN of a new topic named <prefix>-<kind>-<random>."""
    return lambda kind: admin_sns.create_topic(Name=f"{PREFIX}-{kind}-{uuid.uuid4().hex[:8]}")[
        "TopicArn"
    ]


@pytest.fixture
def subscription(admin_sns, admin_sqs):
    """subscription(topic ARN) -> the ARN of a confirmed SQS subscription to it."""

    def subscribe(topic):
        url = admin_sqs.create_queue(QueueName=f"{PREFIX}-sub-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        return admin_sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn(url.rsplit("/", 1)[1]),
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]

    return subscribe


def refused(call, **params):
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response


def assert_authorization_error(response, message):
    assert response["Error"]["Code"] == "AuthorizationError"
    assert response["Error"]["Type"] == "Sender"
    assert response["Error"]["Message"] == message
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_allowed_publish_succeeds(clients, make_topic):
    topic = make_topic("news")

    assert clients["publisher"].publish(TopicArn=topic, Message="hello")["MessageId"]


def test_denied_publish_gets_authorization_error_naming_key_action_and_topic(
    clients, keys, make_topic
):
    topic = make_topic("other")

    response = refused(clients["publisher"].publish, TopicArn=topic, Message="no")

    assert_authorization_error(response, denial(keys["publisher"], "SNS:Publish", topic))


def test_publish_batch_needs_publish_and_is_refused_whole(clients, keys, make_topic):
    news, other = make_topic("news"), make_topic("other")
    entries = [{"Id": str(n), "Message": f"m{n}"} for n in range(3)]

    published = clients["publisher"].publish_batch(
        TopicArn=news, PublishBatchRequestEntries=entries
    )
    response = refused(
        clients["publisher"].publish_batch, TopicArn=other, PublishBatchRequestEntries=entries
    )

    assert len(published["Successful"]) == 3
    assert_authorization_error(response, denial(keys["publisher"], "SNS:Publish", other))


def test_publish_to_a_missing_topic_is_refused_before_it_is_looked_up(clients, keys):
    missing = topic_arn(f"{PREFIX}-other-missing")

    response = refused(clients["publisher"].publish, TopicArn=missing, Message="x")

    assert_authorization_error(response, denial(keys["publisher"], "SNS:Publish", missing))
    assert refused(clients["full"].publish, TopicArn=missing, Message="x")["Error"]["Code"] == (
        "NotFound"
    )


def test_an_arn_in_another_region_is_checked_as_the_topic_it_reaches(clients, keys, make_topic):
    topic = make_topic("other")
    elsewhere = topic.replace(f":{REGION}:", ":eu-west-3:")

    response = refused(clients["publisher"].publish, TopicArn=elsewhere, Message="x")

    assert_authorization_error(response, denial(keys["publisher"], "SNS:Publish", topic))


def test_deny_overrides_a_wildcard_allow(clients, keys, make_topic, admin_sns):
    topic = make_topic("kept")

    clients["deny_delete"].publish(TopicArn=topic, Message="allowed")
    response = refused(clients["deny_delete"].delete_topic, TopicArn=topic)

    assert_authorization_error(
        response, denial(keys["deny_delete"], "SNS:DeleteTopic", topic, explicit=True)
    )
    admin_sns.get_topic_attributes(TopicArn=topic)  # still there


def test_not_action_allows_everything_but_the_actions_named(clients, keys, make_topic):
    topic = make_topic("other")

    clients["not_action"].publish(TopicArn=topic, Message="allowed")
    response = refused(
        clients["not_action"].subscribe,
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn("anything"),
    )

    assert_authorization_error(response, denial(keys["not_action"], "SNS:Subscribe", topic))


def test_not_resource_allows_everywhere_but_the_resources_named(clients, keys, make_topic):
    open_topic, secret = make_topic("open"), make_topic("secret")

    clients["not_resource"].publish(TopicArn=open_topic, Message="allowed")
    response = refused(clients["not_resource"].publish, TopicArn=secret, Message="no")

    assert_authorization_error(response, denial(keys["not_resource"], "SNS:Publish", secret))


def test_subscription_calls_are_checked_on_the_subscriptions_topic(
    clients, keys, make_topic, subscription
):
    mine, theirs = subscription(make_topic("news")), subscription(make_topic("other"))
    other_topic = theirs.rsplit(":", 1)[0]
    key = clients["news_only"]

    assert key.get_subscription_attributes(SubscriptionArn=mine)["Attributes"]
    response = refused(key.get_subscription_attributes, SubscriptionArn=theirs)
    assert_authorization_error(
        response, denial(keys["news_only"], "SNS:GetSubscriptionAttributes", other_topic)
    )
    response = refused(key.unsubscribe, SubscriptionArn=theirs)
    assert_authorization_error(response, denial(keys["news_only"], "SNS:Unsubscribe", other_topic))
    key.unsubscribe(SubscriptionArn=mine)


def test_list_topics_and_subscriptions_need_an_account_wide_allow(clients, keys, make_topic):
    topic = make_topic("news")
    account = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:*"

    response = refused(clients["news_only"].list_topics)
    assert_authorization_error(response, denial(keys["news_only"], "SNS:ListTopics", account))
    response = refused(clients["news_only"].list_subscriptions)
    assert_authorization_error(
        response, denial(keys["news_only"], "SNS:ListSubscriptions", account)
    )
    assert clients["news_only"].list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    listed = clients["full"].get_paginator("list_topics").paginate().build_full_result()
    assert topic in [item["TopicArn"] for item in listed["Topics"]]


def test_create_topic_with_tags_also_needs_tag_resource(clients, keys, admin_sns):
    name = f"{PREFIX}-made-{uuid.uuid4().hex[:8]}"

    response = refused(
        clients["creator"].create_topic, Name=name, Tags=[{"Key": "team", "Value": "a"}]
    )

    assert_authorization_error(
        response, denial(keys["creator"], "SNS:TagResource", topic_arn(name))
    )
    assert refused(admin_sns.get_topic_attributes, TopicArn=topic_arn(name))["Error"]["Code"] == (
        "NotFound"
    )
    assert clients["creator"].create_topic(Name=name)["TopicArn"] == topic_arn(name)


def test_key_without_a_policy_keeps_full_access(clients, subscription):
    key = clients["full"]
    topic = key.create_topic(Name=f"{PREFIX}-free-{uuid.uuid4().hex[:8]}")["TopicArn"]

    key.publish(TopicArn=topic, Message="hello")
    key.unsubscribe(SubscriptionArn=subscription(topic))
    key.delete_topic(TopicArn=topic)


def test_unsupported_operations_still_answer_a_refused_key_as_aws_would(clients, keys):
    account = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:*"

    response = refused(clients["news_only"].get_sms_attributes)

    assert_authorization_error(response, denial(keys["news_only"], "SNS:GetSMSAttributes", account))
    assert refused(clients["full"].get_sms_attributes)["Error"]["Code"] == "InvalidParameter"
