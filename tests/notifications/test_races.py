"""Topic and subscription changes racing each other from several server processes.

Each test releases THREADS boto3 calls at once over the RaceRoost's server processes, on
PostgreSQL (row locks, the unique constraint) and on SQLite (the immediate transaction's lock):
one topic and one subscription however many ask at once, no change lost, never a 5xx.
"""

import json
import uuid
from functools import partial

import pytest

from tests.race_roost import (
    THREADS,
    backends,
    error_code,
    race,
    server_errors,
    shared_race_roost,
)

pytestmark = pytest.mark.live

ACCOUNT = "000000000000"
REGION = "us-east-1"
# Nothing listens on the discard port: confirmation requests, if a worker ever sent them, fail.
HTTP_ENDPOINT = "http://127.0.0.1:9/hook"
ROUNDS = 3


@pytest.fixture(scope="module", params=backends())
def roost(request):
    """Several server processes on one database of the race tests' own."""
    return shared_race_roost(request.param, request.config)


@pytest.fixture
def sns(roost):
    """THREADS boto3 SNS clients, spread over the roost's server processes."""
    return roost.clients("sns")


def unique(prefix="race"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def topic_arns(sns, name):
    """The ARNs of the topics called `name` (ListTopics, every page)."""
    found = []
    for page in sns.get_paginator("list_topics").paginate():
        found += [topic["TopicArn"] for topic in page["Topics"]]
    return [arn for arn in found if arn.rsplit(":", 1)[1] == name]


def subscriptions(sns, topic_arn):
    return sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]


