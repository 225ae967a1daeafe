"""Dead-letter redrive: message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
CancelMessageMoveTask), the worker's step loop, and the resume sweep's stalled tasks."""

import base64
import bisect
import json
import time
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max, Q

from audit import log as audit_log
from aws_protocol import actor
from queues import activity, cross_process, lineage, notifier
from queues.errors import (
    InvalidParameterValue,
    MissingParameter,
    ResourceNotFoundException,
    UnsupportedOperation,
)
from queues.md5 import md5_of_body
from queues.models import Message, MessageMoveTask, Queue, now_ms
from queues.service.lookup import queue_name_from_arn
from queues.service.sending import retention_cutoff

MAX_MOVE_RATE = 500


def _check_redrive_queues(source, destination):
    """Refuse a redrive out of a queue that is no dead-letter queue, or into an unfit destination
    (None: back to each message's source queue)."""
    if not Queue.objects.filter(dead_letter_queue=source).exists():
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    if destination is not None and destination.pk == source.pk:
        raise InvalidParameterValue("Destination queue must not be the source queue.")
    if destination is not None and destination.is_fifo != source.is_fifo:
        raise InvalidParameterValue(
            "Destination queue must be of the same type (standard or FIFO) as the source queue."
        )


def _task_handle(task):
    raw = json.dumps({"taskId": task.pk, "sourceArn": task.source_queue.arn}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def start_message_move_task(source_arn, destination_arn=None, max_per_second=None):
    """Start moving a DLQ's messages back to their sources (or a chosen queue); return the task."""
    if not source_arn:
        raise MissingParameter("The request must contain the parameter SourceArn.")
    source = _queue_for_move(source_arn, "SourceArn")
    destination = _queue_for_move(destination_arn, "DestinationArn") if destination_arn else None
    if max_per_second is not None and not 1 <= max_per_second <= MAX_MOVE_RATE:
        raise InvalidParameterValue(
            f"Value {max_per_second} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: Must be between 1 and {MAX_MOVE_RATE}."
        )
    _check_redrive_queues(source, destination)
    now = now_ms()
    with transaction.atomic():
        # Both queues locked (in id order, so two starts cannot deadlock): one deleted
        # since it was looked up is answered as missing, not as a broken foreign key at commit.
        wanted = [source.pk] if destination is None else [source.pk, destination.pk]
        present = set(
            Queue.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if source.pk not in present:
            raise ResourceNotFoundException(
                f"Value {source_arn} for parameter SourceArn is invalid. Reason: The resource "
                "that you specified for the SourceArn parameter doesn't exist."
            )
        if destination is not None and destination.pk not in present:
            raise ResourceNotFoundException(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        if MessageMoveTask.objects.filter(
            source_queue=source,
            status__in=[MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING],
        ).exists():
            raise UnsupportedOperation(
                "There is already a task running. Only one active task is allowed for a source "
                "queue arn at a given time."
            )
        cutoff = retention_cutoff(source, now)
        messages = Message.objects.filter(queue=source, sent_at__gt=cutoff)
        task = MessageMoveTask.objects.create(
            task_handle=uuid.uuid4().hex,
            source_queue=source,
            destination_queue=destination,
            max_messages_per_second=max_per_second,
            approximate_number_of_messages_to_move=messages.count(),
            last_message_pk=messages.aggregate(top=Max("id"))["top"] or 0,
            started_at=now,
            heartbeat_at=now,
            started_by=_starter(),
        )
        task.task_handle = _task_handle(task)
        task.save(update_fields=["task_handle"])
        audit_log.record(
            "StartMessageMoveTask",
            "queue",
            source.name,
            destination=destination.name if destination is not None else None,
            max_messages_per_second=max_per_second,
            task_handle=task.task_handle,
        )
        from queues.tasks import run_message_move_task

        transaction.on_commit(lambda: run_message_move_task.delay(task.pk))
    return task


def _starter():
    """Who is starting a move task: the access key or console user ("" for Roost itself)."""
    acting = actor.current()
    return "" if acting.door == "system" else acting.label[:150]


def _queue_for_move(arn, parameter):
    name = queue_name_from_arn(arn)
    queue = Queue.objects.filter(name=name).first() if name else None
    if queue is None:
        raise ResourceNotFoundException(
            f"Value {arn} for parameter {parameter} is invalid. Reason: The resource that you "
            "specified for the SourceArn parameter doesn't exist."
            if parameter == "SourceArn"
            else f"The resource that you specified for the {parameter} parameter doesn't exist."
        )
    return queue


def list_message_move_tasks(source_arn, max_results=1):
    if not source_arn:
        raise MissingParameter("The request must contain the parameter SourceArn.")
    source = _queue_for_move(source_arn, "SourceArn")
    if max_results is None:
        max_results = 1
    if not 1 <= max_results <= 10:
        raise InvalidParameterValue(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: Must be between 1 "
            "and 10."
        )
    return list(
        MessageMoveTask.objects.filter(source_queue=source).select_related(
            "source_queue", "destination_queue"
        )[:max_results]
    )


def cancel_message_move_task(task_handle):
    """Ask a running task to stop; return how many messages it had moved."""
    if not task_handle:
        raise MissingParameter("The request must contain the parameter TaskHandle.")
    task = MessageMoveTask.objects.filter(task_handle=task_handle).first()
    if task is None:
        raise ResourceNotFoundException("Task does not exist.")
    with transaction.atomic():
        updated = MessageMoveTask.objects.filter(
            pk=task.pk, status=MessageMoveTask.Status.RUNNING
        ).update(status=MessageMoveTask.Status.CANCELLING)
        if not updated:
            raise UnsupportedOperation("Only active tasks can be cancelled.")
        audit_log.record(
            "CancelMessageMoveTask", "queue", task.source_queue.name, task_handle=task_handle
        )
    task.refresh_from_db()
    return task


# Messages one step moves at most (a rated task: one second's worth, if fewer).
MOVE_BATCH = 1000
_ACTIVE = (MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING)


@dataclass
class NextMoveStep:
    """What the next step of a move task needs: its chain's stamp, where to go on, when."""

    # The heartbeat this step left: the next step runs only if it is still there, so one chain
    # of steps runs per task even when a resume started a second one.
    heartbeat: int
    # The (sent_at, id) of the last message moved: the next batch starts after it.
    after: list
    # Seconds to wait before the next step, to keep to MaxNumberOfMessagesPerSecond.
    countdown: float


def move_messages_step(task_id, heartbeat=None, after=None):
    """Move one batch of a task's messages; return the next step, or None if none is to run.

    `heartbeat` is the stamp the previous step of this chain left (None: take the task over, as
    a resume does). A chain that finds another stamp stops: the task was resumed elsewhere.
    """
    started = time.monotonic()
    task = MessageMoveTask.objects.filter(pk=task_id).first()
    if task is None or not task.is_active:
        return None
    if heartbeat is None:
        heartbeat = task.heartbeat_at
    now = max(now_ms(), heartbeat + 1)
    with transaction.atomic():
        # The claim comes first: its row lock (PostgreSQL) or the write lock (SQLite) keeps any
        # other step of this task waiting until this one commits, and then finding a new stamp.
        claimed = MessageMoveTask.objects.filter(
            pk=task_id, heartbeat_at=heartbeat, status__in=_ACTIVE
        ).update(heartbeat_at=now)
        if not claimed:
            return None
        task.refresh_from_db()
        if task.status == MessageMoveTask.Status.CANCELLING:
            _finish_task(task, MessageMoveTask.Status.CANCELLED)
            return None
        rate = task.max_messages_per_second
        limit = min(MOVE_BATCH, rate or MOVE_BATCH)
        if task.selection is not None:
            messages, cursor = _selected_batch(task, after, limit)
        else:
            messages = _next_batch(task, after, limit)
            cursor = (messages[-1][1], messages[-1][0]) if messages else None
        if not messages:
            _finish_task(task, MessageMoveTask.Status.COMPLETED)
            return None
        by_destination = {}
        for pk, _sent_at, dead_letter_source_id in messages:
            destination = task.destination_queue_id or dead_letter_source_id
            by_destination.setdefault(destination, []).append(pk)
        if None in by_destination:
            _finish_task(
                task,
                MessageMoveTask.Status.FAILED,
                "The source queue of a message no longer exists; choose a DestinationArn.",
            )
            return None
        live = set(Queue.objects.filter(pk__in=by_destination).values_list("pk", flat=True))
        if live != set(by_destination):
            _finish_task(
                task,
                MessageMoveTask.Status.FAILED,
                "The destination queue no longer exists.",
            )
            return None
        if task.edits:
            _apply_edits(task, [pk for pk, _sent_at, _source in messages])
        moved = 0
        for destination, ids in by_destination.items():
            moved += _redrive(
                ids,
                task.source_queue_id,
                destination,
                now,
                move_task=task.task_handle,
                started_by=task.started_by,
            )
        MessageMoveTask.objects.filter(pk=task.pk).update(
            approximate_number_of_messages_moved=F("approximate_number_of_messages_moved") + moved
        )
    countdown = len(messages) / rate - (time.monotonic() - started) if rate else 0.0
    last_sent, last_pk = cursor
    return NextMoveStep(heartbeat=now, after=[last_sent, last_pk], countdown=max(0.0, countdown))


def _next_batch(task, after, limit):
    """The next (id, sent_at, dead_letter_source_id) rows of a whole-queue task, oldest first."""
    messages = Message.objects.filter(queue_id=task.source_queue_id, id__lte=task.last_message_pk)
    if after:
        last_sent, last_id = after
        messages = messages.filter(
            Q(sent_at__gt=last_sent) | Q(sent_at=last_sent, id__gt=last_id),
            sent_at__gte=last_sent,
        )
    return list(
        messages.order_by("sent_at", "id").values_list("id", "sent_at", "dead_letter_source_id")[
            :limit
        ]
    )


def _selected_batch(task, after, limit):
    """The next rows of a selective task, in id order (so a FIFO group keeps its order), and the
    cursor past them: ([(id, sent_at, dead_letter_source_id)], (0, last id looked for)).

    Chosen messages gone since (received, deleted, expired) are skipped, a chunk at a time.
    """
    pks = task.selection["pks"]
    start = bisect.bisect_right(pks, after[1]) if after else 0
    while start < len(pks):
        chunk = pks[start : start + limit]
        start += len(chunk)
        rows = sorted(
            Message.objects.filter(queue_id=task.source_queue_id, pk__in=chunk).values_list(
                "id", "sent_at", "dead_letter_source_id"
            )
        )
        if rows:
            return rows, (0, chunk[-1])
    return [], None


def _apply_edits(task, ids):
    """Give the messages about to move the new bodies the task holds for them."""
    for pk in ids:
        body = task.edits.get(str(pk))
        if body is not None:
            Message.objects.filter(pk=pk, queue_id=task.source_queue_id).update(
                body=body, md5_of_body=md5_of_body(body)
            )


def _redrive(ids, source_id, destination_id, now, move_task=None, started_by=""):
    """Move these messages of the source queue into the destination; return how many moved.

    Each moved message's lineage gets a `redriven` event in its destination, naming both queues,
    who asked and, for a move task, its handle and who started it (None: chosen messages moved
    from the console).
    """
    messages = Message.objects.filter(id__in=ids, queue_id=source_id)
    if lineage.enabled():
        names = dict(
            Queue.objects.filter(pk__in=[source_id, destination_id]).values_list("pk", "name")
        )
        details = {
            "from_queue": names.get(source_id, ""),
            "to_queue": names.get(destination_id, ""),
        }
        if move_task:
            details["move_task"] = move_task
        if started_by:
            details["started_by"] = started_by
        lineage.record_many(
            destination_id,
            "redriven",
            list(messages.values_list("message_id", flat=True)),
            now,
            **details,
        )
    # A redriven message starts over: otherwise it would bounce straight back.
    moved = messages.update(
        queue_id=destination_id,
        receive_count=0,
        first_received_at=None,
        receive_token=0,
        visible_at=now,
        dead_letter_source=None,
    )
    cross_process.announce(destination_id)
    transaction.on_commit(lambda: notifier.signal(destination_id))
    # Counted as a delete here and a send there: the console's rates show where messages went.
    activity.count(source_id, deleted=moved)
    activity.count(destination_id, sent=moved)
    return moved


def _finish_task(task, status, reason=""):
    MessageMoveTask.objects.filter(pk=task.pk).update(
        status=status, failure_reason=reason, finished_at=now_ms(), heartbeat_at=now_ms()
    )


def stalled_move_task_ids(stale_after_ms=60_000):
    """Running tasks whose worker stopped reporting (it died): the resume sweep restarts them."""
    cutoff = now_ms() - stale_after_ms
    return list(
        MessageMoveTask.objects.filter(
            status__in=[MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING],
            heartbeat_at__lt=cutoff,
        ).values_list("pk", flat=True)
    )
