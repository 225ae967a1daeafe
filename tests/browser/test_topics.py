"""The console's topic page in a real browser: create, subscribe, publish, replay a failure."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.endpoints import FailingEndpoint
from tests.browser.locators import expect_live, mark_page, page_was_kept, toast

pytestmark = pytest.mark.browser

# One attempt, no retries: the failure is final at once and the test never waits for a retry.
NO_RETRIES = {
    "healthyRetryPolicy": {
        "numRetries": 0,
        "minDelayTarget": 1,
        "maxDelayTarget": 1,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "numMaxDelayRetries": 0,
        "backoffFunction": "linear",
    }
}


@pytest.fixture
def failing_endpoint():
    """An HTTP subscriber that confirms, then answers every notification with 500."""
    endpoint = FailingEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def topic_name():
    return f"b-{uuid.uuid4().hex[:8]}"


def test_topic_created_from_the_overview_form_opens_its_page(operator_page, topic_name):
    page = operator_page
    page.goto("/")
    page.locator("summary", has_text="Create topic").click()
    form = page.locator("#create-topic")
    form.get_by_label("Name").fill(topic_name)
    form.get_by_role("button", name="Create topic").click()

    expect(page).to_have_url(re.compile(rf"/topics/{topic_name}/$"))
    expect(page.get_by_role("heading", name=topic_name, level=1)).to_be_visible()
    expect(toast(page, f"Created topic {topic_name}.")).to_be_visible()
    expect(page.get_by_text("No subscriptions yet")).to_be_visible()


def test_failed_delivery_shows_in_the_log_and_replays(
    operator_page, topic_name, sns, failing_endpoint, roost_worker
):
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    page = operator_page
    page.goto(f"/topics/{topic_name}/")
    expect_live(page)
    mark_page(page)

    form = page.locator("#subscribe-form")
    form.get_by_label("Protocol").select_option("http")
    form.get_by_label("URL").fill(failing_endpoint.url)
    form.get_by_role("button", name="Subscribe").click()
    expect(toast(page, "stays pending until it confirms")).to_be_visible()

    row = page.locator("#subscriptions tbody tr").filter(has_text=failing_endpoint.url)
    expect(row.locator(".badge")).to_have_text("Confirmed")  # live: the endpoint confirmed
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"],
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(NO_RETRIES),
    )

    body = f"hello {uuid.uuid4().hex[:6]}"
    publish = page.locator("#publish-form")
    publish.get_by_label("Message", exact=True).fill(body)
    publish.get_by_role("button", name="Publish message").click()
    expect(toast(page, "Published message")).to_be_visible()
    expect(row.locator(".state")).to_have_text("Failed")
    assert page_was_kept(page)

    row.get_by_role("link", name=re.compile("^Delivery log of")).click()
    log = page.locator("section.delivery-log")
    delivery = log.locator("li.delivery").filter(has_text=body)
    expect(delivery.locator(".delivery-head .state")).to_have_text("Failed")
    attempts = delivery.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("500")
    expect_live(page)
    mark_page(page)

    delivery.get_by_role("button", name=re.compile("^Replay")).click()
    expect(toast(page, "Replaying delivery")).to_be_visible()
    replay = log.locator("li.delivery").filter(has_text="Replay of delivery")
    expect(replay.locator(".delivery-head .state")).to_have_text("Failed")
    expect(replay.locator("table.attempts tbody tr")).to_have_count(1)
    expect(replay.locator("table.attempts tbody tr").first).to_contain_text("500")
    expect(attempts).to_have_count(2)  # the replayed delivery's, and the replay's
    assert len(failing_endpoint.notifications) == 2
    assert page_was_kept(page)


TOPIC_ACTIONS = [
    "summary:text-is('Add a subscription')",
    "#publish-form",
    "#delete a",
    "#settings a:text-is('Edit')",
    "#subscriptions a:text-is('Remove…')",
    "#subscriptions button[role=switch]",
]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_operators_see_topic_actions(request, role, topic_name, sns, make_queue, sqs_json):
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_arn = sqs_json.get_queue_attributes(QueueUrl=make_queue(), AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    page = request.getfixturevalue(f"{role}_page")
    page.goto(f"/topics/{topic_name}/")
    expect(page.locator("#subscriptions tbody tr")).to_have_count(1)
    for selector in TOPIC_ACTIONS:
        actions = page.locator(selector)
        if role == "operator":
            expect(actions.first, selector).to_be_visible()
        else:
            expect(actions, selector).to_have_count(0)
