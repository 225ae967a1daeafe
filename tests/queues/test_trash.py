"""The trash: a purge (SQS's PurgeQueue, REST, console) or a console delete can be undone.

Live tests purge through boto3 and restore through the REST API; the service tests cover what
needs a clock or thousands of rows (the window, retention, batching).
"""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings

from queues import message_sql, service
from queues.errors import ResourceNotFoundException, TrashBatchInProgress, TrashEmptied
from queues.models import Message, TrashBatch, TrashedMessage, now_ms


def name_of(url):
    return url.rsplit("/", 1)[1]


def receive_all(sqs, url, expected):
    """Receive (and delete) `expected` messages, in the order the queue hands them out."""
    found = []
    for _ in range(expected + 5):
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found.extend(messages)
        if len(found) >= expected:
            break
    assert len(found) == expected
    return found


def only_batch(rest, name):
    response = rest.get(f"/queues/{name}/trash")
    assert response.status_code == 200, response.text
    [batch] = response.json()["batches"]
    return batch


# Live: SQS PurgeQueue, undone over REST


def test_a_purge_over_sqs_is_restored_with_ids_bodies_attributes_counts_and_order(
    sqs_json, make_queue, rest, roost_server
):
    url = make_queue()
    sent = []
    for n in range(25):
        attributes = {"n": {"DataType": "Number", "StringValue": str(n)}}
        if n % 5 == 0:
            attributes["blob"] = {"DataType": "Binary", "BinaryValue": bytes([n, 255])}
        result = sqs_json.send_message(
            QueueUrl=url, MessageBody=f"body {n}", MessageAttributes=attributes
        )
        sent.append(result["MessageId"])
    # The first three are received once (in flight when purged): they come back visible.
    received = sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert [message["MessageId"] for message in received] == sent[:3]

    sqs_json.purge_queue(QueueUrl=url)

    assert sqs_json.receive_message(QueueUrl=url).get("Messages", []) == []
    batch = only_batch(rest, name_of(url))
    assert batch["reason"] == "purge" and batch["count"] == 25 and batch["finished"]
    assert batch["door"] == "sqs" and batch["key_id"] == roost_server.access_key_id

    response = rest.post(f"/queues/{name_of(url)}/trash/{batch['batch']}/restore")

    assert response.status_code == 200, response.text
    assert response.json() == {"restored": 25, "expired": 0}
    messages = receive_all(sqs_json, url, 25)
    assert [message["MessageId"] for message in messages] == sent
    assert [message["Body"] for message in messages] == [f"body {n}" for n in range(25)]
    counts = [int(message["Attributes"]["ApproximateReceiveCount"]) for message in messages]
    assert counts == [2, 2, 2] + [1] * 22
    assert messages[5]["MessageAttributes"]["blob"]["BinaryValue"] == bytes([5, 255])
    assert messages[7]["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "7"}
    assert rest.get(f"/queues/{name_of(url)}/trash").json() == {"batches": []}


def test_a_fifo_queue_gets_each_group_back_in_order(sqs_json, make_queue, rest):
    url = make_queue(FifoQueue=True, ContentBasedDeduplication=True)
    for n in range(12):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"{n}", MessageGroupId=f"g{n % 3}")
    sqs_json.purge_queue(QueueUrl=url)
    batch = only_batch(rest, name_of(url))

    assert rest.post(f"/queues/{name_of(url)}/trash/{batch['batch']}/restore").json() == {
        "restored": 12,
        "expired": 0,
    }

    messages = receive_all(sqs_json, url, 12)
    by_group = {}
    for message in messages:
        by_group.setdefault(message["Attributes"]["MessageGroupId"], []).append(
            int(message["Body"])
        )
    assert by_group == {f"g{g}": list(range(g, 12, 3)) for g in range(3)}
    numbers = [int(message["Attributes"]["SequenceNumber"]) for message in messages]
    assert sorted(numbers) == numbers


def test_a_purge_over_rest_names_its_trash_batch_and_a_second_undo_is_refused(
    sqs_json, make_queue, rest
):
    url = make_queue()
    sqs_json.send_message(QueueUrl=url, MessageBody="kept")
    purged = rest.post(f"/queues/{name_of(url)}/purge").json()
    assert purged["deleted"] == 1
    restore = f"/queues/{name_of(url)}/trash/{purged['trash_batch']}/restore"

    assert rest.post(restore).json() == {"restored": 1, "expired": 0}
    again = rest.post(restore)

    assert again.status_code == 410
    assert again.json()["code"] == "TrashEmptied"
    assert "already restored" in again.json()["message"]
    unknown = rest.post(f"/queues/{name_of(url)}/trash/no-such-batch/restore")
    assert unknown.status_code == 404 and unknown.json()["code"] == "ResourceNotFoundException"


