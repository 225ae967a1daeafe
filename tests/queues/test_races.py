"""Queue changes racing each other from several server processes: none lost, none answered 5xx.

Each test releases THREADS boto3 calls at once over the RaceRoost's server processes, on
PostgreSQL (row locks) and on SQLite (the immediate transaction's write lock).
"""

import json
import uuid
from functools import partial
from urllib.parse import urlsplit

import pytest

from tests.race_roost import (
    THREADS,
    backends,
    error_code,
    race,
    server_errors,
    shared_race_roost,
)

pytestmark = pytest.mark.live

ROUNDS = 3
NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


def path(url):
    """A queue URL's /<account>/<name>: each server answers with its own host."""
    return urlsplit(url).path


@pytest.fixture(scope="module", params=backends())
def roost(request):
    """Several server processes on one database of the race tests' own."""
    return shared_race_roost(request.param, request.config)


@pytest.fixture
def sqs(roost):
    """THREADS boto3 SQS clients, spread over the roost's server processes."""
    return roost.clients("sqs")


def attribute_changes(round_number):
    """Eight attributes, each set by a call of its own, to values that differ every round."""
    return {
        "VisibilityTimeout": str(31 + round_number),
        "DelaySeconds": str(1 + round_number),
        "MessageRetentionPeriod": str(3600 + round_number),
        "MaximumMessageSize": str(2048 + round_number),
        "ReceiveMessageWaitTimeSeconds": str(1 + round_number),
        "KmsDataKeyReusePeriodSeconds": str(120 + round_number),
        "KmsMasterKeyId": f"alias/round-{round_number}",
        "Policy": json.dumps({"Version": "2012-10-17", "Id": f"round-{round_number}"}),
    }


