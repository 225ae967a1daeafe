"""History charts and alarms in a real browser: the range picker, creating an alarm, and the
overview's ALARM badge once beat's evaluation (run here by hand) finds the queue over its line."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations
from tests.browser.locators import expect_live, toast

pytestmark = pytest.mark.browser

EVALUATE = (
    "from queues import history; from notifications import service; "
    "history.record_queue_history(); service.evaluate_alarms()"
)


@pytest.fixture
def watched(sqs_json, sns):
    """A queue holding three messages and a topic for its alarms, made through the SDKs."""
    name = f"h-{uuid.uuid4().hex[:8]}"
    url = sqs_json.create_queue(QueueName=name)["QueueUrl"]
    for index in range(3):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"m{index}")
    sns.create_topic(Name=f"{name}-alarms")
    return name


def test_range_picker_swaps_the_chart_and_the_address(operator_page, watched):
    page = operator_page
    page.goto(f"/queues/{watched}/")
    expect_live(page)
    chart = page.locator("#queue-chart")
    expect(chart.get_by_role("heading", name="Last hour")).to_be_visible()
    expect(chart.get_by_role("img", name=re.compile("over the last hour"))).to_have_count(4)

    chart.get_by_role("link", name="7 d").click()
    expect(chart.get_by_role("heading", name="Last 7 days")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?range=7d$"))
    expect(chart.get_by_role("link", name="7 d")).to_have_attribute("aria-current", "true")
    expect(
        chart.get_by_role("img", name=re.compile("per hour over the last 7 days"))
    ).to_have_count(2)
    expect_live(page)  # the stream follows the new address, so live updates keep the range
    expect(chart.get_by_role("heading", name="Last 7 days")).to_be_visible()

    assert serious_violations(page, "queue page, 7-day chart") == []

    page.goto(f"/queues/{watched}/?range=24h")  # the address alone picks it, without htmx
    expect(page.locator("#queue-chart h2")).to_have_text("Last 24 hours")


def test_topic_page_charts_its_publishes_over_the_range_picked(operator_page, sns, watched):
    topic_arn = sns.create_topic(Name=f"{watched}-alarms")["TopicArn"]
    sns.publish(TopicArn=topic_arn, Message="hello")
    page = operator_page
    page.goto(f"/topics/{watched}-alarms/")
    expect_live(page)
    chart = page.locator("#topic-chart")
    expect(chart.get_by_role("img", name=re.compile("published per minute"))).to_be_visible()
    chart.get_by_role("link", name="30 d").click()
    expect(chart.get_by_role("heading", name="Last 30 days")).to_be_visible()
    expect(chart.get_by_role("img", name=re.compile("published per hour"))).to_be_visible()
    assert serious_violations(page, "topic page, 30-day chart") == []


def test_an_alarm_created_on_the_queue_page_shows_on_the_overview_once_in_alarm(
    operator_page, roost_server, watched
):
    page = operator_page
    page.goto(f"/queues/{watched}/#alarms")
    expect_live(page)
    alarms = page.locator("#alarms")
    alarms.get_by_label("Name").fill(f"{watched} backlog")
    alarms.get_by_label("When").select_option("depth")
    alarms.get_by_label("Threshold").fill("2")
    alarms.get_by_label("For minutes").fill("1")
    alarms.get_by_label("Publish to topic").select_option(f"{watched}-alarms")
    alarms.get_by_role("button", name="Create alarm").click()
    expect(toast(page, f"Created alarm {watched} backlog.")).to_be_visible()
    row = page.locator("#alarms tbody tr", has_text=f"{watched} backlog")
    expect(row).to_contain_text("INSUFFICIENT_DATA")
    expect(row).to_contain_text("more than 2 visible for 1 min")
    alarms = page.locator("#alarms")  # swapped: the form is a new one
    alarms.get_by_label("Name").fill(f"{watched} backlog")
    alarms.get_by_label("Threshold").fill("5")
    alarms.get_by_role("button", name="Create alarm").click()
    expect(alarms.locator(".field-error")).to_contain_text("exists already")

    roost_server.manage("shell", "-c", EVALUATE)
    page.goto(f"/?q={watched}")
    queue_row = page.locator("#queue-list tbody tr", has_text=watched)
    expect(queue_row.locator(".badge", has_text="ALARM")).to_be_visible()
    expect(page.locator("#alarm-count")).to_contain_text("in ALARM")

    page.goto(f"/queues/{watched}/#alarms")
    expect(row).to_contain_text("ALARM")
    expect(row).to_contain_text("Threshold Crossed")
    assert serious_violations(page, "queue page with an alarm in ALARM") == []

    row.get_by_role("button", name=f"Delete alarm {watched} backlog").click()
    expect(toast(page, f"Deleted alarm {watched} backlog.")).to_be_visible()
    expect(page.locator("#alarms")).to_contain_text("No alarms.")
