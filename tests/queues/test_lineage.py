"""Message lineage: every step of a message's life recorded where it happens and served by
`GET /api/queues/{name}/messages/{message_id}/events`.

The live tests drive a real server through boto3 (both SQS protocols) and SNS; the steps only a
worker or beat takes (retention, move-task batches, pruning) are run in-process on the test
database, through the same service functions.
"""

import json

import httpx
import pytest

from tests.access.conftest import denial
from tests.access.conftest import queue_arn as arn_of_queue_named

SECOND_KEY = ("AKIALINEAGESECOND001", "lineagesecondsecret01")
PRODUCER_KEY = ("AKIALINEAGEPRODUCER1", "lineageproducersecret1")


@pytest.fixture(scope="module")
def keys(roost_server):
    """A second full-access key, and a producer key that may only send to queues named prod-*."""
    roost_server.manage("createaccesskey", "--id", SECOND_KEY[0], "--secret", SECOND_KEY[1])
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
    return {"first": (roost_server.access_key_id, roost_server.secret), "second": SECOND_KEY}


def rest_client(roost_server, key_id, secret):
    return httpx.Client(
        base_url=f"{roost_server.url}/api",
        headers={"Authorization": f"Bearer {key_id}:{secret}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def rest(roost_server):
    """The REST API as the test key."""
    with rest_client(roost_server, roost_server.access_key_id, roost_server.secret) as client:
        yield client


def name_of(url):
    return url.rsplit("/", 1)[1]


def events_of(rest, queue, message_id):
    response = rest.get(f"/queues/{queue}/messages/{message_id}/events")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message_id"] == message_id
    assert body["queue"] == queue
    return body["events"]


def test_message_life_is_a_timeline_with_each_receive_and_its_key(
    sqs, protocol, sqs_client, keys, make_queue, rest
):
    url = make_queue()
    other = sqs_client(
        protocol, aws_access_key_id=SECOND_KEY[0], aws_secret_access_key=SECOND_KEY[1]
    )
    message_id = sqs.send_message(QueueUrl=url, MessageBody="hello")["MessageId"]
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    [message] = other.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    other.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=45
    )
    other.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    events = events_of(rest, name_of(url), message_id)

    assert [event["type"] for event in events] == [
        "sent",
        "received",
        "received",
        "visibility_changed",
        "deleted",
    ]
    sent, first, second, changed, deleted = events
    assert sent["key_id"] == keys["first"][0]
    assert (first["key_id"], first["receive_count"], first["visibility_timeout"]) == (
        keys["first"][0],
        1,
        0,
    )
    assert (second["key_id"], second["receive_count"], second["visibility_timeout"]) == (
        SECOND_KEY[0],
        2,
        30,
    )
    assert changed["visibility_timeout"] == 45
    assert deleted["key_id"] == SECOND_KEY[0]
    assert deleted["held_ms"] >= 0
    for event in events:
        assert event["at"].endswith("Z") and "T" in event["at"]
        assert event["queue"] == name_of(url)


def test_batch_delete_records_each_message_deleted(sqs_json, make_queue, rest):
    url = make_queue()
    sent = sqs_json.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)]
    )["Successful"]
    messages = sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 3
    sqs_json.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
            for n, message in enumerate(messages)
        ],
    )
    for result in sent:
        kinds = [event["type"] for event in events_of(rest, name_of(url), result["MessageId"])]
        assert kinds == ["sent", "received", "deleted"]


def test_dead_lettered_message_says_why_in_the_dead_letter_queue(sqs, make_queue, queue_arn, rest):
    dead_letters = make_queue()
    source = make_queue(
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": queue_arn(dead_letters), "maxReceiveCount": 1}
        )
    )
    message_id = sqs.send_message(QueueUrl=source, MessageBody="poison")["MessageId"]
    sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)

    events = events_of(rest, name_of(dead_letters), message_id)

    assert [event["type"] for event in events] == ["sent", "received", "dead_lettered"]
    moved = events[-1]
    assert moved["queue"] == name_of(dead_letters)
    assert moved["from_queue"] == name_of(source)
    assert moved["reason"] == "maxReceiveCount 1 exceeded"
    assert moved["receive_count"] == 1


