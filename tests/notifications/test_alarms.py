"""Alarms on queues: beat's evaluation (called directly) moves them OK -> ALARM -> OK, publishes
each change in CloudWatch's alarm-notification shape, and writes it to the audit log."""

import json

import pytest

from audit.models import AuditEntry
from console import access_keys
from notifications import service
from notifications.models import Alarm
from queues import activity
from queues import service as queue_service
from queues.models import QueueActivity
from tests.queues.test_rest_api import HOST, JsonClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_state():
    """Empty caches, as a new process has."""
    queue_service.queue_cache.clear()
    service.topic_cache.clear()
    access_keys.clear_cache()
    activity.flush()
    yield
    queue_service.queue_cache.clear()
    service.topic_cache.clear()
    access_keys.clear_cache()


@pytest.fixture
def watched():
    """A queue to watch, a topic for its alarms and a queue subscribed raw to the topic."""
    queue = queue_service.create_queue("work")
    topic = service.create_topic("alarms")
    inbox = queue_service.create_queue("inbox")
    service.subscribe(topic, "sqs", inbox.arn, {"RawMessageDelivery": "true"})
    return queue, topic, inbox


def samples(queue, minute, values, column="visible"):
    """Seed one-minute samples ending at `minute`, oldest first."""
    for offset, value in enumerate(reversed(values)):
        QueueActivity.objects.update_or_create(
            queue=queue, minute=minute - offset, defaults={column: value}
        )


def notifications(inbox):
    """The alarm notifications the inbox queue received, as dicts."""
    received = queue_service.receive_messages(inbox, 10)
    return [json.loads(message["Body"]) for message in received]


