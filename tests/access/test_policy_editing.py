"""A key's policy in the console: starter policies, editing with IAM's validation, the simulator."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console import access_keys, starter_policies
from console.models import AccessKey
from console.roles import OPERATORS_GROUP

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ORDERS_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SendOrders", "Effect": "Allow", "Action": "sqs:Send*", "Resource": "*"},
            {
                "Sid": "NotPayroll",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": "arn:aws:sqs:*:*:payroll-*",
            },
        ],
    }
)


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Start with an empty access key cache, as a new process would."""
    access_keys.clear_cache()
    yield
    access_keys.clear_cache()


@pytest.fixture
def operator_client(db):
    """A browser logged in as an operator."""
    user = User.objects.create_user("olga", password="a-long-password")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(db):
    """A browser logged in as a read-only user."""
    client = Client()
    client.force_login(User.objects.create_user("victor", password="a-long-password"))
    return client


@pytest.fixture
def key(db):
    """A key with a two-statement policy: send anywhere, but nothing on payroll-* queues."""
    return access_keys.create_access_key(name="orders", policy=ORDERS_ONLY)[0]


def fresh(key):
    return AccessKey.objects.get(pk=key.pk)


# Starter policies


def test_starter_policies_are_valid_iam_documents():
    from aws_protocol import iam_policy  # noqa: PLC0415

    assert starter_policies.full_access() is None
    for document in [
        starter_policies.read_only(),
        starter_policies.producer("orders-*"),
        starter_policies.consumer("orders-*"),
        starter_policies.publisher("events"),
    ]:
        iam_policy.parse(starter_policies.render(document))
    producer = iam_policy.parse(starter_policies.render(starter_policies.producer("orders-*")))
    assert producer.evaluate("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:orders-eu").allowed
    assert not producer.evaluate("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:billing").allowed
    assert not producer.evaluate("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:orders").allowed
    read_only = iam_policy.parse(starter_policies.render(starter_policies.read_only()))
    assert read_only.evaluate("sns:ListTopics", "*").allowed
    assert not read_only.evaluate("sqs:ReceiveMessage", "arn:aws:sqs:r:1:orders").allowed


@pytest.mark.parametrize(
    ("data", "actions", "resource"),
    [
        ({"starter": "read-only"}, starter_policies.READ_ONLY_ACTIONS, "*"),
        (
            {"starter": "producer", "pattern": "orders-*"},
            starter_policies.PRODUCER_ACTIONS,
            "arn:aws:sqs:*:*:orders-*",
        ),
        (
            {"starter": "consumer", "pattern": "orders-*"},
            starter_policies.CONSUMER_ACTIONS,
            "arn:aws:sqs:*:*:orders-*",
        ),
        (
            {"starter": "publisher", "topic": "events"},
            starter_policies.PUBLISHER_ACTIONS,
            "arn:aws:sns:*:*:events",
        ),
    ],
)
def test_a_key_is_created_from_a_starter_policy(operator_client, data, actions, resource):
    response = operator_client.post("/access-keys/new", {"name": "worker", **data})
    assert response.status_code == 200
    key = AccessKey.objects.get()
    [statement] = json.loads(key.policy)["Statement"]
    assert statement["Action"] == actions and statement["Resource"] == resource
    assert "Policy: 1 statement" in response.content.decode()


def test_a_key_created_with_full_access_has_no_policy(operator_client):
    operator_client.post("/access-keys/new", {"name": "all", "starter": "full"})
    key = AccessKey.objects.get()
    assert key.policy == "" and key.has_full_access
    page = operator_client.get("/access-keys/").content.decode()
    assert "Full access" in page
    assert "Keys without a policy have full access" in page
    assert "keys created before policies existed" in page


def test_a_starter_that_needs_a_pattern_asks_for_one(operator_client):
    response = operator_client.post(
        "/access-keys/new", {"starter": "producer", "pattern": ""}, headers=HTMX
    )
    assert response.status_code == 422
    assert "Give the queues&#x27; name pattern" in response.content.decode()
    assert not AccessKey.objects.exists()


