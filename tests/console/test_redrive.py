"""Redrive from a dead-letter queue's page: move tasks, their progress and cancelling, and
moving chosen messages at once."""

import json

import pytest

from queues import service
from queues.models import Message, MessageMoveTask

from .conftest import send

pytestmark = pytest.mark.django_db


def dead_letter(source, body):
    """Send a message to the source and receive it until it lands in the dead-letter queue."""
    send(source, body)
    for _ in range(source.max_receive_count + 1):
        service.receive_messages(source, max_number=10, visibility_timeout=0)
    return Message.objects.get(body=body)


def toast(response):
    return json.loads(response["HX-Trigger"])["toast"]


def test_the_move_tasks_region_shows_progress_and_a_cancel_button(
    operator_client, dead_letter_pair, htmx_headers
):
    source, dead_letter_queue = dead_letter_pair
    for n in range(3):
        dead_letter(source, f"failed {n}")
    response = operator_client.post(
        "/queues/orders-dlq/redrive", {"destination": "", "rate": "10"}, headers=htmx_headers
    )
    assert response.status_code == 200
    assert (
        toast(response)["message"] == "Started moving orders-dlq's messages to their source queues."
    )
    assert "move-tasks-changed" in json.loads(response["HX-Trigger"])
    task = MessageMoveTask.objects.get()
    assert task.max_messages_per_second == 10
    assert task.approximate_number_of_messages_to_move == 3
    MessageMoveTask.objects.filter(pk=task.pk).update(approximate_number_of_messages_moved=1)

    region = operator_client.get("/queues/orders-dlq/move-tasks").content.decode()
    assert '<progress value="1" max="3"' in region
    assert "1 of 3" in region
    assert ">Cancel</button>" in region
    assert "10/s" in region

    cancel = operator_client.post(
        "/queues/orders-dlq/move-tasks/cancel",
        {"task_handle": task.task_handle},
        headers=htmx_headers,
    )
    assert cancel.status_code == 200
    assert toast(cancel)["message"] == "Cancelling the move task; 1 message moved so far."
    task.refresh_from_db()
    assert task.status == MessageMoveTask.Status.CANCELLING
    assert ">Cancel</button>" not in cancel.content.decode()
    again = operator_client.post(
        "/queues/orders-dlq/move-tasks/cancel",
        {"task_handle": task.task_handle},
        headers=htmx_headers,
    )
    assert again.status_code == 400
    assert toast(again) == {"level": "error", "message": "Only active tasks can be cancelled."}


def test_finished_tasks_show_their_outcome(viewer_client, dead_letter_pair):
    source, dead_letter_queue = dead_letter_pair
    dead_letter(source, "failed")
    task = service.start_message_move_task(dead_letter_queue.arn)
    MessageMoveTask.objects.filter(pk=task.pk).update(
        status=MessageMoveTask.Status.FAILED,
        failure_reason="The destination queue no longer exists.",
    )
    page = viewer_client.get("/queues/orders-dlq/").content.decode()
    assert "Failed" in page
    assert "The destination queue no longer exists." in page
    assert ">Cancel</button>" not in page


def test_move_task_refusals_show_on_the_form(operator_client, dead_letter_pair, htmx_headers):
    source, dead_letter_queue = dead_letter_pair
    response = operator_client.post(
        "/queues/orders-dlq/redrive", {"rate": "501"}, headers=htmx_headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    rate = html[html.index('<label for="redrive-rate"') :]
    assert "MaxNumberOfMessagesPerSecond is invalid" in rate[: rate.index("</div>")]
    service.start_message_move_task(dead_letter_queue.arn)
    busy = operator_client.post("/queues/orders-dlq/redrive", {}, headers=htmx_headers)
    assert "There is already a task running." in busy.content.decode()
    assert MessageMoveTask.objects.count() == 1


def test_selected_messages_go_back_to_their_source_at_once(
    operator_client, dead_letter_pair, htmx_headers
):
    source, dead_letter_queue = dead_letter_pair
    chosen = [dead_letter(source, "one"), dead_letter(source, "two")]
    left = dead_letter(source, "three")
    page = operator_client.get("/queues/orders-dlq/").content.decode()
    assert f'name="message" value="{left.pk}" form="redrive-form"' in page
    response = operator_client.post(
        "/queues/orders-dlq/redrive/selected",
        {"destination": "", "message": [str(message.pk) for message in chosen]},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert toast(response)["message"] == "Moved 2 messages to their source queues."
    assert {"queue-changed", "messages-changed"} <= set(json.loads(response["HX-Trigger"]))
    moved = Message.objects.filter(pk__in=[message.pk for message in chosen])
    assert set(moved.values_list("queue_id", "receive_count")) == {(source.pk, 0)}
    assert Message.objects.get(pk=left.pk).queue_id == dead_letter_queue.pk


def test_selected_messages_go_to_a_chosen_queue(operator_client, dead_letter_pair):
    source, dead_letter_queue = dead_letter_pair
    elsewhere = service.create_queue("retry")
    message = dead_letter(source, "one")
    response = operator_client.post(
        "/queues/orders-dlq/redrive/selected", {"destination": "retry", "message": [message.pk]}
    )
    assert response.status_code == 302
    assert Message.objects.get(pk=message.pk).queue_id == elsewhere.pk


def test_redriving_nothing_selected_says_so(operator_client, dead_letter_pair, htmx_headers):
    response = operator_client.post(
        "/queues/orders-dlq/redrive/selected", {"destination": ""}, headers=htmx_headers
    )
    assert response.status_code == 422
    assert "Choose at least one message to move." in response.content.decode()


def test_a_queue_that_is_no_dead_letter_queue_has_no_redrive(operator_client, queue):
    page = operator_client.get("/queues/orders/").content.decode()
    assert 'id="redrive"' not in page
    assert 'form="redrive-form"' not in page
