"""The trash: messages a purge or a console delete took, kept for ROOST_TRASH_SECONDS so the
action can be undone.

Each purge or delete is one batch (a TrashBatch row: who, when, how many). Its messages move in
batches of rows, each batch one short transaction that copies the rows into the trash and deletes
them (message_sql.move_to_trash), so a purge of millions never holds a long lock. `restore` puts
a batch back the same way, each message with its own id: ids are never reused, so the messages
take their old places in the queue's order (and in their FIFO groups). Beat empties batches past
their window (`prune_trash`). With ROOST_TRASH_SECONDS set to 0 there is no trash: purges and
deletes delete.
"""

import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F

from audit import log as audit_log
from aws_protocol import actor
from queues import cross_process, lineage, message_sql, notifier
from queues.errors import ResourceNotFoundException, TrashBatchInProgress, TrashEmptied
from queues.models import TrashBatch, TrashedMessage, now_ms
from queues.service.sending import retention_cutoff

# A batch's row stays this long after its messages were restored or emptied, so a late Undo can
# say what happened to them.
BATCH_RECORD_MS = 7 * 86_400_000
RESTORE_BATCH = message_sql.DELETE_BATCH
REASON_LINEAGE = {TrashBatch.Reason.PURGE: "purged", TrashBatch.Reason.DELETE: "deleted"}


def enabled():
    return settings.ROOST_TRASH_SECONDS > 0


def new_batch_id():
    return str(uuid.uuid4())


def open_batch(queue, reason, batch=None):
    """Start a trash batch for a purge or delete of the queue's messages, as the current actor.

    `batch` lets a caller name it beforehand (the console, to offer Undo for its own delete);
    None when the trash is off.
    """
    if not enabled():
        return None
    who = actor.current()
    now = now_ms()
    return TrashBatch.objects.create(
        queue_id=queue.id,
        batch=batch or new_batch_id(),
        reason=reason,
        trashed_at=now,
        expires_at=now + settings.ROOST_TRASH_SECONDS * 1000,
        door=who.door,
        key_id=who.key_id or "",
        username=who.username or "",
    )


def _moved(queue_id, trash_batch, rows):
    """Move `rows` [(pk, message_id)] to the trash batch; inside the caller's transaction."""
    pks = [pk for pk, _ in rows]
    count = message_sql.move_to_trash(
        queue_id,
        pks,
        batch=trash_batch.batch,
        reason=trash_batch.reason,
        trashed_at=trash_batch.trashed_at,
    )
    if count:
        lineage.record_many(
            queue_id,
            REASON_LINEAGE[trash_batch.reason],
            [message_id for _, message_id in rows],
            batch=trash_batch.batch,
        )
        TrashBatch.objects.filter(pk=trash_batch.pk).update(count=F("count") + count)
    return count


def move_oldest(queue_id, trash_batch, after=None, *, max_id=None, limit=message_sql.DELETE_BATCH):
    """Move up to `limit` of the queue's oldest messages (after the (sent_at, id) key `after`, ids
    up to `max_id`) to the trash, in one transaction: purge's step with a trash.

    Returns (how many moved, the key to continue after, or None once none are left), as
    message_sql.delete_batch does.
    """
    with transaction.atomic():
        keys = message_sql.oldest_messages(queue_id, after, max_id=max_id, limit=limit)
        count = _moved(queue_id, trash_batch, [(pk, message_id) for _, pk, message_id in keys])
    if len(keys) < limit:
        return count, None
    return count, max((sent_at, pk) for sent_at, pk, _ in keys)


def finish_batch(trash_batch):
    """Mark the batch whole: its purge or delete moved its last message (Undo may start)."""
    if trash_batch is not None:
        TrashBatch.objects.filter(pk=trash_batch.pk).update(finished_at=now_ms())


def move_by_id(queue_id, trash_batch, pks):
    """Move these messages of the queue (those still there) to the trash; one transaction."""
    with transaction.atomic():
        return _moved(queue_id, trash_batch, message_sql.messages_by_id(queue_id, pks))


# Listing and restoring


