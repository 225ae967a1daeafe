"""A queue's page: the message explorer, sending, deleting, purging, settings and tags."""

import json

import pytest

from console.views import queues as queue_views
from queues import service
from queues.models import Message, Queue, now_ms

from .conftest import send

pytestmark = pytest.mark.django_db


def toast(response):
    return json.loads(response["HX-Trigger"])["toast"]


def events(response):
    return set(json.loads(response["HX-Trigger"])) - {"toast"}


def message_ids(html):
    return [part.split('"', 1)[0] for part in html.split('<tbody class="message" id="message-')[1:]]


def field_html(html, field_id):
    """The markup of one form field, from its label to the end of its wrapper."""
    start = html.index(f'<label for="{field_id}"')
    return html[start : html.index("</div>", start)]


# The message explorer


def test_bodies_are_escaped(viewer_client, queue):
    send(queue, "<script>alert(1)</script>")
    page = viewer_client.get("/queues/orders/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_json_bodies_are_pretty_printed_and_still_escaped(viewer_client, queue):
    send(queue, '{"order": 7, "items": ["<b>"]}')
    page = viewer_client.get("/queues/orders/").content.decode()
    assert (
        "{\n  &quot;order&quot;: 7,\n  &quot;items&quot;: [\n    &quot;&lt;b&gt;&quot;\n  ]\n}"
        in page
    )


def test_not_quite_json_is_shown_as_sent(viewer_client, queue):
    send(queue, "{not json")
    assert "{not json</pre>" in viewer_client.get("/queues/orders/").content.decode()


def test_pages_follow_the_cursor_past_ten_messages(viewer_client, queue, htmx_headers):
    for n in range(30):
        send(queue, f"message {n}")
    pks = list(Message.objects.order_by("sent_at", "id").values_list("pk", flat=True))

    first = viewer_client.get("/queues/orders/", headers=htmx_headers)
    html = first.content.decode()
    assert html.lstrip().startswith('<div id="message-page"')
    assert message_ids(html) == [str(pk) for pk in pks[:25]]
    assert "1–25 of 30" in html
    explorer = queue_views._explore(first.wsgi_request, queue)
    assert explorer["previous_url"] is None

    second = viewer_client.get(explorer["next_url"], headers=htmx_headers)
    html = second.content.decode()
    assert message_ids(html) == [str(pk) for pk in pks[25:]]
    assert "26–30 of 30" in html
    assert 'rel="next"' not in html
    explorer = queue_views._explore(second.wsgi_request, queue)
    back = viewer_client.get(explorer["previous_url"], headers=htmx_headers).content.decode()
    assert message_ids(back) == [str(pk) for pk in pks[:25]]

    everything = viewer_client.get("/queues/orders/", {"limit": "100"}, headers=htmx_headers)
    assert len(message_ids(everything.content.decode())) == 30


def test_peeking_changes_nothing(viewer_client, queue):
    send(queue, "a")
    service.receive_messages(queue, max_number=1)
    before = list(Message.objects.values_list("receive_count", "visible_at", "receive_token"))
    viewer_client.get("/queues/orders/")
    viewer_client.get("/queues/orders/", {"state": "in_flight"})
    assert (
        list(Message.objects.values_list("receive_count", "visible_at", "receive_token")) == before
    )


def test_messages_show_their_state_attributes_and_facts(viewer_client):
    queue = service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    service.send_message(
        queue,
        service.SendEntry(
            body="hi",
            group_id="customer-1",
            deduplication_id="d1",
            message_attributes={"kind": {"DataType": "String", "StringValue": "refund"}},
        ),
    )
    service.receive_messages(queue, max_number=1, visibility_timeout=300)
    page = viewer_client.get("/queues/jobs.fifo/").content.decode()
    assert "In flight · visible again" in page
    assert "data-countdown" in page
    assert "<code>customer-1</code>" in page
    assert "kind <small>String</small>" in page and "<code>refund</code>" in page
    assert "1 time<" in page


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"body": "refund"}, ["refund 1", "refund 2"]),
        ({"attribute": "kind"}, ["refund 1", "other"]),
        ({"attribute": "kind=refund"}, ["refund 1"]),
        ({"min_receive_count": "1"}, ["refund 2"]),
        ({"state": "in_flight"}, ["refund 2"]),
        ({"state": ["visible", "delayed"]}, ["refund 1", "other", "old", "later"]),
        ({"older_than": "5", "older_than_unit": "60"}, ["old"]),
        ({"group": "g1"}, ["other"]),
    ],
)
def test_filters(viewer_client, queue, htmx_headers, filters, expected):
    kind = {"kind": {"DataType": "String", "StringValue": "refund"}}
    other_kind = {"kind": {"DataType": "String", "StringValue": "other"}}
    send(queue, "refund 1", message_attributes=kind)
    send(queue, "refund 2")
    send(queue, "other", group_id="g1", message_attributes=other_kind)
    send(queue, "old")
    send(queue, "later", delay_seconds=300)
    Message.objects.filter(body="old").update(sent_at=now_ms() - 600_000)
    Message.objects.filter(body="refund 2").update(receive_count=1, visible_at=now_ms() + 60_000)
    html = viewer_client.get("/queues/orders/", filters, headers=htmx_headers).content.decode()
    by_pk = dict(Message.objects.values_list("pk", "body"))
    shown = sorted(by_pk[int(pk)] for pk in message_ids(html))
    assert shown == sorted(expected)


