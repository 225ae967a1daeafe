"""Topics, their subscriptions, published messages and deliveries (the outbox and attempt log).

Times that deliveries are scheduled and compared by are integer milliseconds since the epoch, as in
queues.models: the delivery drain and the sweep compare them in SQL.
"""

from django.conf import settings
from django.db import models


def topic_arn(name):
    """The ARN of the topic called `name` in this Roost's region and account."""
    return f"arn:aws:sns:{settings.ROOST_REGION}:{settings.ROOST_ACCOUNT_ID}:{name}"


class Topic(models.Model):
    name = models.CharField(max_length=256, unique=True)
    fifo_topic = models.BooleanField(default=False)
    content_based_deduplication = models.BooleanField(default=False)
    display_name = models.CharField(max_length=100, blank=True, default="")
    # Stored as the JSON text the client gave; SNS returns it verbatim.
    policy = models.TextField(blank=True, default="")
    delivery_policy = models.TextField(blank=True, default="")
    # SNS defaults to 1 (SHA1); Roost signs with SHA256 unless a topic asks for 1.
    signature_version = models.CharField(max_length=1, default="2")
    # Attributes Roost keeps and returns but does not act on (KmsMasterKeyId, TracingConfig,
    # the *FeedbackRoleArn family...).
    extra_attributes = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    subscriptions_deleted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def arn(self):
        return topic_arn(self.name)


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    # The last part of the subscription ARN: <topic arn>:<uuid>.
    uuid = models.CharField(max_length=36, unique=True)
    protocol = models.CharField(max_length=16)
    endpoint = models.CharField(max_length=2048)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Confirmation tokens are what SubscribeURL and the email link carry; SNS keeps them valid for
    # three days. Unsubscribe links carry their own token, valid as long as the subscription.
    confirmation_token = models.CharField(max_length=128, unique=True)
    confirmation_sent_at = models.BigIntegerField(default=0)
    confirmation_was_authenticated = models.BooleanField(default=False)
    unsubscribe_token = models.CharField(max_length=64)
    raw_message_delivery = models.BooleanField(default=False)
    filter_policy = models.TextField(blank=True, default="")
    filter_policy_scope = models.CharField(max_length=24, default="MessageAttributes")
    # Resolved from the redrive policy's deadLetterTargetArn when it is set.
    redrive_policy = models.TextField(blank=True, default="")
    delivery_policy = models.TextField(blank=True, default="")
    extra_attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Every confirmation sent so far; ConfirmationAttempt keeps the latest few, numbered by it.
    confirmation_attempts = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["topic", "status"], name="subscription_topic_idx"),
            # The delivery sweep looks for pending subscriptions whose confirmation never went out.
            models.Index(
                fields=["created_at"],
                name="subscription_unsent_idx",
                condition=models.Q(status="pending", confirmation_sent_at=0),
            ),
        ]
        constraints = [
            # Subscribe is idempotent: two concurrent calls for one endpoint make one subscription
            # (and so one delivery of each message), whichever process answers them.
            models.UniqueConstraint(
                fields=["topic", "protocol", "endpoint"], name="subscription_unique_endpoint"
            ),
        ]

    def __str__(self):
        return self.arn

    @property
    def arn(self):
        return f"{self.topic.arn}:{self.uuid}"

    @property
    def is_confirmed(self):
        return self.status == self.Status.CONFIRMED


class PublishedMessage(models.Model):
    """One accepted Publish: what every delivery of it is rendered from."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=36, unique=True)
    subject = models.CharField(max_length=100, blank=True, default="")
    message = models.TextField()
    # With MessageStructure=json: {"default": ..., "sqs": ..., "http": ...}; else empty.
    structured = models.JSONField(null=True, blank=True)
    # {"name": {"DataType": ..., "StringValue": ... | "BinaryValue": <base64>}}, as SQS stores them.
    attributes = models.JSONField(default=dict, blank=True)
    group_id = models.CharField(max_length=128, blank=True, default="")
    deduplication_id = models.CharField(max_length=128, blank=True, default="")
    # FIFO topics: the topic's sequence; the de-duplication window keys on the id above.
    sequence_number = models.CharField(max_length=40, blank=True, default="")
    published_at = models.BigIntegerField()
    # Who published (the access key id; empty for a console user or the system): queue
    # deliveries made later, by a worker, name them in the message's lineage.
    publisher_key_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["topic", "published_at"], name="published_topic_idx"),
            # The prune walks messages past their retention, oldest first, across topics.
            models.Index(fields=["published_at", "id"], name="published_age_idx"),
            models.Index(
                fields=["topic", "deduplication_id", "published_at"],
                name="published_dedup_idx",
                condition=~models.Q(deduplication_id=""),
            ),
        ]

    def __str__(self):
        return self.message_id

    def body_for(self, protocol):
        """The message text a subscriber of this protocol gets (MessageStructure=json picks)."""
        if self.structured is None:
            return self.message
        return self.structured.get(protocol, self.structured["default"])


class Delivery(models.Model):
    """One message owed to one subscription: the outbox row, then the record of how it went."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        # Retries exhausted; moved to the subscription's dead-letter queue when it has one.
        FAILED = "failed"
        DEAD_LETTERED = "dead_lettered"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(
        PublishedMessage, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Copied from the subscription so the queue drain selects without a join.
    protocol = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; the sweep re-dispatches pending deliveries overdue by a margin.
    next_attempt_at = models.BigIntegerField()
    created_at = models.BigIntegerField()
    finished_at = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # A replay is a delivery of its own that names the one it tries again. No constraint: the
    # prune forgets the replayed delivery with raw SQL, and the replay keeps saying what it was.
    replay_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="replays",
    )
    # Who asked for the replay (a console user or an access key), when it is one.
    replayed_by = models.CharField(max_length=150, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The drain and the sweep read only pending rows; a partial index stays small.
            models.Index(
                fields=["protocol", "next_attempt_at", "id"],
                name="delivery_pending_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["subscription", "id"], name="delivery_subscription_idx"),
            # The prune forgets finished deliveries oldest first; pending ones have no finish.
            models.Index(
                fields=["finished_at", "id"],
                name="delivery_finished_idx",
                condition=models.Q(finished_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.message_id} -> {self.subscription_id}"


class DeliveryAttempt(models.Model):
    """One try at an HTTP(S) or email delivery, kept for the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.BigIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.delivery_id}@{self.attempted_at}"

    @property
    def succeeded(self):
        return not self.error


class ConfirmationAttempt(models.Model):
    """One try at sending a pending subscription its confirmation; the latest few are kept."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="confirmation_log"
    )
    # 1 for the subscription's first confirmation, counting every one sent since.
    number = models.PositiveIntegerField()
    attempted_at = models.BigIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # Which automatic retry this was (0: the first try), when no one asked for it.
    retry = models.PositiveSmallIntegerField(default=0)
    # Who asked for it to be sent again, when someone did.
    requested_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["subscription", "id"], name="confirmation_attempt_idx")]

    def __str__(self):
        return f"{self.subscription_id}#{self.number}"

    @property
    def succeeded(self):
        return not self.error


