"""Selective redrive in a real browser: filter a DLQ's messages, preview the plan, edit a body,
start the move task, watch its progress; and cancel one."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser.locators import expect_live, mark_page, page_was_kept, toast

pytestmark = pytest.mark.browser


def _attribute(sqs, url, name):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]


def dead_letter(sqs, url):
    """Receive the queue's messages until its redrive policy has moved them all away."""
    for _ in range(10):
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if _attribute(sqs, url, "ApproximateNumberOfMessages") == "0":
            return
    pytest.fail(f"{url} still holds messages after ten receives")


@pytest.fixture
def orders(make_queue, sqs_json):
    """A DLQ holding four orders dead-lettered from a source, #1 and #3 failed: (dlq, source)."""
    dead_letters = make_queue()
    policy = {"deadLetterTargetArn": _attribute(sqs_json, dead_letters, "QueueArn")}
    source = make_queue(RedrivePolicy=json.dumps({**policy, "maxReceiveCount": 1}))
    for number in range(1, 5):
        status = "failed" if number % 2 else "ok"
        body = json.dumps({"order": {"id": number, "status": status}})
        sqs_json.send_message(QueueUrl=source, MessageBody=body)
    dead_letter(sqs_json, source)
    return dead_letters, source


def open_selective_redrive(page, dead_letters):
    page.goto(f"/queues/{dead_letters.rsplit('/', 1)[1]}/")
    expect_live(page)
    mark_page(page)
    page.get_by_text("Redrive selected messages, by filter").click()
    form = page.locator("#selective-redrive-form")
    expect(form).to_be_visible()
    return form


def test_selective_redrive_previews_edits_and_moves_only_the_selection(
    operator_page, orders, sqs_json, roost_worker
):
    dead_letters, source = orders
    page = operator_page
    form = open_selective_redrive(page, dead_letters)

    form.get_by_label("JSON path").fill('$.order.status == "failed"')
    form.get_by_role("button", name="Preview").click()
    summary = page.locator("#redrive-plan-summary")
    expect(summary).to_contain_text("2 messages match, 2 can move")
    expect(page.locator("#redrive-plan-destinations")).to_contain_text(source.rsplit("/", 1)[1])
    samples = page.locator(".redrive-sample > li")
    expect(samples).to_have_count(2)
    assert _attribute(sqs_json, dead_letters, "ApproximateNumberOfMessages") == "4"

    first = samples.first
    first.get_by_text("Edit body").click()
    fixed = json.dumps({"order": {"id": 1, "status": "retry"}})
    first.locator("textarea").fill(fixed)
    form.get_by_role("button", name="Preview").click()
    expect(page.locator(".redrive-sample > li").first.locator(".badge")).to_have_text("Edited")

    page.get_by_role("button", name="Start redrive of 2 messages").click()
    expect(toast(page, "Started redriving 2 messages")).to_be_visible()
    task = page.locator("#move-tasks tbody tr")
    expect(task).to_have_count(1)
    expect(task.locator(".state")).to_have_text("Completed")
    expect(task).to_contain_text("2 of 2")
    assert page_was_kept(page)

    assert _attribute(sqs_json, dead_letters, "ApproximateNumberOfMessages") == "2"
    moved = sqs_json.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted(message["Body"] for message in moved)
    assert bodies == sorted([fixed, json.dumps({"order": {"id": 3, "status": "failed"}})])


def test_a_bad_filter_is_explained_beside_the_form(operator_page, orders):
    dead_letters, _source = orders
    page = operator_page
    form = open_selective_redrive(page, dead_letters)

    form.get_by_label("JSON path").fill("$.order.status = 1")
    form.get_by_role("button", name="Preview").click()

    expect(page.locator("#selective-redrive-form .field-error").first).to_contain_text(
        "expect == or contains"
    )
    expect(page.locator("#redrive-plan")).to_have_count(0)


def test_a_slow_selective_redrive_can_be_cancelled(operator_page, orders, sqs_json, roost_worker):
    dead_letters, _source = orders
    page = operator_page
    form = open_selective_redrive(page, dead_letters)

    form.get_by_label("Messages per second").fill("1")
    form.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Start redrive of 4 messages").click()
    task = page.locator("#move-tasks tbody tr")
    expect(task.locator(".state")).to_have_text("Running")
    task.get_by_role("button", name="Cancel").click()

    expect(task.locator(".state")).to_have_text("Cancelled")
    moved = int(task.locator("progress").get_attribute("value"))
    assert moved < 4
    assert _attribute(sqs_json, dead_letters, "ApproximateNumberOfMessages") == str(4 - moved)
