"""Destructive actions in a real browser: the dialogs focus Cancel (Enter never destroys),
Escape closes them, and purging or deleting a queue of more than 100 messages asks for its name."""

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import expect

from tests.browser.locators import stat, toast

pytestmark = pytest.mark.browser

# The live server's ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE: its default.
CONFIRM_BY_NAME_ABOVE = 100


def send_many(sqs, url, count, **options):
    """Send `count` messages in batches of ten."""
    for start in range(0, count, 10):
        entries = [
            {"Id": str(number), "MessageBody": f"message {number}", **options}
            for number in range(start, min(start + 10, count))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def queue_arn(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def open_dialog(page, opener):
    page.get_by_role("link", name=opener).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_deleting_a_dead_letter_queue_names_its_sources_and_asks_for_its_name(
    operator_page, make_queue, queue_name, sqs_json
):
    dead_letters = make_queue(name=f"{queue_name}-dlq")
    name = f"{queue_name}-dlq"
    policy = json.dumps(
        {"deadLetterTargetArn": queue_arn(sqs_json, dead_letters), "maxReceiveCount": 2}
    )
    sources = [make_queue(RedrivePolicy=policy), make_queue(RedrivePolicy=policy)]
    send_many(sqs_json, dead_letters, CONFIRM_BY_NAME_ABOVE)
    sqs_json.send_message(QueueUrl=dead_letters, MessageBody="later", DelaySeconds=60)
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(stat(page, "visible")).to_have_text("100")

    dialog = open_dialog(page, "Delete queue…")
    expect(dialog.get_by_role("heading", name=f"Delete {name}?")).to_be_visible()
    expect(dialog).to_contain_text("101 messages")
    expect(dialog).to_contain_text("(100 visible, 0 in flight, 1 delayed)")
    first, second = sorted(source.rsplit("/", 1)[1] for source in sources)
    expect(dialog).to_contain_text(f"{name} is the dead-letter queue of {first} and {second}.")
    expect(dialog).to_contain_text("nothing is dead-lettered any more")
    cancel = dialog.get_by_role("link", name="Cancel")
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/queues/{name}/$"))

    dialog = open_dialog(page, "Delete queue…")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    dialog = open_dialog(page, "Delete queue…")
    typed = dialog.get_by_label(f"Type {name} to confirm")
    delete = dialog.get_by_role("button", name=f"Delete {name}")
    typed.fill(queue_name)  # another queue's name
    delete.click()
    expect(dialog).to_be_visible()  # the browser refused to send it
    assert typed.evaluate("input => input.validationMessage") == (
        f"Type {name} exactly to confirm."
    )
    sqs_json.get_queue_url(QueueName=name)  # still there

    typed.fill(name)
    delete.click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(toast(page, f"Deleted queue {name} and its 101 messages.")).to_be_visible()
    page.get_by_label("Filter by name").fill(name)
    expect(page.locator("#lists")).to_contain_text(f"No queues match “{name}”.")
    with pytest.raises(ClientError, match="NonExistentQueue|QueueDoesNotExist"):
        sqs_json.get_queue_url(QueueName=name)
    for source in sources:  # their policy still names it, as in SQS
        attributes = sqs_json.get_queue_attributes(
            QueueUrl=source, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(name)


def test_purge_focuses_cancel_and_asks_for_the_name_once_the_queue_grew(
    operator_page, make_queue, sqs_json
):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs_json.send_message(QueueUrl=url, MessageBody="one")
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(stat(page, "visible")).to_have_text("1")

    dialog = open_dialog(page, "Purge messages…")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()

    # A few messages need no typed name; the queue grows past the limit while the dialog is open.
    dialog = open_dialog(page, "Purge messages…")
    expect(dialog.get_by_role("textbox")).to_have_count(0)
    send_many(sqs_json, url, CONFIRM_BY_NAME_ABOVE)
    dialog.get_by_role("button", name=f"Purge {name}").click()

    typed = dialog.get_by_label(f"Type {name} to confirm")
    expect(typed).to_be_focused()
    expect(dialog).to_contain_text(f"Type {name} exactly to confirm. Nothing was deleted.")
    expect(dialog).to_contain_text("101 messages")
    typed.fill(name)
    dialog.get_by_role("button", name=f"Purge {name}").click()
    expect(dialog).to_be_hidden()
    expect(toast(page, f"Purged {name}: deleted 101 messages.")).to_be_visible()
    expect(stat(page, "visible")).to_have_text("0")


def test_delete_queue_is_not_offered_to_read_only_users(viewer_page, make_queue):
    name = make_queue().rsplit("/", 1)[1]
    page = viewer_page
    page.goto(f"/queues/{name}/")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Delete queue…")).to_have_count(0)
    # The page's own CSRF token, so the refusal is the role's, not the CSRF check's.
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    response = page.request.post(
        f"/queues/{name}/delete",
        form={"confirm_name": name},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status == 403
    assert "Only operators can change this" in response.text()
    page.reload()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_disabling_an_access_key_asks_first_with_cancel_focused(operator_page):
    page = operator_page
    page.goto("/access-keys/")
    key_name = f"k-{uuid.uuid4().hex[:8]}"
    page.get_by_label("Name").fill(key_name)
    page.get_by_role("button", name="Create access key").click()
    key_id = page.locator("#new-key-id").inner_text()
    row = page.locator(f"#key-{key_id}")
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name=f"Disable {key_id}").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("heading")).to_have_text(
        f"Disable {key_id} ({key_name})? Requests signed with it fail until it is enabled again."
    )
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name=f"Disable {key_id}").click()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name=f"Disable {key_id}").click()
    dialog.get_by_role("button", name=f"Disable {key_id}").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Disabled")
    expect(toast(page, f"Disabled {key_id}")).to_be_visible()


def test_deleting_a_topic_focuses_cancel(operator_page):
    name = f"b-{uuid.uuid4().hex[:8]}"
    page = operator_page
    page.goto("/")
    page.locator("summary", has_text="Create topic").click()
    page.locator("#create-topic").get_by_label("Name").fill(name)
    page.locator("#create-topic").get_by_role("button", name="Create topic").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()

    dialog = open_dialog(page, "Delete topic…")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/topics/{name}/$"))

    dialog = open_dialog(page, "Delete topic…")
    dialog.get_by_role("button", name=f"Delete {name}").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(toast(page, f"Deleted topic {name}")).to_be_visible()
