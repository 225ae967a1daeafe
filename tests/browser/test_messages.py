"""The message list for daily work in a real browser: a compact table whose rows expand, a page
per message (pretty JSON, copy, download, countdown, delete), and deleting several at once."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations
from tests.browser.conftest import new_context
from tests.browser.locators import (
    expand,
    mark_page,
    message_row,
    message_rows,
    page_was_kept,
    send_form,
    stat,
    toast,
)

pytestmark = pytest.mark.browser


def _name(url):
    return url.rsplit("/", 1)[1]


def _count(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _send_many(sqs, url, bodies):
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(number), "MessageBody": body}
            for number, body in enumerate(bodies[start : start + 10])
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def test_the_table_is_compact_counts_the_queue_and_rows_expand(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = _name(url)
    _send_many(sqs_json, url, [f"line one of {number}\nline two" for number in range(29)])
    sqs_json.send_message(
        QueueUrl=url,
        MessageBody='{"order": 30}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "refund"}},
    )
    page = operator_page
    page.goto(f"/queues/{name}/")

    rows = message_rows(page)
    expect(rows).to_have_count(25)
    expect(page.locator("#message-page .position")).to_have_text("1–25 of 30")
    # The first screen holds the depth, the actions and the start of the list.
    for region in (page.locator("#queue-stats"), page.locator("#send summary"), rows.first):
        expect(region).to_be_in_viewport()
    first = message_row(page, "line one of 0")
    expect(first.locator(".first-line")).to_have_text("line one of 0")
    height = first.locator("tr").first.bounding_box()["height"]
    assert height < 60, f"a row is {height}px tall"
    expect(first.locator("tr.message-details")).to_be_hidden()

    toggle = first.get_by_role("button", name=re.compile("^Show message "))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    details = expand(first)
    expect(toggle).to_have_attribute("aria-expanded", "true")
    body = details.locator("pre.body")
    expect(body).to_have_text("line one of 0\nline two")
    body.focus()  # a scrollable body takes the keyboard
    expect(body).to_be_focused()
    toggle.click()
    expect(details).to_be_hidden()

    page.get_by_role("link", name="Next →").first.click()
    expect(page.locator("#message-page .position")).to_have_text("26–30 of 30")
    last = message_row(page, '{"order": 30}')
    expect(expand(last).locator(".message-attributes")).to_contain_text("refund")


def test_a_message_page_shows_pretty_json_copies_downloads_and_counts_down(
    operator_page, make_queue, sqs_json
):
    url = make_queue()
    name = _name(url)
    body = json.dumps({"order": 7, "items": ["book", "<pen>"]})
    message_id = sqs_json.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
    sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=600)
    page = operator_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/queues/{name}/")
    message_rows(page).first.get_by_role("link", name=message_id).click()

    expect(page).to_have_url(re.compile(rf"/queues/{name}/messages/{message_id}/\?pk=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(message_id)
    pretty = json.dumps(json.loads(body), indent=2)
    expect(page.locator("#message-body")).to_have_text(pretty)
    expect(page.locator(".system-attributes")).to_contain_text("ApproximateReceiveCount1")

    page.get_by_role("button", name="Copy body").click()
    expect(toast(page, "Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == pretty

    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download").click()
    download = downloaded.value
    assert download.suggested_filename == f"{message_id}.json"
    with open(download.path(), encoding="utf-8") as file:
        assert file.read() == body

    countdown = page.locator("#message-state time[data-countdown]")
    expect(page.locator("#message-state")).to_contain_text("In flight · visible again")
    expect(countdown).to_have_text(re.compile(r"^in \d+ min \d+ s$"))
    shown = countdown.text_content()
    expect(countdown).not_to_have_text(shown)  # it ticks

    # Looking received nothing: SQS still counts one receive.
    assert _count(sqs_json, url) == 1
    page.reload()
    expect(page.locator(".system-attributes")).to_contain_text("ApproximateReceiveCount1")


def test_deleting_from_the_message_page_asks_first_and_then_it_is_gone(
    operator_page, make_queue, sqs_json
):
    url = make_queue()
    name = _name(url)
    message_id = sqs_json.send_message(QueueUrl=url, MessageBody="doomed")["MessageId"]
    sqs_json.send_message(QueueUrl=url, MessageBody="kept")
    page = operator_page
    page.goto(f"/queues/{name}/")
    message_row(page, "doomed").get_by_role("link", name=message_id).click()
    message_page = page.url

    page.get_by_role("link", name="Delete message…").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("heading", name="Delete this message?")).to_be_visible()
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Delete message").click()

    expect(page).to_have_url(re.compile(rf"/queues/{name}/\?undo=[0-9a-f-]+$"))
    expect(toast(page, f"Deleted message {message_id}.")).to_be_visible()
    expect(message_rows(page)).to_have_count(1)
    assert _count(sqs_json, url) == 1

    # Gone from the queue, its page now tells how it left: its lineage's timeline.
    response = page.goto(message_page)
    assert response.status == 200
    expect(page.locator("#message-ended")).to_contain_text("This message was deleted at")
    expect(page.locator("#timeline li.timeline-event").last).to_contain_text("Deleted by operator")
    page.get_by_role("link", name=f"Back to {name}'s messages").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_an_operator_selects_some_messages_and_deletes_them(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = _name(url)
    _send_many(sqs_json, url, [f"message {number}" for number in range(5)])
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(message_rows(page)).to_have_count(5)
    mark_page(page)

    for body in ("message 1", "message 3"):
        message_row(page, body).get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected…").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("heading", name="Delete 2 messages?")).to_be_visible()
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Delete 2 messages").click()

    expect(dialog).to_be_hidden()
    expect(toast(page, "Deleted 2 messages.")).to_be_visible()
    expect(message_rows(page)).to_have_count(3)
    expect(message_row(page, "message 1")).to_have_count(0)
    expect(stat(page, "visible")).to_have_text("3")
    assert page_was_kept(page)

    # The header checkbox ticks the whole page.
    page.get_by_role("checkbox", name="Select every message on this page").check()
    for row in message_rows(page).all():
        expect(row.get_by_role("checkbox")).to_be_checked()
    page.get_by_role("button", name="Delete selected…").click()
    expect(dialog.get_by_role("heading", name="Delete 3 messages?")).to_be_visible()
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert _count(sqs_json, url) == 3


def test_an_operator_deletes_all_messages_matching_a_filter(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = _name(url)
    _send_many(sqs_json, url, [f"refund {n}" for n in range(4)] + [f"order {n}" for n in range(3)])
    page = operator_page
    page.goto(f"/queues/{name}/")
    page.locator("summary", has_text="Filter messages").click()
    page.get_by_label("Body contains").fill("refund")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#message-page .position")).to_have_text("1–4 of 4")

    page.get_by_role("button", name="Delete all 4 matching…").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("heading", name="Delete 4 messages?")).to_be_visible()
    expect(dialog).to_contain_text("matches the filters")
    dialog.get_by_role("button", name="Delete 4 messages").click()

    expect(toast(page, "Deleted 4 messages.")).to_be_visible()
    expect(page.locator("#message-page")).to_contain_text("No messages match these filters")
    expect(stat(page, "visible")).to_have_text("3")
    assert _count(sqs_json, url) == 3


def test_a_viewer_sees_no_delete_controls_and_the_server_refuses_them(
    viewer_page, make_queue, sqs_json
):
    url = make_queue()
    name = _name(url)
    message_id = sqs_json.send_message(QueueUrl=url, MessageBody="look, don't touch")["MessageId"]
    page = viewer_page
    page.goto(f"/queues/{name}/")
    expect(message_rows(page)).to_have_count(1)
    expect(page.locator("#message-page input[type=checkbox]")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    expect(page.locator("details#send")).to_have_count(0)
    message_rows(page).get_by_role("link", name=message_id).click()
    expect(page.locator("#message-body")).to_have_text("look, don't touch")
    expect(page.get_by_role("link", name="Delete message…")).to_have_count(0)

    # Posting anyway, with the session's CSRF token, is refused.
    statuses = page.evaluate(
        """async ([name, messageId]) => {
        const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
        const post = (path, body) => fetch(path, {method: "POST", body,
            headers: {"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"}});
        return [
            (await post(`/queues/${name}/messages/delete`, "scope=matching")).status,
            (await post(`/queues/${name}/messages/${messageId}/delete`, "")).status,
        ];
    }""",
        [name, message_id],
    )
    assert statuses == [403, 403]
    assert _count(sqs_json, url) == 1


def test_the_send_form_sits_before_the_list(operator_page, make_queue, sqs_json):
    url = make_queue()
    _send_many(sqs_json, url, [f"filler {n}" for n in range(25)])
    page = operator_page
    page.goto(f"/queues/{_name(url)}/")
    form = send_form(page)
    expect(form).to_be_in_viewport()
    form.get_by_label("Body").fill("sent from the side")
    form.get_by_role("button", name="Send message").click()
    expect(toast(page, "Sent message")).to_be_visible()
    expect(page.locator("#message-page .position")).to_have_text("1–25 of 26")


def test_the_message_table_page_and_dialogs_pass_axe(
    browser, roost_server, operator_state, make_queue, sqs_json
):
    url = make_queue(FifoQueue=True, ContentBasedDeduplication=True)
    name = _name(url)
    message_id = sqs_json.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"long": "x" * 3000, "lines": list(range(200))}),
        MessageGroupId="customer-1",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "refund"}},
    )["MessageId"]
    context = new_context(browser, roost_server.url, operator_state)
    try:
        page = context.new_page()
        page.goto(f"/queues/{name}/")
        expand(message_rows(page).first)
        found = serious_violations(page, "queue page, a row expanded")
        page.get_by_role("checkbox", name="Select every message on this page").check()
        page.get_by_role("button", name="Delete selected…").click()
        expect(page.locator("dialog#dialog")).to_be_visible()
        found += serious_violations(page, "delete messages dialog")
        page.keyboard.press("Escape")

        page.goto(f"/queues/{name}/messages/{message_id}/")
        found += serious_violations(page, "message page")
        page.get_by_role("link", name="Delete message…").click()
        expect(page.locator("dialog#dialog")).to_be_visible()
        found += serious_violations(page, "delete message dialog")

        page.goto(f"/queues/{name}/messages/no-such-message/")
        found += serious_violations(page, "message not found")
    finally:
        context.close()
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)


def test_on_a_dead_letter_queue_ticked_messages_can_be_deleted_or_redriven(
    operator_page, make_queue, sqs_json
):
    dead_letters = make_queue()
    arn = sqs_json.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    source = make_queue(
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    )
    _send_many(sqs_json, dead_letters, ["poison 1", "poison 2", "poison 3"])
    page = operator_page
    page.goto(f"/queues/{_name(dead_letters)}/")
    expect(message_rows(page)).to_have_count(3)

    message_row(page, "poison 1").get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected…").click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("button", name="Delete 1 message").click()
    expect(toast(page, "Deleted 1 message.")).to_be_visible()
    expect(message_rows(page)).to_have_count(2)

    message_row(page, "poison 2").get_by_role("checkbox").check()
    page.get_by_label("Move to").select_option(_name(source))
    page.get_by_role("button", name="Redrive selected messages").click()
    expect(toast(page, f"Moved 1 message to {_name(source)}.")).to_be_visible()
    assert _count(sqs_json, dead_letters) == 1
    assert _count(sqs_json, source) == 1
