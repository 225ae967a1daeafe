"""One message's page and body download, the explorer's count, and deleting messages: one, the
ticked ones, or all that match the filters (operators only)."""

import json

import pytest

from console.views import queues as queue_views
from queues import peek, service
from queues.models import Message, MessageEvent, now_ms

from .conftest import send

pytestmark = pytest.mark.django_db


def toast(response):
    return json.loads(response["HX-Trigger"])["toast"]


def events(response):
    return set(json.loads(response["HX-Trigger"])) - {"toast"}


def message_url(queue, message_id, suffix=""):
    return f"/queues/{queue.name}/messages/{message_id}/{suffix}"


# One message's page


def test_a_message_page_shows_pretty_json_attributes_and_system_attributes(viewer_client):
    queue = service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    message_id = service.send_message(
        queue,
        service.SendEntry(
            body='{"order": 7, "note": "<b>"}',
            group_id="customer-1",
            deduplication_id="d1",
            message_attributes={"kind": {"DataType": "String", "StringValue": "refund"}},
        ),
        sender_id="olga",
    )["MessageId"]
    service.receive_messages(queue, max_number=1, visibility_timeout=300)
    pk = Message.objects.get().pk

    response = viewer_client.get(message_url(queue, message_id), {"pk": pk})

    assert response.status_code == 200
    html = response.content.decode()
    assert "{\n  &quot;order&quot;: 7,\n  &quot;note&quot;: &quot;&lt;b&gt;&quot;\n}" in html
    assert 'tabindex="0" aria-label="Message body"' in html
    assert '<code>kind</code></th><td data-label="Type">String</td>' in html and "refund" in html
    for name in ("SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"):
        assert f"<dt>{name}</dt>" in html
    assert '<dt>MessageGroupId</dt><dd><code class="wrap">customer-1</code>' in html
    assert '<dt>MessageDeduplicationId</dt><dd><code class="wrap">d1</code>' in html
    assert f"<dt>SequenceNumber</dt><dd><code>{10**19 + pk}</code>" in html
    assert '<dt>SenderId</dt><dd><code class="wrap">olga</code>' in html
    assert "In flight · visible again" in html and "data-countdown" in html
    # Without the pk hint the page is found by MessageId alone.
    without_hint = viewer_client.get(message_url(queue, message_id))
    assert without_hint.status_code == 200
    assert "customer-1" in without_hint.content.decode()


def test_looking_at_a_message_changes_nothing(viewer_client, queue):
    message_id = send(queue, "a")
    service.receive_messages(queue, max_number=1)
    before = list(Message.objects.values_list("receive_count", "visible_at", "receive_token"))
    viewer_client.get(message_url(queue, message_id))
    viewer_client.get(message_url(queue, message_id, "body"))
    after = list(Message.objects.values_list("receive_count", "visible_at", "receive_token"))
    assert after == before


def test_a_wrong_pk_hint_still_finds_the_message(viewer_client, queue):
    message_id = send(queue, "found anyway")
    other = service.create_queue("other")
    send(other, "someone else's")
    theirs = Message.objects.get(queue=other).pk
    response = viewer_client.get(message_url(queue, message_id), {"pk": theirs})
    assert response.status_code == 200
    assert "found anyway" in response.content.decode()


def test_a_gone_message_answers_its_timeline_then_a_404_page_that_links_back(viewer_client, queue):
    message_id = send(queue, "soon gone")
    Message.objects.all().delete()
    # While its lineage is kept, the page says what happened to it.
    response = viewer_client.get(message_url(queue, message_id))
    assert response.status_code == 200
    assert f"{message_id}</code> is no longer in orders" in response.content.decode()
    assert "Sent" in response.content.decode()

    MessageEvent.objects.all().delete()
    response = viewer_client.get(message_url(queue, message_id))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Message not found" in html
    assert f"{message_id}</code> is no longer in orders" in html
    assert 'href="/queues/orders/#messages"' in html
    assert viewer_client.get(message_url(queue, message_id, "body")).status_code == 404


def test_a_message_is_not_shown_through_another_queue(viewer_client, queue):
    other = service.create_queue("other")
    message_id = send(other, "theirs")
    assert viewer_client.get(message_url(queue, message_id)).status_code == 404


@pytest.mark.parametrize(
    "body, content_type, extension",
    [
        ('{"order": 7}', "application/json", "json"),
        ("plain text, ünïcode", "text/plain; charset=utf-8", "txt"),
        ("{not json", "text/plain; charset=utf-8", "txt"),
    ],
)
def test_the_body_downloads_as_sent(viewer_client, queue, body, content_type, extension):
    message_id = send(queue, body)
    response = viewer_client.get(message_url(queue, message_id, "body"))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{message_id}.{extension}"'
    assert response.content == body.encode()


# The explorer's count and position


