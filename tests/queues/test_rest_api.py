"""The REST API (/api/) and LocalStack's developer endpoint (/_aws/sqs/messages) over HTTP."""

import asyncio
import base64
import json
import time
import xml.etree.ElementTree as ET

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.http import Http404
from django.test import AsyncClient, Client, RequestFactory
from ninja.errors import AuthenticationError, HttpError, ValidationError

import aws_protocol.errors
import console.api
import console.errors
import notifications.errors
import queues.api
import queues.errors
import queues.long_poll
import queues.notifier
from aws_protocol.errors import RoostError
from console import access_keys
from console.api import REST_STATUS, _error_response
from queues import service
from queues.models import Message

pytestmark = pytest.mark.django_db

HOST = "roost.test"
XMLNS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Start each test with empty key and queue caches, as a new process would."""
    access_keys.clear_cache()
    service.queue_cache.clear()
    yield
    access_keys.clear_cache()
    service.queue_cache.clear()


@pytest.fixture
def key_and_secret(db):
    """An active access key and its plain secret."""
    return access_keys.create_access_key(name="rest tests")


@pytest.fixture
def bearer(key_and_secret):
    """The Authorization header value for the test key."""
    key, secret = key_and_secret
    return f"Bearer {key.access_key_id}:{secret}"


@pytest.fixture
def api(bearer):
    """A test client that sends the bearer token and JSON bodies: api.post(path, data)."""
    return JsonClient(headers={"Authorization": bearer, "Host": HOST})


@pytest.fixture
def queue(api):
    """A standard queue named `orders`, created through the API."""
    assert api.post("/api/queues", {"name": "orders"}).status_code == 201
    return service.get_queue("orders")


class JsonClient(Client):
    """A Django test client whose POST/PATCH bodies are JSON unless told otherwise."""

    def post(self, path, data=None, **kwargs):
        return self._json("post", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self._json("patch", path, data, **kwargs)

    def _json(self, method, path, data, **kwargs):
        kwargs.setdefault("content_type", "application/json")
        if data is None:
            data = {}
        if not isinstance(data, str | bytes):
            data = json.dumps(data)
        return getattr(super(), method)(path, data, **kwargs)


def signed_headers(key_id, secret, method, path, body=b"", headers=None, service_name="sqs"):
    """Headers botocore's SigV4 signer adds for this request to http://roost.test."""
    request = AWSRequest(
        method=method,
        url=f"http://{HOST}{path}",
        data=body,
        headers={"Host": HOST, **(headers or {})},
    )
    SigV4Auth(Credentials(key_id, secret), service_name, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


def send(queue_name, body="hello", **fields):
    service.send_message(service.get_queue(queue_name), service.SendEntry(body=body, **fields))


# Authentication


def test_request_without_credentials_is_refused():
    response = Client().get("/api/queues")

    assert_error(response, 401, "Unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_with_wrong_secret_is_refused(key_and_secret):
    key, _ = key_and_secret
    client = Client(headers={"Authorization": f"Bearer {key.access_key_id}:not-the-secret"})

    assert_error(client.get("/api/queues"), 401, "Unauthorized")


def test_bearer_token_of_a_disabled_key_is_refused(key_and_secret, bearer):
    access_keys.disable_access_key(key_and_secret[0])

    response = Client(headers={"Authorization": bearer}).get("/api/queues")

    assert_error(response, 401, "Unauthorized")


def test_wrong_bearer_token_is_refused_even_with_a_console_session(key_and_secret):
    client = Client(headers={"Authorization": f"Bearer {key_and_secret[0].access_key_id}:nope"})
    client.force_login(get_user_model().objects.create_user("ada", password="x"))

    assert_error(client.get("/api/queues"), 401, "Unauthorized")


def test_bearer_token_needs_no_csrf_token(bearer):
    client = JsonClient(enforce_csrf_checks=True, headers={"Authorization": bearer})

    assert client.post("/api/queues", {"name": "no-csrf"}).status_code == 201


def test_sigv4_signed_request_is_accepted(key_and_secret):
    key, secret = key_and_secret
    body = json.dumps({"name": "signed"}).encode()
    headers = signed_headers(
        key.access_key_id,
        secret,
        "POST",
        "/api/queues",
        body,
        {"Content-Type": "application/json"},
        service_name="execute-api",
    )

    response = Client().post("/api/queues", body, content_type="application/json", headers=headers)

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "signed"


def test_sigv4_request_with_wrong_signature_is_refused_with_aws_error(key_and_secret):
    key, _ = key_and_secret
    headers = signed_headers(key.access_key_id, "x" * 40, "GET", "/api/queues")

    response = Client().get("/api/queues", headers=headers)

    assert_error(response, 403, "SignatureDoesNotMatch")


def test_console_session_may_read():
    client = Client()
    client.force_login(get_user_model().objects.create_user("ada", password="x"))

    assert client.get("/api/queues").status_code == 200


def test_console_session_must_send_csrf_token_to_change_things():
    client = JsonClient(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_superuser("ada", password="x"))

    refused = client.post("/api/queues", {"name": "from-console"})
    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post(
        "/api/queues", {"name": "from-console"}, headers={"X-CSRFToken": "a" * 32}
    )

    assert_error(refused, 403, "Forbidden")
    assert accepted.status_code == 201


def test_message_sent_by_console_user_names_the_user(queue):
    client = JsonClient()
    client.force_login(get_user_model().objects.create_superuser("ada", password="x"))

    client.post("/api/queues/orders/messages", {"body": "from the console"})

    assert Message.objects.get().sender_id == "ada"


# Queues


def test_create_queue_returns_its_details(api):
    response = api.post(
        "/api/queues",
        {"name": "orders", "attributes": {"VisibilityTimeout": 60}, "tags": {"team": "a"}},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "orders"
    assert body["url"] == f"http://{HOST}/000000000000/orders"
    assert body["arn"] == "arn:aws:sqs:us-east-1:000000000000:orders"
    assert body["fifo"] is False
    assert body["attributes"]["VisibilityTimeout"] == "60"
    assert body["depth"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert body["tags"] == {"team": "a"}
    assert body["redrive_policy"] is None


def test_create_fifo_queue_takes_json_booleans(api):
    response = api.post(
        "/api/queues",
        {"name": "jobs.fifo", "attributes": {"FifoQueue": True, "ContentBasedDeduplication": True}},
    )

    assert response.status_code == 201
    assert response.json()["fifo"] is True
    assert response.json()["attributes"]["ContentBasedDeduplication"] == "true"


def test_create_queue_with_unknown_attribute_is_refused(api):
    response = api.post("/api/queues", {"name": "orders", "attributes": {"Colour": "blue"}})

    body = assert_error(response, 400, "ValidationError")
    assert body["errors"][0]["loc"][-1] == "Colour"


def test_create_queue_with_invalid_name_is_refused(api):
    assert_error(api.post("/api/queues", {"name": "no spaces"}), 400, "ValidationError")


def test_create_queue_under_a_taken_name_with_other_attributes_is_a_conflict(api, queue):
    response = api.post("/api/queues", {"name": "orders", "attributes": {"DelaySeconds": 5}})

    assert_error(response, 409, "QueueNameExists")


def test_create_queue_without_a_name_is_a_validation_error(api):
    body = assert_error(api.post("/api/queues", {"attributes": {}}), 400, "ValidationError")

    assert body["errors"][0]["loc"][-1] == "name"


def test_body_that_is_not_json_is_a_validation_error(api):
    assert_error(api.post("/api/queues", "{not json"), 400, "ValidationError")


def test_get_queue_reports_depth_by_state(api, queue):
    send("orders", "visible")
    send("orders", "delayed", delay_seconds=600)
    send("orders", "to receive")
    service.receive_messages(queue, max_number=1)

    depth = api.get("/api/queues/orders").json()["depth"]

    assert depth == {"visible": 1, "in_flight": 1, "delayed": 1}


def test_get_unknown_queue_is_not_found(api):
    body = assert_error(api.get("/api/queues/nope"), 404, "QueueDoesNotExist")

    assert body == {"code": "QueueDoesNotExist", "message": "The specified queue does not exist."}


def test_list_queues_filters_by_prefix_and_pages(api):
    for name in ("a-1", "a-2", "a-3", "b-1"):
        api.post("/api/queues", {"name": name})

    first = api.get("/api/queues?prefix=a-&limit=2").json()
    second = api.get(f"/api/queues?prefix=a-&limit=2&cursor={first['next_cursor']}").json()

    assert [queue["name"] for queue in first["queues"]] == ["a-1", "a-2"]
    assert [queue["name"] for queue in second["queues"]] == ["a-3"]
    assert second["next_cursor"] is None


def test_update_queue_changes_attributes_and_tags(api, queue):
    response = api.patch(
        "/api/queues/orders",
        {"attributes": {"VisibilityTimeout": 5}, "tags": {"env": "prod"}},
    )

    assert response.status_code == 200
    assert response.json()["attributes"]["VisibilityTimeout"] == "5"
    assert response.json()["tags"] == {"env": "prod"}
    assert api.get("/api/queues/orders").json()["attributes"]["VisibilityTimeout"] == "5"


def test_update_queue_removes_tags(api):
    api.post("/api/queues", {"name": "orders", "tags": {"a": "1", "b": "2"}})

    response = api.patch("/api/queues/orders", {"remove_tags": ["a"]})

    assert response.json()["tags"] == {"b": "2"}


def test_update_queue_with_nothing_to_change_is_refused(api, queue):
    assert_error(api.patch("/api/queues/orders", {}), 400, "ValidationError")


def test_update_queue_changes_nothing_when_a_tag_is_refused(api, queue):
    response = api.patch(
        "/api/queues/orders",
        {"attributes": {"VisibilityTimeout": 5}, "tags": {"aws:reserved": "x"}},
    )
    service.queue_cache.clear()

    assert_error(response, 400, "ValidationError")
    assert api.get("/api/queues/orders").json()["attributes"]["VisibilityTimeout"] == "30"


def test_update_queue_with_out_of_range_value_is_refused(api, queue):
    response = api.patch("/api/queues/orders", {"attributes": {"VisibilityTimeout": 50_000}})

    assert_error(response, 400, "ValidationError")


def test_redrive_policy_may_be_given_as_an_object(api):
    api.post("/api/queues", {"name": "orders-dlq"})
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:orders-dlq",
        "maxReceiveCount": 3,
    }

    created = api.post("/api/queues", {"name": "orders", "attributes": {"RedrivePolicy": policy}})
    dead_letter_queue = api.get("/api/queues/orders-dlq").json()

    assert created.json()["redrive_policy"] == {
        "dead_letter_queue": "orders-dlq",
        "dead_letter_queue_arn": "arn:aws:sqs:us-east-1:000000000000:orders-dlq",
        "max_receive_count": 3,
    }
    assert dead_letter_queue["dead_letter_source_queues"] == ["orders"]


def test_delete_queue(api, queue):
    assert api.delete("/api/queues/orders").status_code == 204
    service.queue_cache.clear()

    assert_error(api.get("/api/queues/orders"), 404, "QueueDoesNotExist")


def test_purge_queue_deletes_its_messages_once_a_minute(api, queue):
    send("orders")
    send("orders")

    first = api.post("/api/queues/orders/purge")
    again = api.post("/api/queues/orders/purge")

    assert first.json()["deleted"] == 2  # and the trash batch that undoes it
    assert_error(again, 403, "PurgeQueueInProgress")


# Messages


def test_send_message_returns_its_id_and_checksums(api, queue):
    response = api.post(
        "/api/queues/orders/messages",
        {
            "body": "hello",
            "message_attributes": {"colour": {"DataType": "String", "StringValue": "red"}},
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["message_id"] == Message.objects.get().message_id
    assert body["md5_of_body"] == "5d41402abc4b2a76b9719d911017c592"
    assert body["md5_of_message_attributes"]
    assert body["sequence_number"] is None


def test_send_records_the_access_key_as_sender(api, queue, key_and_secret):
    api.post("/api/queues/orders/messages", {"body": "hello"})

    assert Message.objects.get().sender_id == key_and_secret[0].access_key_id


def test_send_to_fifo_queue_without_group_is_refused(api):
    api.post("/api/queues", {"name": "jobs.fifo", "attributes": {"FifoQueue": "true"}})

    response = api.post("/api/queues/jobs.fifo/messages", {"body": "x", "deduplication_id": "1"})

    assert_error(response, 400, "MissingParameter")


def test_send_with_invalid_binary_attribute_is_refused(api, queue):
    response = api.post(
        "/api/queues/orders/messages",
        {"body": "x", "message_attributes": {"b": {"DataType": "Binary", "BinaryValue": "@@"}}},
    )

    assert_error(response, 400, "ValidationError")


def test_send_batch_reports_each_entry(api, queue):
    response = api.post(
        "/api/queues/orders/messages/batch",
        {
            "entries": [
                {"id": "ok", "body": "fine"},
                {"id": "bad", "body": "x", "deduplication_id": "only-for-fifo"},
            ]
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert [entry["id"] for entry in body["successful"]] == ["ok"]
    assert body["failed"] == [
        {
            "id": "bad",
            "code": "InvalidParameterValue",
            "message": body["failed"][0]["message"],
            "sender_fault": True,
        }
    ]
    assert Message.objects.count() == 1


def test_send_batch_of_eleven_is_refused(api, queue):
    entries = [{"id": str(n), "body": "x"} for n in range(11)]

    response = api.post("/api/queues/orders/messages/batch", {"entries": entries})

    assert_error(response, 400, "ValidationError")


def test_receive_returns_messages_with_attributes(api, queue):
    api.post(
        "/api/queues/orders/messages",
        {
            "body": "hello",
            "message_attributes": {
                "colour": {"DataType": "String", "StringValue": "red"},
                "raw": {
                    "DataType": "Binary",
                    "BinaryValue": base64.b64encode(b"\x00\x01").decode(),
                },
            },
        },
    )

    response = api.post("/api/queues/orders/messages/receive", {"max_messages": 10})

    assert response.status_code == 200
    [message] = response.json()["messages"]
    assert message["body"] == "hello"
    assert message["receipt_handle"]
    assert message["attributes"]["ApproximateReceiveCount"] == "1"
    assert message["message_attributes"] == {
        "colour": {"DataType": "String", "StringValue": "red"},
        "raw": {"DataType": "Binary", "BinaryValue": "AAE="},
    }
    assert message["md5_of_message_attributes"]


def test_receive_without_a_body_uses_defaults(api, queue):
    send("orders", "one")
    send("orders", "two")

    response = api.post("/api/queues/orders/messages/receive", "")

    assert len(response.json()["messages"]) == 1


def test_receive_more_than_ten_is_refused(api, queue):
    response = api.post("/api/queues/orders/messages/receive", {"max_messages": 11})

    assert_error(response, 400, "ValidationError")


def test_receive_waits_at_most_twenty_seconds(api, queue):
    response = api.post("/api/queues/orders/messages/receive", {"wait_seconds": 21})

    assert_error(response, 400, "ValidationError")


def test_receive_from_empty_queue_waits_then_answers_empty(api, queue):
    started = time.monotonic()

    response = api.post("/api/queues/orders/messages/receive", {"wait_seconds": 1})

    assert response.json() == {"messages": []}
    assert time.monotonic() - started >= 1


@pytest.mark.django_db(transaction=True)
def test_long_poll_returns_as_soon_as_a_message_is_sent(bearer, monkeypatch):
    # With a 30 s re-check, only the notifier can end the wait early.
    monkeypatch.setattr(queues.long_poll, "RECHECK_SECONDS", 30)
    queue = service.create_queue("waiting")
    client = AsyncClient()  # its constructor's headers never reach an ASGI request's scope

    async def scenario():
        receiving = asyncio.ensure_future(
            client.post(
                "/api/queues/waiting/messages/receive",
                {"wait_seconds": 20},
                content_type="application/json",
                headers={"Authorization": bearer},
            )
        )
        # Send only once the receive waits on the queue's notifier, as a long poll does.
        deadline = time.monotonic() + 10
        while not queues.notifier.has_waiters():
            assert not receiving.done() and time.monotonic() < deadline, "the receive never waited"
            await asyncio.sleep(0.01)  # hand the loop to the receive: the wait starts there
        assert not receiving.done()
        await sync_to_async(service.send_message)(queue, service.SendEntry(body="at last"))
        sent = time.monotonic()
        response = await asyncio.wait_for(receiving, 10)
        return response, time.monotonic() - sent

    response, waited = async_to_sync(scenario)()

    assert response.status_code == 200
    assert [message["body"] for message in response.json()["messages"]] == ["at last"]
    assert waited < 5


def test_delete_message_by_receipt_handle(api, queue):
    send("orders")
    [message] = api.post("/api/queues/orders/messages/receive", {}).json()["messages"]

    response = api.delete(f"/api/queues/orders/messages/{message['receipt_handle']}")

    assert response.status_code == 204
    assert Message.objects.count() == 0


def test_delete_with_invalid_receipt_handle_is_refused(api, queue):
    response = api.delete("/api/queues/orders/messages/not-a-handle")

    assert_error(response, 400, "ReceiptHandleIsInvalid")


def test_change_visibility_makes_message_visible_again(api, queue):
    send("orders")
    [message] = api.post("/api/queues/orders/messages/receive", {}).json()["messages"]

    response = api.post(
        f"/api/queues/orders/messages/{message['receipt_handle']}/visibility",
        {"visibility_timeout": 0},
    )

    assert response.status_code == 204
    assert api.get("/api/queues/orders").json()["depth"]["visible"] == 1


def test_change_visibility_out_of_range_is_refused(api, queue):
    send("orders")
    [message] = api.post("/api/queues/orders/messages/receive", {}).json()["messages"]

    response = api.post(
        f"/api/queues/orders/messages/{message['receipt_handle']}/visibility",
        {"visibility_timeout": 43_201},
    )

    assert_error(response, 400, "ValidationError")


# Peek


def test_peek_lists_messages_without_receiving_them(api, queue):
    send("orders", "first")
    send("orders", "second", delay_seconds=300)

    page = api.get("/api/queues/orders/messages").json()

    assert [(m["body"], m["state"]) for m in page["messages"]] == [
        ("first", "visible"),
        ("second", "delayed"),
    ]
    assert page["next_cursor"] is None
    assert [m.receive_count for m in Message.objects.order_by("id")] == [0, 0]


def test_peek_pages_with_the_cursor_and_filters_by_state(api, queue):
    for n in range(5):
        send("orders", f"m{n}")
    service.receive_messages(queue, max_number=1)

    first = api.get("/api/queues/orders/messages?limit=2&state=visible").json()
    second = api.get(
        f"/api/queues/orders/messages?limit=2&state=visible&cursor={first['next_cursor']}"
    ).json()
    in_flight = api.get("/api/queues/orders/messages?state=in_flight").json()
    both = api.get("/api/queues/orders/messages?state=in_flight&state=visible").json()

    assert [m["body"] for m in first["messages"]] == ["m1", "m2"]
    assert [m["body"] for m in second["messages"]] == ["m3", "m4"]
    assert [m["body"] for m in in_flight["messages"]] == ["m0"]
    assert in_flight["messages"][0]["receive_count"] == 1
    assert len(both["messages"]) == 5  # a list parameter may be given several times


def test_peek_filters_by_attribute_and_body(api, queue):
    api.post(
        "/api/queues/orders/messages",
        {
            "body": "red one",
            "message_attributes": {"c": {"DataType": "String", "StringValue": "red"}},
        },
    )
    send("orders", "plain one")

    by_attribute = api.get("/api/queues/orders/messages?attribute=c=red").json()
    by_body = api.get("/api/queues/orders/messages?body_contains=plain").json()

    assert [m["body"] for m in by_attribute["messages"]] == ["red one"]
    assert [m["body"] for m in by_body["messages"]] == ["plain one"]


def test_peek_limit_above_a_thousand_is_refused(api, queue):
    assert_error(api.get("/api/queues/orders/messages?limit=1001"), 400, "ValidationError")


def test_peek_with_a_broken_cursor_is_refused(api, queue):
    response = api.get("/api/queues/orders/messages?cursor=abc")

    assert_error(response, 400, "InvalidParameterValue")


# Redrive (move tasks)


@pytest.fixture
def dead_letter_setup(api):
    """`orders` dead-letters to `orders-dlq`, which holds one message."""
    api.post("/api/queues", {"name": "orders-dlq"})
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:orders-dlq",
        "maxReceiveCount": 1,
    }
    api.post("/api/queues", {"name": "orders", "attributes": {"RedrivePolicy": policy}})
    send("orders-dlq", "failed")


def test_start_list_and_cancel_move_task(api, dead_letter_setup):
    started = api.post("/api/queues/orders-dlq/move-tasks", {"destination": "orders"})
    listed = api.get("/api/queues/orders-dlq/move-tasks").json()
    handle = started.json()["task_handle"]
    cancelled = api.post(f"/api/move-tasks/{handle}/cancel")
    cancelled_again = api.post(f"/api/move-tasks/{handle}/cancel")

    assert started.status_code == 201
    assert started.json()["status"] == "RUNNING"
    assert started.json()["source_queue"] == "orders-dlq"
    assert started.json()["destination_queue"] == "orders"
    assert started.json()["approximate_number_of_messages_to_move"] == 1
    assert [task["task_handle"] for task in listed["tasks"]] == [handle]
    assert cancelled.json()["status"] == "CANCELLING"
    assert_error(cancelled_again, 400, "UnsupportedOperation")


def test_move_task_from_a_queue_that_is_no_dead_letter_queue_is_refused(api, queue):
    response = api.post("/api/queues/orders/move-tasks", {})

    assert_error(response, 400, "InvalidParameterValue")


def test_move_task_to_unknown_destination_is_not_found(api, dead_letter_setup):
    response = api.post("/api/queues/orders-dlq/move-tasks", {"destination": "nope"})

    assert_error(response, 404, "QueueDoesNotExist")


def test_cancel_unknown_move_task_is_not_found(api):
    assert_error(api.post("/api/move-tasks/nope/cancel"), 404, "ResourceNotFoundException")


# The OpenAPI document and error mapping


def test_openapi_document_describes_every_endpoint():
    response = Client().get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert "/api/queues/{name}/messages/receive" in document["paths"]
    assert "/api/move-tasks/{task_handle}/cancel" in document["paths"]
    assert {"AccessKeyBearer", "SigV4", "ConsoleSession"} <= set(
        document["components"]["securitySchemes"]
    )


def test_unknown_api_path_is_not_found_in_the_api_shape(api):
    assert_error(api.get("/api/nothing/here"), 404, "NotFound")


def test_api_docs_page_is_served():
    response = Client().get("/api/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def _all_subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _all_subclasses(subclass)


# Every module that defines error types: the REST door must render the errors of each.
ERROR_MODULES = (
    aws_protocol.errors,
    console.api,
    console.errors,
    notifications.errors,
    queues.errors,
)


def test_every_roost_error_is_rendered_as_code_and_message():
    request = RequestFactory().get("/api/queues")
    errors = [
        cls
        for cls in _all_subclasses(RoostError)
        if cls.__module__.startswith(("aws_protocol.", "console.", "notifications.", "queues."))
    ]
    # Each module's errors are among those checked below.
    assert {module.__name__ for module in ERROR_MODULES} <= {cls.__module__ for cls in errors}
    assert len(errors) > 30

    for cls in errors:
        response = _error_response(request, cls())
        body = json.loads(response.content)
        assert body == {"code": cls.code, "message": cls().message}, cls
        assert response.status_code == REST_STATUS.get(cls.code, cls.status), cls


@pytest.mark.parametrize(
    ("exception", "status", "code"),
    [
        (
            ValidationError([{"loc": ("body", "x"), "msg": "bad", "type": "t"}]),
            400,
            "ValidationError",
        ),
        (AuthenticationError(), 401, "Unauthorized"),
        (HttpError(403, "CSRF check Failed"), 403, "Forbidden"),
        (HttpError(400, "Cannot parse request body"), 400, "ValidationError"),
        (Http404(), 404, "NotFound"),
        (OperationalError("database is locked"), 503, "ServiceUnavailable"),
        (RuntimeError("bug"), 500, "InternalFailure"),
    ],
)
def test_other_exceptions_are_rendered_as_code_and_message(exception, status, code):
    response = _error_response(RequestFactory().get("/api/queues"), exception)

    assert response.status_code == status
    assert json.loads(response.content)["code"] == code


# LocalStack's developer endpoint


def localstack_url(**params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"/_aws/sqs/messages?{query}"


QUEUE_URL = "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/orders"


def test_localstack_endpoint_answers_receive_message_xml_without_receiving(api, queue):
    send("orders", "hello")

    response = api.get(localstack_url(QueueUrl=QUEUE_URL))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    [message] = root.findall("sqs:ReceiveMessageResult/sqs:Message", XMLNS)
    assert message.findtext("sqs:Body", namespaces=XMLNS) == "hello"
    assert message.findtext("sqs:ReceiptHandle", namespaces=XMLNS) == "SQS/BACKDOOR/ACCESS"
    attributes = {
        item.findtext("sqs:Name", namespaces=XMLNS): item.findtext("sqs:Value", namespaces=XMLNS)
        for item in message.findall("sqs:Attribute", XMLNS)
    }
    assert attributes["ApproximateReceiveCount"] == "0"
    assert attributes["SentTimestamp"] == str(Message.objects.get().sent_at)
    assert Message.objects.get().receive_count == 0


def test_localstack_endpoint_answers_json_when_asked(api, queue):
    api.post(
        "/api/queues/orders/messages",
        {"body": "hi", "message_attributes": {"c": {"DataType": "String", "StringValue": "red"}}},
    )

    response = api.get(localstack_url(QueueUrl=QUEUE_URL), headers={"Accept": "application/json"})

    result = response.json()["ReceiveMessageResponse"]
    [message] = result["ReceiveMessageResult"]["Message"]
    assert message["Body"] == "hi"
    assert {"Name": "ApproximateReceiveCount", "Value": "0"} in message["Attribute"]
    assert message["MessageAttribute"] == [
        {"Name": "c", "Value": {"DataType": "String", "StringValue": "red"}}
    ]
    assert message["ReceiptHandle"] == "SQS/BACKDOOR/ACCESS"
    assert result["ResponseMetadata"]["RequestId"]


def test_localstack_endpoint_by_path(api, queue):
    send("orders", "hello")

    response = api.get(
        "/_aws/sqs/messages/us-east-1/000000000000/orders", headers={"Accept": "application/json"}
    )

    messages = response.json()["ReceiveMessageResponse"]["ReceiveMessageResult"]["Message"]
    assert [message["Body"] for message in messages] == ["hello"]


def test_localstack_endpoint_shows_invisible_and_delayed_only_when_asked(api, queue):
    send("orders", "in flight")
    service.receive_messages(queue)
    send("orders", "delayed", delay_seconds=300)
    send("orders", "visible")

    def bodies(**flags):
        response = api.get(
            localstack_url(QueueUrl=QUEUE_URL, **flags), headers={"Accept": "application/json"}
        )
        messages = response.json()["ReceiveMessageResponse"]["ReceiveMessageResult"]["Message"]
        return {
            m["Body"]: {a["Name"]: a["Value"] for a in m["Attribute"]}.get("IsVisible")
            for m in messages
        }

    assert bodies() == {"visible": None}
    assert bodies(ShowInvisible="true") == {"in flight": "false", "visible": "true"}
    assert set(bodies(ShowInvisible="true", ShowDelayed="true")) == {
        "in flight",
        "delayed",
        "visible",
    }


def test_localstack_endpoint_speaks_the_json_protocol_to_sdks(key_and_secret, queue):
    send("orders", "hello")
    key, secret = key_and_secret
    body = json.dumps({"QueueUrl": QUEUE_URL}).encode()
    protocol = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.ReceiveMessage",
    }
    headers = signed_headers(
        key.access_key_id, secret, "POST", "/_aws/sqs/messages", body, protocol
    )

    response = Client().post(
        "/_aws/sqs/messages",
        body,
        content_type="application/x-amz-json-1.0",
        headers=headers,
    )

    assert response.status_code == 200, response.content
    [message] = json.loads(response.content)["Messages"]
    assert message["Body"] == "hello"
    assert message["Attributes"]["ApproximateReceiveCount"] == "0"


def test_localstack_endpoint_requires_credentials(queue):
    response = Client().get(localstack_url(QueueUrl=QUEUE_URL))

    assert response.status_code == 401
    root = ET.fromstring(response.content)
    assert root.findtext("sqs:Error/sqs:Code", namespaces=XMLNS) == "Unauthorized"


def test_localstack_endpoint_unknown_queue_is_sqs_error(api):
    response = api.get(localstack_url(QueueUrl="http://x/000000000000/nope"))

    assert response.status_code == 400
    root = ET.fromstring(response.content)
    code = root.findtext("sqs:Error/sqs:Code", namespaces=XMLNS)
    assert code == "AWS.SimpleQueueService.NonExistentQueue"


def test_localstack_endpoint_without_queue_url_is_refused(api):
    response = api.get("/_aws/sqs/messages", headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert response.json()["ErrorResponse"]["Error"]["Code"] == "MissingParameter"


def test_queue_url_host_is_ignored(api, queue):
    send("orders", "hello")
    other_host = "http://elsewhere:1234/000000000000/orders"

    response = api.get(localstack_url(QueueUrl=other_host), headers={"Accept": "application/json"})

    messages = response.json()["ReceiveMessageResponse"]["ReceiveMessageResult"]["Message"]
    assert [message["Body"] for message in messages] == ["hello"]


def test_text_with_a_nul_character_is_refused_before_it_reaches_the_database(api):
    tagged = api.post("/api/queues", {"name": "orders", "tags": {"team": "a\x00b"}})
    named = api.get("/api/queues/a%00b")
    listed = api.get("/api/queues?prefix=a%00")

    assert_error(tagged, 400, "ValidationError")
    assert_error(named, 400, "ValidationError")
    assert_error(listed, 400, "ValidationError")
    assert not service.list_queues()[0]
