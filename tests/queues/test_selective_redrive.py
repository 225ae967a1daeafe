"""Selective redrive over the REST API: plan (a dry run), run as a move task, edits, cancel.

Dead letters are made the way SQS makes them: messages received past maxReceiveCount through
boto3. Runs use the live worker.
"""

import json
import time

import pytest

MOVE_DEADLINE_SECONDS = 30


@pytest.fixture(autouse=True, scope="module")
def _worker(roost_worker):
    """Runs move tasks for the whole module."""


def name_of(url):
    return url.rsplit("/", 1)[1]


def redrive_policy(dead_letter_arn):
    return json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 1})


def exhaust(sqs, source, dead_letters, count, depth):
    """Receive the source's messages past maxReceiveCount=1 until all `count` are dead letters."""
    for _ in range(4 * count + 4):
        if depth(dead_letters)[0] == count:
            return
        sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert depth(dead_letters)[0] == count


def receive_all(sqs, url, expected):
    """Receive `expected` messages (deleting them), in the order the queue hands them out."""
    found = []
    for _ in range(expected + 5):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found.extend(messages)
        if len(found) >= expected:
            break
    return found


def wait_for_task(rest, dlq, *statuses):
    """Poll the queue's move tasks until the newest reaches one of `statuses`."""
    deadline = time.monotonic() + MOVE_DEADLINE_SECONDS
    while True:
        response = rest.get(f"/queues/{dlq}/move-tasks", params={"limit": 1})
        assert response.status_code == 200, response.text
        [task] = response.json()["tasks"]
        if task["status"] in statuses:
            return task
        assert time.monotonic() < deadline, f"task still {task} after {MOVE_DEADLINE_SECONDS} s"
        time.sleep(0.2)  # the poll interval


def plan(rest, dlq, selection=None, **fields):
    response = rest.post(
        f"/queues/{dlq}/redrive/plan", json={"selection": selection or {}, **fields}
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status, text):
    assert response.status_code == status, response.text
    assert text in response.json()["message"], response.json()


