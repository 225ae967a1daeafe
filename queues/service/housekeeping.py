"""Deleting messages in bulk: PurgeQueue and its steps, emptying a queue before DeleteQueue, and
the periodic sweep of messages past retention and lapsed de-duplication records.

A purge moves the messages to the trash (queues.service.trash) instead of deleting them, so the
console can undo it; to consumers they are gone either way. Emptying a queue and the sweep
delete.
"""

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit import log as audit_log
from queues import activity, lineage, message_sql, metrics
from queues.errors import PurgeQueueInProgress
from queues.models import DeduplicationRecord, Message, Queue, TrashBatch, now_ms
from queues.service import trash
from queues.service.lookup import _locked_queue
from queues.service.sending import retention_cutoff

PURGE_INTERVAL_SECONDS = 60


def purge_queue(queue, batch=None):
    """Move every message in the queue to the trash (as trash batch `batch`, if given); return
    how many. SQS allows one purge per queue a minute."""
    purge = start_purge(queue, batch)
    while True:
        started = time.monotonic()
        if purge.step():
            return purge.deleted
        if connection.vendor == "sqlite":
            time.sleep(time.monotonic() - started)  # writers waiting for the lock get it


def start_purge(queue, batch=None):
    """Begin a purge (one per queue a minute): fix which messages it deletes, open its trash
    batch and log it; return it, for its caller to run `step()` until done.

    The AWS endpoint runs each step as its own piece of work on the process's one database
    thread, so other requests run between the steps of a purge of millions, and answers only
    once every step ran: the purge still looks atomic to its caller.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_queue(queue)
        if locked.purged_at and (now - locked.purged_at).total_seconds() < PURGE_INTERVAL_SECONDS:
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
            )
        locked.purged_at = now
        locked.save(update_fields=["purged_at"])
        # SQS deletes the messages sent before the call: ids are handed out in order, so those
        # sent from here on have higher ones and stay.
        horizon = Message.objects.aggregate(top=Max("id"))["top"]
        trashed = trash.open_batch(queue, TrashBatch.Reason.PURGE, batch)
        entry = audit_log.record(
            "PurgeQueue", "queue", queue.name, trash_batch=trashed.batch if trashed else None
        )
    purge = Purge(queue.id, horizon, done=horizon is None, trash=trashed, audit_id=entry.pk)
    if purge.done:
        purge.finish()
    return purge


def start_emptying(queue):
    """A Purge of every message the queue holds now, without PurgeQueue's once a minute: what
    DeleteQueue runs in steps before deleting the queue."""
    return Purge(queue.id, Message.objects.aggregate(top=Max("id"))["top"])


# How long one step of a purge deletes for: what a request arriving meanwhile may wait.
PURGE_STEP_SECONDS = 0.1


@dataclass
class Purge:
    """A purge under way: the queue's messages with ids up to `horizon`, oldest first."""

    queue_id: int
    horizon: int | None
    after: tuple | None = None  # the (sent_at, id) the next batch starts after
    deleted: int = 0
    done: bool = False
    trash: TrashBatch | None = None  # where the messages go (None: deleted, as DeleteQueue's)
    audit_id: int | None = None  # the PurgeQueue entry, told the count once done

    @property
    def batch(self):
        return self.trash.batch if self.trash else None

    def step(self, seconds=PURGE_STEP_SECONDS):
        """Delete (or move to the trash) batches, each its own statement or transaction, for
        about `seconds`; return whether done."""
        deadline = time.monotonic() + seconds
        while not self.done:
            if self.trash is not None:
                count, self.after = trash.move_oldest(
                    self.queue_id, self.trash, self.after, max_id=self.horizon
                )
            else:
                count, self.after = message_sql.delete_batch(
                    self.queue_id, self.after, max_id=self.horizon
                )
            self.deleted += count
            self.done = self.after is None
            if self.done:
                self.finish()
            if time.monotonic() > deadline:
                break
        return self.done

    def finish(self):
        """Mark its trash batch whole; say in the purge's audit entry how many messages it took."""
        trash.finish_batch(self.trash)
        if self.audit_id is not None:
            audit_log.add_details(self.audit_id, messages=self.deleted)


def delete_messages_in_batches(
    queue_id, *, sent_before=None, max_id=None, deadline=None, expiring=False
):
    """Delete a queue's messages (those sent at or before `sent_before`, with ids up to `max_id`)
    a batch per statement, oldest first; return how many, or stop early past `deadline`.

    Each batch commits on its own. On SQLite the loop then pauses as long as the batch took, so
    writers waiting for the one write lock (a send to another queue) get it between batches
    instead of waiting out the whole delete; PostgreSQL locks only the rows deleted.
    `expiring`: the messages are past their retention, and each gets an `expired` event.
    """
    deleted, after = 0, None
    while True:
        started = time.monotonic()
        if expiring and lineage.enabled():
            ids = []
            count, after = message_sql.delete_batch(
                queue_id, after, sent_before=sent_before, max_id=max_id, deleted_ids=ids
            )
            lineage.record_many(queue_id, "expired", ids, reason="retention period passed")
        else:
            count, after = message_sql.delete_batch(
                queue_id, after, sent_before=sent_before, max_id=max_id
            )
        deleted += count
        if after is None or (deadline is not None and time.monotonic() > deadline):
            return deleted
        if connection.vendor == "sqlite":
            time.sleep(time.monotonic() - started)


def sweep_expired_messages(deadline=None):
    """Delete messages past their queue's retention and lapsed de-duplication records, in
    batches; return (how many messages, whether it stopped at `deadline` with more to do)."""
    now = now_ms()
    deleted = 0
    for queue in Queue.objects.only("id", "name", "message_retention_period"):
        expired = delete_messages_in_batches(
            queue.id, sent_before=retention_cutoff(queue, now), deadline=deadline, expiring=True
        )
        activity.count(queue.id, expired=expired)
        metrics.count(metrics.MESSAGES_EXPIRED, queue.name, expired)
        deleted += expired
        if deadline is not None and time.monotonic() > deadline:
            return deleted, True
    lapsed = DeduplicationRecord.objects.filter(expires_at__lte=now)
    while ids := list(lapsed.values_list("pk", flat=True)[: message_sql.DELETE_BATCH]):
        DeduplicationRecord.objects.filter(pk__in=ids).delete()
    return deleted, False
