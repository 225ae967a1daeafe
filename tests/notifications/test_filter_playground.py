"""The filter-policy playground: why a message fails a policy (FilterPolicy.explain), and the REST
endpoint trying a policy on a topic's latest published messages."""

import json

import pytest

from notifications.filter_policy import MESSAGE_BODY, parse_filter_policy


def attributes(**values):
    """SNS-shaped attributes: strings as String, numbers as Number, lists as String.Array."""
    shaped = {}
    for name, value in values.items():
        if isinstance(value, list):
            shaped[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, int | float):
            shaped[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            shaped[name] = {"DataType": "String", "StringValue": value}
    return shaped


def explain(policy, scope="MessageAttributes", body="", **values):
    return parse_filter_policy(json.dumps(policy), scope).explain(
        body=body, attributes=attributes(**values)
    )


# Explaining


@pytest.mark.parametrize(
    ("policy", "values", "reason"),
    [
        (
            {"store": ["example_corp"]},
            {"store": "other_corp"},
            'store: ["example_corp"] — attribute "store" is "other_corp"',
        ),
        (
            {"price_usd": [{"numeric": [">=", 100]}]},
            {"store": "x"},
            'price_usd: [{"numeric": [">=", 100]}] — attribute missing',
        ),
        (
            {"price_usd": [{"numeric": [">=", 100]}]},
            {"price_usd": 12},
            'price_usd: [{"numeric": [">=", 100]}] — attribute "price_usd" is 12',
        ),
        (
            {"tags": ["red"]},
            {"tags": ["blue", "green"]},
            'tags: ["red"] — attribute "tags" is ["blue", "green"]',
        ),
        (
            {"store": [{"anything-but": ["bad"]}]},
            {"store": "bad"},
            'store: [{"anything-but": ["bad"]}] — attribute "store" is "bad"',
        ),
        (
            {"store": [{"exists": False}]},
            {"store": "x"},
            'store: [{"exists": false}] — attribute "store" is "x"',
        ),
        ({"store": [{"exists": True}]}, {}, 'store: [{"exists": true}] — attribute missing'),
    ],
)
def test_explain_names_the_failing_clause_and_what_the_message_holds(policy, values, reason):
    assert explain(policy, **values) == reason


def test_a_matching_message_has_no_explanation():
    policy = {"store": ["example_corp"], "price": [{"numeric": [">", 10]}]}

    assert explain(policy, store="example_corp", price=11) is None


def test_the_first_failing_clause_is_reported():
    policy = {"store": ["example_corp"], "event": ["order_placed"]}

    reason = explain(policy, store="example_corp", event="order_cancelled")

    assert reason == 'event: ["order_placed"] — attribute "event" is "order_cancelled"'


def test_an_or_policy_reports_the_closest_branch():
    policy = {
        "$or": [
            {"store": ["a"], "region": ["eu"], "tier": ["gold"]},
            {"store": ["b"], "region": ["us"]},
        ]
    }

    reason = explain(policy, store="b", region="eu", tier="silver")

    assert reason == 'region: ["us"] — attribute "region" is "eu"'


def test_body_policies_explain_by_field():
    policy = {"order": {"status": ["failed"]}}
    body = json.dumps({"order": {"status": "ok"}})

    assert (
        explain(policy, MESSAGE_BODY, body)
        == 'order.status: ["failed"] — field "order.status" is "ok"'
    )
    assert explain(policy, MESSAGE_BODY, "{}") == 'order.status: ["failed"] — field missing'
    assert explain(policy, MESSAGE_BODY, "plain text") == "message body is not a JSON object"


def test_explain_agrees_with_matches():
    cases = [
        ({"a": ["x"], "b": [{"prefix": "p"}]}, {"a": "x", "b": "pq"}),
        ({"a": ["x"], "b": [{"prefix": "p"}]}, {"a": "x", "b": "q"}),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 6}),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"}),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "z"}),
    ]
    for policy, values in cases:
        compiled = parse_filter_policy(json.dumps(policy))
        shaped = attributes(**values)
        matched = compiled.matches(body="", attributes=shaped)
        assert (compiled.explain(body="", attributes=shaped) is None) == matched, policy