@pytest.fixture
def orders(sqs_json, make_queue, queue_arn, depth):
    """A DLQ holding 5 dead letters from two sources: (dlq url, source a url, source b url).

    From a: three orders, #1 and #3 failed (attribute kind=order); from b: two, #5 failed.
    """
    dlq = make_queue()
    source_a = make_queue(RedrivePolicy=redrive_policy(queue_arn(dlq)))
    source_b = make_queue(RedrivePolicy=redrive_policy(queue_arn(dlq)))
    for number, source in ((1, source_a), (2, source_a), (3, source_a), (4, source_b)):
        status = "failed" if number in (1, 3) else "ok"
        sqs_json.send_message(
            QueueUrl=source,
            MessageBody=json.dumps({"order": {"id": number, "status": status}}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
        )
    sqs_json.send_message(
        QueueUrl=source_b,
        MessageBody=json.dumps({"order": {"id": 5, "status": "failed"}, "note": "late"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "refund"}},
    )
    exhaust(sqs_json, source_a, dlq, 3, depth)
    exhaust(sqs_json, source_b, dlq, 5, depth)
    return dlq, source_a, source_b


def test_plan_counts_messages_per_source_queue_and_changes_nothing(rest, orders, depth):
    dlq, source_a, source_b = orders

    whole = plan(rest, name_of(dlq))

    assert whole["matched"] == whole["movable"] == 5
    assert {d["queue"]: d["count"] for d in whole["destinations"]} == {
        name_of(source_a): 3,
        name_of(source_b): 2,
    }
    assert whole["unmovable"] == [] and whole["truncated"] is False
    assert len(whole["sample"]) == 5
    assert depth(dlq) == (5, 0, 0)


@pytest.mark.parametrize(
    ("selection", "expected_ids"),
    [
        ({"json_path": '$.order.status == "failed"'}, {1, 3, 5}),
        ({"json_path": "$.note"}, {5}),
        ({"json_path": '$.order.status == "failed"', "source_queue": "<a>"}, {1, 3}),
        ({"attribute": "kind=refund"}, {5}),
        ({"attribute": "kind"}, {1, 2, 3, 4, 5}),
        ({"body_contains": '"id": 2'}, {2}),
        ({"min_receive_count": 1, "max_receive_count": 1}, {1, 2, 3, 4, 5}),
        ({"min_receive_count": 2}, set()),
        ({"older_than_seconds": 3600}, set()),
        ({"newer_than_seconds": 3600, "source_queue": "<b>"}, {4, 5}),
    ],
)
def test_plan_selects_by_filters(rest, orders, selection, expected_ids):
    dlq, source_a, source_b = orders
    names = {"<a>": name_of(source_a), "<b>": name_of(source_b)}
    selection = {key: names.get(value, value) for key, value in selection.items()}

    result = plan(rest, name_of(dlq), selection)

    assert result["matched"] == len(expected_ids)
    assert {json.loads(m["body"])["order"]["id"] for m in result["sample"]} == expected_ids


def test_plan_selects_messages_chosen_by_hand(rest, orders):
    dlq, _, _ = orders
    sample = plan(rest, name_of(dlq))["sample"]
    chosen = [sample[0]["message_id"], sample[3]["message_id"]]

    result = plan(rest, name_of(dlq), {"message_ids": chosen})

    assert sorted(m["message_id"] for m in result["sample"]) == sorted(chosen)


def test_redrive_moves_only_the_selection_with_an_edited_body(
    rest, sqs_json, orders, depth, queue_arn, roost_server
):
    dlq, source_a, source_b = orders
    selection = {"json_path": '$.order.status == "failed"'}
    failed = plan(rest, name_of(dlq), selection)["sample"]
    fifth = next(m for m in failed if json.loads(m["body"])["order"]["id"] == 5)
    fixed = json.dumps({"order": {"id": 5, "status": "retry"}})

    response = rest.post(
        f"/queues/{name_of(dlq)}/redrive",
        json={"selection": selection, "edits": {fifth["message_id"]: fixed}},
    )
    assert response.status_code == 201, response.text
    started = response.json()
    task = wait_for_task(rest, name_of(dlq), "COMPLETED", "FAILED")

    assert started["plan"]["movable"] == 3
    assert task["status"] == "COMPLETED"
    assert task["approximate_number_of_messages_to_move"] == 3
    assert task["approximate_number_of_messages_moved"] == 3
    [listed] = sqs_json.list_message_move_tasks(SourceArn=queue_arn(dlq))["Results"]
    assert listed["ApproximateNumberOfMessagesToMove"] == 3
    assert listed["ApproximateNumberOfMessagesMoved"] == 3
    assert depth(dlq)[0] == 2
    back_in_a = receive_all(sqs_json, source_a, 2)
    [back_in_b] = receive_all(sqs_json, source_b, 1)
    assert sorted(json.loads(m["Body"])["order"]["id"] for m in back_in_a) == [1, 3]
    assert back_in_b["Body"] == fixed
    assert back_in_b["MessageId"] == fifth["message_id"]
    audit = roost_server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from audit.models import AuditEntry; "
        f"e = AuditEntry.objects.filter(action='RedriveMessages', resource={name_of(dlq)!r})"
        ".get(); print(e.door, e.details['count'], e.details['edited'])",
    ).stdout.split()
    assert audit == ["rest", "3", "1"]


def test_redrive_to_a_chosen_destination(rest, sqs_json, orders, make_queue, depth):
    dlq, _, _ = orders
    elsewhere = make_queue(name=f"{name_of(dlq)}-elsewhere")

    result = plan(rest, name_of(dlq), {"attribute": "kind=refund"}, destination=name_of(elsewhere))
    response = rest.post(
        f"/queues/{name_of(dlq)}/redrive",
        json={"selection": {"attribute": "kind=refund"}, "destination": name_of(elsewhere)},
    )
    assert response.status_code == 201, response.text
    wait_for_task(rest, name_of(dlq), "COMPLETED")

    assert result["destinations"] == [{"queue": name_of(elsewhere), "fifo": False, "count": 1}]
    assert depth(elsewhere)[0] == 1
    assert depth(dlq)[0] == 4


