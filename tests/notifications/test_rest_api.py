"""The REST API's topics, subscriptions, publishing and delivery log, over HTTP to a live server."""

import base64
import json

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.notifications.receivers import wait_until

# Nothing listens on the discard port: every delivery there fails at once.
UNREACHABLE = "http://127.0.0.1:9/"
FAIL_FAST = {"healthyRetryPolicy": {"numRetries": 0}}


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


def create_topic(rest, name, **fields):
    response = rest.post("/topics", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def subscribe(rest, topic, protocol, endpoint, **attributes):
    response = rest.post(
        f"/topics/{topic}/subscriptions",
        json={"protocol": protocol, "endpoint": endpoint, "attributes": attributes},
    )
    assert response.status_code == 201, response.text
    return response.json()


def queue_arn(name):
    return f"arn:aws:sqs:us-east-1:000000000000:{name}"


def confirm(roost_server, subscription):
    """Confirm a pending subscription as its owner would: follow the emailed link."""
    token = roost_server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from notifications.models import Subscription; "
        f"print(Subscription.objects.get(uuid={subscription['id']!r}).confirmation_token)",
    ).stdout.strip()
    topic_arn = subscription["arn"].rsplit(":", 1)[0]
    page = httpx.get(
        f"{roost_server.url}/sns/confirmation/", params={"TopicArn": topic_arn, "Token": token}
    )
    assert page.status_code == 200, page.text


# Authentication


def test_topics_need_credentials(roost_server):
    response = httpx.get(f"{roost_server.url}/api/topics")

    assert_error(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_with_wrong_secret_is_refused(roost_server):
    headers = {"Authorization": f"Bearer {roost_server.access_key_id}:not-the-secret"}

    response = httpx.post(f"{roost_server.url}/api/topics", json={"name": "x"}, headers=headers)

    assert_error(response, 401, "Unauthorized")


def test_sigv4_signed_request_is_accepted(roost_server, topic_name):
    url = f"{roost_server.url}/api/topics"
    body = json.dumps({"name": topic_name}).encode()
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = Credentials(roost_server.access_key_id, roost_server.secret)
    SigV4Auth(credentials, "sns", "us-east-1").add_auth(request)

    response = httpx.post(url, content=body, headers=dict(request.headers.items()))

    assert response.status_code == 201, response.text
    assert response.json()["name"] == topic_name


# Topics


def test_create_topic_returns_its_details(rest, topic_name):
    response = rest.post(
        "/topics",
        json={"name": topic_name, "attributes": {"DisplayName": "Orders"}, "tags": {"team": "a"}},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == topic_name
    assert body["arn"] == f"arn:aws:sns:us-east-1:000000000000:{topic_name}"
    assert body["fifo"] is False
    assert body["attributes"]["DisplayName"] == "Orders"
    assert body["attributes"]["TopicArn"] == body["arn"]
    assert json.loads(body["attributes"]["Policy"])["Statement"]
    assert body["subscriptions"] == {"confirmed": 0, "pending": 0, "deleted": 0}
    assert body["tags"] == {"team": "a"}


def test_create_fifo_topic_takes_json_booleans(rest, topic_name):
    body = create_topic(
        rest,
        f"{topic_name}.fifo",
        attributes={"FifoTopic": True, "ContentBasedDeduplication": True},
    )

    assert body["fifo"] is True
    assert body["attributes"]["ContentBasedDeduplication"] == "true"


def test_delivery_policy_may_be_given_as_an_object(rest, topic_name):
    policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}}

    body = create_topic(rest, topic_name, attributes={"DeliveryPolicy": policy})

    assert json.loads(body["attributes"]["DeliveryPolicy"]) == policy


def test_create_topic_with_unknown_attribute_is_refused(rest, topic_name):
    response = rest.post("/topics", json={"name": topic_name, "attributes": {"Colour": "blue"}})

    body = assert_error(response, 400, "ValidationError")
    assert body["errors"][0]["loc"][-1] == "Colour"


def test_create_topic_with_invalid_name_is_refused(rest):
    assert_error(rest.post("/topics", json={"name": "no spaces"}), 400, "ValidationError")


