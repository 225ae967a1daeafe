"""SigV4 verification against requests signed by botocore itself, and every way one can fail."""

import dataclasses
import datetime as dt
import hashlib
import json
from urllib.parse import urlsplit

import boto3
import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import override_settings

from aws_protocol.errors import (
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)
from aws_protocol.sigv4 import verify_request
from console import access_keys

ENDPOINT = "http://roost.test:8000"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}


@dataclasses.dataclass(frozen=True)
class Signed:
    """A signed request as a server receives it: raw path and query, lower-case headers."""

    method: str
    path: str
    query: str
    headers: dict
    body: bytes

    def verify(self):
        return verify_request(
            self.method, self.path, self.query, self.headers, self.body, access_keys
        )

    def with_headers(self, **changes):
        return dataclasses.replace(self, headers={**self.headers, **changes})


def sign(
    key_id,
    secret,
    method="POST",
    url=ENDPOINT + "/",
    body=b"",
    headers=None,
    service="sqs",
    region="us-east-1",
    presign=False,
    expires=300,
    context=None,
):
    host = urlsplit(url).netloc
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Host": host, **(headers or {})}
    )
    request.context.update(context or {})
    credentials = Credentials(key_id, secret)
    if presign:
        SigV4QueryAuth(credentials, service, region, expires=expires).add_auth(request)
    else:
        SigV4Auth(credentials, service, region).add_auth(request)
    parts = urlsplit(request.url)
    data = request.body or b""
    return Signed(
        method=request.method,
        path=parts.path,
        query=parts.query,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=data.encode() if isinstance(data, str) else data,
    )


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Start every test with an empty access key cache, as a new process would."""
    access_keys.clear_cache()
    yield
    access_keys.clear_cache()


@pytest.fixture
def key_and_secret(db):
    """An active access key and its plain secret."""
    return access_keys.create_access_key(name="sigv4 tests")


@pytest.fixture
def signer(key_and_secret):
    """sign(...) with the active key's credentials."""
    key, secret = key_and_secret
    return lambda **kwargs: sign(key.access_key_id, secret, **kwargs)


