"""Message attribute rows, as the send form (queue page) and the publish form (topic page) take them."""

import base64
import json

import pytest

from notifications import service as topic_service
from notifications.models import PublishedMessage
from queues import service as queue_service
from queues.models import Message

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0"


@pytest.fixture(autouse=True)
def _fresh_topic_cache():
    """Forget topics cached by earlier tests (their rows were rolled back)."""
    topic_service.topic_cache.clear()
    yield
    topic_service.topic_cache.clear()


def _sent_attributes():
    return json.loads(Message.objects.get().attributes or "{}")


def _published_attributes():
    return PublishedMessage.objects.get().attributes


DOORS = {
    "send": ("/queues/orders/", "send", "body", _sent_attributes),
    "publish": ("/topics/events/", "publish", "message", _published_attributes),
}


@pytest.fixture(params=DOORS, ids=str)
def door(request, db):
    """(page URL, form action, body field, what was stored) of the send or the publish form."""
    queue_service.create_queue("orders")
    topic_service.create_topic("events")
    return DOORS[request.param]


def post(client, door, rows, headers=None):
    page, action, body, _stored = door
    data = {
        body: "hello",
        "attribute_name": [row[0] for row in rows],
        "attribute_type": [row[1] for row in rows],
        "attribute_value": [row[2] for row in rows],
    }
    return client.post(page + action, data, headers=headers or {})


def attribute_errors(response):
    html = response.content.decode()
    fieldset = html[html.index('<fieldset class="wide attribute-rows') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    return [part.split("</p>", 1)[0] for part in fieldset.split('role="alert">')[1:]]


def test_custom_type_labels_are_kept_and_binary_ones_decoded(operator_client, door, htmx_headers):
    rows = [
        ("price", "Number.float", "3.14"),
        ("photo", "Binary.jpeg", base64.b64encode(JPEG).decode()),
        ("note", "String.utf8", "hi"),
    ]
    response = post(operator_client, door, rows, htmx_headers)
    assert response.status_code == 200
    assert door[3]() == {
        "price": {"DataType": "Number.float", "StringValue": "3.14"},
        "photo": {"DataType": "Binary.jpeg", "BinaryValue": base64.b64encode(JPEG).decode()},
        "note": {"DataType": "String.utf8", "StringValue": "hi"},
    }


def test_a_blank_type_is_string(operator_client, door, htmx_headers):
    assert post(operator_client, door, [("kind", " ", "refund")], htmx_headers).status_code == 200
    assert door[3]() == {"kind": {"DataType": "String", "StringValue": "refund"}}


@pytest.mark.parametrize("data_type", ["Bool", "string", "Binaryish", "Number.", ".String"])
def test_a_type_other_than_string_number_or_binary_is_refused_beside_the_rows(
    operator_client, door, data_type
):
    response = post(operator_client, door, [("flag", data_type, "1"), ("kind", "", "refund")])
    assert response.status_code == 422
    assert attribute_errors(response) == [
        "The type of flag is not String, Number or Binary, nor one of them followed by a custom "
        "label (e.g. Number.float)."
    ]
    html = response.content.decode()
    assert f'name="attribute_type" value="{data_type}"' in html  # what was typed is kept
    assert not Message.objects.exists()
    assert not PublishedMessage.objects.exists()


def test_a_binary_value_must_be_base64_whatever_its_label(operator_client, door):
    response = post(operator_client, door, [("photo", "Binary.jpeg", "not base64!")])
    assert response.status_code == 422
    assert attribute_errors(response) == ["The value of photo is not valid base64."]


def test_a_value_without_a_name_is_refused(operator_client, door, htmx_headers):
    response = post(operator_client, door, [("", "String", "orphan")], htmx_headers)
    assert response.status_code == 422
    assert attribute_errors(response) == ["Give every attribute with a value a name."]


def test_rows_with_neither_name_nor_value_are_ignored(operator_client, door, htmx_headers):
    response = post(operator_client, door, [("", "Number", ""), ("", "", "")], htmx_headers)
    assert response.status_code == 200
    assert door[3]() == {}


def test_the_type_box_suggests_the_types_and_takes_a_custom_label(operator_client, door):
    page, action, _body, _stored = door
    html = operator_client.get(page).content.decode()
    assert f'list="{action}-attribute_types" placeholder="String"' in html
    datalist = html[html.index(f'<datalist id="{action}-attribute_types">') :]
    datalist = datalist[: datalist.index("</datalist>")]
    suggested = [part.split('"', 1)[0] for part in datalist.split('<option value="')[1:]]
    sns_only = ["String.Array"] if action == "publish" else []
    assert suggested == ["String", "Number", "Binary", *sns_only]