def test_invalid_filters_show_beside_their_field(viewer_client, queue):
    html = viewer_client.get("/queues/orders/", {"min_receive_count": "-1"}).content.decode()
    assert "Ensure this value is greater than or equal to 0." in field_html(
        html, "filter-min_receive_count"
    )


def test_an_empty_queue_says_so(viewer_client, queue):
    assert (
        "No messages in orders right now." in viewer_client.get("/queues/orders/").content.decode()
    )


# Sending


def test_an_operator_sends_a_message_with_attributes(operator_client, queue, htmx_headers):
    response = operator_client.post(
        "/queues/orders/send",
        {
            "body": '{"hello": "world"}',
            "delay_seconds": "",
            "attribute_name": ["kind", "blob", ""],
            "attribute_type": ["String", "Binary", "String"],
            "attribute_value": ["refund", "aGk=", ""],
        },
        headers=htmx_headers,
    )
    assert response.status_code == 200
    message = Message.objects.get()
    assert toast(response) == {"level": "success", "message": f"Sent message {message.message_id}."}
    assert events(response) == {"queue-changed", "messages-changed"}
    assert message.body == '{"hello": "world"}'
    assert message.sender_id == "olga"
    assert json.loads(message.attributes) == {
        "kind": {"DataType": "String", "StringValue": "refund"},
        "blob": {"DataType": "Binary", "BinaryValue": "aGk="},
    }
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="send-form"')
    assert "{&quot;hello&quot;" not in html  # a fresh form


