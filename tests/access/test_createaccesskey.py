"""`createaccesskey --policy FILE` makes a key limited by an IAM policy, and refuses a malformed
one with IAM's message, making no key."""

import io
import json

import pytest
from botocore.exceptions import ClientError
from django.core.management import CommandError, call_command

from console import access_keys
from console.models import AccessKey
from tests.access.conftest import ACCOUNT_ID, Key, allow, queue_arn, sqs_client, topic_arn

CONSUMER = allow(["sqs:ReceiveMessage", "sqs:DeleteMessage"], queue_arn("orders-*"))


def run(*args):
    """Run createaccesskey in this process; return {name: value} of the lines it printed."""
    out = io.StringIO()
    call_command("createaccesskey", *args, stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines())


@pytest.mark.django_db
def test_policy_file_becomes_the_keys_policy(tmp_path):
    path = tmp_path / "consumer.json"
    path.write_text(json.dumps(CONSUMER, indent=2))

    printed = run("--name", "consumer", "--policy", str(path))

    key = AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"])
    assert json.loads(key.policy) == CONSUMER
    assert key.name == "consumer"
    assert not key.has_full_access


@pytest.mark.django_db
def test_policy_can_come_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(CONSUMER)))

    printed = run("--policy", "-")

    assert json.loads(AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"]).policy) == (
        CONSUMER
    )


@pytest.mark.django_db
def test_without_a_policy_the_key_has_full_access():
    printed = run("--name", "admin")

    assert AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"]).has_full_access


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        (
            json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}
            ),
            "Policy statement must contain actions.",
        ),
        (json.dumps(allow("sqs:*", effect="allow")), "The policy failed legacy parsing"),
        (json.dumps(allow("SendMessage")), "Actions/Conditions must be prefaced by a vendor"),
        (
            json.dumps(
                {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}
            ),
            "Policy document should not specify a principal.",
        ),
    ],
)
def test_malformed_policy_is_refused_with_iams_message_and_no_key_is_made(
    tmp_path, document, message
):
    path = tmp_path / "policy.json"
    path.write_text(document)

    with pytest.raises(CommandError, match="MalformedPolicyDocument") as refused:
        run("--policy", str(path))

    assert message in str(refused.value)
    assert not AccessKey.objects.exists()


@pytest.mark.django_db
def test_missing_policy_file_is_refused_and_no_key_is_made(tmp_path):
    with pytest.raises(CommandError, match="Cannot read the policy file"):
        run("--policy", str(tmp_path / "nowhere.json"))

    assert not AccessKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "action", "resource"),
    [
        (["--starter", "consumer", "--pattern", "orders-*"], "sqs:ReceiveMessage", "orders-1"),
        (["--starter", "producer", "--pattern", "orders-*"], "sqs:SendMessage", "orders-1"),
        (["--starter", "publisher", "--topic", "news"], "sns:Publish", "news"),
        (["--starter", "read-only"], "sqs:GetQueueAttributes", "billing"),
    ],
)
def test_starter_policy_limits_the_key(args, action, resource):
    printed = run(*args)

    key = AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"])
    arn = topic_arn(resource) if action.startswith("sns:") else queue_arn(resource)
    assert access_keys.simulate(key, action, arn).allowed
    assert not access_keys.simulate(key, "sqs:PurgeQueue", queue_arn("orders-1")).allowed


@pytest.mark.django_db
def test_starter_that_needs_a_pattern_is_refused_without_one():
    with pytest.raises(CommandError, match="needs --pattern"):
        run("--starter", "consumer")

    assert not AccessKey.objects.exists()


def test_key_made_on_the_command_line_is_held_to_its_policy(roost_server, tmp_path, admin_sqs):
    admin_sqs.create_queue(QueueName="orders-cli")
    admin_sqs.create_queue(QueueName="billing-cli")
    path = tmp_path / "producer.json"
    path.write_text(json.dumps(allow("sqs:SendMessage", queue_arn("orders-*"))))

    result = roost_server.manage("createaccesskey", "--policy", str(path))
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines())
    client = sqs_client(
        roost_server, Key(printed["AWS_ACCESS_KEY_ID"], printed["AWS_SECRET_ACCESS_KEY"])
    )
    url = f"{roost_server.url}/{ACCOUNT_ID}/"

    client.send_message(QueueUrl=url + "orders-cli", MessageBody="allowed")
    with pytest.raises(ClientError) as refused:
        client.send_message(QueueUrl=url + "billing-cli", MessageBody="refused")

    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
