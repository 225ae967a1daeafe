"""Queues, their messages, FIFO de-duplication records and redrive (message move) tasks.

Message times are integer milliseconds since the epoch: SQS reports them that way
(SentTimestamp, ApproximateFirstReceiveTimestamp) and the receive claim compares them in SQL on
the hot path, where converting datetimes would cost more than the claim itself.
"""

import time

from django.conf import settings
from django.db import models


def now_ms():
    return int(time.time() * 1000)


def queue_arn(name):
    """The ARN of the queue called `name` in this Roost's region and account."""
    return f"arn:aws:sqs:{settings.ROOST_REGION}:{settings.ROOST_ACCOUNT_ID}:{name}"


class QueueQuerySet(models.QuerySet):
    def named(self, name):
        return self.get(name=name)

    def with_prefix(self, prefix):
        return self.filter(name__startswith=prefix) if prefix else self


class Queue(models.Model):
    name = models.CharField(max_length=80, unique=True)
    visibility_timeout = models.PositiveIntegerField(default=30)
    delay_seconds = models.PositiveIntegerField(default=0)
    message_retention_period = models.PositiveIntegerField(default=345_600)
    maximum_message_size = models.PositiveIntegerField(default=1_048_576)
    receive_message_wait_time_seconds = models.PositiveIntegerField(default=0)
    # Stored as the JSON text the client gave, like SQS, which returns it verbatim.
    redrive_policy = models.TextField(blank=True, default="")
    redrive_allow_policy = models.TextField(blank=True, default="")
    policy = models.TextField(blank=True, default="")
    # Resolved from redrive_policy so the receive claim needs no JSON parsing.
    dead_letter_queue = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="source_queues"
    )
    max_receive_count = models.PositiveIntegerField(null=True, blank=True)
    fifo_queue = models.BooleanField(default=False)
    content_based_deduplication = models.BooleanField(default=False)
    deduplication_scope = models.CharField(max_length=16, default="queue")
    fifo_throughput_limit = models.CharField(max_length=24, default="perQueue")
    sqs_managed_sse_enabled = models.BooleanField(default=True)
    kms_master_key_id = models.CharField(max_length=256, blank=True, default="")
    kms_data_key_reuse_period_seconds = models.PositiveIntegerField(default=300)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    # When the last PurgeQueue started; SQS allows one purge a minute.
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = QueueQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_fifo(self):
        return self.fifo_queue

    @property
    def arn(self):
        return queue_arn(self.name)

    def url(self, base_url=None):
        base = (base_url or settings.ROOST_PUBLIC_URL).rstrip("/")
        return f"{base}/{settings.ROOST_ACCOUNT_ID}/{self.name}"