def test_restoring_needs_purge_queue_permission(sqs_json, make_queue, rest, roost_server):
    url = make_queue()
    sqs_json.send_message(QueueUrl=url, MessageBody="x")
    batch = rest.post(f"/queues/{name_of(url)}/purge").json()["trash_batch"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    created = rest.post("/access-keys", json={"name": "no purge", "policy": policy}).json()
    token = f"{created['access_key_id']}:{created['secret_access_key']}"
    with httpx.Client(
        base_url=f"{roost_server.url}/api", headers={"Authorization": f"Bearer {token}"}
    ) as limited:
        listing = limited.get(f"/queues/{name_of(url)}/trash")
        restoring = limited.post(f"/queues/{name_of(url)}/trash/{batch}/restore")

    assert listing.status_code == 403 and "sqs:PurgeQueue" in listing.json()["message"]
    assert restoring.status_code == 403
    assert rest.post(f"/queues/{name_of(url)}/trash/{batch}/restore").status_code == 200


def test_a_long_poll_waiting_on_the_queue_gets_restored_messages(sqs_client, make_queue, rest):
    sqs = sqs_client("json")
    url = make_queue()
    sqs.send_message(QueueUrl=url, MessageBody="waited for")
    batch = rest.post(f"/queues/{name_of(url)}/purge").json()["trash_batch"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=20)
        assert rest.post(f"/queues/{name_of(url)}/trash/{batch}/restore").status_code == 200
        [message] = waiting.result(timeout=30)["Messages"]
    assert message["Body"] == "waited for"


# Service: the window, retention, batching, console deletes


def fill(queue, count, sent_at=None, **fields):
    now = now_ms()
    Message.objects.bulk_create(
        Message(queue=queue, message_id=f"m{n}", body=f"b{n}", md5_of_body="",
                sent_at=sent_at or now, visible_at=now, **fields)
        for n in range(count)
    )  # fmt: skip


@pytest.mark.django_db
def test_a_big_purge_moves_a_batch_a_step_and_restores_in_batches(fresh_queue_cache):
    queue = service.create_queue("big-purge")
    fill(queue, 2 * message_sql.DELETE_BATCH + 300)
    ids = list(Message.objects.filter(queue=queue).order_by("id").values_list("id", flat=True))

    purge = service.start_purge(queue)
    steps = [purge.step(seconds=0)]
    # Half-way, Undo waits: restoring part of a purge still under way would strand the rest.
    with pytest.raises(TrashBatchInProgress, match="still moving messages"):
        service.restore(queue, purge.batch)
    while not steps[-1]:
        steps.append(purge.step(seconds=0))

    assert steps == [False, False, True]
    assert not Message.objects.filter(queue=queue).exists()
    assert TrashedMessage.objects.filter(batch=purge.batch).count() == len(ids)
    assert TrashBatch.objects.get(batch=purge.batch).count == len(ids)

    assert service.restore(queue, purge.batch) == (len(ids), 0)
    assert (
        list(Message.objects.filter(queue=queue).order_by("id").values_list("id", flat=True)) == ids
    )
    assert not TrashedMessage.objects.filter(batch=purge.batch).exists()


@pytest.mark.django_db
def test_messages_past_retention_stay_out_and_delayed_ones_stay_delayed(fresh_queue_cache):
    queue = service.create_queue("retention", {"MessageRetentionPeriod": "60"})
    now = now_ms()
    fill(queue, 2, sent_at=now - 120_000)  # past the minute's retention
    later = now + 600_000
    Message.objects.create(
        queue=queue, message_id="delayed", body="d", md5_of_body="", sent_at=now, visible_at=later
    )
    batch = service.new_batch_id()
    assert service.purge_queue(queue, batch) == 3

    assert service.restore(queue, batch) == (1, 2)
    [back] = Message.objects.filter(queue=queue)
    assert back.message_id == "delayed" and back.visible_at == later


@pytest.mark.django_db
def test_an_undo_after_the_window_says_when_the_trash_was_emptied(fresh_queue_cache):
    queue = service.create_queue("windowed")
    fill(queue, 3)
    batch = service.new_batch_id()
    service.purge_queue(queue, batch)
    window = settings.ROOST_TRASH_SECONDS * 1000
    TrashBatch.objects.filter(batch=batch).update(expires_at=now_ms() - 1)

    with pytest.raises(TrashEmptied, match="The trash for this purge was emptied at"):
        service.restore(queue, batch)

    TrashedMessage.objects.filter(batch=batch).update(trashed_at=now_ms() - window - 1)
    assert service.prune_trash() == (3, False)
    assert not TrashedMessage.objects.filter(batch=batch).exists()
    assert TrashBatch.objects.get(batch=batch).emptied_at is not None
    assert service.recent_batches(queue) == []
    with pytest.raises(TrashEmptied, match="emptied at"):
        service.restore(queue, batch)
    with pytest.raises(ResourceNotFoundException):
        service.restore(queue, "not-a-batch")


@pytest.mark.django_db
def test_console_deletes_go_to_the_trash_and_come_back(fresh_queue_cache):
    queue = service.create_queue("console-deletes")
    fill(queue, 5, receive_count=3)
    ids = list(Message.objects.filter(queue=queue).order_by("id").values_list("id", flat=True))
    batch = service.new_batch_id()

    assert service.delete_messages_by_id(queue, ids[1:3], batch) == 2
    assert TrashBatch.objects.get(batch=batch).reason == "delete"

    assert service.restore(queue, batch) == (2, 0)
    restored = Message.objects.filter(queue=queue, pk__in=ids[1:3])
    assert [message.receive_count for message in restored] == [3, 3]


@pytest.mark.django_db
def test_with_the_trash_off_a_purge_deletes(fresh_queue_cache, settings):
    settings.ROOST_TRASH_SECONDS = 0
    queue = service.create_queue("no-trash")
    fill(queue, 4)

    assert service.purge_queue(queue) == 4
    assert not TrashedMessage.objects.exists() and not TrashBatch.objects.exists()