def test_create_topic_without_a_name_is_a_validation_error(rest):
    body = assert_error(rest.post("/topics", json={}), 400, "ValidationError")

    assert body["errors"][0]["loc"][-1] == "name"


def test_create_existing_topic_returns_it_unless_attributes_differ(rest, topic_name):
    first = create_topic(rest, topic_name, attributes={"DisplayName": "A"})

    again = rest.post("/topics", json={"name": topic_name, "attributes": {"DisplayName": "A"}})
    other = rest.post("/topics", json={"name": topic_name, "attributes": {"DisplayName": "B"}})

    assert again.status_code == 201
    assert again.json()["arn"] == first["arn"]
    body = assert_error(other, 400, "InvalidParameter")
    assert "already exists with different attributes" in body["message"]


def test_get_unknown_topic_is_not_found(rest):
    body = assert_error(rest.get("/topics/nope-never-made"), 404, "NotFound")

    assert body == {"code": "NotFound", "message": "Topic does not exist"}


def test_list_topics_lists_them_by_name(rest, topic_name):
    create_topic(rest, f"{topic_name}-b")
    create_topic(rest, f"{topic_name}-a")

    body = rest.get("/topics").json()

    names = [topic["name"] for topic in body["topics"] if topic["name"].startswith(topic_name)]
    assert names == [f"{topic_name}-a", f"{topic_name}-b"]
    assert body["next_cursor"] is None


def test_a_query_parameter_given_twice_is_refused(rest):
    response = rest.get("/topics", params=[("cursor", "[293]"), ("cursor", "")])

    body = assert_error(response, 400, "ValidationError")
    assert "cursor" in body["message"]


def test_list_topics_with_a_broken_cursor_is_refused(rest):
    assert_error(rest.get("/topics", params={"cursor": "abc"}), 400, "InvalidParameter")


def test_get_topic_reports_subscription_counts(rest, topic_name):
    create_topic(rest, topic_name)
    subscribe(rest, topic_name, "sqs", queue_arn("somewhere"))
    subscribe(rest, topic_name, "email", "ada@example.com")

    body = rest.get(f"/topics/{topic_name}").json()

    assert body["subscriptions"] == {"confirmed": 1, "pending": 1, "deleted": 0}