class Message(models.Model):
    # Every index costs each send; the claim index's leading column already serves queue_id.
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    message_id = models.CharField(max_length=36)
    body = models.TextField()
    # Message attributes as {"name": {"DataType": ..., "StringValue"|"BinaryValue": ...}}, binary
    # values base64-encoded; the MD5s are those SQS returns, computed once at send.
    attributes = models.TextField(blank=True, default="")
    system_attributes = models.TextField(blank=True, default="")
    md5_of_body = models.CharField(max_length=32)
    md5_of_attributes = models.CharField(max_length=32, blank=True, default="")
    md5_of_system_attributes = models.CharField(max_length=32, blank=True, default="")
    sent_at = models.BigIntegerField()
    visible_at = models.BigIntegerField()
    receive_count = models.PositiveIntegerField(default=0)
    first_received_at = models.BigIntegerField(null=True, blank=True)
    # Random per receive: a receipt handle names (message, token), so a handle from an earlier
    # receive stops working once the message is received again.
    receive_token = models.BigIntegerField(default=0)
    sender_id = models.CharField(max_length=128, blank=True, default="")
    group_id = models.CharField(max_length=128, blank=True, default="")
    deduplication_id = models.CharField(max_length=128, blank=True, default="")
    # The queue a dead-lettered message came from (DeadLetterQueueSourceArn, and redrive's target).
    dead_letter_source = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            # The receive claim walks this index in order: see queues/message_sql.py. The
            # trailing receive_count lets depth counts (in flight vs delayed) read the index
            # alone; the claim rewrites visible_at anyway, so it costs no extra update work.
            models.Index(
                fields=["queue", "visible_at", "id", "receive_count"], name="message_claim_idx"
            ),
            # FIFO's in-order check per group; standard messages without a group stay out of it.
            models.Index(
                fields=["queue", "group_id", "id"],
                name="message_group_idx",
                condition=~models.Q(group_id=""),
            ),
            # The retention sweep, purge and delete-queue walk a queue's messages by age in
            # batches, each starting where the last ended (keyset on sent_at, id).
            models.Index(fields=["queue", "sent_at", "id"], name="message_sent_id_idx"),
            # Deleting a queue clears DeadLetterQueueSourceArn of the messages it dead-lettered;
            # only dead letters carry one, so the index stays small and sends skip it.
            models.Index(
                fields=["dead_letter_source"],
                name="message_dead_letter_source_idx",
                condition=models.Q(dead_letter_source__isnull=False),
            ),
        ]

    def __str__(self):
        return self.message_id

    @property
    def sequence_number(self):
        return str(10**19 + self.pk) if self.pk else ""


class DeduplicationRecord(models.Model):
    """A FIFO send seen in the last five minutes, kept after its message is deleted."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)
    message_id = models.CharField(max_length=36)
    sequence_number = models.CharField(max_length=40)
    expires_at = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "key"], name="dedup_unique_key"),
        ]
        # The retention sweep deletes lapsed records by expiry.
        indexes = [models.Index(fields=["expires_at"], name="dedup_expires_idx")]

    def __str__(self):
        return self.message_id


class DeletedQueueName(models.Model):
    """A queue name deleted recently: SQS refuses to create it again for 60 seconds.

    In the database, not in memory, so every web process refuses the same names.
    """

    name = models.CharField(max_length=80, unique=True)
    deleted_at = models.BigIntegerField()

    def __str__(self):
        return self.name


class ReceiveAttempt(models.Model):
    """A FIFO ReceiveMessage made with a ReceiveRequestAttemptId, for five minutes after it.

    A retry with the same id gets the same messages and receipt handles while they are still
    held by this receive; queues.message_sql reads and writes these rows inside the claim's
    transaction, so any process sees them.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    attempt_id = models.CharField(max_length=128)
    # The receive's token (the receipt handles' second half) and the messages it claimed.
    token = models.BigIntegerField()
    message_ids = models.TextField()
    # When those messages become visible again, as this receive set it: a ChangeMessageVisibility
    # since then means they were modified, and a retry receives afresh.
    visible_at = models.BigIntegerField()
    expires_at = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "attempt_id"], name="receive_attempt_unique"),
        ]

    def __str__(self):
        return self.attempt_id


class MessageMoveTask(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        CANCELLING = "CANCELLING"
        CANCELLED = "CANCELLED"
        FAILED = "FAILED"

    task_handle = models.CharField(max_length=256, unique=True)
    source_queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="move_tasks")
    # Null: each message goes back to the queue it was dead-lettered from.
    destination_queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    max_messages_per_second = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    approximate_number_of_messages_to_move = models.BigIntegerField(default=0)
    approximate_number_of_messages_moved = models.BigIntegerField(default=0)
    failure_reason = models.TextField(blank=True, default="")
    # Only messages already in the source queue when the task started are moved.
    last_message_pk = models.BigIntegerField(default=0)
    started_at = models.BigIntegerField()
    # Who started it (access key id, else console user): the messages' lineage names them, since
    # the moves themselves run in a worker.
    started_by = models.CharField(max_length=150, blank=True, default="")
    # Refreshed after every batch; the resume sweep restarts tasks whose worker died.
    heartbeat_at = models.BigIntegerField(default=0)
    finished_at = models.BigIntegerField(null=True, blank=True)
    # A selective redrive: {"filters": the selection as given, "pks": the ids of the messages it
    # moves, ascending}. Null: the whole queue, as StartMessageMoveTask moves it.
    selection = models.JSONField(null=True, blank=True)
    # New bodies for some of a selective redrive's messages, applied as each is moved: {pk: body}.
    edits = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The resume sweep looks for active tasks whose steps stopped; finished tasks pile up.
            models.Index(
                fields=["heartbeat_at"],
                name="move_task_active_idx",
                condition=models.Q(status__in=["RUNNING", "CANCELLING"]),
            ),
        ]

    def __str__(self):
        return self.task_handle

    @property
    def is_active(self):
        return self.status in (self.Status.RUNNING, self.Status.CANCELLING)