def test_fifo_groups_keep_their_order_and_group_id(rest, sqs_json, make_queue, queue_arn, depth):
    dlq = make_queue(FifoQueue=True)
    source = make_queue(FifoQueue=True, RedrivePolicy=redrive_policy(queue_arn(dlq)))
    for index in range(6):
        sqs_json.send_message(
            QueueUrl=source,
            MessageBody=f"{'blue' if index % 2 else 'red'}-{index}",
            MessageGroupId="blue" if index % 2 else "red",
            MessageDeduplicationId=f"d{index}",
        )
    exhaust(sqs_json, source, dlq, 6, depth)

    result = plan(rest, name_of(dlq), {"group_id": "red"})
    response = rest.post(f"/queues/{name_of(dlq)}/redrive", json={"selection": {"group_id": "red"}})
    assert response.status_code == 201, response.text
    wait_for_task(rest, name_of(dlq), "COMPLETED")
    moved = receive_all(sqs_json, source, 3)

    assert result["groups"] == [{"group_id": "red", "destination": name_of(source), "count": 3}]
    assert [m["Body"] for m in moved] == ["red-0", "red-2", "red-4"]
    assert {m["Attributes"]["MessageGroupId"] for m in moved} == {"red"}
    assert depth(dlq)[0] == 3


def test_plan_reports_messages_that_cannot_move(rest, orders, make_queue):
    dlq, _, _ = orders
    fifo = make_queue(name=f"{name_of(dlq)}-other", FifoQueue=True)

    result = plan(rest, name_of(dlq), destination=name_of(fifo))
    response = rest.post(f"/queues/{name_of(dlq)}/redrive", json={"destination": name_of(fifo)})

    assert result["movable"] == 0 and result["unmovable_count"] == 5
    assert "cannot move to the FIFO queue" in result["unmovable"][0]["reason"]
    assert_error(response, 400, "No message to move")


def test_edit_too_large_for_the_destination_is_reported(rest, orders, sqs_json, make_queue):
    dlq, _, _ = orders
    small = make_queue(name=f"{name_of(dlq)}-small", MaximumMessageSize=1024)
    [message] = plan(rest, name_of(dlq), {"attribute": "kind=refund"})["sample"]

    result = plan(
        rest,
        name_of(dlq),
        {"attribute": "kind=refund"},
        destination=name_of(small),
        edits={message["message_id"]: "x" * 2000},
    )

    assert result["movable"] == 0
    assert result["unmovable"][0]["reason"].startswith("Too large after the edit")
    assert result["sample"][0]["edited"] is True


def test_bad_selections_are_refused_with_a_reason(rest, orders):
    dlq, _, _ = orders
    base = f"/queues/{name_of(dlq)}/redrive/plan"

    bad_path = rest.post(base, json={"selection": {"json_path": "$.order.status = 1"}})
    unknown = rest.post(base, json={"selection": {"color": "red"}})
    not_selected = rest.post(
        base,
        json={"selection": {"json_path": "$.note"}, "edits": {"no-such-message": "{}"}},
    )
    missing = rest.post("/queues/no-such-queue-x/redrive/plan", json={})

    assert_error(bad_path, 400, "json_path")
    assert unknown.status_code in (400, 422) and "color" in unknown.text
    assert_error(not_selected, 400, "not among the selected messages")
    assert missing.status_code == 404


def test_redrive_from_a_queue_that_is_not_a_dlq_is_refused(rest, make_queue):
    plain = make_queue()

    response = rest.post(f"/queues/{name_of(plain)}/redrive/plan", json={})

    assert_error(response, 400, "Dead Letter Queue")


def test_cancelled_selective_redrive_leaves_the_rest(rest, orders, depth):
    dlq, source_a, source_b = orders
    response = rest.post(
        f"/queues/{name_of(dlq)}/redrive",
        json={"selection": {"attribute": "kind"}, "max_messages_per_second": 1},
    )
    assert response.status_code == 201, response.text
    handle = response.json()["task"]["task_handle"]

    cancelled = rest.post(f"/move-tasks/{handle}/cancel")
    task = wait_for_task(rest, name_of(dlq), "CANCELLED")

    assert cancelled.status_code == 200, cancelled.text
    moved = task["approximate_number_of_messages_moved"]
    assert moved < 5
    assert depth(dlq)[0] == 5 - moved
    assert depth(source_a)[0] + depth(source_b)[0] == moved
