"""The REST API under access policies: each endpoint asks for its SQS/SNS/IAM action, lists are
filtered, denials answer 403 AccessDenied with AWS's message, and /api/access-keys manages keys,
their policies and the simulator under the iam:* actions."""

import json
import re
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from aws_protocol import iam_policy
from console import access_keys
from console.models import AccessKey, UserScope
from console.roles import OPERATORS_GROUP
from notifications import service as topics
from queues import service
from tests.access.conftest import ACCOUNT_ID, allow, denial, queue_arn, topic_arn
from tests.console.conftest import send

pytestmark = pytest.mark.django_db

EVERYONE = f"arn:aws:iam::{ACCOUNT_ID}:user/*"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Start each test with empty key, queue and topic caches, as a new process would."""
    for clear in (access_keys.clear_cache, service.queue_cache.clear, topics.topic_cache.clear):
        clear()
    yield
    for clear in (access_keys.clear_cache, service.queue_cache.clear, topics.topic_cache.clear):
        clear()


def user_arn(key_id):
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{key_id}"


def statements(*items):
    return {"Version": "2012-10-17", "Statement": list(items)}


def statement(effect, actions, resources="*", sid=None):
    found = {"Effect": effect, "Action": actions, "Resource": resources}
    return {"Sid": sid, **found} if sid else found


class Api:
    """A REST client holding one access key as its bearer token."""

    def __init__(self, policy=None, name="rest test"):
        text = json.dumps(policy) if policy is not None else ""
        self.key, secret = access_keys.create_access_key(name=name, policy=text)
        self.client = Client(headers={"Authorization": f"Bearer {self.key.access_key_id}:{secret}"})

    @property
    def key_id(self):
        return self.key.access_key_id

    def __getattr__(self, method):
        def call(path, body=None, **extra):
            if body is None:
                return getattr(self.client, method)(path, **extra)
            data = body if isinstance(body, str) else json.dumps(body)
            return getattr(self.client, method)(
                path, data, content_type="application/json", **extra
            )

        return call


def assert_denied(response, key_id, action, resource, explicit=False):
    assert response.status_code == 403, response.content
    assert response.json() == {
        "code": "AccessDenied",
        "message": denial(key_id, action, resource, explicit),
    }


@pytest.fixture
def queues(db):
    """Queues orders-1, orders-2 and billing, each with one message."""
    made = {name: service.create_queue(name) for name in ("orders-1", "orders-2", "billing")}
    for queue in made.values():
        send(queue, f"for {queue.name}")
    return made


# Queues and messages


def test_allowed_call_succeeds_and_denied_call_gets_aws_access_denied(queues):
    api = Api(allow("sqs:SendMessage", queue_arn("orders-*")))

    sent = api.post("/api/queues/orders-1/messages", {"body": "hi"})
    refused = api.post("/api/queues/billing/messages", {"body": "hi"})

    assert sent.status_code == 201, sent.content
    assert_denied(refused, api.key_id, "sqs:SendMessage", queue_arn("billing"))
    assert service.queue_depth(queues["billing"])[0] == 1  # nothing was sent


def test_denied_call_on_a_missing_queue_is_access_denied_not_not_found(queues):
    api = Api(allow("sqs:*", queue_arn("orders-*")))

    assert_denied(
        api.get("/api/queues/nowhere"), api.key_id, "sqs:GetQueueAttributes", queue_arn("nowhere")
    )
    assert api.get("/api/queues/orders-9").status_code == 404


def test_explicit_deny_overrides_a_wildcard_allow(queues):
    api = Api(statements(statement("Allow", "sqs:*"), statement("Deny", "sqs:PurgeQueue")))

    refused = api.post("/api/queues/orders-1/purge")

    assert_denied(refused, api.key_id, "sqs:PurgeQueue", queue_arn("orders-1"), explicit=True)
    assert service.queue_depth(queues["orders-1"])[0] == 1
    assert api.get("/api/queues/orders-1").status_code == 200


def test_send_batch_needs_send_message_and_is_refused_whole(queues):
    api = Api(allow("sqs:GetQueueAttributes", queue_arn("billing")))
    entries = [{"id": "a", "body": "one"}, {"id": "b", "body": "two"}]

    refused = api.post("/api/queues/billing/messages/batch", {"entries": entries})

    assert_denied(refused, api.key_id, "sqs:SendMessage", queue_arn("billing"))
    assert service.queue_depth(queues["billing"])[0] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "action"),
    [
        ("get", "/api/queues/orders-1", None, "sqs:GetQueueAttributes"),
        ("get", "/api/queues/orders-1/messages", None, "sqs:ReceiveMessage"),
        ("post", "/api/queues/orders-1/messages/receive", {}, "sqs:ReceiveMessage"),
        ("post", "/api/queues/orders-1/purge", None, "sqs:PurgeQueue"),
        ("delete", "/api/queues/orders-1", None, "sqs:DeleteQueue"),
        ("patch", "/api/queues/orders-1", {"tags": {"team": "a"}}, "sqs:TagQueue"),
        ("patch", "/api/queues/orders-1", {"remove_tags": ["team"]}, "sqs:UntagQueue"),
        (
            "patch",
            "/api/queues/orders-1",
            {"attributes": {"VisibilityTimeout": 5}},
            "sqs:SetQueueAttributes",
        ),
        ("delete", "/api/queues/orders-1/messages/handle", None, "sqs:DeleteMessage"),
        (
            "post",
            "/api/queues/orders-1/messages/handle/visibility",
            {"visibility_timeout": 0},
            "sqs:ChangeMessageVisibility",
        ),
        ("get", "/api/queues/orders-1/move-tasks", None, "sqs:ListMessageMoveTasks"),
        ("post", "/api/queues/orders-1/move-tasks", {}, "sqs:StartMessageMoveTask"),
        ("post", "/api/queues/orders-1/redrive/plan", {}, "sqs:StartMessageMoveTask"),
        ("post", "/api/queues/orders-1/redrive", {}, "sqs:StartMessageMoveTask"),
    ],
)
def test_each_queue_endpoint_asks_for_its_sqs_action(queues, method, path, body, action):
    everything_else = statements(
        statement("Allow", "sqs:*"), statement("Deny", action, queue_arn("orders-1"))
    )
    api = Api(everything_else)

    response = getattr(api, method)(path, body)

    assert_denied(response, api.key_id, action, queue_arn("orders-1"), explicit=True)


def test_create_queue_needs_create_queue_and_tag_queue_for_tags(db):
    api = Api(allow("sqs:CreateQueue", queue_arn("orders-*")))

    created = api.post("/api/queues", {"name": "orders-new"})
    tagged = api.post("/api/queues", {"name": "orders-tagged", "tags": {"team": "a"}})
    elsewhere = api.post("/api/queues", {"name": "billing-new"})

    assert created.status_code == 201, created.content
    assert_denied(tagged, api.key_id, "sqs:TagQueue", queue_arn("orders-tagged"))
    assert_denied(elsewhere, api.key_id, "sqs:CreateQueue", queue_arn("billing-new"))


def dead_letter(source, body):
    """Send a message to the source and receive it until it lands in the dead-letter queue."""
    send(source, body)
    for _ in range(source.max_receive_count + 1):
        service.receive_messages(source, max_number=10, visibility_timeout=0)


def test_moving_messages_needs_send_message_where_they_go(db):
    dead_letters = service.create_queue("orders-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 1})
    orders = service.create_queue("orders-1", {"RedrivePolicy": redrive})
    billing = service.create_queue("billing", {"RedrivePolicy": redrive})
    dead_letter(orders, "from orders")
    empty_from = [
        "sqs:StartMessageMoveTask",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ]
    api = Api(
        statements(
            statement("Allow", empty_from, queue_arn("orders-dlq")),
            statement("Allow", "sqs:SendMessage", queue_arn("orders-*")),
        )
    )

    to_billing = api.post("/api/queues/orders-dlq/move-tasks", {"destination": "billing"})
    dead_letter(billing, "from billing")
    back_to_both = api.post("/api/queues/orders-dlq/move-tasks", {})

    assert_denied(to_billing, api.key_id, "sqs:SendMessage", queue_arn("billing"))
    assert_denied(back_to_both, api.key_id, "sqs:SendMessage", queue_arn("billing"))
    assert api.post(
        "/api/queues/orders-dlq/move-tasks", {"destination": "orders-1"}
    ).status_code == (201)


def test_selective_redrive_needs_send_message_where_the_messages_go(db):
    dead_letters = service.create_queue("orders-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 1})
    orders = service.create_queue("orders-1", {"RedrivePolicy": redrive})
    service.create_queue("billing", {"RedrivePolicy": redrive})
    dead_letter(orders, "from orders")
    empty_from = [
        "sqs:StartMessageMoveTask",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ]
    api = Api(
        statements(
            statement("Allow", empty_from, queue_arn("orders-dlq")),
            statement("Allow", "sqs:SendMessage", queue_arn("orders-*")),
        )
    )
    chosen = {"selection": {"source_queue": "orders-1"}}

    planned_to_billing = api.post("/api/queues/orders-dlq/redrive/plan", {"destination": "billing"})
    planned = api.post("/api/queues/orders-dlq/redrive/plan", chosen)
    started = api.post("/api/queues/orders-dlq/redrive", chosen)

    assert_denied(planned_to_billing, api.key_id, "sqs:SendMessage", queue_arn("billing"))
    assert planned.status_code == 200, planned.content
    assert started.status_code == 201, started.content


def test_queue_list_needs_list_queues_and_shows_only_queues_the_key_may_read(queues):
    reader = Api(
        statements(
            statement("Allow", "sqs:ListQueues"),
            statement("Allow", "sqs:GetQueueAttributes", queue_arn("orders-*")),
        )
    )
    no_list = Api(allow("sqs:GetQueueAttributes", queue_arn("orders-*")))

    listed = reader.get("/api/queues")
    refused = no_list.get("/api/queues")

    assert listed.status_code == 200, listed.content
    assert [queue["name"] for queue in listed.json()["queues"]] == ["orders-1", "orders-2"]
    assert_denied(
        refused, no_list.key_id, "sqs:ListQueues", f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:*"
    )


def test_a_key_without_a_policy_keeps_full_access(queues):
    api = Api(None)

    assert [q["name"] for q in api.get("/api/queues").json()["queues"]] == [
        "billing",
        "orders-1",
        "orders-2",
    ]
    assert api.post("/api/queues/billing/purge").status_code == 200


def test_not_action_and_not_resource_apply_on_the_rest_api(queues):
    api = Api(
        statements(
            {"Effect": "Allow", "NotAction": "sqs:PurgeQueue", "NotResource": queue_arn("billing")}
        )
    )

    assert api.post("/api/queues/orders-1/messages", {"body": "x"}).status_code == 201
    assert_denied(
        api.post("/api/queues/orders-1/purge"), api.key_id, "sqs:PurgeQueue", queue_arn("orders-1")
    )
    assert_denied(
        api.get("/api/queues/billing"), api.key_id, "sqs:GetQueueAttributes", queue_arn("billing")
    )


# Topics, subscriptions, publishing


@pytest.fixture
def news(db):
    """Topics news and alerts; news has a queue subscription."""
    queue = service.create_queue("inbox")
    topic = topics.create_topic("news")
    topics.create_topic("alerts")
    subscription, _ = topics.subscribe(topic, "sqs", queue.arn)
    return subscription


def test_publisher_may_publish_to_its_topic_only(news):
    api = Api(allow(["sns:Publish", "sns:GetTopicAttributes"], topic_arn("news")))

    published = api.post("/api/topics/news/publish", {"message": "hi"})
    refused = api.post(
        "/api/topics/alerts/publish/batch", {"entries": [{"id": "a", "message": "x"}]}
    )
    listed = api.get("/api/topics")

    assert published.status_code == 201, published.content
    assert_denied(refused, api.key_id, "sns:Publish", topic_arn("alerts"))
    assert_denied(listed, api.key_id, "sns:ListTopics", f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:*")


def test_topic_list_shows_only_topics_the_key_may_read(news):
    api = Api(
        statements(
            statement("Allow", "sns:ListTopics"),
            statement("Allow", "sns:GetTopicAttributes", topic_arn("n*")),
        )
    )

    listed = api.get("/api/topics")

    assert [topic["name"] for topic in listed.json()["topics"]] == ["news"]


def test_subscription_endpoints_ask_on_the_subscriptions_topic(news):
    api = Api(
        allow(["sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic"], topic_arn("news"))
    )
    path = f"/api/subscriptions/{news.uuid}"

    read = api.get(path)
    changed = api.patch(path, {"attributes": {"RawMessageDelivery": True}})
    log = api.get(f"{path}/deliveries")

    assert read.status_code == 200, read.content
    assert log.status_code == 200, log.content
    assert_denied(changed, api.key_id, "sns:SetSubscriptionAttributes", topic_arn("news"))
    assert api.get("/api/topics/news/subscriptions").status_code == 200


def test_subscribe_needs_subscribe_on_the_topic(news):
    api = Api(allow("sns:Subscribe", topic_arn("alerts")))
    body = {"protocol": "sqs", "endpoint": queue_arn("inbox")}

    assert api.post("/api/topics/alerts/subscriptions", body).status_code == 201
    assert_denied(
        api.post("/api/topics/news/subscriptions", body),
        api.key_id,
        "sns:Subscribe",
        topic_arn("news"),
    )


# Console sessions: the role rule stays, the scope is a policy


@pytest.fixture
def scoped_operator(db):
    """An operator whose console scope is the queues orders-* and the topic news."""
    user = User.objects.create_user("tess", password="a-long-password")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    UserScope.objects.create(user=user, queue_patterns="orders-*", topic_patterns="news")
    client = Client()
    client.force_login(user)
    return client


def test_scoped_console_user_sees_and_changes_only_their_queues(queues, news, scoped_operator):
    listed = scoped_operator.get("/api/queues")
    topics_listed = scoped_operator.get("/api/topics")
    purged = scoped_operator.post("/api/queues/orders-2/purge")
    refused = scoped_operator.post("/api/queues/billing/purge")

    assert [queue["name"] for queue in listed.json()["queues"]] == ["orders-1", "orders-2"]
    assert [topic["name"] for topic in topics_listed.json()["topics"]] == ["news"]
    assert purged.status_code == 200, purged.content
    assert_denied(refused, "tess", "sqs:PurgeQueue", queue_arn("billing"))


def test_scoped_console_user_cannot_manage_access_keys(scoped_operator):
    created = scoped_operator.post("/api/access-keys", "{}", content_type="application/json")

    assert_denied(created, "tess", "iam:CreateAccessKey", EVERYONE)
    assert not AccessKey.objects.exists()


# Access keys


def test_key_without_iam_actions_cannot_manage_keys(db):
    api = Api(allow("sqs:*"))
    other = Api(None)

    assert_denied(api.get("/api/access-keys"), api.key_id, "iam:ListAccessKeys", EVERYONE)
    assert_denied(
        api.post("/api/access-keys", {"name": "escape"}),
        api.key_id,
        "iam:CreateAccessKey",
        EVERYONE,
    )
    assert_denied(
        api.delete(f"/api/access-keys/{other.key_id}/policy"),
        api.key_id,
        "iam:DeleteUserPolicy",
        user_arn(other.key_id),
    )
    assert AccessKey.objects.count() == 2


def test_keys_are_listed_without_secrets(db):
    admin = Api(None, name="admin")
    limited = Api(allow("sqs:SendMessage"), name="limited")

    response = admin.get("/api/access-keys")

    assert response.status_code == 200, response.content
    listed = {key["access_key_id"]: key for key in response.json()["access_keys"]}
    assert listed[limited.key_id]["has_policy"] is True
    assert listed[admin.key_id]["has_policy"] is False
    assert listed[limited.key_id]["name"] == "limited"
    assert listed[limited.key_id]["active"] is True
    assert "secret" not in response.content.decode().lower()


def test_create_a_key_with_a_policy_answers_its_secret_once(queues):
    admin = Api(None)
    policy = allow("sqs:SendMessage", queue_arn("orders-*"))

    created = admin.post("/api/access-keys", {"name": "producer", "policy": policy})

    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["policy"] == policy
    assert body["has_policy"] is True
    client = Client(
        headers={"Authorization": f"Bearer {body['access_key_id']}:{body['secret_access_key']}"}
    )
    assert (
        client.post(
            "/api/queues/orders-1/messages", '{"body": "x"}', content_type="application/json"
        ).status_code
        == 201
    )
    assert client.post("/api/queues/orders-1/purge").status_code == 403
    detail = admin.get(f"/api/access-keys/{body['access_key_id']}").json()
    assert "secret_access_key" not in detail
    assert detail["policy"] == policy


def test_malformed_policy_is_refused_with_iams_message_and_nothing_changes(db):
    admin = Api(None)
    target = Api(allow("sqs:SendMessage"))
    no_actions = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}

    put = admin.put(f"/api/access-keys/{target.key_id}/policy", no_actions)
    created = admin.post("/api/access-keys", {"name": "bad", "policy": {"Statement": []}})
    lower_case = admin.put(
        f"/api/access-keys/{target.key_id}/policy",
        statements(statement("allow", "sqs:*")),
    )

    assert put.status_code == 400
    assert put.json() == {
        "code": "MalformedPolicyDocument",
        "message": "Policy statement must contain actions.",
    }
    assert created.json() == {
        "code": "MalformedPolicyDocument",
        "message": "Syntax errors in policy.",
    }
    assert lower_case.json()["message"] == "The policy failed legacy parsing"
    target.key.refresh_from_db()
    assert json.loads(target.key.policy) == allow("sqs:SendMessage")
    assert AccessKey.objects.count() == 2


def test_put_and_delete_policy_take_effect_at_once(queues):
    admin = Api(None)
    target = Api(None)
    path = f"/api/access-keys/{target.key_id}/policy"

    put = admin.put(path, allow("sqs:GetQueueAttributes"))
    refused = target.post("/api/queues/orders-1/purge")
    cleared = admin.delete(path)
    purged = target.post("/api/queues/orders-1/purge")

    assert put.status_code == 200, put.content
    assert put.json()["policy"] == allow("sqs:GetQueueAttributes")
    assert_denied(refused, target.key_id, "sqs:PurgeQueue", queue_arn("orders-1"))
    assert cleared.json()["has_policy"] is False
    assert cleared.json()["policy"] is None
    assert purged.status_code == 200, purged.content


def test_disable_enable_rename_and_delete_a_key(db):
    admin = Api(None)
    target = Api(None)
    path = f"/api/access-keys/{target.key_id}"

    disabled = admin.patch(path, {"active": False, "name": "paused"})
    refused = target.get("/api/queues")
    enabled = admin.patch(path, {"active": True})
    deleted = admin.delete(path)

    assert disabled.json()["active"] is False
    assert disabled.json()["name"] == "paused"
    assert refused.status_code == 401
    assert enabled.json()["active"] is True
    assert deleted.status_code == 204
    assert not AccessKey.objects.filter(access_key_id=target.key_id).exists()
    missing = admin.get(path)
    assert missing.status_code == 404
    assert missing.json() == {
        "code": "NoSuchEntity",
        "message": f"The Access Key with id {target.key_id} cannot be found.",
    }


def test_key_with_iam_rights_on_one_key_manages_only_that_key(db):
    target = Api(None)
    other = Api(None)
    manager = Api(allow(["iam:GetUserPolicy", "iam:PutUserPolicy"], user_arn(target.key_id)))

    assert manager.get(f"/api/access-keys/{target.key_id}").status_code == 200
    assert_denied(
        manager.get(f"/api/access-keys/{other.key_id}"),
        manager.key_id,
        "iam:GetUserPolicy",
        user_arn(other.key_id),
    )


# The simulator


@pytest.fixture
def consumer(db):
    """A key allowed to consume orders-* queues, with purging denied everywhere."""
    return Api(
        statements(
            statement(
                "Allow", ["sqs:Receive*", "sqs:DeleteMessage"], queue_arn("orders-*"), "Consume"
            ),
            statement("Deny", "sqs:PurgeQueue", "*", "NoPurge"),
        )
    )


def simulate(admin, key_id, **body):
    response = admin.post(f"/api/access-keys/{key_id}/simulate", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_simulator_answers_allowed_with_the_statement_that_allowed(consumer):
    admin = Api(None)

    answer = simulate(
        admin, consumer.key_id, action="sqs:ReceiveMessage", resource=queue_arn("orders-1")
    )

    assert answer["decision"] == "allowed"
    assert answer["allowed"] is True
    assert answer["full_access"] is False
    assert answer["matched_statement"] == {
        "index": 0,
        "sid": "Consume",
        "effect": "Allow",
        "statement": statement(
            "Allow", ["sqs:Receive*", "sqs:DeleteMessage"], queue_arn("orders-*"), "Consume"
        ),
    }


def test_simulator_answers_explicit_and_implicit_deny(consumer):
    admin = Api(None)

    explicit = simulate(
        admin, consumer.key_id, action="sqs:PurgeQueue", resource=queue_arn("orders-1")
    )
    implicit = simulate(
        admin, consumer.key_id, action="sqs:SendMessage", resource=queue_arn("orders-1")
    )

    assert explicit["decision"] == "explicitDeny"
    assert explicit["allowed"] is False
    assert explicit["matched_statement"]["index"] == 1
    assert explicit["matched_statement"]["sid"] == "NoPurge"
    assert implicit["decision"] == "implicitDeny"
    assert implicit["matched_statement"] is None


def test_simulator_agrees_with_the_door(consumer, queues):
    admin = Api(None)

    verdict = simulate(
        admin, consumer.key_id, action="sqs:SendMessage", resource=queue_arn("billing")
    )
    door = consumer.post("/api/queues/billing/messages", {"body": "x"})

    assert verdict["allowed"] is False
    assert door.status_code == 403


def test_simulator_judges_every_pair_of_lists(consumer):
    admin = Api(None)

    answer = simulate(
        admin,
        consumer.key_id,
        actions=["sqs:ReceiveMessage", "sqs:PurgeQueue"],
        resources=[queue_arn("orders-1"), queue_arn("billing")],
    )

    assert [(r["action"], r["resource"], r["decision"]) for r in answer["results"]] == [
        ("sqs:ReceiveMessage", queue_arn("orders-1"), "allowed"),
        ("sqs:ReceiveMessage", queue_arn("billing"), "implicitDeny"),
        ("sqs:PurgeQueue", queue_arn("orders-1"), "explicitDeny"),
        ("sqs:PurgeQueue", queue_arn("billing"), "explicitDeny"),
    ]
    assert (answer["action"], answer["resource"]) == ("sqs:ReceiveMessage", queue_arn("billing"))
    assert answer["decision"] == "implicitDeny"


def test_simulator_on_a_key_without_a_policy_says_full_access(db):
    admin = Api(None)
    target = Api(None)

    answer = simulate(admin, target.key_id, action="sns:Publish", resource=topic_arn("any"))

    assert answer["full_access"] is True
    assert answer["decision"] == "allowed"
    assert answer["matched_statement"] is None


def test_simulator_needs_an_action_and_a_resource(consumer):
    admin = Api(None)

    response = admin.post(
        f"/api/access-keys/{consumer.key_id}/simulate", {"action": "sqs:SendMessage"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "ValidationError"


def test_simulating_needs_simulate_principal_policy(consumer):
    api = Api(allow("iam:GetUserPolicy"))

    response = api.post(
        f"/api/access-keys/{consumer.key_id}/simulate", {"action": "a:b", "resource": "*"}
    )

    assert_denied(response, api.key_id, "iam:SimulatePrincipalPolicy", user_arn(consumer.key_id))


# Over HTTP, against the live server


def test_live_server_enforces_a_policy_set_through_the_rest_api(roost_server):
    admin = httpx.Client(
        base_url=roost_server.url,
        headers={"Authorization": f"Bearer {roost_server.access_key_id}:{roost_server.secret}"},
    )
    assert admin.post("/api/queues", json={"name": "rest-live-orders"}).status_code == 201
    policy = allow("sqs:SendMessage", queue_arn("rest-live-*"))
    created = admin.post("/api/access-keys", json={"name": "live", "policy": policy}).json()
    key_id, secret = created["access_key_id"], created["secret_access_key"]
    limited = httpx.Client(
        base_url=roost_server.url, headers={"Authorization": f"Bearer {key_id}:{secret}"}
    )

    sent = limited.post("/api/queues/rest-live-orders/messages", json={"body": "hi"})
    purged = limited.post("/api/queues/rest-live-orders/purge")
    admin.delete(f"/api/access-keys/{key_id}/policy")
    purged_later = limited.post("/api/queues/rest-live-orders/purge")

    assert sent.status_code == 201, sent.text
    assert_denied(purged, key_id, "sqs:PurgeQueue", queue_arn("rest-live-orders"))
    assert purged_later.status_code == 200, purged_later.text
    admin.delete(f"/api/access-keys/{key_id}")


def test_every_policy_in_the_access_docs_is_valid():
    """The examples users copy from docs/access.md must be accepted as written."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text()
    documents = [
        block
        for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)
        if '"Statement"' in block and '"index"' not in block
    ]

    assert len(documents) >= 5
    for document in documents:
        iam_policy.parse(document)