class QueueActivity(models.Model):
    """One queue's minute: messages sent, received and deleted, and its depth when last sampled.

    The console's chart reads these; each process adds its own counts about once a second
    (queues.activity), so no request pays for a counter update. Beat samples the depths.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    minute = models.BigIntegerField()  # minutes since the epoch
    sent = models.BigIntegerField(default=0)
    received = models.BigIntegerField(default=0)
    deleted = models.BigIntegerField(default=0)
    visible = models.BigIntegerField(null=True, blank=True)
    in_flight = models.BigIntegerField(null=True, blank=True)
    delayed = models.BigIntegerField(null=True, blank=True)
    # Messages the retention sweep deleted, and messages moved from this queue to its DLQ.
    expired = models.BigIntegerField(default=0)
    dead_lettered = models.BigIntegerField(default=0)
    # Seconds since the oldest unexpired message was sent, sampled with the depths (0: empty).
    oldest_age = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "minute"], name="activity_queue_minute"),
        ]
        indexes = [
            # The daily prune finds old minutes of every queue without reading the whole table.
            models.Index(fields=["minute"], name="activity_minute_idx"),
        ]

    def __str__(self):
        return f"{self.queue_id}@{self.minute}"


class QueueHourlyActivity(models.Model):
    """One queue's hour, rolled up by beat from its QueueActivity minutes once the hour is over.

    Counts are the minutes' sums; the depths and the oldest message's age are the hour's highest
    sample. Kept 30 days (queues.history).
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.BigIntegerField()  # hours since the epoch
    sent = models.BigIntegerField(default=0)
    received = models.BigIntegerField(default=0)
    deleted = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)
    dead_lettered = models.BigIntegerField(default=0)
    visible = models.BigIntegerField(null=True, blank=True)
    in_flight = models.BigIntegerField(null=True, blank=True)
    delayed = models.BigIntegerField(null=True, blank=True)
    oldest_age = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "hour"], name="hourly_activity_queue_hour"),
        ]
        indexes = [
            # The prune and the roll-up's "last hour rolled" read by hour across every queue.
            models.Index(fields=["hour"], name="hourly_activity_hour_idx"),
        ]

    def __str__(self):
        return f"{self.queue_id}@{self.hour}h"


class RecentQueueActivity(models.Model):
    """One queue's five seconds: messages sent, received and deleted.

    "Per minute" on the console is the sum of the last twelve of these, so a burst counts in full
    for a minute and then not at all (a minute row cannot say which part of it is past). Rows are
    pruned after a few minutes; QueueActivity keeps the minute totals.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    period = models.BigIntegerField()  # five-second periods since the epoch
    sent = models.BigIntegerField(default=0)
    received = models.BigIntegerField(default=0)
    deleted = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "period"], name="recent_activity_queue_period"
            ),
        ]
        indexes = [
            # The rates of every queue at once (the overview's sort) and the prune read by period.
            models.Index(fields=["period"], name="recent_activity_period_idx"),
        ]

    def __str__(self):
        return f"{self.queue_id}@{self.period}"


class MessageEvent(models.Model):
    """One step of a message's life (its lineage): sent, received, moved to a DLQ, deleted...

    Keyed by message id, which a message keeps when it is dead-lettered or redriven, so one query
    gives its whole life across queues. Kept after the message is gone for a retention window of
    its own; `details` is small JSON (who, how long, why), never the body.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    message_id = models.CharField(max_length=36)
    at = models.BigIntegerField()  # milliseconds since the epoch
    kind = models.CharField(max_length=24)
    key_id = models.CharField(max_length=128, blank=True, default="")
    details = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["message_id", "id"], name="message_event_idx"),
            # The health views read a queue's recent events; the prune finds a queue's ended
            # messages. (No index on `at` alone: every index is one more page each recording
            # writes, and the prune walks the oldest events in id order, which is time order.)
            models.Index(fields=["queue", "at"], name="message_event_queue_at_idx"),
        ]

    def __str__(self):
        return f"{self.message_id} {self.kind}"


