"""Deleting and purging a queue from its page: the dialogs, the typed name asked for a queue
holding many messages, and what deleting a dead-letter queue does to the queues using it."""

import json

import pytest

from queues import service
from queues.models import Message, Queue

from .conftest import send

# Small, so a test needs only a few messages to pass it.
CONFIRM_BY_NAME_ABOVE = 2


@pytest.fixture(autouse=True)
def _low_confirm_limit(settings):
    """Ask for the typed name above two messages."""
    settings.ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE = CONFIRM_BY_NAME_ABOVE


@pytest.fixture
def full_queue(queue):
    """orders with one message more than can go without typing its name."""
    for number in range(CONFIRM_BY_NAME_ABOVE + 1):
        send(queue, f"m{number}")
    return queue


def toast(response):
    return json.loads(response["HX-Trigger"])["toast"]


def field_error(html):
    """The error shown beside the typed-name field."""
    field = html[html.index('<label for="id_confirm_name"') :]
    field = field[: field.index("</div>")]
    return field[field.index('class="field-error"') :]


# Deleting


def test_the_delete_dialog_names_the_queue_its_depth_and_its_dead_letter_sources(
    operator_client, dead_letter_pair, htmx_headers
):
    source, dead_letter_queue = dead_letter_pair
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 3}}'
    service.create_queue("billing", {"RedrivePolicy": policy})
    send(dead_letter_queue, "failed")
    send(dead_letter_queue, "later", delay_seconds=60)

    response = operator_client.get("/queues/orders-dlq/delete", headers=htmx_headers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete orders-dlq?" in html
    assert "<strong>2 messages</strong>" in html
    assert "(1 visible, 0 in flight, 1 delayed)" in html
    assert (
        "is the dead-letter queue of <strong>billing</strong> and <strong>orders</strong>." in html
    )
    assert "redrive policy keeps naming it, but nothing is dead-lettered any more" in html
    assert 'name="confirm_name"' not in html  # two messages: no name to type
    cancel = html[html.index("data-close-dialog") :]
    assert cancel[: cancel.index(">")].endswith("autofocus")


def test_an_operator_deletes_a_queue_and_goes_to_the_overview(operator_client, queue, htmx_headers):
    send(queue, "doomed")
    response = operator_client.post("/queues/orders/delete", headers=htmx_headers)

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/"
    assert not Queue.objects.filter(name="orders").exists()
    assert not Message.objects.exists()
    overview = operator_client.get("/").content.decode()
    assert "Deleted queue orders and its 1 message." in overview  # the toast, after the redirect
    assert operator_client.get("/queues/orders/").status_code == 404


def test_deleting_without_javascript_asks_on_a_page_then_redirects(operator_client, queue):
    page = operator_client.get("/queues/orders/delete")
    assert page.status_code == 200
    assert "<!doctype html>" in page.content.decode()
    assert "Delete orders?" in page.content.decode()

    response = operator_client.post("/queues/orders/delete")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Queue.objects.filter(name="orders").exists()


def test_deleting_a_queue_past_the_limit_needs_its_name_typed(
    operator_client, full_queue, htmx_headers
):
    dialog = operator_client.get("/queues/orders/delete", headers=htmx_headers).content.decode()
    assert "Type orders to confirm" in dialog
    assert 'data-confirm-name="orders"' in dialog

    response = operator_client.post(
        "/queues/orders/delete", {"confirm_name": "orders"}, headers=htmx_headers
    )

    assert response["HX-Redirect"] == "/"
    assert not Queue.objects.filter(name="orders").exists()


@pytest.mark.parametrize("typed", [None, "", "order", "Orders", " orders"])
def test_deleting_a_queue_past_the_limit_without_its_name_is_refused(
    operator_client, full_queue, htmx_headers, typed
):
    data = {} if typed is None else {"confirm_name": typed}

    response = operator_client.post("/queues/orders/delete", data, headers=htmx_headers)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Delete orders?" in html  # the dialog again, to type the name in
    assert "Type orders exactly to confirm. Nothing was deleted." in field_error(html)
    assert Queue.objects.filter(name="orders").exists()
    assert Message.objects.count() == CONFIRM_BY_NAME_ABOVE + 1


def test_a_refused_name_without_javascript_shows_the_page_again(operator_client, full_queue):
    response = operator_client.post("/queues/orders/delete", {"confirm_name": "nope"})

    assert response.status_code == 422
    html = response.content.decode()
    assert "<!doctype html>" in html
    assert "Type orders exactly to confirm. Nothing was deleted." in field_error(html)
    assert Queue.objects.filter(name="orders").exists()


def test_a_queue_that_grew_past_the_limit_since_its_dialog_asks_for_the_name(
    operator_client, queue, htmx_headers
):
    dialog = operator_client.get("/queues/orders/delete", headers=htmx_headers).content.decode()
    assert 'name="confirm_name"' not in dialog
    for number in range(CONFIRM_BY_NAME_ABOVE + 1):
        send(queue, f"m{number}")

    response = operator_client.post("/queues/orders/delete", headers=htmx_headers)

    assert response.status_code == 422
    assert "Type orders to confirm" in response.content.decode()
    assert Queue.objects.filter(name="orders").exists()


def test_read_only_users_can_neither_see_nor_use_delete(viewer_client, queue, htmx_headers):
    page = viewer_client.get("/queues/orders/").content.decode()
    assert "Delete queue…" not in page
    assert viewer_client.get("/queues/orders/delete", headers=htmx_headers).status_code == 403
    response = viewer_client.post(
        "/queues/orders/delete", {"confirm_name": "orders"}, headers=htmx_headers
    )
    assert response.status_code == 403
    assert toast(response)["level"] == "error"
    assert Queue.objects.filter(name="orders").exists()


def test_deleting_an_unknown_queue_is_not_found(operator_client, db):
    assert operator_client.post("/queues/nowhere/delete").status_code == 404


# What the dialog says about a dead-letter queue's sources, as the service does it


def test_deleting_a_dead_letter_queue_keeps_the_sources_policy_and_stops_dead_lettering(
    operator_client, dead_letter_pair
):
    source, dead_letter_queue = dead_letter_pair
    policy = Queue.objects.get(name="orders").redrive_policy
    send(source, "poison")

    operator_client.post("/queues/orders-dlq/delete")

    service.queue_cache.clear()
    source = Queue.objects.get(name="orders")
    attributes = service.get_queue_attributes(source, ["RedrivePolicy"])
    assert attributes["RedrivePolicy"] == policy  # still names orders-dlq, as in SQS
    # A queue created later under the name does not take the old one's place.
    recreated = Queue.objects.create(name="orders-dlq")
    # maxReceiveCount is 1, yet the message stays however often it is received.
    for _ in range(3):
        assert len(service.receive_messages(source, 10, visibility_timeout=0)) == 1
    assert not Message.objects.filter(queue=recreated).exists()
    assert service.list_dead_letter_source_queues(recreated) == ([], None)


# Purging


def test_purging_a_queue_past_the_limit_needs_its_name_typed(
    operator_client, full_queue, htmx_headers
):
    dialog = operator_client.get("/queues/orders/purge", headers=htmx_headers).content.decode()
    assert "Type orders to confirm" in dialog
    cancel = dialog[dialog.index("data-close-dialog") :]
    assert cancel[: cancel.index(">")].endswith("autofocus")

    refused = operator_client.post("/queues/orders/purge", headers=htmx_headers)
    assert refused.status_code == 422
    assert "Type orders exactly to confirm. Nothing was deleted." in field_error(
        refused.content.decode()
    )
    assert Message.objects.count() == CONFIRM_BY_NAME_ABOVE + 1

    wrong = operator_client.post(
        "/queues/orders/purge", {"confirm_name": "orders-dlq"}, headers=htmx_headers
    )
    assert wrong.status_code == 422
    assert Message.objects.count() == CONFIRM_BY_NAME_ABOVE + 1

    response = operator_client.post(
        "/queues/orders/purge", {"confirm_name": "orders"}, headers=htmx_headers
    )
    assert response.status_code == 200
    assert toast(response)["message"] == "Purged orders: deleted 3 messages."
    assert not Message.objects.exists()


def test_purging_a_queue_within_the_limit_needs_no_name(operator_client, queue, htmx_headers):
    send(queue, "one")
    dialog = operator_client.get("/queues/orders/purge", headers=htmx_headers).content.decode()
    assert 'name="confirm_name"' not in dialog

    response = operator_client.post("/queues/orders/purge", headers=htmx_headers)

    assert response.status_code == 200
    assert not Message.objects.exists()


def test_the_limit_defaults_to_100_messages():
    from console import settings as defaults

    assert defaults.ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE == 100
