"""PostgreSQL restarted under a running Roost: fast 503s in each door's shape, then recovery.

While the database is down, every front door answers 503 ServiceUnavailable in its own error
shape within two seconds, instead of hanging; once it is back, requests succeed again with
nobody restarting Roost, and nothing acknowledged before the outage is lost.
"""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.faults.conftest import fault_roost, wait_for

pytestmark = [pytest.mark.live, pytest.mark.faults]

FAST = 2.0  # seconds: an answer during the outage must come sooner than this
MESSAGE = "The request has failed due to a temporary failure of the server."
RECOVERY_SECONDS = 30


@pytest.fixture
def roost(private_postgres):
    """A Roost on a PostgreSQL cluster of this test's own, which the test stops and starts."""
    with fault_roost("pg-restart", database_url=private_postgres.url) as roost:
        yield roost


def timed(call):
    """Run call(); return (seconds it took, its result or the exception it raised)."""
    started = time.monotonic()
    try:
        result = call()
    except Exception as error:
        result = error
    return time.monotonic() - started, result


def assert_unavailable(outcome, door, latencies=[]):  # noqa: B006 (collects figures to print)
    """A boto3 call refused with 503 ServiceUnavailable, quickly."""
    seconds, error = outcome
    latencies.append(seconds)
    assert seconds < FAST, f"{door} took {seconds:.2f} s"
    assert isinstance(error, ClientError), f"{door}: {error!r}"
    assert error.response["Error"]["Code"] == "ServiceUnavailable", (door, error.response)
    assert error.response["Error"]["Message"] == MESSAGE
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    return error.response["ResponseMetadata"]["HTTPHeaders"]


def record_bodies(client):
    """Keep the raw body of every answer the client gets (JSON decoded) in a list."""
    bodies = []

    def keep(http_response, **kwargs):
        content = http_response.content
        bodies.append(json.loads(content) if content.startswith(b"{") else content)

    client.meta.events.register("after-call.*.*", keep)
    return bodies


class LiveStream(threading.Thread):
    """The console overview's live stream (SSE), read until closed: its events, in order."""

    def __init__(self, console):
        super().__init__(daemon=True)
        self.console, self.events, self.ended = console, [], None

    def run(self):
        try:
            with self.console.stream("GET", "/live/sse/?page=overview", timeout=60) as response:
                assert response.status_code == 200
                for event in response.iter_lines():
                    if event.startswith("event: "):
                        self.events.append(event)
            self.ended = "closed by the server"
        except Exception as error:
            self.ended = repr(error)


class LongPoll(threading.Thread):
    """A ReceiveMessage waiting 20 s, started before the outage."""

    def __init__(self, sqs, queue_url):
        super().__init__(daemon=True)
        self.sqs, self.queue_url, self.outcome = sqs, queue_url, None

    def run(self):
        self.outcome = timed(
            lambda: self.sqs.receive_message(QueueUrl=self.queue_url, WaitTimeSeconds=20)
        )


