"""Message lineage and consumer health in the console: a message's page shows its timeline, and
still does once the message is deleted; the queue page's Consumers card names the keys that
received, the poison candidates and the FIFO groups held up behind a message in flight."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations

pytestmark = pytest.mark.browser


def _name(url):
    return url.rsplit("/", 1)[1]


def test_a_message_page_shows_its_timeline_and_how_it_ended_once_gone(
    operator_page, make_queue, sqs_json, roost_server
):
    url = make_queue()
    name = _name(url)
    message_id = sqs_json.send_message(QueueUrl=url, MessageBody="a step at a time")["MessageId"]
    sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=0)
    [message] = sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    key = roost_server.access_key_id
    page = operator_page

    page.goto(f"/queues/{name}/messages/{message_id}/")

    steps = page.locator("#timeline li.timeline-event")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text(f"Sent — by {key}")
    expect(steps.nth(1)).to_contain_text(f"Received by {key} — visible again in 0 s, receive #1")
    expect(steps.nth(2)).to_contain_text(f"Received by {key} — visible again in 30 s, receive #2")
    assert serious_violations(page, "message page with its timeline") == []

    sqs_json.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    response = page.goto(f"/queues/{name}/messages/{message_id}/")

    assert response.status == 200
    expect(page.locator("#message-ended")).to_contain_text(
        re.compile(r"This message was deleted at")
    )
    expect(steps).to_have_count(4)
    expect(steps.nth(3)).to_contain_text(f"Deleted by {key}")
    assert serious_violations(page, "a deleted message's timeline") == []


def test_a_message_never_seen_is_still_not_found(operator_page, make_queue):
    name = _name(make_queue())
    response = operator_page.goto(f"/queues/{name}/messages/no-such-message/")
    assert response.status == 404
    expect(operator_page.get_by_role("heading", level=1)).to_have_text("Message not found")


def test_the_consumers_card_names_keys_poison_candidates_and_blocked_groups(
    operator_page, make_queue, sqs_json, roost_server
):
    url = make_queue(FifoQueue=True, ContentBasedDeduplication=True)
    name = _name(url)
    poison = sqs_json.send_message(QueueUrl=url, MessageBody="bad", MessageGroupId="stuck")
    sqs_json.send_message(QueueUrl=url, MessageBody="behind it", MessageGroupId="stuck")
    for _ in range(3):
        sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=0)
    [held] = sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    assert held["MessageId"] == poison["MessageId"]
    sqs_json.send_message(QueueUrl=url, MessageBody="fine", MessageGroupId="flowing")
    [fine] = sqs_json.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    sqs_json.delete_message(QueueUrl=url, ReceiptHandle=fine["ReceiptHandle"])
    page = operator_page

    page.goto(f"/queues/{name}/")

    card = page.locator("#consumers-card")
    expect(card).to_be_visible()
    key_row = card.locator("tr", has=page.locator("th", has_text=roost_server.access_key_id))
    expect(key_row.locator("td").nth(0)).to_have_text("5")
    expect(key_row.locator("td").nth(1)).to_have_text("1")
    expect(key_row.locator("td").nth(2)).to_contain_text(" ms")
    expect(card.locator(".poison-candidates li")).to_have_count(1)
    expect(card.locator(".poison-candidates li")).to_contain_text("received 4 times, in flight")
    blocked = card.locator("tr", has=page.locator("th", has_text="stuck"))
    expect(blocked).to_contain_text(poison["MessageId"])
    assert serious_violations(page, "queue page with its Consumers card") == []

    card.locator(".poison-candidates a").click()
    expect(page).to_have_url(
        re.compile(rf"/queues/{re.escape(name)}/messages/{poison['MessageId']}/")
    )
    expect(page.locator("#timeline li.timeline-event")).to_have_count(5)


def test_the_consumers_card_opens_as_a_page_without_htmx(operator_page, make_queue):
    name = _name(make_queue())
    page = operator_page
    page.goto(f"/queues/{name}/consumers")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Consumers of {name}")
    expect(page.locator("#consumers-card")).to_contain_text("Nobody received from this queue")
    assert serious_violations(page, "the consumers page") == []
