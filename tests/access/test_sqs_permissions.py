"""Access keys' IAM policies on both SQS wire protocols, over boto3 against the live server."""

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.access.conftest import (
    ACCOUNT_ID,
    allow,
    denial,
    keys_with_policies,
    queue_arn,
    sqs_client,
)

PREFIX = f"acc{uuid.uuid4().hex[:6]}"
ORDERS = f"arn:aws:sqs:*:*:{PREFIX}-orders-*"
SECRETS = f"arn:aws:sqs:*:*:{PREFIX}-secret*"

POLICIES = {
    "full": None,
    "producer": allow(["sqs:SendMessage", "sqs:GetQueueUrl"], ORDERS),
    "deny_purge": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Everything", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {
                "Sid": "NeverPurge",
                "Effect": "Deny",
                "Action": ["sqs:PurgeQueue", "sqs:DeleteQueue"],
                "Resource": "*",
            },
        ],
    },
    "not_action": allow(None, NotAction=["sqs:DeleteQueue", "sqs:Purge*"]),
    "not_resource": allow("sqs:*", None, NotResource=SECRETS),
    "receiver": allow("sqs:Receive*", ORDERS),
    "orders_only": allow("sqs:*", ORDERS),
    "lister": allow("sqs:ListQueues", f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:*"),
    "creator": allow("sqs:CreateQueue", f"arn:aws:sqs:*:*:{PREFIX}-*"),
    "mover": allow(
        [
            "sqs:StartMessageMoveTask",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ],
        f"arn:aws:sqs:*:*:{PREFIX}-dlq-*",
    ),
}


@pytest.fixture(scope="module")
def keys(roost_server):
    """One access key per policy in POLICIES, made in one go."""
    made = keys_with_policies(roost_server, list(POLICIES.values()))
    return dict(zip(POLICIES, made, strict=True))


@pytest.fixture
def client(roost_server, keys, protocol):
    """client(policy name) -> a boto3 SQS client signed with that key, in this test's protocol."""
    return lambda name: sqs_client(roost_server, keys[name], protocol)


@pytest.fixture
def make(admin_sqs):
    """make(kind, **attributes) -> the URL of a new queue named <prefix>-<kind>-<random>."""

    def create(kind, **attributes):
        name = f"{PREFIX}-{kind}-{uuid.uuid4().hex[:8]}"
        return admin_sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    return create


def denied(call, **params):
    """Call, expecting AccessDenied; return botocore's error."""
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response


def name_of(url):
    return url.rsplit("/", 1)[1]


def assert_access_denied(response, message):
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["Error"]["Message"] == message
    assert response["Error"].get("Type") == "Sender"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_allowed_call_succeeds(client, make, admin_sqs):
    url = make("orders")

    client("producer").send_message(QueueUrl=url, MessageBody="allowed")

    [message] = admin_sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "allowed"


def test_denied_call_gets_aws_access_denied_naming_key_action_and_resource(client, make, keys):
    url = make("orders")

    response = denied(client("producer").receive_message, QueueUrl=url)

    assert_access_denied(
        response, denial(keys["producer"], "sqs:receivemessage", queue_arn(name_of(url)))
    )


def test_json_denial_has_aws_type_and_query_error_header(roost_server, keys, make):
    url = make("orders")

    response = denied(sqs_client(roost_server, keys["producer"], "json").purge_queue, QueueUrl=url)

    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-query-error"] == "AccessDenied;Sender"
    assert response["Error"]["Code"] == "AccessDenied"


def test_deny_overrides_a_wildcard_allow(client, make, keys, admin_sqs):
    url = make("kept")
    admin_sqs.send_message(QueueUrl=url, MessageBody="kept")
    key = client("deny_purge")

    key.send_message(QueueUrl=url, MessageBody="still allowed")
    response = denied(key.purge_queue, QueueUrl=url)

    arn = queue_arn(name_of(url))
    assert_access_denied(response, denial(keys["deny_purge"], "sqs:purgequeue", arn, True))
    assert (
        admin_sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "2"
    )


def test_not_action_allows_everything_but_the_actions_named(client, make, keys):
    url = make("other")
    key = client("not_action")

    key.send_message(QueueUrl=url, MessageBody="allowed")
    key.receive_message(QueueUrl=url)
    response = denied(key.delete_queue, QueueUrl=url)

    arn = queue_arn(name_of(url))
    assert_access_denied(response, denial(keys["not_action"], "sqs:deletequeue", arn))
    key.get_queue_attributes(QueueUrl=url)  # still there


