"""The console's queue pages in a real browser: log in, create, watch live, browse, purge."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OPERATOR, PASSWORD
from tests.browser.locators import (
    expand,
    expect_live,
    mark_page,
    message_rows,
    page_was_kept,
    queue_cell,
    send_form,
    stat,
    toast,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def new_queue_name():
    """A queue name no other test uses, for a queue the test creates through the console."""
    return f"b-{uuid.uuid4().hex[:8]}"


def test_login_form_leads_to_the_page_asked_for(anonymous_page, console_users):
    page = anonymous_page
    page.goto("/access-keys/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/access-keys/$"))

    page.get_by_label("Username").fill(OPERATOR)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Access keys", level=1)).to_be_visible()
    expect(page.locator(".account")).to_contain_text(OPERATOR)
    expect(page.locator(".account")).to_contain_text("operator")


def test_queue_created_from_the_overview_form_opens_its_page(
    operator_page, new_queue_name, sqs_json
):
    name = new_queue_name
    page = operator_page
    page.goto("/")
    page.locator("summary", has_text="Create queue").click()
    form = page.locator("#create-queue")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Visibility timeout (seconds)").fill("45")
    form.get_by_role("button", name="Create queue").click()

    expect(page).to_have_url(re.compile(rf"/queues/{name}/$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(toast(page, f"Queue {name} created.")).to_be_visible()
    url = sqs_json.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs_json.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"


def test_overview_shows_new_queues_and_depths_live_without_a_reload(
    operator_page, make_queue, queue_name, sqs_json
):
    page = operator_page
    # The session's server holds more queues than a page shows: filter to the one to come.
    page.goto(f"/?q={queue_name}")
    expect_live(page)
    mark_page(page)

    url = make_queue()
    name = url.rsplit("/", 1)[1]
    expect(queue_cell(page, name, "visible")).to_have_text("0")

    for number in range(3):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"message {number}")
    sqs_json.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)

    expect(queue_cell(page, name, "visible")).to_have_text("3")
    expect(queue_cell(page, name, "delayed")).to_have_text("1")
    sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    expect(queue_cell(page, name, "in flight")).to_have_text("1")
    expect(queue_cell(page, name, "visible")).to_have_text("2")
    assert page_was_kept(page), "the overview reloaded instead of updating in place"


def test_explorer_shows_messages_without_receiving_them(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    body = f'{{"order": "{uuid.uuid4().hex}"}}'
    sqs_json.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    page = operator_page
    page.goto(f"/queues/{name}/")
    message = message_rows(page)
    expect(message).to_have_count(1)
    expect(message.locator(".first-line")).to_have_text(body)
    expect(received_count(message)).to_have_text("0")
    expect(message.locator(".state")).to_have_text("Visible")
    details = expand(message)
    expect(details.locator("pre.body")).to_contain_text(body[2:-2])
    expect(details.locator(".message-attributes")).to_contain_text("kind")
    # Looking twice (a refresh of the explorer) still receives nothing.
    page.get_by_role("link", name="Refresh").click()
    expect(received_count(message)).to_have_text("0")

    received = sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    assert [m["Body"] for m in received] == [body]

    page.get_by_role("link", name="Refresh").click()
    expect(message.locator(".state")).to_have_text("In flight")
    expect(received_count(message)).to_have_text("1")


def test_a_message_sent_from_the_page_carries_its_typed_attribute_rows(
    operator_page, make_queue, sqs_json
):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    page = operator_page
    page.goto(f"/queues/{name}/")
    form = send_form(page)
    rows = form.locator(".attribute-row")
    form.get_by_label("Body").fill("with attributes")
    rows.nth(0).get_by_label("Name").fill("price")
    rows.nth(0).get_by_label("Type").fill("Number.float")
    rows.nth(0).get_by_label("Value").fill("3.14")
    form.get_by_role("button", name="Add another attribute").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("Type")).to_have_value("")  # a blank type is String
    rows.nth(1).get_by_label("Name").fill("photo")
    rows.nth(1).get_by_label("Type").fill("Jpeg")
    rows.nth(1).get_by_label("Value").fill("/9j/4A==")
    form.get_by_role("button", name="Send message").click()

    # Refused beside the rows, with every row kept as typed.
    expect(form.locator(".attribute-rows .field-error")).to_contain_text("The type of photo")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Type").fill("Binary.jpeg")
    form.get_by_role("button", name="Send message").click()

    expect(toast(page, "Sent message")).to_be_visible()
    expect(form.locator(".attribute-row")).to_have_count(1)  # a fresh form
    [message] = sqs_json.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"] == {
        "price": {"DataType": "Number.float", "StringValue": "3.14"},
        "photo": {"DataType": "Binary.jpeg", "BinaryValue": b"\xff\xd8\xff\xe0"},
    }


def test_purge_through_the_confirmation_dialog_empties_the_queue(
    operator_page, make_queue, sqs_json
):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    for number in range(2):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"doomed {number}")
    page = operator_page
    page.goto(f"/queues/{name}/")
    expect(stat(page, "visible")).to_have_text("2")
    mark_page(page)

    page.get_by_role("link", name="Purge messages…").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=f"Purge {name}?")).to_be_visible()
    expect(dialog).to_contain_text("2 messages")
    dialog.get_by_role("button", name=f"Purge {name}").click()

    expect(dialog).to_be_hidden()
    expect(toast(page, f"Purged {name}: deleted 2 messages.")).to_be_visible()
    expect(stat(page, "visible")).to_have_text("0")
    expect(page.locator("#message-page")).to_contain_text(f"No messages in {name} right now.")
    assert page_was_kept(page)
    attributes = sqs_json.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_purge_dialog_cancel_keeps_the_messages(operator_page, make_queue, sqs_json):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs_json.send_message(QueueUrl=url, MessageBody="kept")
    page = operator_page
    page.goto(f"/queues/{name}/")
    page.get_by_role("link", name="Purge messages…").click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(stat(page, "visible")).to_have_text("1")
    expect(page).to_have_url(re.compile(rf"/queues/{name}/$"))


# Controls that change something, by page: what operators see and read-only users must not.
ACTIONS = {
    "overview": ["summary:text-is('Create queue')", "summary:text-is('Create topic')"],
    "queue": [
        "#send summary",
        "#purge a",
        "#settings a:text-is('Edit')",
        "#tags form",
        "#message-selection button:text-is('Delete selected…')",
        "#message-page input[type=checkbox]",
    ],
    "dead-letter queue": [
        "#redrive-form",
        "#message-page input[type=checkbox]",
        "#message-selection button:text-is('Delete selected…')",
    ],
    "access keys": ["#main form button"],
}


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_operators_see_action_buttons(request, role, make_queue, sqs_json):
    dead_letters = make_queue()
    arn = _arn(sqs_json, dead_letters)
    url = make_queue(RedrivePolicy=f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": 1}}')
    sqs_json.send_message(QueueUrl=url, MessageBody="look, don't touch")
    sqs_json.send_message(QueueUrl=dead_letters, MessageBody="dead already")
    page = request.getfixturevalue(f"{role}_page")
    pages = {
        "overview": "/",
        "queue": f"/queues/{url.rsplit('/', 1)[1]}/",
        "dead-letter queue": f"/queues/{dead_letters.rsplit('/', 1)[1]}/",
        "access keys": "/access-keys/",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.locator("#live-status, h1").first).to_be_visible()
        for selector in ACTIONS[name]:
            actions = page.locator(selector)
            if role == "operator":
                expect(actions.first, f"{selector} on the {name} page").to_be_visible()
            else:
                expect(actions, f"{selector} on the {name} page").to_have_count(0)
        if role == "viewer":
            expect(page.locator(".account")).to_contain_text("read-only")
    if role == "viewer":
        # Everything is still there to read.
        page.goto(pages["queue"])
        expect(message_rows(page)).to_have_count(1)
        expect(page.locator("#settings")).to_contain_text("Visibility timeout")
        page.goto(pages["dead-letter queue"])
        expect(page.get_by_role("heading", name="Redrive")).to_be_visible()


def received_count(message):
    return message.locator("td.received")


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def test_half_filled_create_form_survives_a_queue_created_elsewhere(
    operator_page, make_queue, queue_name
):
    page = operator_page
    page.goto(f"/?q={queue_name}")  # more queues than a page: filter to the one to come
    expect_live(page)
    page.locator("summary", has_text="Create queue").click()
    page.locator("#create-queue").get_by_label("Name").fill("half-typed")

    name = make_queue().rsplit("/", 1)[1]
    expect(queue_cell(page, name, "visible")).to_have_text("0")
    expect(page.locator("#create-queue").get_by_label("Name")).to_have_value(
        "half-typed", timeout=1000
    )
