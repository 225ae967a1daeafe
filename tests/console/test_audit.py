"""The audit log: every door's destructive and administrative actions, read at GET /api/audit and
on the console's Audit log page, filtered, paged and limited to what the reader may see.

The SQS and SNS doors are driven with boto3 against the live server; the REST API and the console
with Django's test client.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from audit import log
from audit.models import AuditEntry
from aws_protocol import actor
from console import access_keys
from console.models import UserScope
from console.roles import OPERATORS_GROUP
from queues import service

# Live: the SQS and SNS doors


def test_a_purge_over_sqs_is_logged_with_its_key_door_and_count(
    sqs_client, make_queue, rest, roost_server
):
    sqs = sqs_client("json")
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")

    sqs.purge_queue(QueueUrl=url)

    response = rest.get("/audit", params={"queue": name, "action": "PurgeQueue"})
    assert response.status_code == 200, response.text
    [entry] = response.json()["entries"]
    assert entry["door"] == "sqs"
    assert entry["key_id"] == roost_server.access_key_id
    assert entry["actor"] == roost_server.access_key_id
    assert (entry["resource_type"], entry["resource"]) == ("queue", name)
    assert entry["details"]["messages"] == 3 and entry["details"]["trash_batch"]
    assert datetime.fromisoformat(entry["at"]) > datetime.now(UTC) - timedelta(minutes=5)
    created = rest.get("/audit", params={"queue": name, "action": "CreateQueue"}).json()
    assert [entry["door"] for entry in created["entries"]] == ["sqs"]


def test_a_topic_deleted_over_sns_is_logged_through_the_sns_door(sns, rest, roost_server):
    name = f"audit-{datetime.now(UTC).strftime('%H%M%S%f')}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Audit")

    sns.delete_topic(TopicArn=arn)

    entries = rest.get("/audit", params={"topic": name}).json()["entries"]
    assert [(entry["action"], entry["door"]) for entry in entries] == [
        ("DeleteTopic", "sns"),
        ("SetTopicAttributes", "sns"),
        ("CreateTopic", "sns"),
    ]
    assert entries[1]["details"] == {"attributes": {"DisplayName": "Audit"}}
    assert {entry["key_id"] for entry in entries} == {roost_server.access_key_id}


# REST and console doors (the test database)


@pytest.fixture
def key(db):
    """A full-access key and its bearer client."""
    created, secret = access_keys.create_access_key(name="audit tests")
    return created, Client(headers={"Authorization": f"Bearer {created.access_key_id}:{secret}"})


def limited_client(statements):
    created, secret = access_keys.create_access_key(
        name="limited",
        policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return Client(headers={"Authorization": f"Bearer {created.access_key_id}:{secret}"})


@pytest.fixture
def operator_client(db):
    user = User.objects.create_user("olga", password="a-long-password")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client = Client()
    client.force_login(user)
    return client


def entries(client, **params):
    response = client.get("/api/audit", params)
    assert response.status_code == 200, response.content
    return response.json()["entries"]


@pytest.mark.django_db
def test_rest_changes_are_logged_through_the_rest_door_without_secrets(key):
    created, client = key
    assert (
        client.post("/api/queues", {"name": "orders"}, content_type="application/json").status_code
        == 201
    )
    client.patch(
        "/api/queues/orders",
        {"attributes": {"VisibilityTimeout": 45}},
        content_type="application/json",
    )
    client.post("/api/queues/orders/purge")
    new_key = client.post(
        "/api/access-keys", {"name": "made over rest"}, content_type="application/json"
    ).json()

    logged = entries(client, door="rest")
    assert [entry["action"] for entry in logged] == [
        "CreateAccessKey",
        "PurgeQueue",
        "SetQueueAttributes",
        "CreateQueue",
    ]
    assert {entry["key_id"] for entry in logged} == {created.access_key_id}
    assert logged[0]["resource"] == new_key["access_key_id"]
    assert new_key["secret_access_key"] not in json.dumps(logged)
    assert logged[2]["details"] == {"attributes": {"VisibilityTimeout": "45"}}


@pytest.mark.django_db
def test_console_purge_delete_and_undo_are_logged_with_the_user(operator_client, key):
    _, client = key
    queue = service.create_queue("orders")
    for n in range(4):
        service.send_message(queue, service.SendEntry(body=f"m{n}"))
    first = service.newest_message_id()
    operator_client.post(f"/queues/orders/messages/{first}/delete")
    response = operator_client.post("/queues/orders/purge", {"confirm_name": "orders"})
    assert response.status_code == 302
    batch = service.recent_batches(queue)[0].batch
    operator_client.post(f"/queues/orders/trash/{batch}/restore")

    logged = entries(client, queue="orders", door="console")
    assert [(entry["action"], entry["username"]) for entry in logged] == [
        ("RestoreMessages", "olga"),
        ("PurgeQueue", "olga"),
        ("DeleteMessages", "olga"),
    ]
    assert logged[0]["details"]["messages"] == 3 and logged[0]["details"]["trash_batch"] == batch
    assert logged[1]["details"] == {"trash_batch": batch, "messages": 3}
    assert logged[2]["details"]["messages"] == 1


@pytest.mark.django_db
def test_filters_by_actor_action_door_and_time_and_pages_newest_first(key):
    _, client = key
    with actor.acting(actor.Actor("sqs", key_id="AKIAFIRST")):
        for n in range(5):
            service.create_queue(f"q{n}")
    with actor.acting(actor.Actor("console", username="olga")):
        service.tag_queue(service.get_queue("q1"), {"team": "a"})
    # Arbitrary actions (an alarm's state change) are read like any other.
    log.record("AlarmStateChange", "queue", "q1", alarm="depth", state="ALARM")

    assert [entry["resource"] for entry in entries(client, actor="AKIAFIRST")] == [
        "q4",
        "q3",
        "q2",
        "q1",
        "q0",
    ]
    assert [entry["action"] for entry in entries(client, actor="olga")] == ["TagQueue"]
    assert [entry["action"] for entry in entries(client, queue="q1")] == [
        "AlarmStateChange",
        "TagQueue",
        "CreateQueue",
    ]
    assert [entry["door"] for entry in entries(client, action="AlarmStateChange")] == ["system"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert entries(client, since=future) == []
    assert len(entries(client, until=future, door="sqs")) == 5

    seen, cursor = [], None
    while True:
        page = client.get("/api/audit", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [entry["id"] for entry in page.json()["entries"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == AuditEntry.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [{"since": "yesterday"}, {"door": "smtp"}, {"cursor": "not-a-cursor"}, {"limit": 1001}],
)
def test_bad_filters_are_refused_with_400(key, params):
    _, client = key
    response = client.get("/api/audit", params)
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.django_db
def test_a_key_reads_only_what_roost_get_audit_log_allows(key):
    service.create_queue("orders")
    service.create_queue("billing")
    nothing = limited_client(
        [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]
    )  # every SQS action, but not the log
    orders_only = limited_client(
        [{"Effect": "Allow", "Action": "roost:GetAuditLog", "Resource": "arn:aws:sqs:*:*:orders"}]
    )

    assert entries(nothing) == []
    refused = nothing.get("/api/audit", {"queue": "orders"})
    assert refused.status_code == 403 and "roost:GetAuditLog" in refused.json()["message"]
    assert [entry["resource"] for entry in entries(orders_only)] == ["orders"]
    assert orders_only.get("/api/audit", {"queue": "billing"}).status_code == 403


@pytest.mark.django_db
def test_a_scoped_user_sees_their_queues_entries_on_the_page_and_in_the_api():
    service.create_queue("orders-1")
    service.create_queue("billing")
    user = User.objects.create_user("sam", password="a-long-password")
    UserScope.objects.create(user=user, queue_patterns="orders-*")
    client = Client()
    client.force_login(user)

    assert [entry["resource"] for entry in entries(client)] == ["orders-1"]
    page = client.get("/audit/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "orders-1" in text and "billing" not in text
    assert client.get("/audit/", {"queue": "billing"}).status_code == 200
    assert "not authorized" in client.get("/audit/", {"queue": "billing"}).content.decode()


@pytest.mark.django_db
def test_the_page_filters_with_htmx_and_escapes_details(operator_client):
    with actor.acting(actor.Actor("rest", key_id="AKIAESCAPE")):
        service.create_queue("orders", tags={"note": "<script>alert(1)</script>"})
    service.create_queue("billing")

    page = operator_client.get("/audit/", {"queue": "orders"}, headers={"HX-Request": "true"})

    text = page.content.decode()
    assert text.strip().startswith('<div id="audit-entries"')
    assert "AKIAESCAPE" in text and "billing" not in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_times_are_compared_in_utc_whatever_their_offset(rest):
    # PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 and Python allow.
    response = rest.get("/audit", params={"until": "3396-08-06T23:42:54-20:32"})
    assert response.status_code == 200, response.text
    response = rest.get("/audit", params={"since": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert "since" in response.json()["message"]
