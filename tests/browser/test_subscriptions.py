"""Subscriptions that explain themselves, in a real browser: confirmation attempts and resending
them, the delivery log's numbering, replays and JSON bodies, and the subscribe form's fields."""

import json
import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.locators import expect_live, mark_page, page_was_kept, toast
from tests.notifications.receivers import HttpReceiver

pytestmark = pytest.mark.browser

# One retry a second after the first attempt: a failed delivery shows attempts 1 and 2.
ONE_RETRY = {
    "healthyRetryPolicy": {
        "numRetries": 1,
        "minDelayTarget": 1,
        "maxDelayTarget": 1,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "numMaxDelayRetries": 0,
        "backoffFunction": "linear",
    }
}


@pytest.fixture
def receiver():
    """A web hook in the test process that records what it gets and fails on command."""
    endpoint = HttpReceiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def topic_name():
    return f"s-{uuid.uuid4().hex[:8]}"


def subscribe_from_the_page(page, protocol, endpoint):
    form = page.locator("#subscribe-form")
    if not form.is_visible():
        page.locator("summary", has_text="Add a subscription").click()
    form.get_by_label("Protocol").select_option(protocol)
    form.locator("#subscribe-endpoint").fill(endpoint)
    form.get_by_role("button", name="Subscribe").click()


def subscription_row(page, endpoint):
    return page.locator("#subscriptions tbody tr").filter(has_text=endpoint)


def test_confirmation_attempts_show_resend_adds_one_and_confirming_ends_them(
    operator_page, sns, topic_name, receiver, roost_worker
):
    sns.create_topic(Name=topic_name)
    receiver.fail("/hook")  # every confirmation is answered with 500
    endpoint = receiver.endpoint("/hook")
    page = operator_page
    page.goto(f"/topics/{topic_name}/")
    expect_live(page)
    mark_page(page)

    subscribe_from_the_page(page, "http", endpoint)
    expect(toast(page, "stays pending until it confirms")).to_be_visible()
    row = subscription_row(page, endpoint)
    expect(row.locator(".badge")).to_have_text("Pending confirmation")
    expect(row).to_contain_text(re.compile(r"Confirmation \d+ .*HTTP 500", re.DOTALL))  # live

    row.get_by_role("link", name=f"Edit the subscription of {endpoint}").click()
    panel = page.locator("#subscription-panel")
    attempts = panel.locator("table.confirmation-attempts tbody tr")
    first = attempts.filter(has_text="Subscribed")
    expect(first).to_contain_text("HTTP 500")
    expect(first).to_contain_text("HTTP 500 Internal Server Error: receiver told to fail")
    expect(panel).to_contain_text("waiting for the endpoint to visit the SubscribeURL")

    panel.get_by_role("button", name=f"Resend the confirmation to {endpoint}").click()
    expect(toast(page, f"Sending a new confirmation to {endpoint}.")).to_be_visible()
    resent = attempts.filter(has_text="Resent by operator")
    expect(resent).to_have_count(1)  # appears once the worker has sent it, without a reload
    expect(resent).to_contain_text("HTTP 500")

    panel.get_by_role("button", name=f"Resend the confirmation to {endpoint}").click()
    expect(toast(page, "you can send another in")).to_be_visible()

    # The endpoint comes back and visits the SubscribeURL it was sent, as a real one would.
    receiver.fail("/hook", times=0)
    subscribe_url = receiver.requests("/hook")[-1].json()["SubscribeURL"]
    assert httpx.get(subscribe_url, timeout=10).status_code == 200
    expect(row.locator(".badge")).to_have_text("Confirmed")
    expect(panel.locator(".confirmation")).to_contain_text("Confirmed")
    expect(panel.get_by_role("button", name=re.compile("^Resend the confirmation"))).to_have_count(
        0
    )
    assert page_was_kept(page)