def test_not_resource_allows_everywhere_but_the_resources_named(client, make, keys):
    open_url, secret_url = make("open"), make("secret")
    key = client("not_resource")

    key.send_message(QueueUrl=open_url, MessageBody="allowed")
    response = denied(key.send_message, QueueUrl=secret_url, MessageBody="no")

    arn = queue_arn(name_of(secret_url))
    assert_access_denied(response, denial(keys["not_resource"], "sqs:sendmessage", arn))


def test_wildcard_action_covers_only_the_actions_it_matches(client, make, admin_sqs):
    url = make("orders")
    admin_sqs.send_message(QueueUrl=url, MessageBody="for the receiver")
    key = client("receiver")

    [message] = key.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert message["Body"] == "for the receiver"
    assert denied(key.send_message, QueueUrl=url, MessageBody="x")["Error"]["Code"] == (
        "AccessDenied"
    )
    response = denied(
        key.delete_message_batch,
        QueueUrl=url,
        Entries=[{"Id": "1", "ReceiptHandle": message["ReceiptHandle"]}],
    )
    assert "sqs:deletemessage on resource" in response["Error"]["Message"]


def test_send_message_also_allows_send_message_batch(client, make, admin_sqs):
    url = make("orders")

    result = client("producer").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)]
    )

    assert len(result["Successful"]) == 3


def test_batch_to_a_queue_the_key_may_not_send_to_is_refused_whole(client, make, keys, admin_sqs):
    url = make("other")

    response = denied(
        client("producer").send_message_batch,
        QueueUrl=url,
        Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)],
    )

    arn = queue_arn(name_of(url))
    assert_access_denied(response, denial(keys["producer"], "sqs:sendmessage", arn))
    assert "Messages" not in admin_sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_denied_call_on_a_missing_queue_is_access_denied_not_queue_does_not_exist(
    client, keys, roost_server
):
    name = f"{PREFIX}-other-missing"
    url = f"{roost_server.url}/{ACCOUNT_ID}/{name}"

    response = denied(client("producer").send_message, QueueUrl=url, MessageBody="x")
    assert_access_denied(response, denial(keys["producer"], "sqs:sendmessage", queue_arn(name)))
    response = denied(client("producer").get_queue_url, QueueName=name)
    assert_access_denied(response, denial(keys["producer"], "sqs:getqueueurl", queue_arn(name)))

    # A key allowed there hears that the queue does not exist.
    response = denied(client("full").send_message, QueueUrl=url, MessageBody="x")
    assert response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_list_queues_needs_an_account_wide_allow(client, make, keys):
    url = make("orders")

    response = denied(client("orders_only").list_queues, QueueNamePrefix=PREFIX)
    assert_access_denied(
        response,
        denial(keys["orders_only"], "sqs:listqueues", f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:*"),
    )
    assert url in client("lister").list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]
    assert url in client("full").list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]


def test_key_without_a_policy_keeps_full_access(client):
    key = client("full")
    url = key.create_queue(QueueName=f"{PREFIX}-free-{uuid.uuid4().hex[:8]}")["QueueUrl"]

    key.send_message(QueueUrl=url, MessageBody="hello")
    [message] = key.receive_message(QueueUrl=url)["Messages"]
    key.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    key.purge_queue(QueueUrl=url)
    key.delete_queue(QueueUrl=url)


def test_create_queue_with_tags_also_needs_tag_queue(client, keys):
    key = client("creator")
    name = f"{PREFIX}-made-{uuid.uuid4().hex[:8]}"

    response = denied(key.create_queue, QueueName=name, tags={"team": "a"})
    assert_access_denied(response, denial(keys["creator"], "sqs:tagqueue", queue_arn(name)))
    assert denied(client("full").get_queue_url, QueueName=name)["Error"]["Code"] == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )
    key.create_queue(QueueName=name)


def test_move_task_needs_send_message_on_its_destination(client, make, keys, admin_sqs):
    dlq = make("dlq")
    dlq_arn = queue_arn(name_of(dlq))
    make("src", RedrivePolicy=f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}')
    destination = make("dest")
    key = client("mover")

    response = denied(
        key.start_message_move_task,
        SourceArn=dlq_arn,
        DestinationArn=queue_arn(name_of(destination)),
    )
    assert_access_denied(
        response,
        denial(keys["mover"], "sqs:sendmessage", queue_arn(name_of(destination))),
    )
    assert client("full").list_message_move_tasks(SourceArn=dlq_arn).get("Results", []) == []

    handle = client("full").start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    response = denied(key.cancel_message_move_task, TaskHandle=handle)
    assert_access_denied(response, denial(keys["mover"], "sqs:cancelmessagemovetask", dlq_arn))
