"""SigV4 on the SQS endpoint, over both protocols: who is refused, how, and the error shapes."""

import datetime
import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import botocore.auth
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REGION = "us-east-1"
XML_NAMESPACE = "{http://queue.amazonaws.com/doc/2012-11-05/}"


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def signed_request(server, protocol, action, params, secret=None, path="/"):
    """A SigV4-signed SQS request as botocore would sign it: (url, headers, body)."""
    if protocol == "json":
        body = json.dumps(params)
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{action}",
        }
    else:
        body = urlencode({"Action": action, "Version": "2012-11-05", **params})
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=f"{server.url}{path}", data=body, headers=headers)
    credentials = Credentials(server.access_key_id, secret or server.secret)
    SigV4Auth(credentials, "sqs", REGION).add_auth(request)
    return request.url, dict(request.headers.items()), body


def error_of(response, protocol):
    """The (code, type) an SQS error response carries in its protocol's own shape."""
    if protocol == "json":
        assert response.headers["content-type"] == "application/x-amz-json-1.0"
        document = response.json()
        code = document["__type"].rpartition("#")[2]
        legacy, _, fault = response.headers["x-amzn-query-error"].partition(";")
        assert document["message"]
        return code, legacy, fault
    root = ET.fromstring(response.content)
    assert root.tag == f"{XML_NAMESPACE}ErrorResponse"
    error = root.find(f"{XML_NAMESPACE}Error")
    assert root.find(f"{XML_NAMESPACE}RequestId").text
    assert error.find(f"{XML_NAMESPACE}Message").text
    code = error.find(f"{XML_NAMESPACE}Code").text
    return code, code, error.find(f"{XML_NAMESPACE}Type").text


# Refused callers


def test_wrong_secret_is_refused_with_signature_does_not_match(sqs_client, protocol, queue_name):
    client = sqs_client(protocol, aws_secret_access_key="not-the-secret")

    with pytest.raises(ClientError) as excinfo:
        client.create_queue(QueueName=queue_name)

    assert refused(excinfo) == ("SignatureDoesNotMatch", 403)
    assert sqs_client("json").list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_unknown_access_key_is_refused_with_invalid_client_token_id(
    sqs_client, protocol, queue_name
):
    client = sqs_client(protocol, aws_access_key_id="AKIAUNKNOWNKEY000000")

    with pytest.raises(ClientError) as excinfo:
        client.create_queue(QueueName=queue_name)

    assert refused(excinfo) == ("InvalidClientTokenId", 403)
    assert sqs_client("json").list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_unsigned_request_is_refused(sqs_client, protocol, queue_name):
    client = sqs_client(
        protocol, config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})
    )

    with pytest.raises(ClientError) as excinfo:
        client.create_queue(QueueName=queue_name)

    assert refused(excinfo) == ("MissingAuthenticationToken", 403)
    assert sqs_client("json").list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_request_signed_too_long_ago_is_refused_with_request_expired(
    sqs_client, protocol, queue_name, monkeypatch
):
    client = sqs_client(protocol)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: long_ago)

    with pytest.raises(ClientError) as excinfo:
        client.create_queue(QueueName=queue_name)

    monkeypatch.undo()
    assert refused(excinfo) == ("RequestExpired", 400)
    assert sqs_client("json").list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


@pytest.mark.parametrize("protocol_name", ["json", "query"])
def test_tampered_body_is_refused_and_not_acted_on(roost_server, protocol_name, make_queue, depth):
    url = make_queue()
    endpoint, headers, body = signed_request(
        roost_server, protocol_name, "SendMessage", {"QueueUrl": url, "MessageBody": "original"}
    )

    tampered = httpx.post(endpoint, headers=headers, content=body.replace("original", "tampered"))

    assert tampered.status_code == 403
    code, legacy, fault = error_of(tampered, protocol_name)
    assert (code, legacy, fault) == ("SignatureDoesNotMatch", "SignatureDoesNotMatch", "Sender")
    assert depth(url) == (0, 0, 0)
    # The same request untouched is accepted: only the tampering was refused.
    assert httpx.post(endpoint, headers=headers, content=body).status_code == 200
    assert depth(url) == (1, 0, 0)


@pytest.mark.parametrize("protocol_name", ["json", "query"])
def test_request_without_authorization_is_refused_with_the_aws_error_shape(
    roost_server, protocol_name, queue_name
):
    endpoint, headers, body = signed_request(
        roost_server, protocol_name, "CreateQueue", {"QueueName": queue_name}
    )
    del headers["Authorization"]

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 403
    assert error_of(response, protocol_name)[0] == "MissingAuthenticationToken"
    assert error_of(response, protocol_name)[2] == "Sender"