def test_the_delivery_log_numbers_attempts_and_shows_a_replay_as_its_own_row(
    operator_page, sns, topic_name, receiver, roost_worker
):
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    endpoint = receiver.endpoint("/orders")
    subscription_arn = sns.subscribe(
        TopicArn=topic_arn, Protocol="http", Endpoint=endpoint, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    confirmation = receiver.wait_for("/orders")[0].json()
    sns.confirm_subscription(TopicArn=topic_arn, Token=confirmation["Token"])
    sns.set_subscription_attributes(
        SubscriptionArn=subscription_arn,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(ONE_RETRY),
    )
    receiver.fail("/orders")  # every notification fails from now on
    marker = uuid.uuid4().hex[:6]
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"order": marker, "note": "<b>rush</b>"}))

    page = operator_page
    page.goto(f"/topics/{topic_name}/")
    row = subscription_row(page, endpoint)
    expect(row.locator(".state")).to_have_text("Failed", timeout=20_000)
    row.get_by_role("link", name=f"Delivery log of {endpoint}").click()
    expect_live(page)
    mark_page(page)
    log = page.locator("section.delivery-log")
    failed = log.locator("li.delivery").filter(has_text=marker)
    expect(failed).to_have_count(1)
    failed = page.locator(f"#{failed.get_attribute('id')}")  # the replay will carry the marker too
    expect(failed.locator(".attempt-count")).to_have_text("2 attempts")
    numbers = failed.locator("table.attempts tbody tr td.num:first-child")
    expect(numbers).to_have_text(["1 of 2", "2 of 2"])
    body = failed.locator("pre.body")
    expect(body).to_have_text(
        json.dumps({"order": marker, "note": "<b>rush</b>"}, indent=2), use_inner_text=True
    )
    expect(body.locator("b")).to_have_count(0)  # escaped, never markup

    failed.get_by_role("button", name=re.compile("^Replay delivery")).click()
    expect(
        toast(page, re.compile(r"Replaying delivery \d+ to .* as delivery \d+\."))
    ).to_be_visible()
    replay = log.locator("li.delivery").filter(has_text="Replay of delivery")
    expect(replay).to_have_count(1)  # its own row, live
    expect(replay).to_contain_text("asked for by operator")
    expect(replay.locator(".delivery-head .state")).to_have_text("Failed", timeout=20_000)
    expect(replay.locator("table.attempts tbody tr td.num:first-child")).to_have_text(
        ["1 of 2", "2 of 2"]
    )
    expect(failed).to_contain_text(re.compile(r"Replayed as delivery \d+ by operator"))
    expect(failed.get_by_role("button", name=re.compile("^Replay delivery"))).to_have_count(0)
    expect(failed.locator(".attempt-count")).to_have_text("2 attempts")  # unchanged
    assert page_was_kept(page)


def test_the_subscribe_form_shows_the_fields_of_the_chosen_protocol(operator_page, sns, topic_name):
    sns.create_topic(Name=topic_name)
    page = operator_page
    page.goto(f"/topics/{topic_name}/")
    form = page.locator("#subscribe-form")
    queue = form.get_by_label("Queue (sqs)")
    raw = form.get_by_label("Raw message delivery")
    endpoint = form.locator("#subscribe-endpoint")
    label = form.locator('label[for="subscribe-endpoint"]')

    expect(form.get_by_label("Protocol")).to_have_value("sqs")
    expect(queue).to_be_visible()
    expect(raw).to_be_visible()
    expect(label).to_have_text("Queue ARN")

    form.get_by_label("Protocol").select_option("https")
    expect(queue).to_be_hidden()
    expect(raw).to_be_visible()
    expect(label).to_have_text("URL")
    expect(endpoint).to_have_attribute("placeholder", "https://example.com/sns-hook")

    form.get_by_label("Protocol").select_option("email")
    expect(queue).to_be_hidden()
    expect(raw).to_be_hidden()
    expect(label).to_have_text("Email address")
    expect(form.locator("#subscribe-endpoint_helptext")).to_contain_text("confirmation email")

    form.get_by_label("Protocol").select_option("sqs")
    expect(queue).to_be_visible()
    expect(raw).to_be_visible()


def test_without_javascript_the_subscribe_form_shows_every_field_and_works(
    browser, roost_server, operator_state, sns, topic_name
):
    sns.create_topic(Name=topic_name)
    context = browser.new_context(
        base_url=roost_server.url, storage_state=operator_state, java_script_enabled=False
    )
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"/topics/{topic_name}/")
        form = page.locator("#subscribe-form")
        expect(form.get_by_label("Queue (sqs)")).to_be_visible()
        expect(form.get_by_label("Raw message delivery")).to_be_visible()
        expect(form.locator('label[for="subscribe-endpoint"]')).to_have_text("Endpoint")
        form.get_by_label("Protocol").select_option("email")
        expect(form.get_by_label("Queue (sqs)")).to_be_visible()  # nothing hides without JS
        form.locator("#subscribe-endpoint").fill(f"{topic_name}@example.com")
        form.get_by_role("button", name="Subscribe").click()
        row = subscription_row(page, f"{topic_name}@example.com")
        expect(row.locator(".badge")).to_have_text("Pending confirmation")
    finally:
        context.close()
