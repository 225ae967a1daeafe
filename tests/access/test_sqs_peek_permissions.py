"""LocalStack's peek endpoint (/_aws/sqs/messages) needs sqs:ReceiveMessage on the queue."""

import dataclasses
import json
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from tests.access.conftest import (
    ACCOUNT_ID,
    REGION,
    allow,
    keys_with_policies,
    queue_arn,
    sqs_client,
)
from tests.access.conftest import (
    denial as refused,
)

PREFIX = f"accpeek{uuid.uuid4().hex[:6]}"
XMLNS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture(scope="module")
def keys(roost_server):
    """A key that may receive from <prefix>-orders-* queues and one that may only send there."""
    receiver, sender = keys_with_policies(
        roost_server,
        [
            allow("sqs:ReceiveMessage", f"arn:aws:sqs:*:*:{PREFIX}-orders-*"),
            allow(["sqs:SendMessage", "sqs:GetQueueAttributes"], "*"),
        ],
    )
    return {"receiver": receiver, "sender": sender}


@pytest.fixture
def queue(admin_sqs):
    """A queue the receiver key may peek at, holding one message; its name."""
    name = f"{PREFIX}-orders-{uuid.uuid4().hex[:8]}"
    url = admin_sqs.create_queue(QueueName=name)["QueueUrl"]
    admin_sqs.send_message(QueueUrl=url, MessageBody="peeked")
    return name


def peek(server, key, path, accept=None):
    """GET the endpoint with the key's bearer token: (status, body bytes)."""
    headers = {"Authorization": f"Bearer {key.access_key_id}:{key.secret}"}
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def by_url(server, name):
    return f"/_aws/sqs/messages?QueueUrl={server.url}/{ACCOUNT_ID}/{name}"


def denial(key, name):
    return refused(key, "sqs:receivemessage", queue_arn(name))


def test_key_that_may_receive_peeks(roost_server, keys, queue):
    status, body = peek(roost_server, keys["receiver"], by_url(roost_server, queue))

    assert status == 200
    root = ET.fromstring(body)
    assert root.findtext("sqs:ReceiveMessageResult/sqs:Message/sqs:Body", namespaces=XMLNS) == (
        "peeked"
    )


def test_key_that_may_not_receive_gets_access_denied(roost_server, keys, queue):
    status, body = peek(roost_server, keys["sender"], by_url(roost_server, queue))

    assert status == 403
    error = ET.fromstring(body).find("sqs:Error", XMLNS)
    assert error.findtext("sqs:Code", namespaces=XMLNS) == "AccessDenied"
    assert error.findtext("sqs:Type", namespaces=XMLNS) == "Sender"
    assert error.findtext("sqs:Message", namespaces=XMLNS) == denial(keys["sender"], queue)


def test_refusal_by_path_in_localstack_json(roost_server, keys, queue):
    path = f"/_aws/sqs/messages/{REGION}/{ACCOUNT_ID}/{queue}"

    status, body = peek(roost_server, keys["sender"], path, accept="application/json")

    assert status == 403
    error = json.loads(body)["ErrorResponse"]["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == denial(keys["sender"], queue)


def test_missing_queue_is_access_denied_for_a_key_refused_there(roost_server, keys):
    name = f"{PREFIX}-secret-missing"

    status, body = peek(roost_server, keys["receiver"], by_url(roost_server, name))

    assert status == 403
    assert ET.fromstring(body).findtext("sqs:Error/sqs:Code", namespaces=XMLNS) == "AccessDenied"


def test_sdk_receive_posted_to_the_endpoint_hears_access_denied(roost_server, keys, queue):
    endpoint = dataclasses.replace(roost_server, url=roost_server.url + "/_aws/sqs/messages")
    peeker = sqs_client(endpoint, keys["sender"], "json")

    with pytest.raises(ClientError) as raised:
        peeker.receive_message(QueueUrl=f"{roost_server.url}/{ACCOUNT_ID}/{queue}")

    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert raised.value.response["Error"]["Message"] == denial(keys["sender"], queue)