def test_depth_alarm_goes_to_alarm_and_back_publishing_and_logging_each_change(watched):
    queue, topic, inbox = watched
    alarm = service.create_alarm(
        queue, name="work backlog", kind="depth", threshold=5, minutes=3, topic=topic
    )
    assert alarm.state == Alarm.State.INSUFFICIENT_DATA
    minute = activity.current_minute()

    samples(queue, minute, [1, 2, 3])
    assert [a.name for a in service.evaluate_alarms(minute)] == ["work backlog"]
    alarm.refresh_from_db()
    assert alarm.state == Alarm.State.OK
    assert notifications(inbox) == []  # INSUFFICIENT_DATA -> OK is not published

    samples(queue, minute + 3, [6, 9, 7])
    service.evaluate_alarms(minute + 3)
    [message] = notifications(inbox)
    assert message["AlarmName"] == "work backlog"
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["NewStateReason"].startswith("Threshold Crossed: 3 datapoints [6 (")
    assert message["AlarmActions"] == [topic.arn]
    trigger = message["Trigger"]
    assert trigger["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert trigger["Namespace"] == "AWS/SQS"
    assert trigger["Dimensions"] == [{"value": "work", "name": "QueueName"}]
    assert (trigger["Threshold"], trigger["EvaluationPeriods"], trigger["Period"]) == (5.0, 3, 60)
    assert trigger["ComparisonOperator"] == "GreaterThanThreshold"
    assert message["StateChangeTime"].endswith("+0000")

    assert service.evaluate_alarms(minute + 3) == []  # no change, nothing published
    samples(queue, minute + 4, [9, 7, 2])
    service.evaluate_alarms(minute + 4)
    [message] = notifications(inbox)
    assert (message["OldStateValue"], message["NewStateValue"]) == ("ALARM", "OK")

    changes = AuditEntry.objects.filter(action="AlarmStateChange").order_by("id")
    assert [(e.details["old"], e.details["new"]) for e in changes] == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    assert {(e.door, e.resource) for e in changes} == {("system", "work")}


def test_too_few_samples_is_insufficient_data(watched):
    queue, topic, _inbox = watched
    service.create_alarm(queue, name="slow", kind="depth", threshold=0, minutes=5, topic=topic)
    minute = activity.current_minute()
    samples(queue, minute, [3, 3])
    assert service.evaluate_alarms(minute) == []
    assert Alarm.objects.get().state == Alarm.State.INSUFFICIENT_DATA


def test_oldest_age_alarm(watched):
    queue, topic, inbox = watched
    service.create_alarm(queue, name="stale", kind="oldest_age", threshold=600, topic=topic)
    minute = activity.current_minute()
    samples(queue, minute, [601], column="oldest_age")
    service.evaluate_alarms(minute)
    [message] = notifications(inbox)
    assert message["NewStateValue"] == "ALARM"
    assert message["Trigger"]["MetricName"] == "ApproximateAgeOfOldestMessage"


def test_dead_letter_alarm_fires_when_the_dead_letter_queue_receives_anything(watched):
    _queue, topic, inbox = watched
    dead_letter_queue = queue_service.create_queue("work-dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    source = queue_service.create_queue("orders", {"RedrivePolicy": policy})
    on_source = service.create_alarm(
        source, name="orders dead letters", kind="dlq_receives", threshold=0, topic=topic
    )
    on_dlq = service.create_alarm(
        dead_letter_queue, name="dlq receives", kind="dlq_receives", threshold=0, topic=topic
    )
    minute = activity.current_minute()
    service.evaluate_alarms(minute)
    assert {a.state for a in Alarm.objects.all()} == {Alarm.State.OK}

    queue_service.send_messages(source, [queue_service.SendEntry(body="x", id="1")])
    queue_service.receive_messages(source, 1, visibility_timeout=0)
    queue_service.receive_messages(source, 1)  # received once already: moved to the DLQ
    activity.flush()
    changed = service.evaluate_alarms(activity.current_minute())
    assert {a.name for a in changed} == {on_source.name, on_dlq.name}
    assert {m["NewStateValue"] for m in notifications(inbox)} == {"ALARM"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "size"}, "kind must be one of depth, oldest_age, dlq_receives"),
        ({"threshold": -1}, "threshold must be between 0 and"),
        ({"threshold": "many"}, "threshold must be a whole number"),
        ({"minutes": 0}, "minutes must be between 1 and 1440"),
        ({"name": ""}, "name must be 1 to 255 printable ASCII"),
        ({"kind": "dlq_receives"}, "has no dead-letter queue"),
    ],
)
def test_bad_alarms_are_refused_with_a_reason(watched, changes, message):
    queue, topic, _inbox = watched
    given = {"name": "a", "kind": "depth", "threshold": 1, "minutes": 1, **changes}
    with pytest.raises(Exception, match=message) as raised:
        service.create_alarm(queue, topic=topic, **given)
    assert raised.value.status == 400


def test_rest_alarm_crud_and_its_permissions(watched):
    key, secret = access_keys.create_access_key(name="alarms")
    api = JsonClient(
        headers={"Authorization": f"Bearer {key.access_key_id}:{secret}", "Host": HOST}
    )
    body = {"name": "backlog", "kind": "depth", "threshold": 100, "minutes": 5, "topic": "alarms"}
    created = api.post("/api/queues/work/alarms", body)
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "INSUFFICIENT_DATA"
    assert api.post("/api/queues/work/alarms", body).status_code == 400  # the name is taken
    bad = api.post("/api/queues/work/alarms", {**body, "name": "x", "minutes": 0})
    assert bad.status_code == 400
    assert "minutes" in bad.json()["message"]
    assert [a["name"] for a in api.get("/api/queues/work/alarms").json()["alarms"]] == ["backlog"]
    assert api.get("/api/queues/work/alarms/backlog").json()["topic"] == "alarms"
    assert api.get("/api/queues/work/alarms/nothing").status_code == 404
    assert api.delete("/api/queues/work/alarms/backlog").status_code == 204
    assert api.get("/api/queues/work/alarms").json()["alarms"] == []

    reader, reader_secret = access_keys.create_access_key(
        name="reader",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"], "Resource": "*"}]}',
    )
    limited = JsonClient(
        headers={"Authorization": f"Bearer {reader.access_key_id}:{reader_secret}", "Host": HOST}
    )
    assert limited.get("/api/queues/work/alarms").status_code == 200
    assert limited.post("/api/queues/work/alarms", body).status_code == 403  # no sns:Publish
