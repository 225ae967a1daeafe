"""Malformed SNS requests signed by a key its policy mostly refuses: still an XML 4xx every time
(AuthorizationError or the request's own fault), never a 500, and nothing changed. The requests
are tests/notifications/test_sns_wire_fuzz.py's, fewer of them."""

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.access.conftest import allow, key_with_policy, queue_arn, topic_arn
from tests.notifications.test_sns_wire_fuzz import FORM_HEADERS, FUZZ_SETTINGS, request, templates
from tests.wire_fuzz import SNS_XMLNS, RawClient, Snapshot, assert_unchanged, xml_error

EXAMPLES = 20  # of 50 requests each


@pytest.fixture(scope="module")
def fuzz_topic(admin_sns, admin_sqs):
    """A topic with tags and a confirmed queue subscription for the fuzz to aim at."""
    queue = admin_sqs.create_queue(QueueName="fuzz-acc-sns-target")["QueueUrl"]
    target = queue_arn("fuzz-acc-sns-target")
    topic = admin_sns.create_topic(Name="fuzz-acc-topic", Tags=[{"Key": "team", "Value": "x"}])[
        "TopicArn"
    ]
    subscription = admin_sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=target, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    yield topic, subscription, target
    admin_sns.delete_topic(TopicArn=topic)
    admin_sqs.delete_queue(QueueUrl=queue)


def test_malformed_requests_from_a_refused_key_get_an_xml_4xx_and_change_nothing(
    roost_server, fuzz_topic
):
    key = key_with_policy(
        roost_server, allow(["sns:Publish", "sns:Get*"], topic_arn("fuzz-acc-topic"))
    )
    client = RawClient(
        dataclasses.replace(roost_server, access_key_id=key.access_key_id, secret=key.secret)
    )
    snapshot = Snapshot(roost_server)
    before = snapshot.take()
    templates_by_op = templates(*fuzz_topic)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(seed=st.integers(0, 2**32 - 1))
    def fuzz(seed):
        rng = random.Random(seed)
        for _ in range(50):
            body, why = request(templates_by_op, rng)
            status, headers, content = client.send(
                "POST", "/", dict(FORM_HEADERS), body, service="sns"
            )
            assert 400 <= status < 500, f"{status} for {why}: {content[:300]!r}"
            xml_error(status, headers, content, SNS_XMLNS)

    try:
        fuzz()
    finally:
        client.close()
    assert_unchanged(before, snapshot.take())
    assert client.sent >= EXAMPLES * 50