# The REST endpoint, on a live server


@pytest.fixture
def orders_topic(rest, topic_name):
    """A topic with an SQS subscription and five published orders: (topic, subscription id)."""
    assert rest.post("/topics", json={"name": topic_name}).status_code == 201
    queue = rest.post("/queues", json={"name": f"{topic_name}-q"})
    assert queue.status_code == 201, queue.text
    subscription = rest.post(
        f"/topics/{topic_name}/subscriptions",
        json={"protocol": "sqs", "endpoint": queue.json()["arn"]},
    )
    assert subscription.status_code == 201, subscription.text
    for number, store in enumerate(["example_corp", "other_corp", "example_corp", "x", "y"]):
        published = rest.post(
            f"/topics/{topic_name}/publish",
            json={
                "message": json.dumps({"order": number, "store": store}),
                "subject": f"Order {number}",
                "message_attributes": {
                    "store": {"DataType": "String", "StringValue": store},
                    "price": {"DataType": "Number", "StringValue": str(number * 50)},
                },
            },
        )
        assert published.status_code == 201, published.text
    return topic_name, subscription.json()["id"]


def test_rest_test_endpoint_marks_each_recent_message(rest, orders_topic):
    _topic, subscription = orders_topic
    policy = {"store": ["example_corp"], "price": [{"numeric": [">=", 100]}]}

    response = rest.post(
        f"/subscriptions/{subscription}/filter-policy/test", json={"policy": policy}
    )

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["valid"] is True and result["error"] is None
    assert (result["matched"], result["total"]) == (1, 5)
    newest_first = [json.loads(entry["excerpt"])["order"] for entry in result["results"]]
    assert newest_first == [4, 3, 2, 1, 0]
    by_order = {json.loads(entry["excerpt"])["order"]: entry for entry in result["results"]}
    assert by_order[2]["matched"] is True and by_order[2]["reason"] is None
    assert by_order[1]["reason"] == 'store: ["example_corp"] — attribute "store" is "other_corp"'
    assert by_order[0]["reason"] == 'price: [{"numeric": [">=", 100]}] — attribute "price" is 0'
    assert by_order[0]["subject"] == "Order 0"
    assert by_order[0]["attributes"] == {"store": "example_corp", "price": "0"}


def test_rest_test_endpoint_tries_the_body_scope(rest, orders_topic):
    _topic, subscription = orders_topic

    response = rest.post(
        f"/subscriptions/{subscription}/filter-policy/test",
        json={"policy": '{"store": [{"prefix": "example"}]}', "scope": "MessageBody"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["matched"] == 2


def test_rest_test_endpoint_changes_nothing(rest, orders_topic):
    _topic, subscription = orders_topic

    rest.post(f"/subscriptions/{subscription}/filter-policy/test", json={"policy": {"a": ["b"]}})

    attributes = rest.get(f"/subscriptions/{subscription}").json()["attributes"]
    assert "FilterPolicy" not in attributes or not attributes["FilterPolicy"]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('{"store": "example_corp"}', 'FilterPolicy: "store" must be an object or an array'),
        ("{not json", "FilterPolicy: failed to parse JSON."),
        ({"store": []}, "FilterPolicy: Empty arrays are not allowed"),
    ],
)
def test_an_invalid_policy_is_refused_with_the_sns_message(rest, orders_topic, policy, message):
    _topic, subscription = orders_topic

    response = rest.post(
        f"/subscriptions/{subscription}/filter-policy/test", json={"policy": policy}
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameter"
    assert response.json()["message"] == f"Invalid parameter: {message}"


def test_unknown_subscription_is_not_found(rest, roost_server):
    response = rest.post(
        "/subscriptions/00000000-0000-0000-0000-000000000000/filter-policy/test", json={}
    )

    assert response.status_code == 404, response.text