def test_fifo_duplicate_send_records_no_second_event(sqs_json, make_queue, rest):
    url = make_queue(FifoQueue=True)
    fields = {"MessageGroupId": "g", "MessageDeduplicationId": "d"}
    first = sqs_json.send_message(QueueUrl=url, MessageBody="x", **fields)["MessageId"]
    again = sqs_json.send_message(QueueUrl=url, MessageBody="x", **fields)["MessageId"]
    assert first == again
    [sent] = events_of(rest, name_of(url), first)
    assert (sent["type"], sent["group_id"]) == ("sent", "g")


def test_message_published_to_a_subscribed_queue_names_topic_publisher_and_verdicts(
    sns, sqs_json, make_queue, queue_arn, rest, roost_server
):
    everything, red_only = make_queue(), make_queue()
    topic = sns.create_topic(Name=f"lineage-{name_of(everything)}")["TopicArn"]
    subscribed = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(everything), ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    filtered = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(red_only),
        Attributes={"FilterPolicy": json.dumps({"color": ["red"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    sns_message_id = sns.publish(
        TopicArn=topic,
        Message="paint",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"}},
    )["MessageId"]
    [delivered] = sqs_json.receive_message(QueueUrl=everything)["Messages"]

    events = events_of(rest, name_of(everything), delivered["MessageId"])

    assert [event["type"] for event in events][:3] == ["published", "sent", "received"]
    published = events[0]
    assert published["topic_arn"] == topic
    assert published["sns_message_id"] == sns_message_id
    assert published["key_id"] == roost_server.access_key_id
    assert published["subscription_arn"] == subscribed
    assert published["filter_verdicts"][subscribed] == "matched"
    assert "color" in published["filter_verdicts"][filtered]
    assert "blue" in published["filter_verdicts"][filtered]
    assert events[1]["subscription_arn"] == subscribed


def test_events_need_permission_to_read_the_queue(roost_server, keys, sqs_json, make_queue):
    """A key that may only send is refused, as it would be reading the messages."""
    url = make_queue()
    message_id = sqs_json.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    with rest_client(roost_server, *PRODUCER_KEY) as producer:
        response = producer.get(f"/queues/{name_of(url)}/messages/{message_id}/events")
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"
    denied = denial(PRODUCER_KEY[0], "sqs:ReceiveMessage", arn_of_queue_named(name_of(url)))
    assert response.json()["message"] == denied


def test_events_of_unknown_queue_or_message_are_not_found(rest, make_queue):
    response = rest.get("/queues/no-such-queue-here/messages/abc/events")
    assert response.status_code == 404
    assert response.json()["code"] == "QueueDoesNotExist"
    queue = name_of(make_queue())
    response = rest.get(f"/queues/{queue}/messages/not-a-message/events")
    assert response.status_code == 404
    assert response.json()["message"] == f"No events for message not-a-message in {queue}."


# In-process: retention, move tasks, chosen redrives, the cap, pruning, turning it off.


@pytest.fixture
def queues_service(db, fresh_queue_cache):
    from queues import service  # noqa: PLC0415

    return service


def _send(service, queue, body="x"):
    return service.send_message(queue, service.SendEntry(body=body))["MessageId"]


def _kinds(message_id):
    from queues import lineage  # noqa: PLC0415

    return [event["type"] for event in lineage.timeline(message_id)]


def test_expired_message_gets_an_expired_event(queues_service):
    from queues.models import Message  # noqa: PLC0415

    queue = queues_service.create_queue("lineage-expiry", {"MessageRetentionPeriod": "60"})
    message_id = _send(queues_service, queue)
    Message.objects.filter(message_id=message_id).update(sent_at=1)

    queues_service.sweep_expired_messages()

    assert _kinds(message_id) == ["sent", "expired"]


def _dead_letter(service, source, message_id):
    service.receive_messages(source, visibility_timeout=0)
    assert service.receive_messages(source, visibility_timeout=0) == []


def _queues_with_dead_letters(service, name):
    dead_letters = service.create_queue(f"{name}-dlq", {})
    policy = json.dumps({"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 1})
    source = service.create_queue(name, {"RedrivePolicy": policy})
    return service.get_queue(source.name), service.get_queue(dead_letters.name)


def test_move_task_records_redriven_with_its_handle(queues_service):
    from aws_protocol import actor  # noqa: PLC0415
    from queues import lineage  # noqa: PLC0415

    source, dead_letters = _queues_with_dead_letters(queues_service, "lineage-move")
    message_id = _send(queues_service, source)
    _dead_letter(queues_service, source, message_id)
    with actor.acting(actor.Actor("sqs", key_id="AKIALINEAGEMOVER0001")):
        task = queues_service.start_message_move_task(dead_letters.arn)

    while queues_service.move_messages_step(task.pk) is not None:
        pass

    events = lineage.timeline(message_id)
    assert [event["type"] for event in events] == [
        "sent",
        "received",
        "dead_lettered",
        "redriven",
    ]
    redriven = events[-1]
    assert redriven["move_task"] == task.task_handle
    assert redriven["started_by"] == "AKIALINEAGEMOVER0001"
    assert redriven["key_id"] == ""  # the moves ran as Roost's worker
    assert (redriven["from_queue"], redriven["to_queue"], redriven["queue"]) == (
        dead_letters.name,
        source.name,
        source.name,
    )


def test_chosen_messages_redriven_from_the_console_name_the_user(queues_service):
    from aws_protocol import actor  # noqa: PLC0415
    from queues import lineage  # noqa: PLC0415
    from queues.models import Message  # noqa: PLC0415

    source, dead_letters = _queues_with_dead_letters(queues_service, "lineage-chosen")
    message_id = _send(queues_service, source)
    _dead_letter(queues_service, source, message_id)
    pk = Message.objects.get(message_id=message_id).pk

    with actor.acting(actor.Actor("console", username="ops")):
        assert queues_service.redrive_messages(dead_letters, [pk]) == 1

    redriven = lineage.timeline(message_id)[-1]
    assert (redriven["type"], redriven["user"], redriven["key_id"]) == ("redriven", "ops", "")
    assert "move_task" not in redriven


def test_receives_past_the_cap_are_dropped_but_the_delete_is_kept(queues_service):
    from queues import lineage  # noqa: PLC0415

    queue = queues_service.create_queue("lineage-cap", {})
    message_id = _send(queues_service, queue)
    for _ in range(lineage.MAX_EVENTS + 5):
        [message] = queues_service.receive_messages(queue, visibility_timeout=0)
    queues_service.delete_message(queue, message["ReceiptHandle"])

    kinds = _kinds(message_id)
    assert kinds.count("received") == lineage.MAX_EVENTS - 1
    assert kinds[-1] == "deleted"


def test_prune_drops_ended_messages_after_the_window_and_keeps_live_ones(queues_service, settings):
    from queues import lineage  # noqa: PLC0415
    from queues.models import MessageEvent, now_ms  # noqa: PLC0415

    queue = queues_service.create_queue("lineage-prune", {})
    ended = _send(queues_service, queue)
    [message] = queues_service.receive_messages(queue)
    queues_service.delete_message(queue, message["ReceiptHandle"])
    living = _send(queues_service, queue)
    window = settings.ROOST_LINEAGE_RETENTION_SECONDS * 1000

    lineage.prune_events(now=now_ms() + window - 1_000)
    assert MessageEvent.objects.filter(message_id=ended).exists()

    lineage.prune_events(now=now_ms() + window + 1_000)
    assert not MessageEvent.objects.filter(message_id=ended).exists()
    assert MessageEvent.objects.filter(message_id=living).exists()

    lineage.prune_events(now=now_ms() + lineage.MAX_RETENTION_MS + window + 1_000)
    assert not MessageEvent.objects.filter(message_id=living).exists()


def test_nothing_is_recorded_with_lineage_off(queues_service, settings):
    from queues.models import MessageEvent  # noqa: PLC0415

    settings.ROOST_LINEAGE = False
    queue = queues_service.create_queue("lineage-off", {})
    message_id = _send(queues_service, queue)
    [message] = queues_service.receive_messages(queue)
    queues_service.delete_message(queue, message["ReceiptHandle"])

    assert not MessageEvent.objects.filter(message_id=message_id).exists()
