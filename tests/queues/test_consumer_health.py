"""Consumer and FIFO-group health: who received from a queue in the last five minutes and how
long they held messages, poison candidates, groups held up behind a message in flight; and
`GET /api/queues/{name}/consumers` serving it."""

import json

import httpx
import pytest

from tests.access.conftest import denial
from tests.access.conftest import queue_arn as arn_of_queue_named

PRODUCER_KEY = ("AKIAHEALTHPRODUCER01", "healthproducersecret01")


# In-process, on the test database: the service as the doors call it, with the actor set.


@pytest.fixture
def queues_service(db, fresh_queue_cache):
    from queues import service  # noqa: PLC0415

    return service


def acting_as(key_id):
    from aws_protocol import actor  # noqa: PLC0415

    return actor.acting(actor.Actor("sqs", key_id=key_id))


def health(queue, **kwargs):
    from queues import consumer_health  # noqa: PLC0415

    return consumer_health.consumer_health(queue, **kwargs)


def send(service, queue, body="x", **fields):
    return service.send_message(queue, service.SendEntry(body=body, **fields))["MessageId"]


def test_keys_that_received_are_listed_with_their_deletes_and_latency(queues_service):
    queue = queues_service.create_queue("health-keys", {})
    for _ in range(3):
        send(queues_service, queue)
    with acting_as("AKIAHEALTHONE0000001"):
        received = queues_service.receive_messages(queue, max_number=2)
        for message in received:
            queues_service.delete_message(queue, message["ReceiptHandle"])
    with acting_as("AKIAHEALTHTWO0000001"):
        queues_service.receive_messages(queue)

    found = health(queue)

    assert [(c["key_id"], c["received"], c["deleted"]) for c in found["consumers"]] == [
        ("AKIAHEALTHONE0000001", 2, 2),
        ("AKIAHEALTHTWO0000001", 1, 0),
    ]
    one, two = found["consumers"]
    assert 0 <= one["latency_p50_ms"] <= one["latency_p90_ms"]
    assert two["latency_p50_ms"] is None
    assert one["last_received_at"].endswith("Z")
    assert found["window_seconds"] == 300
    assert found["blocked_groups"] is None  # a standard queue has no groups to block


def test_receives_older_than_five_minutes_are_left_out(queues_service):
    from queues.models import now_ms  # noqa: PLC0415

    queue = queues_service.create_queue("health-window", {})
    send(queues_service, queue)
    with acting_as("AKIAHEALTHOLD0000001"):
        queues_service.receive_messages(queue)

    assert health(queue, now=now_ms() + 5 * 60 * 1000 + 1_000)["consumers"] == []


def test_messages_received_many_times_are_poison_candidates(queues_service):
    queue = queues_service.create_queue("health-poison", {})
    poison = send(queues_service, queue, "bad")
    for _ in range(3):
        [message] = queues_service.receive_messages(queue, visibility_timeout=0)
        assert message["MessageId"] == poison
    send(queues_service, queue, "fine")

    found = health(queue)

    assert found["poison_threshold"] == 3
    assert [
        (m["message_id"], m["receive_count"], m["state"]) for m in found["poison_candidates"]
    ] == [(poison, 3, "visible")]


def test_poison_threshold_is_half_the_max_receive_count_when_higher(queues_service):
    dead_letters = queues_service.create_queue("health-threshold-dlq", {})
    policy = json.dumps({"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 10})
    queue = queues_service.create_queue("health-threshold", {"RedrivePolicy": policy})
    queue = queues_service.get_queue(queue.name)
    send(queues_service, queue)
    for _ in range(4):
        queues_service.receive_messages(queue, visibility_timeout=0)

    found = health(queue)

    assert found["poison_threshold"] == 5
    assert found["poison_candidates"] == []


def test_fifo_groups_behind_a_message_in_flight_are_blocked(queues_service):
    queue = queues_service.create_queue(
        "health-groups.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    held = send(queues_service, queue, "first", group_id="orders-7")
    send(queues_service, queue, "second", group_id="orders-7")
    [message] = queues_service.receive_messages(queue, visibility_timeout=600)
    assert message["MessageId"] == held

    [blocked] = health(queue)["blocked_groups"]

    assert (blocked["group_id"], blocked["message_id"]) == ("orders-7", held)
    assert blocked["blocked_seconds"] >= 0
    assert blocked["since"].endswith("Z")


# Over the REST API of a live server.


def test_consumers_endpoint_reports_the_keys_that_received(
    rest, sqs_json, make_queue, roost_server
):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs_json.send_message(QueueUrl=url, MessageBody="x")
    [message] = sqs_json.receive_message(QueueUrl=url)["Messages"]
    sqs_json.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    response = rest.get(f"/queues/{name}/consumers")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["queue"] == name
    [consumer] = body["consumers"]
    assert (consumer["key_id"], consumer["received"], consumer["deleted"]) == (
        roost_server.access_key_id,
        1,
        1,
    )
    assert body["poison_candidates"] == []
    assert body["blocked_groups"] is None


def test_consumers_endpoint_refuses_a_key_that_may_not_read_the_queue(
    roost_server, rest, make_queue
):
    roost_server.manage(
        "createaccesskey",
        "--id",
        PRODUCER_KEY[0],
        "--secret",
        PRODUCER_KEY[1],
        "--starter",
        "producer",
        "--pattern",
        "prod-*",
    )
    name = make_queue().rsplit("/", 1)[1]
    with httpx.Client(
        base_url=f"{roost_server.url}/api",
        headers={"Authorization": f"Bearer {PRODUCER_KEY[0]}:{PRODUCER_KEY[1]}"},
        timeout=30,
    ) as producer:
        response = producer.get(f"/queues/{name}/consumers")
    assert response.status_code == 403
    assert response.json()["message"] == denial(
        PRODUCER_KEY[0], "sqs:GetQueueAttributes", arn_of_queue_named(name)
    )
    response = rest.get("/queues/no-such-queue-here/consumers")
    assert response.status_code == 404
    assert response.json()["code"] == "QueueDoesNotExist"