def test_the_explorer_counts_every_message_and_places_the_page(viewer_client, queue):
    for n in range(30):
        send(queue, f"message {n}")
    html = viewer_client.get("/queues/orders/").content.decode()
    assert "1–25 of 30" in html
    filtered = viewer_client.get("/queues/orders/", {"body": "message 1"}).content.decode()
    assert "1–11 of 11" in filtered  # message 1, 10..19


def test_filtered_counts_stop_at_the_cap(queue, monkeypatch):
    monkeypatch.setattr(peek, "COUNT_CAP", 3)
    for n in range(5):
        send(
            queue,
            f"needle {n}",
            message_attributes={"kind": {"DataType": "String", "StringValue": "x"}},
        )
    assert peek.count_messages(queue) == peek.MessageCount(5)
    assert peek.count_messages(queue, body_contains="needle") == peek.MessageCount(
        3, exact=False, capped=True
    )
    assert peek.count_messages(queue, attribute="kind=x") == peek.MessageCount(
        3, exact=False, capped=True
    )
    assert peek.count_messages(queue, body_contains="needle 4") == peek.MessageCount(1)


def test_counts_by_state_come_from_the_depths(queue):
    for n in range(3):
        send(queue, f"m{n}")
    send(queue, "later", delay_seconds=300)
    service.receive_messages(queue, max_number=1, visibility_timeout=300)
    assert peek.count_messages(queue, states=["visible"]).number == 2
    assert peek.count_messages(queue, states=["in_flight", "delayed"]).number == 2
    assert peek.count_messages(queue).number == 4


def test_body_filters_are_case_sensitive_in_the_count_too(queue):
    send(queue, "Refund")
    send(queue, "refund")
    assert peek.count_messages(queue, body_contains="refund").number == 1


# Deleting one message from its page


def test_an_operator_deletes_a_message_from_its_page(operator_client, queue, htmx_headers):
    message_id = send(queue, "drop")
    send(queue, "keep")
    pk = Message.objects.get(body="drop").pk
    dialog = operator_client.get(
        message_url(queue, message_id, "delete"), {"pk": pk}, headers=htmx_headers
    ).content.decode()
    assert "Delete this message?" in dialog and message_id in dialog
    assert "data-close-dialog autofocus>Cancel</a>" in dialog

    response = operator_client.post(
        message_url(queue, message_id, "delete") + f"?pk={pk}", headers=htmx_headers
    )
    # Back to the queue, whose banner offers Undo.
    assert response["HX-Redirect"].startswith("/queues/orders/?undo=")
    assert list(Message.objects.values_list("body", flat=True)) == ["keep"]
    # Its page now tells how it left.
    page = operator_client.get(message_url(queue, message_id)).content.decode()
    assert "This message was deleted at" in page


def viewer_status(client, queue, message_id):
    return client.get(message_url(queue, message_id)).status_code


# Deleting several


def test_the_delete_dialog_names_how_many_are_selected(operator_client, queue, htmx_headers):
    for n in range(3):
        send(queue, f"m{n}")
    pks = list(Message.objects.values_list("pk", flat=True))
    html = operator_client.get(
        "/queues/orders/messages/delete",
        {"scope": "selected", "message": pks[:2]},
        headers=htmx_headers,
    ).content.decode()
    assert "Delete 2 messages?" in html
    assert "data-close-dialog autofocus>Cancel</a>" in html
    assert html.count('name="message"') == 2


def test_an_operator_deletes_the_selected_messages(operator_client, queue, htmx_headers):
    for n in range(3):
        send(queue, f"m{n}")
    pks = list(Message.objects.order_by("pk").values_list("pk", flat=True))
    response = operator_client.post(
        "/queues/orders/messages/delete",
        {"scope": "selected", "message": [pks[0], pks[2], "junk"]},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert toast(response) == {"level": "success", "message": "Deleted 2 messages."}
    assert events(response) == {"queue-changed", "messages-changed"}
    assert list(Message.objects.values_list("body", flat=True)) == ["m1"]


def test_selected_messages_of_another_queue_are_not_deleted(operator_client, queue):
    other = service.create_queue("other")
    send(other, "theirs")
    pk = Message.objects.get().pk
    operator_client.post("/queues/orders/messages/delete", {"scope": "selected", "message": [pk]})
    assert Message.objects.filter(pk=pk).exists()


def test_deleting_nothing_selected_says_so(operator_client, queue, htmx_headers):
    send(queue, "m")
    html = operator_client.get(
        "/queues/orders/messages/delete", {"scope": "selected"}, headers=htmx_headers
    ).content.decode()
    assert "Tick the messages to delete first." in html
    refused = operator_client.post("/queues/orders/messages/delete", {"scope": "selected"})
    assert refused.status_code == 422
    assert Message.objects.count() == 1


def test_an_operator_deletes_all_messages_matching_a_filter(operator_client, queue, htmx_headers):
    for n in range(5):
        send(queue, f"refund {n}")
        send(queue, f"order {n}")
    dialog = operator_client.get(
        "/queues/orders/messages/delete",
        {"scope": "matching", "body": "refund", "limit": "25"},
        headers=htmx_headers,
    ).content.decode()
    assert "Delete 5 messages?" in dialog
    assert '<input type="hidden" name="body" value="refund">' in dialog
    up_to = Message.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert f'name="up_to" value="{up_to}"' in dialog
    send(queue, "refund sent after the dialog opened")

    response = operator_client.post(
        "/queues/orders/messages/delete",
        {"scope": "matching", "body": "refund", "up_to": str(up_to)},
        headers=htmx_headers,
    )
    assert toast(response)["message"] == "Deleted 5 messages."
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        *[f"order {n}" for n in range(5)],
        "refund sent after the dialog opened",
    ]


