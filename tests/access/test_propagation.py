"""A policy change made in one process applies in every server process within a second.

Key lookups are cached per process and re-read every 0.5 s, so a policy changed by the console,
the REST API, a management command or SQL applies everywhere without a restart. The change here
is made from the test process (SQL, or manage.py in a process of its own), and two server
processes are polled until each answers by the new policy: the one timing the feature promises.
"""

import dataclasses
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.access.conftest import (
    Key,
    allow,
    key_with_policy,
    queue_arn,
    set_policy,
    sns_client,
    sqs_client,
    write_policy_sql,
)
from tests.servers import free_port, launch_servers, stop

PROMISED = 1.0
# The promise is 1 s; the bound leaves room for a loaded test machine's scheduling.
TOLERATED = 2.0
GIVE_UP = 10.0


@pytest.fixture(scope="module")
def second_server(roost_server):
    """The URL of another server process on the live server's database."""
    port = free_port()
    [process] = launch_servers(
        roost_server.env, {port: roost_server.data_dir / f"server-access-{port}.log"}
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def queue_url(roost_server):
    admin = sqs_client(roost_server, Key(roost_server.access_key_id, roost_server.secret))
    return admin.create_queue(QueueName=f"acc-prop-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def sends(client, url):
    """Whether this client may send to the queue (False on AccessDenied)."""
    try:
        client.send_message(QueueUrl=url, MessageBody="probe")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response
        return False
    return True


def seconds_until(clients, check, wanted, since):
    """Poll each client until check(client) == wanted; the seconds from `since` for each."""
    took = {}
    while len(took) < len(clients):
        for name, client in clients.items():
            if name not in took and check(client) == wanted:
                took[name] = time.monotonic() - since
        assert time.monotonic() - since < GIVE_UP, f"still not {wanted} after {GIVE_UP} s"
    return took


def servers(roost_server, second_server, key, protocol="json"):
    other = dataclasses.replace(roost_server, url=second_server)
    return {
        "first process": sqs_client(roost_server, key, protocol),
        "second process": sqs_client(other, key, protocol),
    }


def test_policy_written_by_sql_applies_in_every_process_within_a_second(
    roost_server, second_server, queue_url
):
    arn = queue_arn(queue_url.rsplit("/", 1)[1])
    key = key_with_policy(roost_server, allow("sqs:SendMessage", arn))
    clients = servers(roost_server, second_server, key)
    assert all(sends(client, queue_url) for client in clients.values())  # both have it cached

    changed = time.monotonic()
    write_policy_sql(roost_server, key, allow("sqs:ReceiveMessage", arn))
    refused = seconds_until(clients, lambda client: sends(client, queue_url), False, changed)

    changed = time.monotonic()
    write_policy_sql(roost_server, key, allow("sqs:*", arn))
    allowed = seconds_until(clients, lambda client: sends(client, queue_url), True, changed)

    print(f"\nrefused after {refused}, allowed again after {allowed} (promised {PROMISED} s)")
    assert max(refused.values()) < TOLERATED
    assert max(allowed.values()) < TOLERATED


def test_policy_set_by_the_console_service_in_another_process_applies_within_a_second(
    roost_server, second_server, queue_url
):
    arn = queue_arn(queue_url.rsplit("/", 1)[1])
    key = key_with_policy(roost_server, None)
    clients = servers(roost_server, second_server, key, "query")
    assert all(sends(client, queue_url) for client in clients.values())

    set_policy(roost_server, key, allow("sqs:ReceiveMessage", arn))
    changed = time.monotonic()  # committed before manage.py exited: an upper bound from here
    refused = seconds_until(clients, lambda client: sends(client, queue_url), False, changed)

    print(f"\nrefused after {refused} (promised {PROMISED} s)")
    assert max(refused.values()) < TOLERATED


def test_sns_follows_a_policy_change_within_a_second(roost_server, sns):
    topic = sns.create_topic(Name=f"acc-prop-{uuid.uuid4().hex[:8]}")["TopicArn"]
    key = key_with_policy(roost_server, allow("sns:Publish", topic))
    client = sns_client(roost_server, key)
    client.publish(TopicArn=topic, Message="allowed")

    def publishes(client):
        try:
            client.publish(TopicArn=topic, Message="probe")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AuthorizationError", error.response
            return False
        return True

    changed = time.monotonic()
    write_policy_sql(roost_server, key, allow("sns:Subscribe", topic))
    refused = seconds_until({"server": client}, publishes, False, changed)

    print(f"\nrefused after {refused} (promised {PROMISED} s)")
    assert max(refused.values()) < TOLERATED