# Presigned (query-string) form


def test_presigned_get_url_works_for_the_query_protocol(sqs_query, make_queue, queue_name):
    url = make_queue()
    presigned = sqs_query.generate_presigned_url(
        "get_queue_url", Params={"QueueName": queue_name}, ExpiresIn=60, HttpMethod="GET"
    )

    response = httpx.get(presigned)

    assert urlsplit(presigned).query.count("X-Amz-Signature=") == 1
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.find(f"{XML_NAMESPACE}GetQueueUrlResult/{XML_NAMESPACE}QueueUrl").text == url


def test_presigned_url_with_a_changed_parameter_is_refused(sqs_query, make_queue, queue_name):
    make_queue()
    presigned = sqs_query.generate_presigned_url(
        "create_queue", Params={"QueueName": f"{queue_name}-a"}, ExpiresIn=60, HttpMethod="GET"
    )
    parts = urlsplit(presigned)
    query = [
        (name, f"{queue_name}-b" if name == "QueueName" else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]

    response = httpx.get(urlunsplit(parts._replace(query=urlencode(query))))

    assert response.status_code == 403
    assert error_of(response, "query")[0] == "SignatureDoesNotMatch"
    assert sqs_query.list_queues(QueueNamePrefix=f"{queue_name}-").get("QueueUrls", []) == []


def test_presigned_url_with_a_wrong_secret_is_refused(sqs_client, queue_name):
    client = sqs_client("query", aws_secret_access_key="not-the-secret")
    presigned = client.generate_presigned_url(
        "create_queue", Params={"QueueName": queue_name}, ExpiresIn=60, HttpMethod="GET"
    )

    response = httpx.get(presigned)

    assert response.status_code == 403
    assert error_of(response, "query")[0] == "SignatureDoesNotMatch"
    assert sqs_client("json").list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


# Error shapes


def test_json_error_carries_the_type_and_the_legacy_query_code(roost_server, queue_name):
    endpoint, headers, body = signed_request(
        roost_server, "json", "GetQueueUrl", {"QueueName": queue_name}
    )

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 400
    assert response.json()["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert response.json()["message"] == "The specified queue does not exist."
    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert response.headers["x-amzn-requestid"]


def test_xml_error_is_an_error_response_with_the_legacy_code(roost_server, queue_name):
    endpoint, headers, body = signed_request(
        roost_server, "query", "GetQueueUrl", {"QueueName": queue_name}
    )

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 400
    assert error_of(response, "query") == (
        "AWS.SimpleQueueService.NonExistentQueue",
        "AWS.SimpleQueueService.NonExistentQueue",
        "Sender",
    )
    assert response.headers["content-type"].startswith("text/xml")


def test_botocore_reports_the_same_code_and_status_in_both_protocols(sqs, protocol, queue_name):
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_url(QueueName=queue_name)

    error = excinfo.value.response["Error"]
    assert refused(excinfo) == ("AWS.SimpleQueueService.NonExistentQueue", 400)
    assert error["Type"] == "Sender"
    assert excinfo.value.response["ResponseMetadata"]["RequestId"]
    if protocol == "json":
        assert error["QueryErrorCode"] == "QueueDoesNotExist"


def test_unknown_json_operation_is_refused(roost_server):
    endpoint, headers, body = signed_request(roost_server, "json", "FlyToTheMoon", {})

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 400
    assert response.json()["__type"].endswith("#UnknownOperationException")


def test_unknown_query_action_is_refused(roost_server):
    endpoint, headers, body = signed_request(roost_server, "query", "FlyToTheMoon", {})

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 400
    assert error_of(response, "query")[0] == "InvalidAction"


def test_expired_presigned_url_is_refused(sqs_query, make_queue, queue_name, monkeypatch):
    make_queue()
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: long_ago)
    presigned = sqs_query.generate_presigned_url(
        "get_queue_url", Params={"QueueName": queue_name}, ExpiresIn=60, HttpMethod="GET"
    )
    monkeypatch.undo()

    response = httpx.get(presigned)

    assert response.status_code == 400
    assert error_of(response, "query")[0] == "RequestExpired"


def test_query_request_posted_to_the_queue_url_needs_no_queue_url_parameter(
    roost_server, make_queue, queue_name, depth
):
    """Older SDKs post to the queue's own URL and leave QueueUrl out."""
    url = make_queue()
    endpoint, headers, body = signed_request(
        roost_server, "query", "SendMessage", {"MessageBody": "by path"}, path=urlsplit(url).path
    )

    response = httpx.post(endpoint, headers=headers, content=body)

    assert response.status_code == 200, response.text
    assert depth(url) == (1, 0, 0)