def test_concurrent_tag_and_attribute_changes_keep_every_change(sqs):
    url = sqs[0].create_queue(QueueName=f"race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    expected_tags = {}
    for round_number in range(ROUNDS):
        changes = list(attribute_changes(round_number).items())
        tags = {f"round-{round_number}-{index}": str(index) for index in range(THREADS // 2)}
        calls = [
            lambda client=client, name=name, value=value: client.set_queue_attributes(
                QueueUrl=url, Attributes={name: value}
            )
            for client, (name, value) in zip(sqs[: THREADS // 2], changes, strict=True)
        ] + [
            lambda client=client, key=key, value=value: client.tag_queue(
                QueueUrl=url, Tags={key: value}
            )
            for client, (key, value) in zip(sqs[THREADS // 2 :], tags.items(), strict=True)
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
        expected_tags.update(tags)
        assert sqs[1].list_queue_tags(QueueUrl=url)["Tags"] == expected_tags
        attributes = sqs[2].get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert {name: attributes["Attributes"][name] for name, _ in changes} == dict(changes)


def test_a_purge_is_not_undone_by_concurrent_changes(sqs):
    for round_number in range(ROUNDS):
        url = sqs[0].create_queue(QueueName=f"race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        changes = list(attribute_changes(round_number).items())
        calls = [partial(sqs[0].purge_queue, QueueUrl=url)] + [
            partial(
                client.set_queue_attributes, QueueUrl=url, Attributes=dict([changes[index // 2]])
            )
            if index % 2
            else partial(client.tag_queue, QueueUrl=url, Tags={f"tag-{index}": "x"})
            for index, client in enumerate(sqs[1:], start=1)
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
        # The purge's time survived every concurrent save: a second purge is still too soon.
        with pytest.raises(sqs[3].exceptions.PurgeQueueInProgress):
            sqs[3].purge_queue(QueueUrl=url)


def test_concurrent_creates_of_one_queue_make_one_queue_and_all_get_its_url(sqs):
    name = f"race-{uuid.uuid4().hex[:8]}"
    calls = [
        lambda client=client: client.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": "45"}, tags={"team": "roost"}
        )["QueueUrl"]
        for client in sqs
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    assert [error_code(outcome) for outcome in outcomes] == [None] * THREADS
    (url,) = sqs[0].list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert {path(outcome) for outcome in outcomes} == {path(url)}


def test_concurrent_creates_with_different_attributes_make_one_queue_and_refuse_the_rest(sqs):
    name = f"race-{uuid.uuid4().hex[:8]}"
    timeouts = [str(40 + index % 2) for index in range(THREADS)]
    calls = [
        lambda client=client, timeout=timeout: client.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": timeout}
        )["QueueUrl"]
        for client, timeout in zip(sqs, timeouts, strict=True)
    ]

    outcomes = race(calls)

    assert server_errors(outcomes) == []
    (url,) = sqs[0].list_queues(QueueNamePrefix=name)["QueueUrls"]
    winner = sqs[0].get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    winner = winner["Attributes"]["VisibilityTimeout"]
    # Whoever asked for the queue as it was made got its URL; everyone else, SQS's refusal.
    assert [
        path(outcome) if error_code(outcome) is None else error_code(outcome)
        for outcome in outcomes
    ] == [path(url) if timeout == winner else "QueueAlreadyExists" for timeout in timeouts]


def test_changes_racing_a_delete_answer_queue_does_not_exist_never_a_server_error(sqs):
    for _round in range(ROUNDS):
        url = sqs[0].create_queue(QueueName=f"race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        kinds = [
            ("tag_queue", {"Tags": {"a": "b"}}),
            ("untag_queue", {"TagKeys": ["a"]}),
            ("set_queue_attributes", {"Attributes": {"VisibilityTimeout": "50"}}),
            ("list_queue_tags", {}),
            ("purge_queue", {}),
        ]
        calls = [partial(sqs[0].delete_queue, QueueUrl=url)] + [
            partial(getattr(client, method), QueueUrl=url, **params)
            for client, (method, params) in zip(sqs[1:], kinds * THREADS, strict=False)
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert error_code(outcomes[0]) is None
        # A purge may come first (once) and other calls may beat the delete; none may fail
        # otherwise than SQS fails a call on a queue that is gone.
        assert {error_code(outcome) for outcome in outcomes[1:]} <= {
            None,
            NON_EXISTENT_QUEUE,
            "AWS.SimpleQueueService.PurgeQueueInProgress",
        }


def test_sends_racing_a_delete_answer_queue_does_not_exist_never_a_server_error(sqs):
    for _round in range(ROUNDS):
        url = sqs[0].create_queue(QueueName=f"race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        entries = [{"Id": str(index), "MessageBody": "racing"} for index in range(10)]
        calls = [partial(sqs[0].delete_queue, QueueUrl=url)] + [
            partial(client.send_message_batch, QueueUrl=url, Entries=entries) for client in sqs[1:]
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert error_code(outcomes[0]) is None
        assert {error_code(outcome) for outcome in outcomes[1:]} <= {None, NON_EXISTENT_QUEUE}


def test_redrives_racing_a_delete_of_their_queue_never_answer_a_server_error(sqs):
    for _round in range(ROUNDS):
        name = f"race-{uuid.uuid4().hex[:8]}"
        dead_letters = sqs[0].create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = sqs[0].get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])
        arn = arn["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
        sqs[0].create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})
        calls = [partial(sqs[0].delete_queue, QueueUrl=dead_letters)] + [
            partial(client.start_message_move_task, SourceArn=arn) for client in sqs[1:]
        ]

        outcomes = race(calls)

        assert server_errors(outcomes) == []
        assert error_code(outcomes[0]) is None
        # One task may start before the delete; the others find it running, or the queue gone.
        assert {error_code(outcome) for outcome in outcomes[1:]} <= {
            None,
            "AWS.SimpleQueueService.UnsupportedOperation",
            "ResourceNotFoundException",
            "InvalidParameterValue",
        }
        assert [error_code(outcome) for outcome in outcomes[1:]].count(None) <= 1
