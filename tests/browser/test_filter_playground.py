"""The filter-policy playground in a real browser: results follow the policy as it is typed, each
non-match says which clause failed, and Save works only for a valid policy."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.locators import expect_live, mark_page, page_was_kept, toast

pytestmark = pytest.mark.browser


@pytest.fixture
def topic_name():
    return f"p-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def subscribed(sns, sqs_json, make_queue, topic_name):
    """A topic with a queue subscribed and four published orders: (topic ARN, subscription ARN)."""
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = make_queue()
    queue_arn = sqs_json.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)[
        "SubscriptionArn"
    ]
    for number, store in enumerate(["example_corp", "other_corp", "example_corp", "other_corp"]):
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"order": number}),
            Subject=f"Order {number}",
            MessageAttributes={"store": {"DataType": "String", "StringValue": store}},
        )
    return topic, subscription, queue_arn


def open_playground(page, topic_name, endpoint):
    page.goto(f"/topics/{topic_name}/")
    expect_live(page)
    mark_page(page)
    row = page.locator("#subscriptions tbody tr").filter(has_text=endpoint)
    row.get_by_role("link", name=f"Edit the subscription of {endpoint}").click()
    panel = page.locator("#subscription-panel")
    panel.get_by_text("Playground: try a policy on the topic's latest messages").click()
    policy = panel.get_by_label("Policy to try")
    expect(policy).to_be_visible()
    return panel, policy


def test_playground_matches_as_the_policy_is_typed_and_saves_a_valid_one(
    operator_page, sns, subscribed, topic_name
):
    _topic, subscription, queue_arn = subscribed
    page = operator_page
    panel, policy = open_playground(page, topic_name, queue_arn)
    results = panel.locator(".playground-results")
    expect(results).to_contain_text("Matches 4 of the latest 4 messages")

    policy.fill('{"store": ["example_corp"]}')
    expect(results).to_contain_text("Matches 2 of the latest 4 messages")
    not_matched = results.locator("tr.not-matched")
    expect(not_matched).to_have_count(2)
    expect(not_matched.first).to_contain_text(
        'store: ["example_corp"] — attribute "store" is "other_corp"'
    )
    expect(results.locator("tr.matched").first).to_contain_text("Order 2")

    policy.fill('{"store": "example_corp"}')
    expect(results).to_contain_text('FilterPolicy: "store" must be an object or an array')
    expect(results.get_by_role("button", name="Save this policy")).to_be_disabled()

    policy.fill('{"store": ["other_corp"]}')
    expect(results).to_contain_text("Matches 2 of the latest 4 messages")
    results.get_by_role("button", name="Save this policy").click()
    expect(toast(page, "Saved the filter policy")).to_be_visible()
    assert page_was_kept(page)
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"store": ["other_corp"]}


def test_playground_scope_switches_to_the_body(operator_page, subscribed, topic_name):
    _topic, _subscription, queue_arn = subscribed
    page = operator_page
    panel, policy = open_playground(page, topic_name, queue_arn)
    results = panel.locator(".playground-results")

    policy.fill('{"order": [{"numeric": [">=", 2]}]}')
    expect(results).to_contain_text("Matches 0 of the latest 4 messages")
    panel.locator("select[id^=playground-scope]").select_option("MessageBody")

    expect(results).to_contain_text("Matches 2 of the latest 4 messages")
    expect(results.locator("tr.not-matched").first).to_contain_text('field "order" is')