def test_delete_all_matching_walks_in_batches(queue, monkeypatch):
    from queues import message_sql

    monkeypatch.setattr(message_sql, "DELETE_BATCH", 3)
    kind = {"kind": {"DataType": "String", "StringValue": "x"}}
    for n in range(10):
        send(queue, f"m{n}", message_attributes=kind if n % 2 else {})
    Message.objects.filter(body="m9").update(sent_at=now_ms() - 10**9)  # past retention
    deleted = service.delete_matching_messages(
        queue, {"attribute": "kind"}, service.newest_message_id()
    )
    assert deleted == 4
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        "m0",
        "m2",
        "m4",
        "m6",
        "m8",
        "m9",
    ]


def test_delete_all_without_filters_empties_the_queue(operator_client, queue):
    for n in range(3):
        send(queue, f"m{n}")
    other = service.create_queue("other")
    send(other, "theirs")
    response = operator_client.post(
        "/queues/orders/messages/delete",
        {"scope": "matching", "up_to": str(service.newest_message_id())},
        follow=True,
    )
    [(url, status)] = response.redirect_chain
    assert url.startswith("/queues/orders/?undo=") and status == 302
    assert "Deleted 3 messages." in response.content.decode()
    assert list(Message.objects.values_list("body", flat=True)) == ["theirs"]


# Viewers


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/queues/orders/messages/delete", {"scope": "selected"}),
        ("post", "/queues/orders/messages/delete", {"scope": "matching"}),
        ("get", "/queues/orders/messages/{message_id}/delete", {}),
        ("post", "/queues/orders/messages/{message_id}/delete", {}),
    ],
)
def test_viewers_cannot_delete_messages(viewer_client, queue, method, path, data):
    message_id = send(queue, "stays")
    pk = Message.objects.get().pk
    data = {**data, "message": [pk]} if "scope" in data else data
    response = getattr(viewer_client, method)(path.format(message_id=message_id), data)
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_viewers_see_no_selection_or_delete_controls(viewer_client, queue):
    message_id = send(queue, "look")
    html = viewer_client.get("/queues/orders/").content.decode()
    assert 'name="message"' not in html and "Delete selected" not in html
    page = viewer_client.get(message_url(queue, message_id)).content.decode()
    assert "Delete message" not in page


def test_the_explorer_rows_link_to_the_message_page(viewer_client, queue, htmx_headers):
    message_id = send(queue, "first line\nsecond line")
    pk = Message.objects.get().pk
    html = viewer_client.get("/queues/orders/", headers=htmx_headers).content.decode()
    assert f'href="/queues/orders/messages/{message_id}/?pk={pk}"' in html
    assert '<td class="first-line" data-label="Body"><code>first line</code></td>' in html
    assert f'aria-controls="message-{pk}-details"' in html
    explorer = queue_views._explore(viewer_client.get("/queues/orders/").wsgi_request, queue)
    assert explorer["count"] == peek.MessageCount(1)


def test_the_page_counts_with_the_depth_its_stats_show(viewer_client, queue, monkeypatch):
    for n in range(3):
        send(queue, f"m{n}")

    def read_again(*args, **kwargs):
        raise AssertionError("the explorer read the depth a second time")

    monkeypatch.setattr(peek, "queue_depths", read_again)
    html = viewer_client.get("/queues/orders/").content.decode()
    assert "1–3 of 3" in html


def test_without_javascript_the_confirmation_is_a_page_of_its_own(operator_client, queue):
    for n in range(3):
        send(queue, f"m{n}")
    pks = list(Message.objects.values_list("pk", flat=True))
    html = operator_client.get(
        "/queues/orders/messages/delete", {"scope": "selected", "message": pks[:2]}
    ).content.decode()
    assert "<!doctype html>" in html and "Delete 2 messages?" in html
    assert '<form method="post" action="/queues/orders/messages/delete"' in html
