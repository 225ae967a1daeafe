"""Undo in a real browser: purge or delete from the console, Undo from the banner or the Trash
section, the messages back in their order; an SQS purge listed in the Trash; the audit log page
filtered by queue and action."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.locators import expect_live, message_row, message_rows, stat, toast

pytestmark = pytest.mark.browser


def purge_in_console(page, name):
    page.get_by_role("link", name="Purge messages…").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=f"Purge {name}").click()
    expect(dialog).to_be_hidden()


def test_a_console_purge_is_undone_from_its_banner(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    for number in range(3):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"kept {number}")
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(stat(page, "visible")).to_have_text("3")

    purge_in_console(page, name)

    banner = page.locator("#undo-banner")
    expect(banner).to_contain_text("Purged 3 messages.")
    expect(stat(page, "visible")).to_have_text("0")
    expect(page.locator("#trash tbody tr")).to_have_count(1)
    banner.get_by_role("button", name=re.compile("^Undo")).click()

    expect(toast(page, "Restored 3 messages.")).to_be_visible()
    expect(banner).to_be_empty()
    expect(stat(page, "visible")).to_have_text("3")
    expect(page.locator("#trash")).to_contain_text("Nothing to undo")
    expect(message_rows(page)).to_have_count(3)
    bodies = [
        message["Body"]
        for message in sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies == ["kept 0", "kept 1", "kept 2"]


def test_an_sqs_purge_appears_in_the_trash_and_is_undone_there(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs_json.send_message(QueueUrl=url, MessageBody="back again")
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect_live(page)

    sqs_json.purge_queue(QueueUrl=url)

    row = page.locator("#trash tbody tr")
    expect(row).to_have_count(1)  # the live stream brings it in
    expect(row).to_contain_text("Purge")
    expect(row).to_contain_text("(sqs)")
    row.get_by_role("button", name=re.compile("^Undo")).click()
    expect(toast(page, "Restored 1 message.")).to_be_visible()
    expect(stat(page, "visible")).to_have_text("1")


def test_messages_deleted_in_the_explorer_come_back(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    for number in range(3):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"row {number}")
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(message_rows(page)).to_have_count(3)

    for body in ("row 0", "row 2"):
        message_row(page, body).get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected…").click()
    page.locator("dialog#dialog").get_by_role("button", name="Delete 2 messages").click()

    expect(page.locator("#undo-banner")).to_contain_text("Deleted 2 messages.")
    expect(message_rows(page)).to_have_count(1)
    page.locator("#undo-banner").get_by_role("button", name=re.compile("^Undo")).click()
    expect(toast(page, "Restored 2 messages.")).to_be_visible()
    expect(stat(page, "visible")).to_have_text("3")
    expect(message_rows(page)).to_have_count(3)
    expect(message_rows(page).first).to_contain_text("row 0")


def test_the_audit_log_page_filters_by_queue_and_action(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs_json.send_message(QueueUrl=url, MessageBody="x")
    sqs_json.purge_queue(QueueUrl=url)
    page = operator_page
    page.goto(f"/queues/{name}/")

    page.locator("#trash").get_by_role("link", name="History of changes").click()

    expect(page).to_have_url(re.compile(rf"/audit/\?queue={name}$"))
    entries = page.locator("#audit-entries tbody tr")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("PurgeQueue")
    expect(entries.first).to_contain_text("sqs")
    page.get_by_label("Action").fill("CreateQueue")
    page.get_by_role("button", name="Filter").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("CreateQueue")
    expect(page).to_have_url(re.compile(r"action=CreateQueue"))
