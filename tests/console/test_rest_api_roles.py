"""The REST API lets only operators change things with a console session, as the console does."""

import json

import pytest
from django.apps import apps
from django.test import Client

from console import access_keys
from console.api import api
from console.models import AccessKey
from console.roles import REFUSED
from notifications import service as topics
from notifications.models import Delivery
from queues import service
from tests.console.conftest import send

pytestmark = pytest.mark.django_db

# A body per write route that would change something if the route let the caller through.
# Routes missing here are still walked (with an empty body) and must refuse just the same.
BODIES = {
    ("post", "/api/queues"): {"name": "made-by-a-viewer"},
    ("patch", "/api/queues/{name}"): {"attributes": {"VisibilityTimeout": 45}},
    ("delete", "/api/queues/{name}"): None,
    ("post", "/api/queues/{name}/purge"): None,
    ("post", "/api/queues/{name}/messages"): {"body": "from a viewer"},
    ("post", "/api/queues/{name}/messages/batch"): {"entries": [{"id": "a", "body": "x"}]},
    ("post", "/api/queues/{name}/messages/receive"): {"max_messages": 10},
    ("delete", "/api/queues/{name}/messages/{receipt_handle}"): None,
    ("post", "/api/queues/{name}/messages/{receipt_handle}/visibility"): {"visibility_timeout": 0},
    ("post", "/api/queues/{name}/move-tasks"): {},
    ("post", "/api/move-tasks/{task_handle}/cancel"): None,
    ("post", "/api/topics"): {"name": "made-by-a-viewer"},
    ("patch", "/api/topics/{name}"): {"attributes": {"DisplayName": "Viewer"}},
    ("delete", "/api/topics/{name}"): None,
    ("post", "/api/topics/{name}/subscriptions"): {"protocol": "sqs", "endpoint": "{queue_arn}"},
    ("patch", "/api/subscriptions/{subscription_id}"): {"attributes": {"RawMessageDelivery": True}},
    ("delete", "/api/subscriptions/{subscription_id}"): None,
    ("post", "/api/topics/{name}/publish"): {"message": "from a viewer"},
    ("post", "/api/topics/{name}/publish/batch"): {"entries": [{"id": "a", "message": "x"}]},
    ("post", "/api/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay"): None,
    ("post", "/api/access-keys"): {"name": "made-by-a-viewer"},
    ("patch", "/api/access-keys/{access_key_id}"): {"active": False},
    ("delete", "/api/access-keys/{access_key_id}"): None,
    ("put", "/api/access-keys/{access_key_id}/policy"): {
        "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}
    },
    ("delete", "/api/access-keys/{access_key_id}/policy"): None,
}


def write_routes():
    """Every (method, path) of the OpenAPI document that is not a read."""
    paths = api.get_openapi_schema()["paths"]
    return sorted(
        (method, path)
        for path, operations in paths.items()
        for method in operations
        if method not in {"get", "head", "options", "trace"}
    )


def snapshot():
    """Every row of the queues and notifications apps and every access key, so any change shows."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for app in ("queues", "notifications")
        for model in apps.get_app_config(app).get_models()
    } | {"access keys": list(AccessKey.objects.order_by("pk").values())}


@pytest.fixture
def world(db):
    """Path values naming real things: a queue with a received message, a dead-letter queue with a
    running move task, a topic with a queue subscription and a failed delivery."""
    dead_letter_queue = service.create_queue("orders-dlq")
    policy = {"deadLetterTargetArn": dead_letter_queue.arn, "maxReceiveCount": 1}
    queue = service.create_queue("orders", {"RedrivePolicy": json.dumps(policy)})
    send(queue, "first")
    send(queue, "second")
    receipt_handle = service.receive_messages(queue, max_number=1)[0]["ReceiptHandle"]
    send(dead_letter_queue, "dead")
    task = service.start_message_move_task(dead_letter_queue.arn)
    topic = topics.create_topic("news")
    subscription, _ = topics.subscribe(topic, "sqs", dead_letter_queue.arn)
    topics.publish(topic, topics.PublishEntry(message="hello"))
    delivery = Delivery.objects.filter(subscription=subscription).first()
    if delivery is not None:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED)
    key, _secret = access_keys.create_access_key(name="in the world")
    return {
        "access_key_id": key.access_key_id,
        "name": "orders",
        "topic": "news",
        "receipt_handle": receipt_handle,
        "task_handle": task.task_handle,
        "subscription_id": subscription.uuid,
        "delivery_id": delivery.pk if delivery is not None else 1,
        "queue_arn": queue.arn,
        "alarm": "backlog",  # refused before any alarm is looked up
        "batch": "0509df66-bf58-4763-8656-c9bc56bff5cd",  # refused before the trash is read
    }


def fill(path, world):
    """The path with its parameters replaced by the world's real names."""
    name = world["topic"] if path.startswith("/api/topics/") else world["name"]
    return path.format(**{**world, "name": name})


def body_for(method, path, world):
    body = BODIES.get((method, path), {})
    if body is None:
        return None
    return json.loads(json.dumps(body).replace("{queue_arn}", world["queue_arn"]))


def session_client(user):
    """A browser logged in as `user`, holding the CSRF token a console page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/").status_code == 200
    token = client.cookies["csrftoken"].value
    return client, token


def call(client, token, method, path, body):
    data = json.dumps(body) if body is not None else ""
    return client.generic(
        method.upper(),
        path,
        data,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def test_route_walk_covers_the_known_write_routes():
    routes = write_routes()

    assert routes
    assert set(BODIES) <= set(routes)


def test_read_only_session_is_refused_every_write_route_and_nothing_changes(viewer, world):
    client, token = session_client(viewer)
    before = snapshot()

    for method, path in write_routes():
        response = call(client, token, method, fill(path, world), body_for(method, path, world))

        assert response.status_code == 403, (method, path, response.content)
        assert response.json() == {"code": "Forbidden", "message": REFUSED}, (method, path)
    assert snapshot() == before


def test_read_only_session_still_reads(viewer, world):
    client, _ = session_client(viewer)

    assert client.get("/api/queues/orders").status_code == 200
    assert client.get("/api/topics/news/subscriptions").status_code == 200


def test_operator_session_changes_things(operator, world):
    client, token = session_client(operator)

    created = call(client, token, "post", "/api/queues", {"name": "by-operator"})
    sent = call(client, token, "post", "/api/queues/orders/messages", {"body": "hi"})
    published = call(client, token, "post", "/api/topics/news/publish", {"message": "hi"})
    purged = call(client, token, "post", "/api/queues/orders/purge", None)

    assert created.status_code == 201, created.content
    assert sent.status_code == 201, sent.content
    assert published.status_code == 201, published.content
    assert purged.status_code == 200, purged.content
    assert service.get_queue("by-operator").name == "by-operator"


def test_access_key_keeps_its_rights(world):
    key, secret = access_keys.create_access_key(name="program")
    client = Client(
        enforce_csrf_checks=True, headers={"Authorization": f"Bearer {key.access_key_id}:{secret}"}
    )

    response = call(client, "", "post", "/api/queues/orders/messages", {"body": "hi"})

    assert response.status_code == 201, response.content
