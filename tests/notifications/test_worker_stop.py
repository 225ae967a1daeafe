"""Stopping the outbound worker (SIGTERM, a warm shutdown) while an HTTP delivery waits on a slow
endpoint: it exits without waiting for the endpoint, and the delivery is retried, not lost."""

import json

import httpx
import pytest

from tests.notifications.test_delivery_recovery import procfile_worker_options

pytestmark = pytest.mark.live

FAST_RETRIES = {"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 3}}


@pytest.fixture
def roost(private_roost):
    """The private roost with no worker running; workers a test starts are stopped after it."""
    private_roost.stop_workers()
    yield private_roost
    private_roost.stop_workers()


def test_a_stopped_outbound_worker_cuts_off_a_slow_delivery_which_is_retried(
    roost, http_receiver, topic_name
):
    sns = roost.client("sns")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    outbound = roost.start_worker(*procfile_worker_options("outbound"), name="outbound")
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=http_receiver.endpoint("slow"),
        Attributes={"DeliveryPolicy": json.dumps(FAST_RETRIES)},
    )
    confirmation = http_receiver.wait_for("slow")[0].json()
    assert httpx.get(confirmation["SubscribeURL"], timeout=10).status_code == 200
    http_receiver.hold("slow")
    try:
        sns.publish(TopicArn=topic, Message="in flight at the stop")
        http_receiver.wait_for("slow", count=2)  # the confirmation, then the held delivery

        roost.stop_worker(outbound)  # SIGTERM, then SIGKILL if it is still running 10 s later

        assert outbound.process.returncode == 0, outbound.log()[-3000:]
        assert http_receiver.held("slow") == 1, "the worker waited for the endpoint's answer"
    finally:
        http_receiver.release("slow")

    roost.start_worker(*procfile_worker_options("outbound"), name="outbound")
    retried = http_receiver.wait_for("slow", count=3)[2].json()
    assert retried["Message"] == "in flight at the stop"