def test_update_topic_changes_attributes_and_tags(rest, topic_name):
    create_topic(rest, topic_name, tags={"team": "a", "old": "x"})

    response = rest.patch(
        f"/topics/{topic_name}",
        json={
            "attributes": {"DisplayName": "New name", "SignatureVersion": 1},
            "tags": {"env": "prod"},
            "remove_tags": ["old"],
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["attributes"]["DisplayName"] == "New name"
    assert body["attributes"]["SignatureVersion"] == "1"
    assert body["tags"] == {"team": "a", "env": "prod"}
    assert rest.get(f"/topics/{topic_name}").json() == body


def test_update_topic_changes_nothing_when_an_attribute_is_refused(rest, topic_name):
    create_topic(rest, topic_name, attributes={"DisplayName": "Before"})

    response = rest.patch(
        f"/topics/{topic_name}",
        json={
            "attributes": {"DisplayName": "After", "ContentBasedDeduplication": True},
            "tags": {"a": "b"},
        },
    )

    body = assert_error(response, 400, "InvalidParameter")
    assert "ContentBasedDeduplication" in body["message"]
    topic = rest.get(f"/topics/{topic_name}").json()
    assert topic["attributes"]["DisplayName"] == "Before"
    assert topic["tags"] == {}


def test_update_topic_with_nothing_to_change_is_refused(rest, topic_name):
    create_topic(rest, topic_name)

    assert_error(rest.patch(f"/topics/{topic_name}", json={}), 400, "ValidationError")


def test_update_unknown_topic_is_not_found(rest):
    response = rest.patch("/topics/nope-never-made", json={"attributes": {"DisplayName": "x"}})

    assert_error(response, 404, "NotFound")


def test_delete_topic_deletes_its_subscriptions(rest, topic_name):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "sqs", queue_arn("somewhere"))

    response = rest.delete(f"/topics/{topic_name}")

    assert response.status_code == 204
    assert_error(rest.get(f"/topics/{topic_name}"), 404, "NotFound")
    assert_error(rest.get(f"/subscriptions/{subscription['id']}"), 404, "NotFound")
    assert_error(rest.delete(f"/topics/{topic_name}"), 404, "NotFound")


# Subscriptions


def test_queue_subscription_is_confirmed_at_once_with_its_attributes(rest, topic_name):
    create_topic(rest, topic_name)
    policy = {"store": ["example_corp"], "price": [{"numeric": [">", 0]}]}

    body = subscribe(
        rest,
        topic_name,
        "sqs",
        queue_arn("orders"),
        RawMessageDelivery=True,
        FilterPolicy=policy,
    )

    assert body["status"] == "confirmed"
    assert body["arn"] == f"arn:aws:sns:us-east-1:000000000000:{topic_name}:{body['id']}"
    assert body["topic"] == topic_name
    assert body["protocol"] == "sqs"
    assert body["endpoint"] == queue_arn("orders")
    assert body["attributes"]["RawMessageDelivery"] == "true"
    assert json.loads(body["attributes"]["FilterPolicy"]) == policy
    assert body["attributes"]["PendingConfirmation"] == "false"
    assert body["confirmed_at"] >= body["created_at"] > 0


def test_http_subscription_is_pending_until_confirmed(rest, topic_name):
    create_topic(rest, topic_name)
    created = subscribe(rest, topic_name, "http", UNREACHABLE)

    body = rest.get(f"/subscriptions/{created['id']}").json()

    assert body["status"] == "pending"
    assert body["confirmed_at"] is None
    assert body["attributes"]["PendingConfirmation"] == "true"
    assert json.loads(body["attributes"]["EffectiveDeliveryPolicy"])["healthyRetryPolicy"]


def test_subscribing_again_returns_the_same_subscription(rest, topic_name):
    create_topic(rest, topic_name)
    first = subscribe(rest, topic_name, "email", "ada@example.com")

    again = subscribe(rest, topic_name, "email", "ada@example.com")

    assert again["id"] == first["id"]


def test_subscribe_with_invalid_filter_policy_is_refused_with_sns_message(rest, topic_name):
    create_topic(rest, topic_name)

    response = rest.post(
        f"/topics/{topic_name}/subscriptions",
        json={
            "protocol": "sqs",
            "endpoint": queue_arn("orders"),
            "attributes": {"FilterPolicy": {"store": "example_corp"}},
        },
    )

    body = assert_error(response, 400, "InvalidParameter")
    assert body["message"] == (
        'Invalid parameter: Attributes Reason: FilterPolicy: "store" must be an object or an array'
    )


def test_subscribe_with_unknown_protocol_is_refused(rest, topic_name):
    create_topic(rest, topic_name)

    response = rest.post(
        f"/topics/{topic_name}/subscriptions", json={"protocol": "pigeon", "endpoint": "loft"}
    )
    sms = rest.post(
        f"/topics/{topic_name}/subscriptions", json={"protocol": "sms", "endpoint": "+1555"}
    )

    body = assert_error(response, 400, "ValidationError")
    assert body["errors"][0]["loc"][-1] == "protocol"
    assert assert_error(sms, 400, "ValidationError")["errors"][0]["loc"][-1] == "protocol"


def test_subscribe_to_unknown_topic_is_not_found(rest):
    response = rest.post(
        "/topics/nope-never-made/subscriptions",
        json={"protocol": "sqs", "endpoint": queue_arn("orders")},
    )

    assert_error(response, 404, "NotFound")


def test_list_subscriptions_of_a_topic(rest, topic_name):
    create_topic(rest, topic_name)
    create_topic(rest, f"{topic_name}-other")
    queue = subscribe(rest, topic_name, "sqs", queue_arn("orders"))
    email = subscribe(rest, topic_name, "email", "ada@example.com")
    subscribe(rest, f"{topic_name}-other", "sqs", queue_arn("orders"))

    body = rest.get(f"/topics/{topic_name}/subscriptions").json()

    assert [(item["id"], item["status"]) for item in body["subscriptions"]] == [
        (queue["id"], "confirmed"),
        (email["id"], "pending"),
    ]
    assert body["next_cursor"] is None


def test_update_subscription_changes_its_attributes(rest, topic_name):
    create_topic(rest, topic_name)
    created = subscribe(rest, topic_name, "sqs", queue_arn("orders"))
    policy = {"order": {"status": ["paid"]}}

    response = rest.patch(
        f"/subscriptions/{created['id']}",
        json={
            "attributes": {
                "FilterPolicy": policy,
                "FilterPolicyScope": "MessageBody",
                "RawMessageDelivery": True,
            }
        },
    )

    assert response.status_code == 200, response.text
    attributes = response.json()["attributes"]
    assert json.loads(attributes["FilterPolicy"]) == policy
    assert attributes["FilterPolicyScope"] == "MessageBody"
    assert attributes["RawMessageDelivery"] == "true"
    assert rest.get(f"/subscriptions/{created['id']}").json()["attributes"] == attributes


def test_update_subscription_with_invalid_filter_policy_changes_nothing(rest, topic_name):
    create_topic(rest, topic_name)
    created = subscribe(rest, topic_name, "sqs", queue_arn("orders"))

    response = rest.patch(
        f"/subscriptions/{created['id']}",
        json={"attributes": {"RawMessageDelivery": True, "FilterPolicy": {"store": []}}},
    )

    body = assert_error(response, 400, "InvalidParameter")
    assert body["message"] == "Invalid parameter: FilterPolicy: Empty arrays are not allowed"
    attributes = rest.get(f"/subscriptions/{created['id']}").json()["attributes"]
    assert attributes["RawMessageDelivery"] == "false"


def test_unsubscribe_deletes_the_subscription(rest, topic_name):
    create_topic(rest, topic_name)
    created = subscribe(rest, topic_name, "sqs", queue_arn("orders"))

    response = rest.delete(f"/subscriptions/{created['id']}")

    assert response.status_code == 204
    assert_error(rest.get(f"/subscriptions/{created['id']}"), 404, "NotFound")
    counts = rest.get(f"/topics/{topic_name}").json()["subscriptions"]
    assert counts == {"confirmed": 0, "pending": 0, "deleted": 1}


def test_unknown_subscription_is_not_found(rest):
    body = assert_error(rest.get("/subscriptions/no-such-id"), 404, "NotFound")

    assert body["message"] == "Subscription does not exist"
    assert_error(rest.delete("/subscriptions/no-such-id"), 404, "NotFound")
    assert_error(rest.get("/subscriptions/no-such-id/deliveries"), 404, "NotFound")


# Publishing


def test_publish_returns_the_message_id(rest, topic_name):
    create_topic(rest, topic_name)

    response = rest.post(
        f"/topics/{topic_name}/publish",
        json={
            "message": "hello",
            "subject": "Greeting",
            "message_attributes": {
                "store": {"DataType": "String", "StringValue": "example_corp"},
                "blob": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00").decode()},
            },
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["message_id"]) == 36
    assert body["sequence_number"] is None


def test_publish_to_fifo_topic_returns_sequence_number(rest, topic_name):
    name = f"{topic_name}.fifo"
    create_topic(rest, name, attributes={"FifoTopic": True, "ContentBasedDeduplication": True})

    first = rest.post(f"/topics/{name}/publish", json={"message": "a", "group_id": "g"}).json()
    second = rest.post(f"/topics/{name}/publish", json={"message": "b", "group_id": "g"}).json()
    again = rest.post(f"/topics/{name}/publish", json={"message": "a", "group_id": "g"}).json()

    assert int(second["sequence_number"]) > int(first["sequence_number"])
    assert again == first


def test_publish_to_fifo_topic_without_group_is_refused(rest, topic_name):
    name = f"{topic_name}.fifo"
    create_topic(rest, name, attributes={"FifoTopic": True, "ContentBasedDeduplication": True})

    response = rest.post(f"/topics/{name}/publish", json={"message": "a"})

    body = assert_error(response, 400, "InvalidParameter")
    assert "MessageGroupId" in body["message"]


def test_publish_empty_message_is_refused(rest, topic_name):
    create_topic(rest, topic_name)

    body = assert_error(
        rest.post(f"/topics/{topic_name}/publish", json={"message": ""}), 400, "ValidationError"
    )
    assert body["errors"][0]["loc"][-1] == "message"


def test_publish_with_invalid_binary_attribute_is_refused(rest, topic_name):
    create_topic(rest, topic_name)

    response = rest.post(
        f"/topics/{topic_name}/publish",
        json={
            "message": "hi",
            "message_attributes": {"blob": {"DataType": "Binary", "BinaryValue": "not base64!"}},
        },
    )

    body = assert_error(response, 400, "ValidationError")
    assert "blob" in body["message"]


def test_publish_to_unknown_topic_is_not_found(rest):
    response = rest.post("/topics/nope-never-made/publish", json={"message": "hi"})

    assert_error(response, 404, "NotFound")


def test_publish_batch_reports_each_entry(rest, topic_name):
    create_topic(rest, topic_name)

    response = rest.post(
        f"/topics/{topic_name}/publish/batch",
        json={
            "entries": [
                {"id": "ok", "message": "one"},
                {"id": "bad", "message": "not json", "message_structure": "json"},
            ]
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [entry["id"] for entry in body["successful"]] == ["ok"]
    assert len(body["successful"][0]["message_id"]) == 36
    assert body["failed"] == [
        {
            "id": "bad",
            "code": "InvalidParameter",
            "message": body["failed"][0]["message"],
            "sender_fault": True,
        }
    ]
    assert body["failed"][0]["message"].startswith("Invalid parameter: Message Structure")


def test_publish_batch_of_eleven_is_refused(rest, topic_name):
    create_topic(rest, topic_name)
    entries = [{"id": f"m{number}", "message": "x"} for number in range(11)]

    response = rest.post(f"/topics/{topic_name}/publish/batch", json={"entries": entries})

    assert_error(response, 400, "ValidationError")


# The delivery log


def test_delivery_log_records_failed_attempts_and_replay_tries_again(
    rest, roost_server, roost_worker, topic_name
):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "http", UNREACHABLE, DeliveryPolicy=FAIL_FAST)
    confirm(roost_server, subscription)
    assert rest.get(f"/subscriptions/{subscription['id']}").json()["status"] == "confirmed"
    log = f"/subscriptions/{subscription['id']}/deliveries"

    first = rest.post(f"/topics/{topic_name}/publish", json={"message": "one"}).json()
    second = rest.post(
        f"/topics/{topic_name}/publish", json={"message": "two", "subject": "Second"}
    ).json()

    wait_until(
        lambda: len(rest.get(log, params={"status": "failed"}).json()["deliveries"]) == 2,
        interval=0.2,
        what="both deliveries to fail",
    )
    deliveries = rest.get(log, params={"status": "failed"}).json()["deliveries"]
    assert [item["message_id"] for item in deliveries] == [
        second["message_id"],
        first["message_id"],
    ]
    newest = deliveries[0]
    assert newest["status"] == "failed"
    assert newest["subject"] == "Second"
    assert newest["protocol"] == "http"
    assert newest["attempts"] == 1
    assert newest["next_attempt_at"] is None
    assert newest["finished_at"] >= newest["created_at"]
    assert newest["last_error"]
    [attempt] = newest["attempt_log"]
    assert attempt["succeeded"] is False
    assert attempt["status_code"] is None
    assert attempt["error"] == newest["last_error"]
    assert attempt["attempted_at"] >= newest["created_at"]
    assert attempt["latency_ms"] >= 0
    assert rest.get(log, params={"status": "delivered"}).json()["deliveries"] == []

    page = rest.get(log, params={"limit": 1}).json()
    rest_page = rest.get(log, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [item["id"] for item in page["deliveries"] + rest_page["deliveries"]] == [
        item["id"] for item in deliveries
    ]
    assert rest_page["next_cursor"] is None

    assert newest["replay_of"] is None and newest["replayed_by"] is None

    replayed = rest.post(f"{log}/{newest['id']}/replay")

    assert replayed.status_code == 200, replayed.text
    replay = replayed.json()
    assert replay["id"] != newest["id"]
    assert replay["message_id"] == newest["message_id"]
    assert replay["status"] == "pending"
    assert replay["replay_of"] == newest["id"]
    assert replay["replayed_by"].startswith("access key ")
    again = wait_until(
        lambda: _delivery_with_attempts(rest, log, replay["id"], 1),
        interval=0.2,
        what="the replay's attempt",
    )
    assert again["attempts"] == 1
    assert again["attempt_log"][0]["succeeded"] is False
    original = _delivery_with_attempts(rest, log, newest["id"], 1)
    assert original["status"] == "failed"  # kept as it was, with its own attempt

    twice = rest.post(f"{log}/{newest['id']}/replay")
    assert_error(twice, 400, "InvalidParameter")
    assert f"as delivery {replay['id']}" in twice.json()["message"]


def _delivery_with_attempts(rest, log, delivery_id, count):
    for item in rest.get(log, params={"status": "failed"}).json()["deliveries"]:
        if item["id"] == delivery_id and len(item["attempt_log"]) == count:
            return item
    return None


def test_a_pending_subscription_lists_its_confirmation_attempts_and_resends_one(
    rest, roost_worker, topic_name
):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "http", UNREACHABLE)
    url = f"/subscriptions/{subscription['id']}"
    assert subscription["confirmation_attempts"] == []

    [first] = wait_until(
        lambda: rest.get(url).json()["confirmation_attempts"],
        interval=0.2,
        what="the first confirmation attempt",
    )
    assert first["number"] == 1
    assert first["succeeded"] is False and first["status_code"] is None
    assert "Connection refused" in first["error"]
    assert first["requested_by"] is None

    resent = rest.post(f"{url}/resend-confirmation")
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending"
    newest = wait_until(
        lambda: next(
            (
                attempt
                for attempt in rest.get(url).json()["confirmation_attempts"]
                if attempt["requested_by"]
            ),
            None,
        ),
        interval=0.2,
        what="the resent confirmation's attempt",
    )
    assert newest["requested_by"].startswith("access key ")
    assert newest["number"] > first["number"]
    assert_error(rest.post(f"{url}/resend-confirmation"), 400, "Throttling")


def test_a_queue_subscription_has_no_confirmation_to_resend(rest, topic_name):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "sqs", queue_arn("orders"))

    response = rest.post(f"/subscriptions/{subscription['id']}/resend-confirmation")

    assert_error(response, 400, "InvalidParameter")


def test_replay_of_unknown_delivery_is_not_found(rest, topic_name):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "sqs", queue_arn("orders"))

    response = rest.post(f"/subscriptions/{subscription['id']}/deliveries/999999/replay")

    assert_error(response, 404, "NotFound")


def test_delivery_log_refuses_unknown_status_and_broken_cursor(rest, topic_name):
    create_topic(rest, topic_name)
    subscription = subscribe(rest, topic_name, "sqs", queue_arn("orders"))
    log = f"/subscriptions/{subscription['id']}/deliveries"

    assert rest.get(log).json() == {"deliveries": [], "next_cursor": None}
    assert_error(rest.get(log, params={"status": "lost"}), 400, "ValidationError")
    assert_error(rest.get(log, params={"cursor": "%%%"}), 400, "InvalidParameter")
    assert_error(rest.get(log, params={"limit": 0}), 400, "ValidationError")


# The OpenAPI document


def test_openapi_document_describes_the_topic_endpoints(roost_server):
    document = httpx.get(f"{roost_server.url}/api/openapi.json").json()

    for path in (
        "/api/topics/{name}",
        "/api/topics/{name}/subscriptions",
        "/api/topics/{name}/publish/batch",
        "/api/subscriptions/{subscription_id}/deliveries",
        "/api/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay",
        "/api/subscriptions/{subscription_id}/resend-confirmation",
    ):
        assert path in document["paths"], path
    assert "TopicDetail" in document["components"]["schemas"]
