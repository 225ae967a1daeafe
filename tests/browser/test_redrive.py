"""Dead-letter queues in a real browser: messages dead-letter, a move task redrives them."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser.locators import (
    expand,
    expect_live,
    mark_page,
    message_rows,
    page_was_kept,
    stat,
    toast,
)

pytestmark = pytest.mark.browser

MESSAGES = 3


def _attribute(sqs, url, name):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]


def dead_letter(sqs, url):
    """Receive the queue's messages until its redrive policy has moved them all away."""
    for _ in range(10):
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if _attribute(sqs, url, "ApproximateNumberOfMessages") == "0":
            return
    pytest.fail(f"{url} still holds messages after ten receives")


def record_progress(page):
    """Note every value the move task's progress bar shows, as live updates replace it."""
    page.evaluate(
        """() => {
        window.__progressSeen = [];
        new MutationObserver(() => {
            const bar = document.querySelector("#move-tasks progress");
            const seen = window.__progressSeen;
            if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
        }).observe(document.body, {childList: true, subtree: true});
    }"""
    )


def test_redrive_moves_dead_letters_back_with_a_move_task(
    operator_page, make_queue, sqs_json, roost_worker
):
    dead_letters = make_queue()
    policy = {"deadLetterTargetArn": _attribute(sqs_json, dead_letters, "QueueArn")}
    source = make_queue(RedrivePolicy=json.dumps({**policy, "maxReceiveCount": 1}))
    dead_letters_name, source_name = dead_letters.rsplit("/", 1)[1], source.rsplit("/", 1)[1]
    for number in range(MESSAGES):
        sqs_json.send_message(QueueUrl=source, MessageBody=f"poison {number}")
    dead_letter(sqs_json, source)
    assert _attribute(sqs_json, dead_letters, "ApproximateNumberOfMessages") == str(MESSAGES)

    source_page = operator_page.context.new_page()
    source_page.goto(f"/queues/{source_name}/")
    expect(stat(source_page, "visible")).to_have_text("0")
    expect_live(source_page)

    page = operator_page
    page.goto(f"/queues/{dead_letters_name}/")
    expect(page.locator("#queue-stats")).to_contain_text(f"{MESSAGES} dead-lettered messages")
    messages = message_rows(page)
    expect(messages).to_have_count(MESSAGES)
    expect(expand(messages.first)).to_contain_text(f"Dead-lettered from{source_name}")
    expect(page.locator("#move-tasks")).to_contain_text("No move tasks yet.")
    expect_live(page)
    mark_page(page)

    record_progress(page)

    # One message a second, so the task runs long enough to be seen running.
    page.get_by_label("Messages per second").fill("1")
    page.get_by_role("button", name="Redrive all messages").click()
    expect(toast(page, f"Started moving {dead_letters_name}'s messages")).to_be_visible()
    task = page.locator("#move-tasks tbody tr")
    expect(task).to_have_count(1)
    expect(task.locator(".state")).to_have_text("Running")
    expect(task.locator(".state")).to_have_text("Completed")
    progress = task.locator("progress")
    expect(progress).to_have_attribute("value", str(MESSAGES))
    expect(progress).to_have_attribute("max", str(MESSAGES))
    expect(task).to_contain_text(f"{MESSAGES} of {MESSAGES}")
    seen = page.evaluate("window.__progressSeen")
    assert any(0 < value < MESSAGES for value in seen), f"progress went {seen}, never in between"
    expect(stat(page, "visible")).to_have_text("0")

    # The source queue's page, open all along, shows its messages back.
    expect(stat(source_page, "visible")).to_have_text(str(MESSAGES))
    assert page_was_kept(page)
    assert _attribute(sqs_json, source, "ApproximateNumberOfMessages") == str(MESSAGES)
