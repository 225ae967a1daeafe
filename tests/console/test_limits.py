"""Live tests of what protects the service: the per-key request rate and the queue and topic caps."""

import uuid

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from tests.conftest import (
    QUERY_MODELS,
    TEST_REGION,
    _free_port,
    _stop,
    launch_server,
    live_server,
)

RATE = 1  # requests a second per key, so a test's quick calls outrun the refill
BURST = 3
MAX_QUEUES = 3
MAX_TOPICS = 2
NO_RETRIES = Config(retries={"total_max_attempts": 1})
SECOND_KEY_ID = "AKIAROOSTRATELIMIT02"
SECOND_SECRET = "roost-rate-limit-second-secret-000000000"


@pytest.fixture(scope="module")
def throttled_url(roost_server):
    """One more web process of the live server, limiting each key to RATE requests a second."""
    roost_server.manage("createaccesskey", "--id", SECOND_KEY_ID, "--secret", SECOND_SECRET)
    env = {
        **roost_server.env,
        "ROOST_RATE_LIMIT_PER_KEY": str(RATE),
        "ROOST_RATE_LIMIT_BURST": str(BURST),
    }
    port = _free_port()
    process = launch_server(env, port, roost_server.data_dir / f"throttled-{port}.log")
    yield f"http://127.0.0.1:{port}"
    _stop(process)