def recent_batches(queue, limit=20):
    """The queue's trash batches still in the trash, newest first (a delete that found nothing
    left none)."""
    return list(
        TrashBatch.objects.filter(
            queue_id=queue.id,
            restored_at__isnull=True,
            emptied_at__isnull=True,
            expires_at__gt=now_ms(),
            count__gt=0,
        )[:limit]
    )


def _when(ms):
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _batch_for_restore(queue, batch):
    """The batch's row, locked; refused if it is not in the trash any more."""
    found = TrashBatch.objects.select_for_update().filter(queue_id=queue.id, batch=batch).first()
    if found is None:
        raise ResourceNotFoundException(f"{queue.name} has no trash batch {batch}.")
    what = "purge" if found.reason == TrashBatch.Reason.PURGE else "delete"
    if found.restored_at is not None:
        raise TrashEmptied(
            f"The messages of this {what} were already restored at {_when(found.restored_at)}."
        )
    emptied = found.emptied_at or (found.expires_at if found.expires_at <= now_ms() else None)
    if emptied is not None:
        raise TrashEmptied(f"The trash for this {what} was emptied at {_when(emptied)}.")
    if found.finished_at is None:
        raise TrashBatchInProgress(
            f"This {what} is still moving messages to the trash: undo it once it has finished."
        )
    return found


def restore(queue, batch):
    """Put a trash batch's messages back in the queue; return (how many, how many had expired).

    Each message keeps its id, body, attributes, receive count and group, so the queue's order
    (and each FIFO group's) is as before; it is visible now unless it was still delayed.
    Messages past the queue's retention period stay out (counted). A batch of rows per
    transaction, each taking the batch's row lock, so two Undos never restore a row twice.
    """
    with transaction.atomic():
        _batch_for_restore(queue, batch)
    restored = expired = 0
    after = -1
    while True:
        with transaction.atomic():
            _batch_for_restore(queue, batch)
            now = now_ms()
            rows = list(
                TrashedMessage.objects.filter(queue_id=queue.id, batch=batch, message_pk__gt=after)
                .order_by("message_pk")
                .values_list("id", "message_pk", "message_id", "sent_at")[:RESTORE_BATCH]
            )
            cutoff = retention_cutoff(queue, now)
            kept = [row for row in rows if row[3] > cutoff]
            message_sql.restore_from_trash([row[0] for row in kept], now)
            TrashedMessage.objects.filter(pk__in=[row[0] for row in rows]).delete()
            lineage.record_many(queue.id, "restored", [row[2] for row in kept], batch=batch)
            restored += len(kept)
            expired += len(rows) - len(kept)
        if len(rows) < RESTORE_BATCH:
            break
        after = rows[-1][1]
    with transaction.atomic():
        found = _batch_for_restore(queue, batch)
        found.restored_at = now_ms()
        found.restored = restored
        found.expired = expired
        found.save(update_fields=["restored_at", "restored", "expired"])
        audit_log.record(
            "RestoreMessages",
            "queue",
            queue.name,
            trash_batch=batch,
            reason=found.reason,
            messages=restored,
            expired=expired,
        )
    # Receivers waiting on the queue (a long poll, here or in another process) get them now.
    notifier.signal(queue.id)
    cross_process.announce(queue.id)
    return restored, expired


# Emptying


def prune_trash(deadline=None):
    """Empty the trash of messages past its window, a batch of rows per statement, oldest first;
    mark their batches emptied and forget old batch rows. Return (rows deleted, whether it
    stopped at `deadline` with more to do)."""
    now = now_ms()
    cutoff = now - settings.ROOST_TRASH_SECONDS * 1000
    old = TrashedMessage.objects.filter(trashed_at__lte=cutoff).order_by("trashed_at")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[: message_sql.DELETE_BATCH]):
        deleted += TrashedMessage.objects.filter(pk__in=ids).delete()[0]
        if deadline is not None and time.monotonic() > deadline:
            return deleted, True
    TrashBatch.objects.filter(
        restored_at__isnull=True, emptied_at__isnull=True, expires_at__lte=now
    ).update(emptied_at=now)
    forgotten = TrashBatch.objects.filter(expires_at__lte=now - BATCH_RECORD_MS)
    while ids := list(forgotten.values_list("pk", flat=True)[: message_sql.DELETE_BATCH]):
        TrashBatch.objects.filter(pk__in=ids).delete()
    return deleted, False