def test_a_postgresql_restart_gets_fast_503s_then_recovers_with_nothing_lost(
    roost, private_postgres
):
    sqs_json, sqs_query = roost.client("sqs", "json"), roost.client("sqs", "query")
    sns, rest, console = roost.client("sns"), roost.rest(), roost.console()
    queue_url = sqs_json.create_queue(QueueName="outage")["QueueUrl"]
    waiting_url = sqs_json.create_queue(QueueName="outage-empty")["QueueUrl"]
    topic = sns.create_topic(Name="outage")["TopicArn"]
    before = [f"before-{index}" for index in range(50)]
    for body in before:
        sqs_json.send_message(QueueUrl=queue_url, MessageBody=body)
    raw_bodies = {client: record_bodies(client) for client in (sqs_json, sqs_query, sns)}
    long_poll = LongPoll(roost.client("sqs", "json"), waiting_url)
    long_poll.start()
    assert console.get("/").status_code == 200
    live = LiveStream(console)
    live.start()
    wait_for(lambda: live.events, 10, "the live stream's first event")

    private_postgres.stop()
    stopped = time.monotonic()

    # Every door, twice over: the first request finds the broken connection, later ones none.
    first = timed(lambda: sqs_json.send_message(QueueUrl=queue_url, MessageBody="lost"))
    assert_unavailable(first, "first SQS JSON request")
    first_503 = time.monotonic() - stopped
    for _ in range(2):
        headers = assert_unavailable(
            timed(lambda: sqs_json.send_message(QueueUrl=queue_url, MessageBody="x")), "SQS JSON"
        )
        assert headers["x-amzn-query-error"] == "ServiceUnavailable;Receiver"
        assert_unavailable(
            timed(lambda: sqs_json.receive_message(QueueUrl=queue_url)), "SQS JSON receive"
        )
        assert_unavailable(
            timed(lambda: sqs_query.send_message(QueueUrl=queue_url, MessageBody="x")), "SQS query"
        )
        assert_unavailable(timed(lambda: sns.publish(TopicArn=topic, Message="x")), "SNS")
        assert_unavailable(timed(lambda: sns.list_topics()), "SNS list")

        seconds, answer = timed(lambda: rest.get("/queues"))
        assert_unavailable.__defaults__[0].append(seconds)
        assert seconds < FAST, f"REST took {seconds:.2f} s"
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"code": "ServiceUnavailable", "message": MESSAGE}

        seconds, page = timed(lambda: console.get("/"))
        assert_unavailable.__defaults__[0].append(seconds)
        assert seconds < FAST, f"the console took {seconds:.2f} s"
        assert page.status_code == 503, page.text[:500]

    # The raw shapes botocore reads them from: JSON's __type, the query protocols' ErrorResponse.
    assert raw_bodies[sqs_json][-1]["__type"] == "com.amazonaws.sqs#ServiceUnavailable"
    for client in (sqs_query, sns):
        body = raw_bodies[client][-1]
        assert body.startswith(b"<?xml") and b"<ErrorResponse" in body, body
        assert b"<Code>ServiceUnavailable</Code>" in body and b"<Type>Receiver</Type>" in body

    # The long poll that was waiting ends cleanly, long before its 20 s: an answer, not a hang.
    long_poll.join(timeout=FAST + 2)
    assert not long_poll.is_alive(), "the long poll hangs during the outage"
    seconds, outcome = long_poll.outcome
    if isinstance(outcome, ClientError):
        assert outcome.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    else:
        assert outcome.get("Messages", []) == [], outcome

    private_postgres.start()
    restarted = time.monotonic()
    _wait_until_sent(sqs_json, queue_url)
    recovery = time.monotonic() - restarted

    # The process's LISTEN connection (cross-process wake-ups of long polls) is back too.
    wait_for(lambda: "LISTEN connection back" in roost.log(), 10, "LISTEN to reconnect")

    # Every door works again, with nothing restarted.
    assert sqs_query.send_message(QueueUrl=queue_url, MessageBody="after-query")["MessageId"]
    assert sns.publish(TopicArn=topic, Message="after")["MessageId"]
    assert rest.get("/queues").status_code == 200
    assert console.get("/").status_code == 200
    long_poll_after = LongPoll(roost.client("sqs", "json"), waiting_url)
    long_poll_after.start()
    sqs_json.send_message(QueueUrl=waiting_url, MessageBody="wakes the long poll")
    long_poll_after.join(timeout=25)
    assert long_poll_after.outcome[1]["Messages"][0]["Body"] == "wakes the long poll"

    # The live stream opened before the outage lived through it, and shows changes again.
    events = len(live.events)
    sqs_json.send_message(QueueUrl=queue_url, MessageBody="shows on the overview")
    wait_for(lambda: len(live.events) > events or live.ended, 10, "a live update after")
    assert live.ended is None, f"the live stream ended: {live.ended}"

    received = []
    while messages := sqs_json.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600
    ).get("Messages"):
        received += [message["Body"] for message in messages]
    assert set(before) <= set(received), f"lost: {sorted(set(before) - set(received))}"
    assert {"after", "after-query", "shows on the overview"} <= set(received)
    assert "lost" not in received and "x" not in received, "a refused send was committed"
    latencies = assert_unavailable.__defaults__[0]
    slowest = max(latencies)
    print(" ".join(f"{seconds:.2f}" for seconds in latencies))
    print(
        f"\nfirst 503 {first_503:.2f} s after the stop, slowest 503 {slowest:.2f} s, long poll "
        f"ended after {seconds:.2f} s; recovered {recovery:.2f} s after the start"
    )


def _wait_until_sent(sqs, queue_url):
    def sent():
        seconds, result = timed(lambda: sqs.send_message(QueueUrl=queue_url, MessageBody="after"))
        if isinstance(result, ClientError):
            assert result.response["ResponseMetadata"]["HTTPStatusCode"] == 503, result.response
            assert seconds < FAST, f"a request while PostgreSQL starts took {seconds:.2f} s"
            return None
        assert not isinstance(result, Exception), repr(result)
        return result["MessageId"]

    return wait_for(sent, RECOVERY_SECONDS, "a send to succeed after PostgreSQL came back", 0.2)
