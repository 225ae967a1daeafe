"""Acting on chosen messages without a receipt (the console): delete one, some, or all that match
the explorer's filters, or redrive some of a dead-letter queue's now."""

import time

from django.db import connection, transaction
from django.db.models import Max

from audit import log as audit_log
from queues import activity, message_sql, metrics, peek
from queues.errors import InvalidParameterValue, MissingParameter, QueueDoesNotExist
from queues.models import Message, Queue, TrashBatch, now_ms
from queues.service import trash
from queues.service.redrive import _check_redrive_queues, _redrive
from queues.service.sending import retention_cutoff

# The console works on what peek showed: messages named by their database id (PeekedMessage.pk),
# which stays the same for a message's whole life, moves included, and is never reused. Looking
# messages up by it costs one primary-key probe each; the Message table keeps no MessageId index
# (every index costs each send).


def _delete_by_id(queue, message_ids, batch):
    """Delete (or, with the trash on, move to trash batch `batch`) these messages of the queue,
    a batch of ids per transaction, and log it; return how many were still there."""
    trashed = trash.open_batch(queue, TrashBatch.Reason.DELETE, batch)
    deleted = 0
    for start in range(0, len(message_ids), message_sql.DELETE_BATCH):
        chunk = message_ids[start : start + message_sql.DELETE_BATCH]
        if trashed is not None:
            deleted += trash.move_by_id(queue.id, trashed, chunk)
        else:
            deleted += Message.objects.filter(queue_id=queue.id, pk__in=chunk).delete()[0]
    _deleted(queue, deleted, trashed)
    return deleted


def _deleted(queue, deleted, trashed):
    trash.finish_batch(trashed)
    metrics.count(metrics.MESSAGES_DELETED, queue.name, deleted)
    activity.count(queue.id, deleted=deleted)
    audit_log.record(
        "DeleteMessages",
        "queue",
        queue.name,
        messages=deleted,
        trash_batch=trashed.batch if trashed is not None else None,
    )


def delete_message_by_id(queue, message_id, batch=None):
    """Delete one message of the queue, whatever its state, to the trash (as trash batch
    `batch`, if given); return whether it was still there."""
    with transaction.atomic():
        return _delete_by_id(queue, [message_id], batch) > 0


def delete_messages_by_id(queue, message_ids, batch=None):
    """Delete these messages of the queue, whatever their state, to the trash (as trash batch
    `batch`, if given); return how many were still there.

    A batch of ids per transaction, each committing on its own, so a long list never holds one
    long lock.
    """
    message_ids = sorted(set(message_ids))
    if not message_ids:
        raise MissingParameter("Choose at least one message to delete.")
    return _delete_by_id(queue, message_ids, batch)


def newest_message_id():
    """The highest message id handed out so far: a horizon for `delete_matching_messages`."""
    return Message.objects.aggregate(top=Max("id"))["top"] or 0


def delete_matching_messages(queue, filters, up_to_id, batch=None):
    """Delete the queue's messages that match the explorer's `filters` (queues.peek.matching's
    keywords) and have ids up to `up_to_id`; return how many.

    `up_to_id` (newest_message_id() when the operator was shown the count) spares messages sent
    since. The walk goes oldest first along the (queue, sent_at, id) index, a batch at a time,
    each batch's delete its own short statement, continuing after the last key it read: like a
    purge, it never locks the queue for long nor walks again over rows it deleted. On SQLite it
    pauses between batches as long as a batch took, so other writers get the write lock. With the
    trash on, the messages go to trash batch `batch` (named here if None).
    """
    trashed = trash.open_batch(queue, TrashBatch.Reason.DELETE, batch)
    now = now_ms()
    messages, checks = peek.matching(queue, now, **filters)
    columns = ("id", "sent_at", "attributes") if checks else ("id", "sent_at")
    messages = messages.filter(id__lte=up_to_id).order_by("sent_at", "id").values(*columns)
    oldest = peek.oldest_kept(queue, now)
    position, deleted = None, 0
    while True:
        started = time.monotonic()
        rows = list(peek.after(messages, oldest, position)[: message_sql.DELETE_BATCH])
        ids = [row["id"] for row in rows if all(check(row) for check in checks)]
        if ids and trashed is not None:
            deleted += trash.move_by_id(queue.id, trashed, ids)
        elif ids:
            deleted += Message.objects.filter(queue_id=queue.id, pk__in=ids).delete()[0]
        if len(rows) < message_sql.DELETE_BATCH:
            break
        position = rows[-1]["sent_at"], rows[-1]["id"]
        if connection.vendor == "sqlite":
            time.sleep(time.monotonic() - started)
    _deleted(queue, deleted, trashed)
    return deleted


def redrive_messages(source, message_ids, destination=None):
    """Move chosen messages of a dead-letter queue back to their source queues (or destination).

    Like a move task, but now and for these messages only; expired or already-gone ones are
    skipped. Return how many moved.
    """
    message_ids = list(message_ids)
    if not message_ids:
        raise MissingParameter("Choose at least one message to move.")
    _check_redrive_queues(source, destination)
    now = now_ms()
    with transaction.atomic():
        messages = Message.objects.filter(
            queue_id=source.id, pk__in=message_ids, sent_at__gt=retention_cutoff(source, now)
        ).values_list("id", "dead_letter_source_id")
        by_destination = {}
        for pk, source_queue_id in messages:
            target = destination.pk if destination is not None else source_queue_id
            by_destination.setdefault(target, []).append(pk)
        if None in by_destination:
            raise InvalidParameterValue(
                f"{len(by_destination[None])} of the chosen messages no longer have a source "
                "queue; choose a destination queue for them."
            )
        live = set(Queue.objects.filter(pk__in=by_destination).values_list("pk", flat=True))
        if live != set(by_destination):
            raise QueueDoesNotExist()
        moved = sum(_redrive(ids, source.id, target, now) for target, ids in by_destination.items())
        audit_log.record(
            "RedriveMessages",
            "queue",
            source.name,
            messages=moved,
            destination=destination.name if destination is not None else None,
        )
        return moved