def test_a_custom_policy_at_creation_is_validated_with_iams_message(operator_client):
    bad = json.dumps({"Statement": [{"Effect": "Allow", "Action": "SendMessage", "Resource": "*"}]})
    response = operator_client.post(
        "/access-keys/new", {"starter": "custom", "policy": bad}, headers=HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="key-policy"') :]
    assert "Actions/Conditions must be prefaced by a vendor" in field[: field.index("</div>")]
    assert not AccessKey.objects.exists()


def test_the_list_says_how_many_statements_a_policy_has(operator_client, key):
    page = operator_client.get("/access-keys/").content.decode()
    assert "Policy: 2 statements" in page


# Editing


def test_the_key_page_shows_the_policy_pretty_printed(operator_client, key):
    html = operator_client.get(f"/access-keys/{key.access_key_id}/").content.decode()
    assert "\n      &quot;Sid&quot;: &quot;SendOrders&quot;," in html  # indented, escaped
    assert "Remove policy (full access)" in html
    assert "hx-confirm=" in html


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        (
            json.dumps({"Version": "2013-01-01", "Statement": []}),
            "The policy must contain a valid version string",
        ),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
            "Policy statement must contain actions.",
        ),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "q"}]}),
            "Resource q must be in ARN format or",
        ),
        (
            json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}] * 2}
            ).replace('"Effect"', '"Sid": "Same", "Effect"'),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_an_invalid_policy_shows_iams_message_beside_it_and_saves_nothing(
    operator_client, key, document, message, htmx
):
    response = operator_client.post(
        f"/access-keys/{key.access_key_id}/policy",
        {"policy": document},
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="policy-policy"') :]
    field = field[: field.index("</div>")]
    assert 'class="field-error"' in field
    assert message.replace('"', "&quot;") in field
    assert fresh(key).policy == ORDERS_ONLY


def test_a_valid_policy_is_saved_and_takes_effect(operator_client, key):
    from aws_protocol import authorization  # noqa: PLC0415

    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}],
        }
    )
    response = operator_client.post(
        f"/access-keys/{key.access_key_id}/policy", {"policy": document}, headers=HTMX
    )
    assert response.status_code == 200
    assert "Saved the policy" in response["HX-Trigger"]
    assert "Policy: 1 statement" in response.content.decode()
    found, _ = access_keys.find_active_key(key.access_key_id)
    assert authorization.decide(found, "sns:Publish", "arn:aws:sns:r:1:t").allowed
    assert not authorization.decide(found, "sqs:SendMessage", "arn:aws:sqs:r:1:q").allowed


def test_removing_the_policy_gives_full_access(operator_client, key):
    response = operator_client.post(f"/access-keys/{key.access_key_id}/policy/remove", headers=HTMX)
    assert response.status_code == 200
    assert fresh(key).has_full_access
    assert "full access now" in response["HX-Trigger"]
    assert "Remove policy" not in response.content.decode()


def test_read_only_users_see_the_policy_but_cannot_change_it(viewer_client, key):
    html = viewer_client.get(f"/access-keys/{key.access_key_id}/").content.decode()
    assert "SendOrders" in html and "Save policy" not in html
    refused = viewer_client.post(f"/access-keys/{key.access_key_id}/policy", {"policy": ""})
    assert refused.status_code == 403
    assert viewer_client.post(f"/access-keys/{key.access_key_id}/policy/remove").status_code == 403
    assert fresh(key).policy == ORDERS_ONLY


def test_an_unknown_key_page_answers_404(operator_client):
    assert operator_client.get("/access-keys/AKIANOSUCHKEY0000000/").status_code == 404


# The simulator


def simulate(client, key, action, resource):
    return client.get(
        f"/access-keys/{key.access_key_id}/simulate",
        {"action": action, "resource": resource},
        headers=HTMX,
    )


def test_the_simulator_says_allowed_with_the_deciding_statement(viewer_client, key):
    response = simulate(viewer_client, key, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:orders")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Allowed" in html
    assert "statement 1, Sid <code>SendOrders</code>" in html
    assert "&quot;Action&quot;: &quot;sqs:Send*&quot;" in html


def test_the_simulator_says_denied_explicitly_by_the_deny(viewer_client, key):
    html = simulate(
        viewer_client, key, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:payroll-x"
    ).content.decode()
    assert "Denied explicitly" in html
    assert "statement 2, Sid <code>NotPayroll</code>" in html
    assert "&quot;Effect&quot;: &quot;Deny&quot;" in html


def test_the_simulator_says_denied_implicitly_when_nothing_allows(viewer_client, key):
    html = simulate(
        viewer_client, key, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:orders"
    ).content.decode()
    assert "Denied implicitly" in html
    assert "no statement allows it" in html


def test_the_simulator_on_a_key_without_policy_says_full_access(viewer_client):
    key = access_keys.create_access_key()[0]
    html = simulate(viewer_client, key, "sqs:DeleteQueue", "arn:aws:sqs:r:1:q").content.decode()
    assert "Allowed" in html and "no policy, so it has full access" in html


def test_the_simulator_works_without_javascript(viewer_client, key):
    response = viewer_client.get(
        f"/access-keys/{key.access_key_id}/simulate",
        {"action": "sqs:SendMessage", "resource": "arn:aws:sqs:r:1:orders"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1><code>" in html and "Allowed" in html


def test_the_simulator_refuses_malformed_input(viewer_client, key):
    response = simulate(viewer_client, key, "SendMessage", "orders")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Give an action as service:Name" in html
    assert "Give a resource ARN" in html


def test_resource_suggestions_are_a_few_names_matching_what_was_typed(viewer_client, key):
    from queues import service  # noqa: PLC0415

    service.queue_cache.clear()
    for name in ["orders-a", "orders-b", "billing"]:
        service.create_queue(name)
    html = viewer_client.get(
        f"/access-keys/{key.access_key_id}/resources", {"resource": "arn:aws:sqs:x:y:ord"}
    ).content.decode()
    assert html.strip().startswith('<datalist id="resource-suggestions">')
    assert html.count("<option") == 2 and "orders-a" in html and "billing" not in html
    service.queue_cache.clear()
