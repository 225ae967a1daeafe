"""Malformed SQS requests signed by a key its policy mostly refuses: still a 4xx in the door's
own error shape every time (AccessDenied or the request's own fault), never a 500, and nothing
changed. The requests are tests/queues/test_wire_fuzz.py's, fewer of them."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.access.conftest import allow, key_with_policy, queue_arn
from tests.queues.test_wire_fuzz import (
    FUZZ_SETTINGS,
    _send_batch,
    json_request,
    query_request,
    templates,
)
from tests.wire_fuzz import RawClient, Snapshot, assert_unchanged

EXAMPLES = 20  # of 50 requests each, per protocol


@pytest.fixture(scope="module")
def fuzz_queues(admin_sqs):
    """Queues for the fuzz (standard with a message and tags, FIFO, dead-letter queue)."""
    dlq = admin_sqs.create_queue(QueueName="fuzz-acc-dlq")["QueueUrl"]
    std = admin_sqs.create_queue(QueueName="fuzz-acc-std", tags={"team": "fuzz"})["QueueUrl"]
    fifo = admin_sqs.create_queue(QueueName="fuzz-acc-fifo.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    admin_sqs.send_message(QueueUrl=std, MessageBody="resident")
    yield std, fifo, dlq
    for url in (std, fifo, dlq):
        admin_sqs.delete_queue(QueueUrl=url)


@pytest.fixture(scope="module")
def denied_client(roost_server, fuzz_queues):
    """A raw client signing with a key that may only send to and read the standard queue."""
    key = key_with_policy(roost_server, allow(["sqs:Send*", "sqs:Get*"], queue_arn("fuzz-acc-std")))
    client = RawClient(
        dataclasses.replace(roost_server, access_key_id=key.access_key_id, secret=key.secret)
    )
    yield client
    client.close()


@pytest.mark.parametrize("make", [json_request, query_request], ids=["json", "query"])
def test_malformed_requests_from_a_refused_key_get_a_4xx_and_change_nothing(
    roost_server, fuzz_queues, denied_client, make
):
    snapshot = Snapshot(roost_server)
    before = snapshot.take()
    templates_by_op = templates(fuzz_queues)
    sent = denied_client.sent

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(seed=st.integers(0, 2**32 - 1))
    def fuzz(seed):
        _send_batch(denied_client, make, templates_by_op, seed)

    fuzz()
    assert_unchanged(before, snapshot.take())
    assert denied_client.sent - sent >= EXAMPLES * 50
