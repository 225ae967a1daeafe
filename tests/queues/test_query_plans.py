"""Every periodic or bulk query of the queues app reads an index range, never a whole table.

The retention sweep, the move-task resume sweep, move-task steps, purge and delete-queue all run
against tables of millions of messages; each of their statements is EXPLAINed here (on SQLite, and
on PostgreSQL when the suite runs there) and must not scan the messages (or any big table) whole.
"""

import json

import pytest

from queues import message_sql, service
from queues.models import Message, Queue
from tests.query_plans import capture, full_scans

pytestmark = pytest.mark.django_db

# Pruned to the names deleted in the last minute: a handful of rows.
SMALL = {"queues_deletedqueuename"}


def assert_served_by_indexes(statements):
    assert statements, "nothing ran: nothing was checked"
    for sql in statements:
        scans = full_scans(sql, small=SMALL)
        assert scans == [], f"{sql}\nscans {scans}"


@pytest.fixture
def dead_letters(fresh_queue_cache):
    """A source queue and its dead-letter queue holding 5 of the source's messages."""
    dlq = service.create_queue("plans-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    source = service.create_queue("plans", {"RedrivePolicy": policy})
    service.send_messages(source, [service.SendEntry(body=f"m{n}", id=str(n)) for n in range(5)])
    Message.objects.filter(queue=source).update(queue=dlq, dead_letter_source=source)
    return Queue.objects.get(pk=source.pk), Queue.objects.get(pk=dlq.pk)


def test_raw_batch_deletes_walk_the_age_and_dead_letter_source_indexes():
    assert_served_by_indexes(
        [
            (message_sql._DELETE_BATCH % (1, 2, 2, 3, 4, 5, 1000)),
            "UPDATE queues_message SET dead_letter_source_id = NULL WHERE id IN "
            "(SELECT id FROM queues_message WHERE dead_letter_source_id = 1 LIMIT 1000)",
        ]
    )


def test_retention_sweep_is_served_by_indexes(dead_letters):
    with capture() as captured:
        deleted, more = service.sweep_expired_messages()
    assert (deleted, more) == (0, False)
    assert_served_by_indexes(captured.statements())


def test_move_task_steps_and_the_resume_sweep_are_served_by_indexes(dead_letters):
    source, dlq = dead_letters
    task = service.start_message_move_task(dlq.arn, max_per_second=2)
    with capture() as captured:
        first = service.move_messages_step(task.pk)
        second = service.move_messages_step(task.pk, first.heartbeat, first.after)
        service.stalled_move_task_ids(0)
    assert first.countdown > 0.5, "two messages at 2 a second: the next step waits ~1 s"
    assert Message.objects.filter(queue=source).count() == 4
    assert second.after != first.after
    assert_served_by_indexes(captured.statements())


@pytest.mark.parametrize(
    "selection",
    [
        {},
        {"body_contains": "m1", "min_receive_count": 0, "max_receive_count": 5},
        {"source_queue": "plans", "older_than_seconds": 0, "newer_than_seconds": 60},
        {"json_path": "$.order", "group_id": "g"},
        {"message_ids": ["x", "y"]},
    ],
)
def test_selective_redrive_plans_are_served_by_indexes(dead_letters, selection):
    _source, dlq = dead_letters
    with capture() as captured:
        service.plan_redrive(dlq, selection)
    assert_served_by_indexes(captured.statements())


def test_selective_redrive_steps_are_served_by_indexes(dead_letters):
    source, dlq = dead_letters
    with capture():
        task, _plan = service.start_selective_redrive(dlq, {"body_contains": "m"}, None, None, 2)
    with capture() as captured:
        first = service.move_messages_step(task.pk)
        service.move_messages_step(task.pk, first.heartbeat, first.after)
    assert Message.objects.filter(queue=source).count() == 4
    assert_served_by_indexes(captured.statements())


def test_purge_and_delete_queue_are_served_by_indexes(dead_letters):
    source, dlq = dead_letters
    with capture() as captured:
        assert service.purge_queue(dlq) == 5
        service.delete_queue(source)
    assert_served_by_indexes(captured.statements())


def test_the_trash_restore_listing_and_prune_are_served_by_indexes(dead_letters, settings):
    source, dlq = dead_letters
    batch = service.new_batch_id()
    service.purge_queue(dlq, batch)
    with capture() as captured:
        service.recent_batches(dlq)
        assert service.restore(dlq, batch) == (5, 0)
        service.purge_queue(source)
        settings.ROOST_TRASH_SECONDS = 1
        service.prune_trash()
    assert_served_by_indexes(captured.statements())
