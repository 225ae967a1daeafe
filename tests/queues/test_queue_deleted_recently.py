"""CreateQueue within 60 seconds of deleting a queue of the same name is refused, as in SQS.

The deletion is recorded in the database, so every process refuses the name, whichever deleted it.
"""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console import access_keys
from console.roles import OPERATORS_GROUP
from queues import service

MESSAGE = (
    "You must wait 60 seconds after deleting a queue before you can create another with the "
    "same name."
)


def refused(excinfo):
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def forget_deletion(roost_server, name, seconds_ago=61):
    """Move the queue's deletion `seconds_ago` into the past, as if that time had gone by."""
    roost_server.manage(
        "shell",
        "-c",
        "from queues.models import DeletedQueueName, now_ms; "
        f"DeletedQueueName.objects.filter(name={name!r})"
        f".update(deleted_at=now_ms() - {seconds_ago * 1000})",
    )


def test_create_queue_right_after_delete_is_refused_with_queue_deleted_recently(
    sqs, protocol, make_queue, queue_name
):
    url = make_queue(client=sqs)
    sqs.delete_queue(QueueUrl=url)

    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as excinfo:
        sqs.create_queue(QueueName=queue_name)

    assert refused(excinfo) == ("AWS.SimpleQueueService.QueueDeletedRecently", 400, MESSAGE)
    if protocol == "json":
        assert excinfo.value.response["Error"]["QueryErrorCode"] == "QueueDeletedRecently"
    else:
        assert excinfo.value.response["Error"]["Type"] == "Sender"
    # Refused means not created.
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_create_queue_after_sixty_seconds_makes_a_fresh_empty_queue(
    sqs_json, make_queue, queue_name, roost_server, depth
):
    # The clock is the same for both protocols; the refusal's shape is checked for each above.
    sqs = sqs_json
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.delete_queue(QueueUrl=url)
    forget_deletion(roost_server, queue_name, seconds_ago=30)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=queue_name)

    forget_deletion(roost_server, queue_name, seconds_ago=61)
    again = sqs.create_queue(QueueName=queue_name)["QueueUrl"]

    assert again == url
    assert depth(again) == (0, 0, 0)


def test_only_the_deleted_name_waits(sqs, make_queue, queue_name):
    url = make_queue(client=sqs)
    sqs.delete_queue(QueueUrl=url)

    other = sqs.create_queue(QueueName=f"{queue_name}-other")["QueueUrl"]
    fifo = sqs.create_queue(QueueName=f"{queue_name}.fifo", Attributes={"FifoQueue": "true"})

    assert other.endswith(f"{queue_name}-other")
    assert fifo["QueueUrl"].endswith(f"{queue_name}.fifo")


def test_a_deletion_by_another_process_is_refused_here(
    sqs_json, make_queue, queue_name, roost_server
):
    make_queue(client=sqs_json)

    roost_server.manage(
        "shell",
        "-c",
        f"from queues import service; service.delete_queue(service.get_queue({queue_name!r}))",
    )

    with pytest.raises(sqs_json.exceptions.QueueDeletedRecently):
        sqs_json.create_queue(QueueName=queue_name)


@pytest.mark.django_db
def test_rest_api_and_service_refuse_the_same_way(fresh_queue_cache):
    key, secret = access_keys.create_access_key(name="deleted-recently")
    api = Client(headers={"Authorization": f"Bearer {key.access_key_id}:{secret}"})
    created = api.post("/api/queues", {"name": "gone"}, content_type="application/json")
    assert created.status_code == 201
    assert api.delete("/api/queues/gone").status_code == 204

    again = api.post("/api/queues", {"name": "gone"}, content_type="application/json")

    assert again.status_code == 400
    assert again.json() == {"code": "QueueDeletedRecently", "message": MESSAGE}
    with pytest.raises(service.QueueDeletedRecently):
        service.create_queue("gone")
    assert not service.list_queues("gone")[0]


@pytest.mark.django_db
def test_console_shows_the_same_refusal_beside_the_name(fresh_queue_cache):
    user = User.objects.create_user("olga", password="a-long-password")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    browser = Client()
    browser.force_login(user)
    service.delete_queue(service.create_queue("jobs"))

    response = browser.post("/queues/new", {"name": "jobs"}, headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert MESSAGE in response.content.decode()
    assert not service.list_queues("jobs")[0]