def signed_at(monkeypatch, moment):
    """Make botocore sign as if the clock read `moment` (a naive UTC datetime)."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: moment)


def as_text(value):
    return value.decode() if isinstance(value, bytes) else value


def utcnow():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# Requests that must pass.


def test_header_signed_form_post_verifies_and_names_its_service(signer, key_and_secret):
    request = signer(body=b"Action=ListTopics&Version=2010-03-31", headers=FORM, service="sns")

    assert request.verify() == (key_and_secret[0], "sns")


def test_header_signed_json_post_verifies(signer, key_and_secret):
    body = json.dumps({"QueueUrl": f"{ENDPOINT}/000000000000/q", "MessageBody": "hé"}).encode()
    request = signer(body=body, headers=JSON)

    assert request.verify() == (key_and_secret[0], "sqs")


def test_header_signed_get_with_query_verifies(signer):
    url = f"{ENDPOINT}/000000000000/orders?Action=ReceiveMessage&MaxNumberOfMessages=10&A=%2F%20x"
    request = signer(method="GET", url=url)

    assert request.verify()[1] == "sqs"


def test_form_encoded_query_parameters_verify(key_and_secret):
    # botocore signs request params as "%20" but sends them as "+", like an HTML form.
    key, secret = key_and_secret
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/q", params={"Name": "a b", "V": "1+2"})
    request.headers["Host"] = "roost.test:8000"
    SigV4Auth(Credentials(key.access_key_id, secret), "sqs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {name.lower(): value for name, value in prepared.headers.items()}

    assert parts.query == "Name=a+b&V=1%2B2"
    assert verify_request("GET", parts.path, parts.query, headers, b"", access_keys) == (key, "sqs")


def test_path_is_canonicalised_like_botocore(signer):
    request = signer(url=f"{ENDPOINT}/000000000000/my%20queue/./x/../y//z", body=b"Action=X")

    assert request.verify()[1] == "sqs"


def test_presigned_get_verifies(signer, key_and_secret):
    request = signer(
        method="GET", url=f"{ENDPOINT}/?Action=ListQueues&Version=2012-11-05", presign=True
    )

    assert "X-Amz-Signature=" in request.query
    assert "authorization" not in request.headers
    assert request.verify() == (key_and_secret[0], "sqs")


def test_presigned_post_with_form_params_moved_to_query_verifies(signer):
    request = signer(
        body={"Action": "ListTopics", "Version": "2010-03-31"}, service="sns", presign=True
    )

    assert "Action=ListTopics" in request.query
    assert request.verify()[1] == "sns"


def test_any_region_in_the_scope_is_accepted(signer):
    request = signer(body=b"Action=ListQueues", headers=FORM, region="ap-southeast-7")

    assert request.verify()[1] == "sqs"


def test_date_header_may_stand_in_for_x_amz_date(signer):
    request = signer(
        body=b"Action=ListQueues", headers={**FORM, "Date": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )

    assert "x-amz-date" not in request.headers
    assert request.verify()[1] == "sqs"


def test_unsigned_payload_is_accepted_when_the_client_signs_that_choice(signer):
    request = signer(
        url="https://roost.test/",
        body=b"{}",
        headers=JSON,
        context={"payload_signing_enabled": False},
    )

    assert request.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert request.verify()[1] == "sqs"


def test_a_changed_header_that_was_not_signed_does_not_matter(signer):
    request = signer(body=b"Action=ListQueues", headers=FORM)

    assert request.with_headers(**{"user-agent": "something else"}).verify()[1] == "sqs"


@pytest.mark.parametrize(
    "service, call",
    [
        ("sqs", lambda client: client.send_message(QueueUrl=f"{ENDPOINT}/0/q", MessageBody="hi")),
        ("sns", lambda client: client.publish(TopicArn="arn:aws:sns:us-east-1:0:t", Message="hi")),
    ],
)
def test_requests_from_real_boto3_clients_verify(key_and_secret, service, call):
    key, secret = key_and_secret
    client = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="eu-central-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
    )
    sent = []

    class Sent(Exception):
        pass

    def capture(request, **kwargs):
        sent.append(request)
        raise Sent

    client.meta.events.register("before-send", capture)
    with pytest.raises(Sent):
        call(client)
    request = sent[0]
    parts = urlsplit(request.url)
    # The prepared request holds bytes; a server hands us str. Host is added after signing.
    headers = {name.lower(): as_text(value) for name, value in request.headers.items()}
    headers["host"] = parts.netloc
    body = request.body if isinstance(request.body, bytes) else request.body.encode()

    assert verify_request(request.method, parts.path, parts.query, headers, body, access_keys) == (
        key,
        service,
    )


def test_success_records_last_use(signer, key_and_secret):
    key = key_and_secret[0]
    signer(body=b"Action=ListQueues", headers=FORM).verify()

    key.refresh_from_db()
    assert key.last_used_at is not None


def test_warm_cache_verification_makes_no_query(signer, django_assert_num_queries):
    request = signer(body=b"Action=ListQueues", headers=FORM)
    request.verify()  # loads the key and records its first use

    with django_assert_num_queries(0):
        request.verify()
        request.verify()


# Requests that must fail, each with AWS's error.


def test_wrong_secret_is_refused(key_and_secret):
    key, secret = key_and_secret
    request = sign(key.access_key_id, secret[::-1], body=b"Action=ListQueues", headers=FORM)

    with pytest.raises(SignatureDoesNotMatch) as failure:
        request.verify()
    assert "The Canonical String for this request should have been" in failure.value.message


def test_tampered_form_body_is_refused(signer):
    request = signer(body=b"Action=SendMessage&MessageBody=pay+10", headers=FORM)

    with pytest.raises(SignatureDoesNotMatch):
        dataclasses.replace(request, body=b"Action=SendMessage&MessageBody=pay+99").verify()


def test_tampered_json_body_is_refused(signer):
    request = signer(body=b'{"MessageBody": "a"}', headers=JSON)

    with pytest.raises(SignatureDoesNotMatch):
        dataclasses.replace(request, body=b'{"MessageBody": "b"}').verify()


def test_tampered_body_is_refused_even_with_its_content_hash_header(signer):
    body = b'{"MessageBody": "a"}'
    claimed = hashlib.sha256(body).hexdigest()
    request = signer(body=body, headers={**JSON, "X-Amz-Content-SHA256": claimed})
    assert request.verify()[1] == "sqs"

    with pytest.raises(SignatureDoesNotMatch):
        dataclasses.replace(request, body=b'{"MessageBody": "b"}').verify()


def test_tampered_signed_header_is_refused(signer):
    request = signer(body=b"{}", headers=JSON)

    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers(**{"x-amz-target": "AmazonSQS.DeleteQueue"}).verify()


def test_tampered_query_is_refused(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)

    with pytest.raises(SignatureDoesNotMatch):
        dataclasses.replace(
            request, query=request.query.replace("ListQueues", "PurgeQueue")
        ).verify()


def test_non_ascii_signature_is_a_mismatch_not_a_crash(signer):
    request = signer(body=b"{}", headers=JSON)
    authorization = request.headers["authorization"]
    forged = authorization[: authorization.index("Signature=") + 10] + "é" * 64

    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers(authorization=forged).verify()


def test_unknown_key_is_refused(db):
    request = sign("AKIANOSUCHKEY0000000", "x" * 40, body=b"{}", headers=JSON)

    with pytest.raises(InvalidClientTokenId):
        request.verify()


def test_disabled_key_is_refused_at_once(signer, key_and_secret):
    request = signer(body=b"{}", headers=JSON)
    request.verify()

    access_keys.disable_access_key(key_and_secret[0])

    with pytest.raises(InvalidClientTokenId):
        request.verify()


def test_deleted_key_is_refused_at_once(signer, key_and_secret):
    request = signer(body=b"{}", headers=JSON)
    request.verify()

    access_keys.delete_access_key(key_and_secret[0])

    with pytest.raises(InvalidClientTokenId):
        request.verify()


def test_request_older_than_the_allowed_skew_has_expired(signer, monkeypatch):
    signed_at(monkeypatch, utcnow() - dt.timedelta(minutes=16))
    request = signer(body=b"{}", headers=JSON)

    with pytest.raises(RequestExpired) as failure:
        request.verify()
    assert failure.value.message.startswith("Signature expired: ")
    assert "is now earlier than" in failure.value.message
    assert failure.value.message.endswith(" - 15 min.)")


def test_request_from_the_future_is_not_yet_current(signer, monkeypatch):
    signed_at(monkeypatch, utcnow() + dt.timedelta(minutes=16))
    request = signer(body=b"{}", headers=JSON)

    with pytest.raises(RequestExpired, match="^Signature not yet current: .* is still later than"):
        request.verify()


def test_allowed_skew_is_read_from_settings_at_call_time(signer, monkeypatch):
    signed_at(monkeypatch, utcnow() - dt.timedelta(minutes=3))
    request = signer(body=b"{}", headers=JSON)
    assert request.verify()[1] == "sqs"

    with override_settings(ROOST_SIGNATURE_MAX_SKEW=60), pytest.raises(RequestExpired):
        request.verify()


def test_presigned_url_past_its_expiry_has_expired(signer, monkeypatch):
    signed_at(monkeypatch, utcnow() - dt.timedelta(minutes=2))
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True, expires=60)

    with pytest.raises(RequestExpired, match=r"^Request has expired\.$"):
        request.verify()


def test_presigned_url_within_its_expiry_outlives_the_skew(signer, monkeypatch):
    signed_at(monkeypatch, utcnow() - dt.timedelta(minutes=30))
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True, expires=3600)

    assert request.verify()[1] == "sqs"


def test_missing_authorization_is_refused(db):
    with pytest.raises(MissingAuthenticationToken):
        verify_request("POST", "/", "", {"host": "roost.test"}, b"Action=ListQueues", access_keys)


def test_authorization_of_another_scheme_counts_as_missing(db):
    with pytest.raises(MissingAuthenticationToken):
        verify_request("POST", "/", "", {"authorization": "Bearer abc"}, b"", access_keys)


@pytest.mark.parametrize(
    "rewrite, expected",
    [
        (
            lambda auth: auth.split(", Signature=")[0],
            "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256",
        ),
        (
            lambda auth: "AWS4-HMAC-SHA256 Signature=abc",
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=",
        ),
        (
            lambda auth: auth.replace("Credential=", "Credential= "),
            "not a valid key=value pair (missing equal-sign) in Authorization header",
        ),
        (
            lambda auth: auth.replace("/aws4_request", ""),
            "Credential must have exactly 5 slash-delimited elements",
        ),
        (
            lambda auth: auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'",
        ),
    ],
)
def test_malformed_authorization_is_an_incomplete_signature(signer, rewrite, expected):
    request = signer(body=b"{}", headers=JSON)
    authorization = rewrite(request.headers["authorization"])

    with pytest.raises(IncompleteSignature) as failure:
        request.with_headers(authorization=authorization).verify()
    assert expected in failure.value.message


def test_missing_date_is_an_incomplete_signature(signer):
    request = signer(body=b"{}", headers=JSON)
    headers = {name: value for name, value in request.headers.items() if name != "x-amz-date"}

    with pytest.raises(IncompleteSignature, match="requires existence of either a 'X-Amz-Date'"):
        dataclasses.replace(request, headers=headers).verify()


def test_badly_formatted_date_is_an_incomplete_signature(signer):
    request = signer(body=b"{}", headers=JSON)

    with pytest.raises(IncompleteSignature, match="Date must be in ISO-8601 'basic format'"):
        request.with_headers(**{"x-amz-date": "2024-01-01T00:00:00Z"}).verify()


def test_scope_date_must_match_the_request_date(signer):
    request = signer(body=b"{}", headers=JSON)
    amz_date = request.headers["x-amz-date"]
    authorization = request.headers["authorization"].replace(f"/{amz_date[:8]}/", "/20000101/")

    with pytest.raises(SignatureDoesNotMatch, match="Date in Credential scope does not match"):
        request.with_headers(authorization=authorization).verify()


def test_scope_must_end_with_aws4_request(signer):
    request = signer(body=b"{}", headers=JSON)
    authorization = request.headers["authorization"].replace("/aws4_request", "/aws5_request")

    with pytest.raises(SignatureDoesNotMatch, match="valid terminator: 'aws4_request'"):
        request.with_headers(authorization=authorization).verify()


def test_host_must_be_signed(signer):
    request = signer(body=b"{}", headers=JSON)
    authorization = request.headers["authorization"].replace(";host;", ";")

    with pytest.raises(
        SignatureDoesNotMatch, match="'Host' or ':authority' must be a 'SignedHeader'"
    ):
        request.with_headers(authorization=authorization).verify()


def test_presigned_url_missing_its_signature_is_an_incomplete_signature(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)
    query = "&".join(p for p in request.query.split("&") if not p.startswith("X-Amz-Signature="))

    with pytest.raises(IncompleteSignature, match="must include 'X-Amz-Signature'"):
        dataclasses.replace(request, query=query).verify()


def test_presigned_url_with_an_authorization_header_too_is_refused(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)

    with pytest.raises(IncompleteSignature, match="Found both 'X-Amz-Algorithm'"):
        request.with_headers(authorization="AWS4-HMAC-SHA256 Credential=x").verify()


def test_presigned_url_valid_for_more_than_a_week_is_refused(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)

    with pytest.raises(IncompleteSignature, match="less than a week"):
        dataclasses.replace(
            request, query=request.query.replace("X-Amz-Expires=300", "X-Amz-Expires=604801")
        ).verify()


# Headers that must be signed, as AWS requires: Host, Content-Type and every x-amz-* header.


def test_header_form_must_sign_the_operation_target(key_and_secret):
    key, secret = key_and_secret
    request = sign(key.access_key_id, secret, body=b"{}", headers=JSON)
    unsigned = without_signed_header(request, "x-amz-target", key.access_key_id, secret)

    with pytest.raises(
        SignatureDoesNotMatch, match="'x-amz-target' must be a 'SignedHeader' in the AWS"
    ):
        unsigned.verify()


def test_header_form_must_sign_content_type(key_and_secret):
    key, secret = key_and_secret
    request = sign(key.access_key_id, secret, body=b"Action=ListQueues", headers=FORM)
    unsigned = without_signed_header(request, "content-type", key.access_key_id, secret)

    with pytest.raises(
        SignatureDoesNotMatch, match="'Content-Type' must be a 'SignedHeader' in the AWS"
    ):
        unsigned.verify()


def test_presigned_url_must_sign_an_x_amz_header_it_is_sent_with(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)

    assert request.verify()[1] == "sqs"
    with pytest.raises(SignatureDoesNotMatch, match="'x-amz-target' must be a 'SignedHeader'"):
        request.with_headers(**{"x-amz-target": "AmazonSQS.PurgeQueue"}).verify()


def test_presigned_url_need_not_sign_content_type(signer):
    request = signer(method="GET", url=f"{ENDPOINT}/?Action=ListQueues", presign=True)

    assert request.with_headers(**{"content-type": "text/plain"}).verify()[1] == "sqs"


def without_signed_header(request, name, key_id, secret):
    """`request` signed again the way a careless client would: `name` sent but not signed."""
    headers = {key: value for key, value in request.headers.items() if key != name}
    headers.pop("authorization")
    headers.pop("x-amz-date")
    resigned = sign(
        key_id,
        secret,
        method=request.method,
        url=ENDPOINT + request.path,
        body=request.body,
        headers={key: value for key, value in headers.items() if key != "host"},
    )
    assert name not in resigned.headers["authorization"]
    return resigned.with_headers(**{name: request.headers[name]})


def test_signed_list_queues_replayed_as_purge_queue_is_refused(roost_server, make_queue, sqs_json):
    url = make_queue()
    sqs_json.send_message(QueueUrl=url, MessageBody="keep me")
    body = json.dumps({"QueueUrl": url}).encode()
    # Signed without X-Amz-Target, as a client that signs only Host and X-Amz-Date would.
    request = AWSRequest(
        method="POST",
        url=roost_server.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0"},
    )
    credentials = Credentials(roost_server.access_key_id, roost_server.secret)
    SigV4Auth(credentials, "sqs", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    assert "x-amz-target" not in headers["Authorization"]

    with httpx.Client() as client:
        for target in ("AmazonSQS.ListQueues", "AmazonSQS.PurgeQueue"):
            response = client.post(
                roost_server.url + "/",
                content=body,
                headers={**headers, "X-Amz-Target": target},
            )
            assert response.status_code == 403
            assert response.json()["__type"].endswith("#SignatureDoesNotMatch")
            assert "'x-amz-target' must be a 'SignedHeader'" in response.json()["message"]

    depth = sqs_json.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "1"


@pytest.mark.parametrize(
    "date", ["Fri, 31 Dec 9999 23:59:59 -0100", "Mon, 99 Jan 2020 00:00:00 GMT", "soon"]
)
def test_unreadable_date_header_is_an_incomplete_signature(signer, date):
    request = signer(body=b"{}", headers=JSON)
    headers = {name: value for name, value in request.headers.items() if name != "x-amz-date"}
    authorization = headers["authorization"].replace(";x-amz-date", "")

    with pytest.raises(IncompleteSignature, match="Date must be in ISO-8601 'basic format'"):
        dataclasses.replace(
            request, headers={**headers, "authorization": authorization, "date": date}
        ).verify()
