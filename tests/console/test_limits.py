"""Live tests of what protects the service: the per-key request rate and the queue and topic caps."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
)

RATE = 1  # requests a second per key, so a test's quick calls outrun the refill
BURST = 3
CAP_ROOM = 2  # queues or topics the capped process lets the tests add
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


@dataclass
class Capped:
    """A web process of the live server whose caps leave room for CAP_ROOM more of each."""

    url: str
    max_queues: int
    max_topics: int
    sqs: object  # clients for the live server itself, to count and tidy up
    sns: object


@pytest.fixture(scope="module")
def capped(roost_server):
    """One more web process of the live server, capping queues and topics a few above today's."""
    key = (roost_server.access_key_id, roost_server.secret)
    sqs = _client("sqs", roost_server.url, *key)
    sns = _client("sns", roost_server.url, *key, protocol="query")
    max_queues = len(_queue_urls(sqs)) + CAP_ROOM
    max_topics = len(_topic_arns(sns)) + CAP_ROOM
    env = {
        **roost_server.env,
        "ROOST_MAX_QUEUES": str(max_queues),
        "ROOST_MAX_TOPICS": str(max_topics),
    }
    port = _free_port()
    process = launch_server(env, port, roost_server.data_dir / f"capped-{port}.log")
    yield Capped(f"http://127.0.0.1:{port}", max_queues, max_topics, sqs, sns)
    _stop(process)


def _queue_urls(sqs):
    pages = sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000})
    return [url for page in pages for url in page.get("QueueUrls", [])]


def _topic_arns(sns):
    pages = sns.get_paginator("list_topics").paginate()
    return [topic["TopicArn"] for page in pages for topic in page["Topics"]]


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
    # A client's first call resolves its endpoint rules, which on a busy machine can outlast the
    # second the bucket needs to refill: make that call before the bucket is emptied.
    sqs.list_queues()
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


def _fill(create, count, cap):
    """Create what is missing up to the cap; return the names created."""
    names = [f"capped-{uuid.uuid4().hex[:8]}" for _ in range(cap - count())]
    for name in names:
        create(name)
    assert count() == cap
    return names


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_create_queue_beyond_the_cap_is_over_limit(roost_server, capped, protocol):
    key = (roost_server.access_key_id, roost_server.secret)
    sqs = _client("sqs", capped.url, *key, protocol=protocol)

    def count():
        return len(_queue_urls(capped.sqs))

    names = _fill(lambda name: sqs.create_queue(QueueName=name), count, capped.max_queues)

    with pytest.raises(ClientError) as refused:
        sqs.create_queue(QueueName=f"one-too-many-{uuid.uuid4().hex[:8]}")

    assert refused.value.response["Error"]["Code"] == "OverLimit"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert count() == capped.max_queues
    if names:  # creating a queue that exists is still an answer, not a new queue
        assert sqs.create_queue(QueueName=names[0])["QueueUrl"].endswith(f"/{names[0]}")
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=names[0])["QueueUrl"])
        sqs.create_queue(QueueName=f"in-the-freed-place-{uuid.uuid4().hex[:8]}")
    assert count() == capped.max_queues


def test_create_topic_beyond_the_cap_is_topic_limit_exceeded(roost_server, capped):
    key = (roost_server.access_key_id, roost_server.secret)
    sns = _client("sns", capped.url, *key, protocol="query")

    def count():
        return len(_topic_arns(capped.sns))

    names = _fill(lambda name: sns.create_topic(Name=name), count, capped.max_topics)

    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name=f"one-too-many-{uuid.uuid4().hex[:8]}")

    assert refused.value.response["Error"]["Code"] == "TopicLimitExceeded"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert count() == capped.max_topics
    if names:
        assert sns.create_topic(Name=names[0])["TopicArn"].endswith(f":{names[0]}")
    assert count() == capped.max_topics


@pytest.mark.parametrize("kind", ["queues", "topics"])
def test_rest_api_create_beyond_the_cap_is_refused(roost_server, capped, kind):
    if kind == "queues":
        cap, code = capped.max_queues, "OverLimit"

        def count():
            return len(_queue_urls(capped.sqs))
    else:
        cap, code = capped.max_topics, "TopicLimitExceeded"

        def count():
            return len(_topic_arns(capped.sns))

    bearer = f"Bearer {roost_server.access_key_id}:{roost_server.secret}"
    with httpx.Client(base_url=capped.url, headers={"Authorization": bearer}) as api:
        path = f"/api/{kind}"
        _fill(lambda name: api.post(path, json={"name": name}).raise_for_status(), count, cap)

        response = api.post(path, json={"name": f"one-too-many-{uuid.uuid4().hex[:8]}"})

    assert response.status_code == 403
    assert response.json()["code"] == code
    assert count() == cap


RACERS = 16
LAST_PLACES = 4


def test_creates_racing_for_the_last_places_never_overshoot_the_cap(roost_server, capped):
    """Two web processes (each with its own database thread) take creates for the last places."""
    key = (roost_server.access_key_id, roost_server.secret)
    cap = len(_queue_urls(capped.sqs)) + LAST_PLACES
    env = {**roost_server.env, "ROOST_MAX_QUEUES": str(cap)}
    processes = []
    try:
        for _ in range(2):
            port = _free_port()
            log_path = roost_server.data_dir / f"racing-{port}.log"
            processes.append((port, launch_server(env, port, log_path)))
        clients = [_client("sqs", f"http://127.0.0.1:{port}", *key) for port, _ in processes]
        start = threading.Barrier(RACERS)

        def create(index):
            start.wait()
            try:
                clients[index % 2].create_queue(QueueName=f"racer-{uuid.uuid4().hex[:8]}")
            except ClientError as error:
                return error.response["Error"]["Code"]
            return "created"

        with ThreadPoolExecutor(RACERS) as pool:
            outcomes = list(pool.map(create, range(RACERS)))
    finally:
        for _, process in processes:
            _stop(process)

    assert sorted(outcomes) == ["OverLimit"] * (RACERS - LAST_PLACES) + ["created"] * LAST_PLACES
    assert len(_queue_urls(capped.sqs)) == cap
