"""FIFO-only options: refused for standard queues by the server, not only greyed out by the page."""

import pytest

from queues import service
from queues.models import Queue

pytestmark = pytest.mark.django_db


def test_content_based_deduplication_is_refused_for_a_standard_queue(operator_client, htmx_headers):
    response = operator_client.post(
        "/queues/new", {"name": "jobs", "content_based_deduplication": "on"}, headers=htmx_headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('id="id_content_based_deduplication"') :]
    assert "Only FIFO queues deduplicate" in field[: field.index("</div>")]
    assert "data-fifo-only" in html and "data-fifo-switch" in html
    assert not Queue.objects.filter(name="jobs").exists()


def test_a_name_ending_in_fifo_makes_content_based_deduplication_allowed(operator_client):
    response = operator_client.post(
        "/queues/new", {"name": "jobs.fifo", "content_based_deduplication": "on"}
    )
    assert response.status_code == 302
    assert Queue.objects.get(name="jobs.fifo").content_based_deduplication


def test_the_send_form_asks_for_group_and_deduplication_ids_only_on_fifo_queues(operator_client):
    service.create_queue("plain", {})
    service.create_queue("ordered.fifo", {"FifoQueue": "true"})
    plain = operator_client.get("/queues/plain/").content.decode()
    assert 'id="send-group_id"' not in plain and 'id="send-deduplication_id"' not in plain
    ordered = operator_client.get("/queues/ordered.fifo/").content.decode()
    assert 'id="send-group_id"' in ordered and 'id="send-deduplication_id"' in ordered


def test_fifo_only_settings_cannot_be_edited_on_a_standard_queue(operator_client):
    service.create_queue("plain", {})
    page = operator_client.get("/queues/plain/").content.decode()
    assert "ContentBasedDeduplication" not in page
    edit = operator_client.get("/queues/plain/attributes/ContentBasedDeduplication/edit")
    assert edit.status_code == 404


def test_a_standard_queue_sends_from_its_form_and_gets_a_fresh_one(operator_client, htmx_headers):
    queue = service.create_queue("plain", {})
    response = operator_client.post("/queues/plain/send", {"body": "hi"}, headers=htmx_headers)
    assert response.status_code == 200
    assert 'id="send-form"' in response.content.decode()
    assert [m.body for m in queue.messages.all()] == ["hi"]