def test_concurrent_creates_of_one_topic_make_one_topic_and_all_get_it(sns):
    name = unique()
    calls = [
        partial(
            client.create_topic,
            Name=name,
            Attributes={"DisplayName": "Races"},
            Tags=[{"Key": "team", "Value": "roost"}],
        )
        for client in sns
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
    assert topic_arns(sns[0], name) == [f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"]
    assert {outcome["TopicArn"] for outcome in outcomes} == set(topic_arns(sns[0], name))


def test_concurrent_creates_with_different_attributes_make_one_topic_and_refuse_the_rest(sns):
    name = unique()
    display_names = [f"Name {index % 2}" for index in range(THREADS)]
    calls = [
        partial(client.create_topic, Name=name, Attributes={"DisplayName": display_name})
        for client, display_name in zip(sns, display_names, strict=True)
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    (arn,) = topic_arns(sns[0], name)
    winner = sns[0].get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"]
    assert [
        outcome["TopicArn"] if error_code(outcome) is None else error_code(outcome)
        for outcome in outcomes
    ] == [arn if display_name == winner else "InvalidParameter" for display_name in display_names]


def test_concurrent_subscribes_of_one_queue_make_one_subscription_and_one_delivery(sns, roost):
    topic_arn = sns[0].create_topic(Name=unique())["TopicArn"]
    queue_name = unique("queue")
    roost.clients("sqs")[0].create_queue(QueueName=queue_name)
    endpoint = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    calls = [
        partial(
            client.subscribe,
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=endpoint,
            Attributes={"RawMessageDelivery": "true"},
        )
        for client in sns
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
    (subscription,) = subscriptions(sns[0], topic_arn)
    assert {outcome["SubscriptionArn"] for outcome in outcomes} == {subscription["SubscriptionArn"]}
    message_id = sns[1].publish(TopicArn=topic_arn, Message="once")["MessageId"]
    # One delivery, made in the publish or still owed (a drain makes it and drops the row in one
    # transaction): the message reaches the queue once.
    assert roost.query(
        "SELECT (SELECT count(*) FROM queues_message AS sent "
        "JOIN queues_queue AS queue ON queue.id = sent.queue_id WHERE queue.name = %s) + "
        "(SELECT count(*) FROM notifications_delivery AS delivery "
        "JOIN notifications_publishedmessage AS message ON message.id = delivery.message_id "
        "WHERE message.message_id = %s)",
        (queue_name, message_id),
    ) == [(1,)]


def test_concurrent_subscribes_with_different_attributes_make_one_and_refuse_the_rest(sns):
    topic_arn = sns[0].create_topic(Name=unique())["TopicArn"]
    raw = ["true" if index % 2 else "false" for index in range(THREADS)]
    calls = [
        partial(
            client.subscribe,
            TopicArn=topic_arn,
            Protocol="http",
            Endpoint=HTTP_ENDPOINT,
            Attributes={"RawMessageDelivery": value},
            ReturnSubscriptionArn=True,
        )
        for client, value in zip(sns, raw, strict=True)
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert len(subscriptions(sns[0], topic_arn)) == 1
    arns = {outcome["SubscriptionArn"] for outcome in outcomes if error_code(outcome) is None}
    (arn,) = arns
    winner = sns[0].get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert [error_code(outcome) for outcome in outcomes] == [
        None if value == winner["RawMessageDelivery"] else "InvalidParameter" for value in raw
    ]


def pending_subscriptions(sns, roost, count):
    """A topic with `count` pending HTTP subscriptions: (topic ARN, [(ARN, token)])."""
    topic_arn = sns[0].create_topic(Name=unique())["TopicArn"]
    found = []
    for index in range(count):
        arn = sns[0].subscribe(
            TopicArn=topic_arn,
            Protocol="http",
            Endpoint=f"{HTTP_ENDPOINT}/{index}",
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        # The token a confirmation message would carry, read where Roost keeps it.
        ((token,),) = roost.query(
            "SELECT confirmation_token FROM notifications_subscription WHERE uuid = %s",
            (arn.rsplit(":", 1)[1],),
        )
        found.append((arn, token))
    return topic_arn, found


def test_confirmations_racing_attribute_changes_keep_both(sns, roost):
    policy = json.dumps({"kind": ["race"]})
    for _round in range(ROUNDS):
        topic_arn, pending = pending_subscriptions(sns, roost, THREADS // 2)
        calls = []
        for index, (arn, token) in enumerate(pending):
            calls.append(
                partial(sns[2 * index].confirm_subscription, TopicArn=topic_arn, Token=token)
            )
            calls.append(
                partial(
                    sns[2 * index + 1].set_subscription_attributes,
                    SubscriptionArn=arn,
                    AttributeName="FilterPolicy",
                    AttributeValue=policy,
                )
            )

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
        for arn, _token in pending:
            attributes = sns[0].get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            assert (attributes["PendingConfirmation"], attributes.get("FilterPolicy")) == (
                "false",
                policy,
            )


def test_calls_racing_a_topic_delete_answer_not_found_never_a_server_error(sns, roost):
    topic_arn, pending = pending_subscriptions(sns, roost, 2)
    (first_arn, first_token), (second_arn, _token) = pending
    kinds = [
        ("set_topic_attributes", {"AttributeName": "DisplayName", "AttributeValue": "gone"}),
        ("tag_resource", {"ResourceArn": topic_arn, "Tags": [{"Key": "a", "Value": "b"}]}),
        ("untag_resource", {"ResourceArn": topic_arn, "TagKeys": ["a"]}),
        ("subscribe", {"Protocol": "http", "Endpoint": f"{HTTP_ENDPOINT}/new"}),
        # Subscribing a pending endpoint again resends its confirmation.
        ("subscribe", {"Protocol": "http", "Endpoint": f"{HTTP_ENDPOINT}/1"}),
        (
            "set_subscription_attributes",
            {
                "SubscriptionArn": second_arn,
                "AttributeName": "RawMessageDelivery",
                "AttributeValue": "true",
            },
        ),
        ("confirm_subscription", {"Token": first_token}),
        ("unsubscribe", {"SubscriptionArn": first_arn}),
    ]
    calls = [partial(sns[0].delete_topic, TopicArn=topic_arn)]
    for client, (method, params) in zip(sns[1:], kinds * THREADS, strict=False):
        if method in ("set_topic_attributes", "subscribe", "confirm_subscription"):
            params = {"TopicArn": topic_arn, **params}
        calls.append(partial(getattr(client, method), **params))

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert error_code(outcomes[0]) is None
    # Each call either came before the delete or answers as SNS does for what is gone (a token
    # of a deleted subscription is no longer valid).
    assert {error_code(outcome) for outcome in outcomes[1:]} <= {
        None,
        "NotFound",
        "ResourceNotFound",
        "InvalidParameter",
    }
    assert topic_arns(sns[0], topic_arn.rsplit(":", 1)[1]) == []


def test_subscribes_racing_an_unsubscribe_never_answer_a_server_error(sns, roost):
    topic_arn, [(arn, _token)] = pending_subscriptions(sns, roost, 1)
    calls = [partial(sns[0].unsubscribe, SubscriptionArn=arn)] + [
        partial(
            client.subscribe, TopicArn=topic_arn, Protocol="http", Endpoint=HTTP_ENDPOINT + "/0"
        )
        for client in sns[1:]
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
    # However the calls interleaved, the endpoint is subscribed at most once.
    assert len(subscriptions(sns[0], topic_arn)) <= 1


def test_publishes_racing_a_topic_delete_answer_not_found_never_a_server_error(sns, roost):
    for _round in range(ROUNDS):
        topic_arn = sns[0].create_topic(Name=unique())["TopicArn"]
        queue_name = unique("queue")
        roost.clients("sqs")[0].create_queue(QueueName=queue_name)
        sns[0].subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
        )
        entries = [{"Id": str(index), "Message": "racing"} for index in range(10)]
        calls = [partial(sns[0].delete_topic, TopicArn=topic_arn)] + [
            partial(client.publish_batch, TopicArn=topic_arn, PublishBatchRequestEntries=entries)
            for client in sns[1:]
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert error_code(outcomes[0]) is None
        assert {error_code(outcome) for outcome in outcomes[1:]} <= {None, "NotFound"}


def test_unsubscribes_racing_a_topic_delete_never_answer_a_server_error(sns):
    for _round in range(ROUNDS):
        topic_arn = sns[0].create_topic(Name=unique())["TopicArn"]
        arns = [
            sns[0].subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('queue')}",
            )["SubscriptionArn"]
            for _ in sns[1:]
        ]
        calls = [partial(sns[0].delete_topic, TopicArn=topic_arn)] + [
            partial(client.unsubscribe, SubscriptionArn=arn)
            for client, arn in zip(sns[1:], arns, strict=True)
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert {error_code(outcome) for outcome in outcomes} <= {None, "NotFound"}


def test_fifo_publishes_racing_a_topic_delete_never_answer_a_server_error(sns):
    for _round in range(ROUNDS):
        name = unique()
        topic_arn = sns[0].create_topic(Name=f"{name}.fifo", Attributes={"FifoTopic": "true"})
        topic_arn = topic_arn["TopicArn"]
        sns[0].subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}.fifo",
        )
        calls = [partial(sns[0].delete_topic, TopicArn=topic_arn)] + [
            partial(
                client.publish,
                TopicArn=topic_arn,
                Message="racing",
                MessageGroupId="group",
                MessageDeduplicationId=str(index),
            )
            for index, client in enumerate(sns[1:])
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert error_code(outcomes[0]) is None
        assert {error_code(outcome) for outcome in outcomes[1:]} <= {None, "NotFound"}
