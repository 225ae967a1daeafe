"""Malformed SQS input found by an outside test, one request each: a 4xx, never a 500, and
nothing stored."""

import importlib
import json
from urllib.parse import urlencode

import pytest

from queues.models import Queue
from tests.wire_fuzz import SQS_XMLNS, RawClient, json_error, xml_error

JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def raw(roost_server):
    """A raw signing client for the live server."""
    client = RawClient(roost_server)
    yield client
    client.close()


def send_json(raw, operation, params=None, body=None):
    headers = {**JSON_HEADERS, "X-Amz-Target": f"AmazonSQS.{operation}"}
    body = json.dumps(params).encode() if body is None else body
    status, response_headers, content = raw.send("POST", "/", headers, body, service="sqs")
    return status, json_error(status, response_headers, content)[0]


def send_query(raw, pairs):
    body = urlencode([("Version", "2012-11-05"), *pairs]).encode()
    status, headers, content = raw.send("POST", "/", dict(FORM_HEADERS), body, service="sqs")
    return status, xml_error(status, headers, content, SQS_XMLNS)


def test_json_body_nested_thousands_deep_is_a_serialization_error(raw):
    body = b'{"QueueNamePrefix": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    assert send_json(raw, "ListQueues", body=body) == (400, "SerializationException")


@pytest.mark.parametrize("entry", [None, "text", ["a", "list"]])
@pytest.mark.parametrize("operation", ["SendMessageBatch", "DeleteMessageBatch"])
def test_batch_entry_that_is_not_a_structure_is_refused(raw, make_queue, operation, entry):
    url = make_queue()

    assert send_json(raw, operation, {"QueueUrl": url, "Entries": [entry]}) == (
        400,
        "SerializationException",
    )


@pytest.mark.parametrize("body", [{"text": "x"}, ["x"], 5])
def test_message_body_that_is_not_a_string_is_refused(raw, make_queue, sqs_json, body):
    url = make_queue()

    assert send_json(raw, "SendMessage", {"QueueUrl": url, "MessageBody": body}) == (
        400,
        "SerializationException",
    )
    assert "Messages" not in sqs_json.receive_message(QueueUrl=url)


@pytest.mark.parametrize("names", [[None], [{"x": 1}], [7], "All"])
@pytest.mark.parametrize("member", ["AttributeNames", "MessageAttributeNames"])
def test_attribute_name_lists_holding_other_than_strings_are_refused(
    raw, make_queue, member, names
):
    url = make_queue()

    assert send_json(raw, "ReceiveMessage", {"QueueUrl": url, member: names}) == (
        400,
        "SerializationException",
    )


@pytest.mark.parametrize("value", [5, True, {"x": 1}, ["a"], None])
def test_tag_values_that_are_not_strings_are_refused_and_not_stored(
    raw, make_queue, sqs_json, queue_name, value
):
    url = make_queue(tags={"kept": "yes"})

    assert send_json(raw, "TagQueue", {"QueueUrl": url, "Tags": {"k": value}}) == (
        400,
        "SerializationException",
    )
    assert send_json(raw, "CreateQueue", {"QueueName": f"{queue_name}-x", "tags": {"k": value}})[
        0
    ] == (400)
    assert sqs_json.list_queue_tags(QueueUrl=url)["Tags"] == {"kept": "yes"}
    assert "QueueUrls" not in sqs_json.list_queues(QueueNamePrefix=f"{queue_name}-x")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4669[/000000000000/q", "http://[::1/000000000000/q"]
)
def test_queue_url_with_a_malformed_host_is_an_invalid_address(raw, url):
    assert send_json(raw, "GetQueueAttributes", {"QueueUrl": url}) == (400, "InvalidAddress")
    assert send_query(raw, [("Action", "GetQueueAttributes"), ("QueueUrl", url)]) == (
        400,
        "InvalidAddress",
    )


def test_create_queue_tag_key_without_its_value_is_refused(raw, sqs_json, queue_name):
    pairs = [("Action", "CreateQueue"), ("QueueName", queue_name), ("Tag.1.Key", "k")]

    assert send_query(raw, pairs) == (400, "MissingParameter")
    assert "QueueUrls" not in sqs_json.list_queues(QueueNamePrefix=queue_name)


def test_tag_queue_tag_key_without_its_value_is_refused(raw, make_queue, sqs_json):
    url = make_queue(tags={"kept": "yes"})
    pairs = [("Action", "TagQueue"), ("QueueUrl", url), ("Tag.1.Key", "k")]

    assert send_query(raw, pairs) == (400, "MissingParameter")
    assert sqs_json.list_queue_tags(QueueUrl=url)["Tags"] == {"kept": "yes"}


@pytest.mark.parametrize("action", ["ListQueues", "GetQueueAttributes", "SendMessage"])
def test_parameter_nested_under_a_plain_value_is_refused(raw, make_queue, action):
    url = make_queue()
    pairs = [("Action", action), ("QueueUrl", url), ("MessageBody", "b")]

    status, code = send_query(raw, [*pairs, ("Attribute.1.Name.x", "y")])
    assert (status, code) == (400, "InvalidParameterValue")
    status, code = send_query(raw, [*pairs, ("QueueUrl.x", "y")])
    assert (status, code) == (404, "MalformedQueryString")


def test_query_tag_value_given_as_a_structure_is_refused_and_not_stored(raw, make_queue, sqs_json):
    url = make_queue(tags={"kept": "yes"})
    pairs = [("Action", "TagQueue"), ("QueueUrl", url), ("Tag.1.Key", "k"), ("Tag.1.Value.x", "y")]

    assert send_query(raw, pairs) == (400, "InvalidParameterValue")
    assert sqs_json.list_queue_tags(QueueUrl=url)["Tags"] == {"kept": "yes"}


@pytest.mark.django_db
def test_migration_makes_stored_tag_values_strings():
    from django.apps import apps  # noqa: PLC0415

    migration = importlib.import_module("queues.migrations.0006_stringify_queue_tag_values")
    queue = Queue.objects.create(
        name="stored-bad-tags",
        tags={"n": 5, "b": True, "s": "ok", "o": {"x": 1}, "l": ["a"], "z": None},
    )
    clean = Queue.objects.create(name="stored-good-tags", tags={"s": "ok"})

    migration.stringify_tag_values(apps, None)

    queue.refresh_from_db()
    clean.refresh_from_db()
    assert queue.tags == {"n": "5", "b": "true", "s": "ok"}
    assert clean.tags == {"s": "ok"}


@pytest.mark.parametrize(
    "body",
    [b'{"QueueUrl": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"QueueUrl": {"x": 1}}'],
)
def test_localstack_endpoint_refuses_malformed_json(raw, body):
    headers = {**JSON_HEADERS, "X-Amz-Target": "AmazonSQS.ReceiveMessage"}

    status, response_headers, content = raw.send(
        "POST", "/_aws/sqs/messages", headers, body, service="sqs"
    )

    assert status == 400, content
    assert json_error(status, response_headers, content)[0] == "SerializationException"