def test_send_errors_show_beside_their_field(operator_client, htmx_headers):
    service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    response = operator_client.post(
        "/queues/jobs.fifo/send", {"body": "hi", "deduplication_id": "d1"}, headers=htmx_headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "The request must contain the parameter MessageGroupId." in field_html(
        html, "send-group_id"
    )
    assert 'value="d1"' in html  # what was typed is kept
    assert not Message.objects.exists()


def test_a_delay_out_of_range_shows_beside_the_delay(operator_client, queue):
    response = operator_client.post("/queues/orders/send", {"body": "hi", "delay_seconds": "901"})
    assert response.status_code == 422
    assert "DelaySeconds must be &gt;= 0 and &lt;= 900" in field_html(
        response.content.decode(), "send-delay_seconds"
    )


def test_bad_attribute_values_show_beside_the_attributes(operator_client, queue):
    response = operator_client.post(
        "/queues/orders/send",
        {
            "body": "hi",
            "attribute_name": ["blob"],
            "attribute_type": ["Binary"],
            "attribute_value": ["not base64!"],
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    fieldset = html[html.index('<fieldset class="wide attribute-rows') :]
    assert "The value of blob is not valid base64." in fieldset[: fieldset.index("</fieldset>")]


def test_without_htmx_sending_redirects_back_with_a_toast(operator_client, queue):
    response = operator_client.post("/queues/orders/send", {"body": "hi"}, follow=True)
    assert response.redirect_chain == [("/queues/orders/#messages", 302)]
    assert 'class="toast toast-success"' in response.content.decode()
    assert Message.objects.count() == 1


# Deleting and purging


def test_an_operator_deletes_one_message(operator_client, queue, htmx_headers):
    send(queue, "keep")
    send(queue, "drop")
    service.receive_messages(queue, max_number=1)  # deleting needs no receipt handle, any state
    drop = Message.objects.get(body="drop")
    response = operator_client.post(
        f"/queues/orders/messages/{drop.pk}/delete", headers=htmx_headers
    )
    assert response.status_code == 200
    # htmx swaps the row for nothing; the Undo banner and the Trash section ride out of band.
    assert b"message-" not in response.content and b'id="undo-banner"' in response.content
    assert toast(response)["message"] == "Deleted the message."
    assert list(Message.objects.values_list("body", flat=True)) == ["keep"]
    again = operator_client.post(f"/queues/orders/messages/{drop.pk}/delete", headers=htmx_headers)
    assert toast(again) == {"level": "info", "message": "That message was already gone."}


def test_a_message_cannot_be_deleted_through_another_queue(operator_client, queue):
    other = service.create_queue("other")
    send(other, "theirs")
    pk = Message.objects.get().pk
    operator_client.post(f"/queues/orders/messages/{pk}/delete")
    assert Message.objects.filter(pk=pk).exists()


def test_the_purge_dialog_names_the_queue_and_its_depth(operator_client, queue, htmx_headers):
    for n in range(3):
        send(queue, f"m{n}")
    service.receive_messages(queue, max_number=1)
    html = operator_client.get("/queues/orders/purge", headers=htmx_headers).content.decode()
    assert "Purge orders?" in html
    assert "<strong>3 messages</strong> in <strong>orders</strong>" in html
    assert "(2 visible, 1 in flight, 0 delayed)" in html
    full_page = operator_client.get("/queues/orders/purge").content.decode()
    assert "Purge orders?" in full_page and "<!doctype html>" in full_page


def test_an_operator_purges_a_queue_once_a_minute(operator_client, queue, htmx_headers):
    for n in range(3):
        send(queue, f"m{n}")
    response = operator_client.post("/queues/orders/purge", headers=htmx_headers)
    assert response.status_code == 200
    assert toast(response)["message"] == "Purged orders: deleted 3 messages."
    assert events(response) == {"queue-changed", "messages-changed"}
    assert not Message.objects.exists()
    send(queue, "again")
    refused = operator_client.post("/queues/orders/purge", headers=htmx_headers)
    assert refused.status_code == 403
    assert toast(refused)["level"] == "error"
    assert "allowed every 60 seconds" in toast(refused)["message"]
    assert Message.objects.count() == 1


# Settings and tags


def test_an_operator_edits_an_attribute_in_place(operator_client, queue, htmx_headers):
    form = operator_client.get(
        "/queues/orders/attributes/VisibilityTimeout/edit", headers=htmx_headers
    ).content.decode()
    assert form.lstrip().startswith('<tr id="attribute-VisibilityTimeout">')
    assert 'name="value"' in form and 'value="30"' in form
    response = operator_client.post(
        "/queues/orders/attributes/VisibilityTimeout/edit", {"value": "120"}, headers=htmx_headers
    )
    assert response.status_code == 200
    assert toast(response)["message"] == "Saved visibility timeout."
    assert "2 min" in response.content.decode()
    assert Queue.objects.get(name="orders").visibility_timeout == 120


def test_attribute_errors_show_beside_the_field(operator_client, queue, htmx_headers):
    response = operator_client.post(
        "/queues/orders/attributes/VisibilityTimeout/edit", {"value": "50000"}, headers=htmx_headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<tr id="attribute-VisibilityTimeout">')
    assert "Invalid value for the parameter VisibilityTimeout." in field_html(
        html, "attr-VisibilityTimeout-value"
    )
    assert Queue.objects.get(name="orders").visibility_timeout == 30


def test_attribute_errors_without_htmx_show_on_the_whole_page(operator_client, queue):
    response = operator_client.post("/queues/orders/attributes/DelaySeconds/edit", {"value": "901"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "<!doctype html>" in html
    assert "Invalid value for the parameter DelaySeconds." in field_html(
        html, "attr-DelaySeconds-value"
    )


def test_the_redrive_policy_is_chosen_as_a_queue_and_a_count(operator_client, queue):
    service.create_queue("orders-dlq")
    response = operator_client.post(
        "/queues/orders/attributes/RedrivePolicy/edit",
        {"dead_letter_queue": "orders-dlq", "max_receive_count": "4"},
    )
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.dead_letter_queue.name == "orders-dlq" and queue.max_receive_count == 4
    page = operator_client.get("/queues/orders/").content.decode()
    assert '<a href="/queues/orders-dlq/">orders-dlq</a>, after 4 receives' in page
    bad = operator_client.post(
        "/queues/orders/attributes/RedrivePolicy/edit",
        {"dead_letter_queue": "orders-dlq", "max_receive_count": "0"},
    )
    assert "maxReceiveCount" in field_html(
        bad.content.decode(), "attr-RedrivePolicy-max_receive_count"
    )
    operator_client.post("/queues/orders/attributes/RedrivePolicy/edit", {"dead_letter_queue": ""})
    queue.refresh_from_db()
    assert queue.dead_letter_queue is None


def test_fifo_only_attributes_are_not_offered_on_standard_queues(operator_client, queue):
    assert (
        "ContentBasedDeduplication" not in operator_client.get("/queues/orders/").content.decode()
    )
    response = operator_client.get("/queues/orders/attributes/ContentBasedDeduplication/edit")
    assert response.status_code == 404


def test_an_operator_adds_and_removes_tags(operator_client, queue, htmx_headers):
    response = operator_client.post(
        "/queues/orders/tags", {"key": "team", "value": "payments"}, headers=htmx_headers
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="queue-tags">')
    assert Queue.objects.get(name="orders").tags == {"team": "payments"}
    operator_client.post("/queues/orders/tags/remove", {"key": "team"}, headers=htmx_headers)
    assert Queue.objects.get(name="orders").tags == {}


def test_tag_errors_show_beside_the_key(operator_client, queue, htmx_headers):
    response = operator_client.post(
        "/queues/orders/tags", {"key": "aws:reserved", "value": "x"}, headers=htmx_headers
    )
    assert response.status_code == 422
    assert "Tag key &#x27;aws:reserved&#x27; is invalid." in field_html(
        response.content.decode(), "tag-key"
    )


# Live regions


def test_live_fragments_give_the_stats_chart_and_move_tasks(operator, queue):
    send(queue, "a")
    regions = queue_views.live_fragments(operator, name="orders")
    assert set(regions) == {"queue-stats", "queue-chart", "move-tasks", "trash"}
    assert regions["queue-chart"].lstrip().startswith('<section id="queue-chart" class="chart"')
    assert (
        regions["queue-stats"]
        .lstrip()
        .startswith('<section id="queue-stats" class="stats" hx-swap-oob="true"')
    )
    assert regions["move-tasks"].lstrip().startswith('<div id="move-tasks" hx-swap-oob="true"')
    assert (
        '<span class="stat-value" title="1">1</span> <span class="stat-label">visible</span>'
        in (regions["queue-stats"])
    )


def test_live_fragments_of_a_deleted_queue_raise(operator):
    with pytest.raises(Queue.DoesNotExist):
        queue_views.live_fragments(operator, name="gone")


def test_the_stats_region_answers_alone(viewer_client, queue):
    response = viewer_client.get("/queues/orders/stats")
    assert response.content.decode().lstrip().startswith('<section id="queue-stats"')


def test_times_are_formatted_for_people():
    from console.templatetags import console_tags as tags

    now = now_ms()
    assert [tags.compact(n) for n in (7, 999, 1234, 12_345, 3_400_000)] == [
        "7",
        "999",
        "1.2k",
        "12k",
        "3.4M",
    ]
    assert tags.ago(now - 3 * 60_000) == "3 min ago"
    assert tags.ago(now) == "just now"
    assert tags.age(now - 30_000) == "under a minute"
    assert tags.age(now - 2 * 3_600_000) == "2 h"
    assert tags.until(now + 95_000) in ("in 1 min 35 s", "in 1 min 34 s")
    assert tags.until(now - 1) == "now"
    assert [tags.duration(s) for s in (30, 120, 345_600, 90)] == ["30 s", "2 min", "4 days", "90 s"]
