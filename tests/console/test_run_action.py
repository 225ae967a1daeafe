"""How a console action answers (console.views.responses.run_action), for htmx and plain posts:
success, a form the form itself refuses, a refusal by the service shown beside a field, and a
refusal of an action without a form shown as a toast."""

import json

import pytest

from queues import service
from queues.models import Message, Queue

from .conftest import send

pytestmark = pytest.mark.django_db

TAGS = "/queues/orders/tags"


def trigger(response):
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def field_errors(html, field_id):
    """The errors shown beside one form field."""
    start = html.index(f'<label for="{field_id}"')
    wrapper = html[start : html.index("</div>", start)]
    return [part.split("</p>", 1)[0] for part in wrapper.split('role="alert">')[1:]]


def test_success_answers_htmx_with_the_fragment_a_toast_and_the_page_events(
    operator_client, queue, htmx_headers
):
    response = operator_client.post(TAGS, {"key": "team", "value": "a"}, headers=htmx_headers)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="queue-tags">')
    assert trigger(response) == {"toast": {"level": "success", "message": "Tagged team."}}
    assert Queue.objects.get(name="orders").tags == {"team": "a"}


def test_success_redirects_a_plain_post_back_to_the_page_with_the_toast(operator_client, queue):
    response = operator_client.post(TAGS, {"key": "team", "value": "a"}, follow=True)
    assert response.redirect_chain == [("/queues/orders/#tags", 302)]
    assert '<div class="toast toast-success" role="status">Tagged team.</div>' in (
        response.content.decode()
    )


def test_a_form_the_form_refuses_never_reaches_the_service(operator_client, queue, htmx_headers):
    response = operator_client.post(TAGS, {"key": "", "value": "a"}, headers=htmx_headers)
    assert response.status_code == 422
    assert field_errors(response.content.decode(), "tag-key") == ["This field is required."]
    assert "HX-Trigger" not in response.headers
    assert Queue.objects.get(name="orders").tags == {}


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_service_refusal_naming_a_parameter_shows_beside_that_field(operator_client, queue, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = operator_client.post(
        "/queues/orders/send", {"body": "hi", "delay_seconds": "901"}, headers=headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert field_errors(html, "send-delay_seconds") == [
        "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be &gt;= 0 "
        "and &lt;= 900."
    ]
    assert html.lstrip().startswith('<form id="send-form"') == htmx
    assert ("<!doctype html>" in html) != htmx  # a plain post gets the whole page
    assert not Message.objects.exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_service_refusal_naming_no_field_shows_beside_the_forms_main_field(operator_client, htmx):
    service.create_queue("orders", tags={f"tag{n}": "x" for n in range(50)})
    headers = {"HX-Request": "true"} if htmx else {}
    response = operator_client.post(TAGS, {"key": "one-more", "value": "x"}, headers=headers)
    assert response.status_code == 422
    assert field_errors(response.content.decode(), "tag-key") == [
        "Too many tags added for queue. Tag limit per queue is 50."
    ]
    assert 'value="one-more"' in response.content.decode()  # what was typed is kept


def test_a_refused_action_without_a_form_is_an_error_toast_for_htmx(
    operator_client, queue, htmx_headers
):
    operator_client.post("/queues/orders/purge", headers=htmx_headers)
    send(queue)
    response = operator_client.post("/queues/orders/purge", headers=htmx_headers)
    assert response.status_code == 403
    assert response.content == b""
    assert trigger(response)["toast"]["level"] == "error"
    assert "allowed every 60 seconds" in trigger(response)["toast"]["message"]
    assert Message.objects.count() == 1


def test_a_refused_action_without_a_form_sends_a_plain_post_back_with_the_toast(
    operator_client, queue
):
    operator_client.post("/queues/orders/purge")
    send(queue)
    response = operator_client.post("/queues/orders/purge", follow=True)
    assert response.redirect_chain == [("/queues/orders/", 302)]
    html = response.content.decode()
    assert '<div class="toast toast-error" role="alert">' in html
    assert "allowed every 60 seconds" in html
    assert Message.objects.count() == 1