class TrashedMessage(models.Model):
    """A message purged or deleted from the console, kept for a while so the action can be undone.

    A copy of the Message row (its primary key included, so a restore puts it back in its place in
    the queue's order) plus which action put it here. `batch` names one purge or delete: Undo
    restores a batch whole.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    batch = models.CharField(max_length=36)
    reason = models.CharField(max_length=16)  # purge, delete
    trashed_at = models.BigIntegerField()
    message_pk = models.BigIntegerField()
    message_id = models.CharField(max_length=36)
    body = models.TextField()
    attributes = models.TextField(blank=True, default="")
    system_attributes = models.TextField(blank=True, default="")
    md5_of_body = models.CharField(max_length=32)
    md5_of_attributes = models.CharField(max_length=32, blank=True, default="")
    md5_of_system_attributes = models.CharField(max_length=32, blank=True, default="")
    sent_at = models.BigIntegerField()
    visible_at = models.BigIntegerField()
    receive_count = models.PositiveIntegerField(default=0)
    first_received_at = models.BigIntegerField(null=True, blank=True)
    sender_id = models.CharField(max_length=128, blank=True, default="")
    group_id = models.CharField(max_length=128, blank=True, default="")
    deduplication_id = models.CharField(max_length=128, blank=True, default="")
    dead_letter_source_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["queue", "batch", "message_pk"], name="trash_batch_idx"),
            # The prune empties the trash of every queue, oldest first.
            models.Index(fields=["trashed_at"], name="trash_age_idx"),
        ]

    def __str__(self):
        return self.message_id


class TrashBatch(models.Model):
    """One purge or console delete whose messages wait in the trash: who, when, how many.

    The trash page lists these rather than counting TrashedMessage rows (a purge of millions would
    be counted on every page view). The row outlives its messages for a while after they are
    restored or emptied, so an Undo too late can say when that happened.
    """

    class Reason(models.TextChoices):
        PURGE = "purge"
        DELETE = "delete"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    batch = models.CharField(max_length=36, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    trashed_at = models.BigIntegerField()  # milliseconds since the epoch
    expires_at = models.BigIntegerField()
    count = models.BigIntegerField(default=0)
    door = models.CharField(max_length=8)
    key_id = models.CharField(max_length=128, blank=True, default="")
    username = models.CharField(max_length=150, blank=True, default="")
    # Set once the purge or delete has moved its last message: Undo waits for it.
    finished_at = models.BigIntegerField(null=True, blank=True)
    restored_at = models.BigIntegerField(null=True, blank=True)
    restored = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)
    emptied_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-trashed_at", "-id"]
        indexes = [
            # The queue page's trash lists a queue's recent batches, newest first.
            models.Index(fields=["queue", "-trashed_at"], name="trash_batch_queue_idx"),
            # The prune empties batches past their window, oldest first.
            models.Index(fields=["expires_at"], name="trash_batch_expiry_idx"),
        ]

    def __str__(self):
        return self.batch

    @property
    def actor(self):
        return self.username or self.key_id or self.door

    @property
    def in_trash(self):
        return self.restored_at is None and self.emptied_at is None