@pytest.fixture(scope="module")
def capped_server():
    """A Roost of this module's own (its own database), holding at most 3 queues and 2 topics."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROOST_MAX_QUEUES", str(MAX_QUEUES))
        patch.setenv("ROOST_MAX_TOPICS", str(MAX_TOPICS))
        with live_server("capped") as server:
            patch.undo()
            yield server


def _client(service, url, key_id, secret, protocol="json", config=NO_RETRIES):
    session = boto3.Session()
    if protocol == "query":
        core = botocore.session.Session()
        core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        session = boto3.Session(botocore_session=core)
    client = session.client(
        service,
        endpoint_url=url,
        region_name=TEST_REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )
    assert client.meta.service_model.protocol == protocol
    return client


def _until_throttled(call, attempts=BURST + 10):
    """Call until the server throttles; return the ClientError (fail if it never does)."""
    for _ in range(attempts):
        try:
            call()
        except ClientError as error:
            return error
    pytest.fail(f"{attempts} quick calls were never throttled")


def _botocore_sees_throttling(error):
    return ThrottledRetryableChecker().is_retryable(
        RetryContext(attempt_number=1, parsed_response=error.response)
    )


# The request rate per access key.


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_sqs_over_the_rate_hears_request_throttled(roost_server, throttled_url, protocol):
    sqs = _client("sqs", throttled_url, roost_server.access_key_id, roost_server.secret, protocol)

    error = _until_throttled(sqs.list_queues)

    assert error.response["Error"]["Code"] == "RequestThrottled"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _botocore_sees_throttling(error)
    if protocol == "json":
        headers = error.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-query-error"] == "RequestThrottled;Sender"


def test_sns_over_the_rate_hears_throttling(roost_server, throttled_url):
    sns = _client("sns", throttled_url, roost_server.access_key_id, roost_server.secret, "query")

    error = _until_throttled(sns.list_topics)

    assert error.response["Error"]["Code"] == "Throttling"
    assert error.response["Error"]["Message"] == "Rate exceeded"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _botocore_sees_throttling(error)


def test_each_access_key_has_its_own_rate(roost_server, throttled_url):
    first = _client("sqs", throttled_url, roost_server.access_key_id, roost_server.secret)
    second = _client("sqs", throttled_url, SECOND_KEY_ID, SECOND_SECRET)
    _until_throttled(first.list_queues)

    second.list_queues()  # not throttled: the first key's bucket is empty, not this one's


def test_throttled_request_changes_nothing(roost_server, throttled_url):
    sqs = _client("sqs", throttled_url, roost_server.access_key_id, roost_server.secret)
    name = f"throttled-{uuid.uuid4().hex[:8]}"
    _until_throttled(sqs.list_queues)

    with pytest.raises(ClientError) as refused:
        sqs.create_queue(QueueName=name)

    assert refused.value.response["Error"]["Code"] == "RequestThrottled"
    unlimited = _client("sqs", roost_server.url, roost_server.access_key_id, roost_server.secret)
    assert "QueueUrls" not in unlimited.list_queues(QueueNamePrefix=name)


def test_botocore_retries_a_throttled_call_until_it_succeeds(roost_server, throttled_url):
    patient = Config(retries={"mode": "standard", "max_attempts": 10})
    sqs = _client(
        "sqs", throttled_url, roost_server.access_key_id, roost_server.secret, config=patient
    )
    impatient = _client("sqs", throttled_url, roost_server.access_key_id, roost_server.secret)
    _until_throttled(impatient.list_queues)

    response = sqs.list_queues()

    assert response["ResponseMetadata"]["RetryAttempts"] >= 1


def test_rest_api_over_the_rate_answers_429_with_retry_after(roost_server, throttled_url):
    bearer = f"Bearer {roost_server.access_key_id}:{roost_server.secret}"
    with httpx.Client(base_url=throttled_url, headers={"Authorization": bearer}) as api:
        for _ in range(BURST + 10):
            response = api.get("/api/queues")
            if response.status_code != 200:
                break

    assert response.status_code == 429
    assert response.json()["code"] == "TooManyRequests"
    assert int(response.headers["Retry-After"]) >= 1


def test_without_a_rate_set_nothing_is_throttled(roost_server):
    sqs = _client("sqs", roost_server.url, roost_server.access_key_id, roost_server.secret)

    for _ in range(BURST + 10):
        sqs.list_queues()


# The caps on queues and topics.


def _fill(create, listed, cap):
    """Create what is missing up to the cap; return the names created."""
    names = [f"capped-{uuid.uuid4().hex[:8]}" for _ in range(cap - len(listed()))]
    for name in names:
        create(name)
    assert len(listed()) == cap
    return names


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_create_queue_beyond_the_cap_is_over_limit(capped_server, protocol):
    sqs = _client(
        "sqs", capped_server.url, capped_server.access_key_id, capped_server.secret, protocol
    )

    def listed():
        return sqs.list_queues().get("QueueUrls", [])

    names = _fill(lambda name: sqs.create_queue(QueueName=name), listed, MAX_QUEUES)

    with pytest.raises(ClientError) as refused:
        sqs.create_queue(QueueName=f"one-too-many-{protocol}")

    assert refused.value.response["Error"]["Code"] == "OverLimit"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert len(listed()) == MAX_QUEUES
    if names:  # creating a queue that exists is still an answer, not a new queue
        assert sqs.create_queue(QueueName=names[0])["QueueUrl"].endswith(f"/{names[0]}")
    sqs.delete_queue(QueueUrl=listed()[0])
    sqs.create_queue(QueueName=f"in-the-freed-place-{protocol}")
    assert len(listed()) == MAX_QUEUES


def test_create_topic_beyond_the_cap_is_topic_limit_exceeded(capped_server):
    sns = _client(
        "sns", capped_server.url, capped_server.access_key_id, capped_server.secret, "query"
    )

    def listed():
        return sns.list_topics()["Topics"]

    names = _fill(lambda name: sns.create_topic(Name=name), listed, MAX_TOPICS)

    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name="one-too-many")

    assert refused.value.response["Error"]["Code"] == "TopicLimitExceeded"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert len(listed()) == MAX_TOPICS
    if names:
        assert sns.create_topic(Name=names[0])["TopicArn"].endswith(f":{names[0]}")
    assert len(listed()) == MAX_TOPICS


@pytest.mark.parametrize(
    ("path", "cap", "code"),
    [("/api/queues", MAX_QUEUES, "OverLimit"), ("/api/topics", MAX_TOPICS, "TopicLimitExceeded")],
)
def test_rest_api_create_beyond_the_cap_is_refused(capped_server, path, cap, code):
    bearer = f"Bearer {capped_server.access_key_id}:{capped_server.secret}"
    with httpx.Client(base_url=capped_server.url, headers={"Authorization": bearer}) as api:

        def listed():
            return api.get(path).json()[path.rpartition("/")[2]]

        _fill(lambda name: api.post(path, json={"name": name}).raise_for_status(), listed, cap)

        response = api.post(path, json={"name": "one-too-many-rest"})

        assert response.status_code == 403
        assert response.json()["code"] == code
        assert len(listed()) == cap