class RemovedSubscription(models.Model):
    """An HTTP(S) subscription removed by Unsubscribe, kept for three days.

    SNS tells the endpoint with a signed UnsubscribeConfirmation whose SubscribeURL (and Token)
    restores the subscription; this row is that message's outbox entry and what restoring needs.
    """

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    uuid = models.CharField(max_length=36)
    protocol = models.CharField(max_length=16)
    endpoint = models.CharField(max_length=2048)
    # What ConfirmSubscription takes to restore it; the restored subscription keeps it.
    token = models.CharField(max_length=128, unique=True)
    # One MessageId for every attempt at sending the confirmation, as SNS does.
    message_id = models.CharField(max_length=36)
    unsubscribed_at = models.BigIntegerField()
    # The subscription's settings as they were: {field name: value}.
    settings = models.JSONField(default=dict)
    # 0 until the UnsubscribeConfirmation was sent (or given up on).
    sent_at = models.BigIntegerField(default=0)

    def __str__(self):
        return self.arn

    @property
    def arn(self):
        return f"{self.topic.arn}:{self.uuid}"


class DeliveryThrottle(models.Model):
    """When the next delivery to a throttled HTTP(S) subscription may start.

    One row per subscription whose delivery policy sets maxReceivesPerSecond; every worker
    reserves its send slots here with one conditional UPDATE (notifications.throttle), so the
    rate holds across all the workers that share the database.
    """

    subscription = models.OneToOneField(
        Subscription, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Microseconds since the epoch: slots of a fast rate are shorter than a millisecond.
    next_slot_us = models.BigIntegerField()

    def __str__(self):
        return f"{self.subscription_id}@{self.next_slot_us}"


class TopicActivity(models.Model):
    """One topic's minute: messages published, deliveries delivered, failed and filtered out.

    Counted where the publish and the deliveries decide, written by each process about once a
    second (notifications.activity), as queues.models.QueueActivity is.
    """

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    minute = models.BigIntegerField()  # minutes since the epoch
    published = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    filtered_out = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "minute"], name="topic_activity_topic_minute"),
        ]
        indexes = [models.Index(fields=["minute"], name="topic_activity_minute_idx")]

    def __str__(self):
        return f"{self.topic_id}@{self.minute}"


class TopicHourlyActivity(models.Model):
    """One topic's hour: the sums of its TopicActivity minutes, rolled up by beat, kept 30 days."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.BigIntegerField()  # hours since the epoch
    published = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    filtered_out = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "hour"], name="topic_hourly_topic_hour"),
        ]
        indexes = [models.Index(fields=["hour"], name="topic_hourly_hour_idx")]

    def __str__(self):
        return f"{self.topic_id}@{self.hour}h"


class Alarm(models.Model):
    """Publish to a topic when a queue's depth, oldest message's age or dead letters cross a line.

    Beat evaluates every alarm once a minute (notifications.service.alarms) against the queue's
    minute samples; a change of state is published to `topic` in CloudWatch's alarm-notification
    shape and written to the audit log.
    """

    class Kind(models.TextChoices):
        DEPTH = "depth", "Visible messages above the threshold"
        OLDEST_AGE = "oldest_age", "Oldest message older than the threshold (seconds)"
        DLQ_RECEIVES = "dlq_receives", "Messages dead-lettered above the threshold"

    class State(models.TextChoices):
        OK = "OK"
        ALARM = "ALARM"
        INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

    name = models.CharField(max_length=255, unique=True)
    queue = models.ForeignKey("queues.Queue", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    threshold = models.BigIntegerField()
    minutes = models.PositiveIntegerField(default=1)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=17, choices=State.choices, default=State.INSUFFICIENT_DATA)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The overview's badges: the queues in ALARM, one query for every row.
            models.Index(fields=["state", "queue"], name="alarm_state_queue_idx"),
        ]

    def __str__(self):
        return self.name
