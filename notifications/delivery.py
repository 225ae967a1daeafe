"""Delivering what a publish accepted: into queues, to HTTP(S) endpoints and by email.

Every Delivery row is the outbox entry for one (message, subscription). Workers take rows that are
pending and due, so running any of these twice is harmless, and a delivery whose task was lost (a
broker outage, a killed worker) is found again by `stalled_work`, which the sweep re-dispatches.

Queue deliveries are drained in batches (one transaction delivers many publishes to many queues);
a successful one leaves no row behind, its message is the record. HTTP(S) and email deliveries
are attempted together per publish (side by side, in threads), follow the delivery policy's
retries and keep a log of every attempt.
"""

import functools
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import F, Subquery

from audit import log as audit_log
from aws_protocol.errors import RoostError
from notifications import (
    delivery_policy,
    delivery_sql,
    dispatch,
    envelopes,
    metrics,
    throttle,
    transports,
)
from notifications.errors import InvalidParameter, NotFound
from notifications.models import (
    ConfirmationAttempt,
    Delivery,
    DeliveryAttempt,
    PublishedMessage,
    RemovedSubscription,
    Subscription,
)
from queues import service as queue_service
from queues.models import now_ms

logger = logging.getLogger("roost.deliveries")

# SQLite has one writer: a batch holds it for a few tens of milliseconds at most.
DRAIN_BATCH = 200
# A publish delivers into queues itself, in its own transaction, up to this many deliveries (a
# PublishBatch of 10 to 10 queues); beyond that the worker's drain does.
INLINE_QUEUE_DELIVERIES = 100
# An attempt holds its deliveries this long, plus a send timeout for each round of SEND_THREADS
# sends; a worker that dies mid-attempt frees them after.
ATTEMPT_LEASE_MS = 60_000
# The sweep re-dispatches pending deliveries this overdue: their task was lost.
STALL_MARGIN_MS = 15_000
# Rows one sweep or prune statement touches; the sweep hands out at most this many a run.
SWEEP_BATCH = 1000
OUTBOUND_PROTOCOLS = ("http", "https", "email", "email-json")
# SNS's delivery policy for email (SMTP): 2 retries 10 s apart, 10 backing off to 600 s, 38 at
# 600 s; Roost keeps the shape with fewer attempts at the slow end.
EMAIL_POLICY = delivery_policy.DeliveryPolicy(
    min_delay=10,
    max_delay=600,
    num_retries=20,
    num_no_delay_retries=0,
    num_min_delay_retries=2,
    num_max_delay_retries=8,
    backoff_function="exponential",
    max_receives_per_second=None,
    header_content_type="text/plain; charset=UTF-8",
    max_retry_seconds=None,
)
CONFIRMATION_RETRY_DELAYS = (5, 20, 60)
# Confirmation attempts kept per subscription, newest first: enough to tell why it never confirmed.
CONFIRMATION_ATTEMPTS_KEPT = 10
# A send to a throttled subscription waits in its thread for a slot this close; a delivery whose
# slot is later is handed to a task due at the slot instead, so waits never hold send threads.
THROTTLE_WAIT_US = 1_000_000
# HTTP(S) and email sends one attempt() makes at once; each mostly waits on the network.
SEND_THREADS = 16
# Keep the log of finished HTTP(S)/email deliveries, and messages nothing still owes, this long.
LOG_RETENTION_MS = 7 * 24 * 3600 * 1000
MESSAGE_RETENTION_MS = 3600 * 1000
SNS_SENDER_ID = "AIDAROOSTSNSSERVICE00"
# An UnsubscribeConfirmation's SubscribeURL restores the subscription for this long (SNS's
# confirmation tokens last three days).
RESTORE_WINDOW_MS = 3 * 24 * 3600 * 1000


# Into queues ---------------------------------------------------------------------------------


def deliver_to_queues(limit=DRAIN_BATCH):
    """Deliver every due queue delivery, oldest first, in batches; return how many were done."""
    done = 0
    while True:
        count = _drain_batch(limit)
        done += count
        if count < limit:
            return done


def _lock_drain():
    """One drain at a time, so FIFO topics reach FIFO queues in publish order.

    SQLite's IMMEDIATE transactions already take the one write lock; PostgreSQL needs a lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x524F4F5354])


def _drain_batch(limit):
    now = now_ms()
    with transaction.atomic():
        _lock_drain()
        # Plain tuples, then each message and subscription once: a batch of 200 deliveries
        # usually names 20 messages and 10 subscriptions, and model instances are what cost.
        rows = list(
            Delivery.objects.filter(
                status=Delivery.Status.PENDING, protocol="sqs", next_attempt_at__lte=now
            )
            .order_by("id")
            .values_list("id", "message_id", "subscription_id", "replay_of_id")[:limit]
        )
        if not rows:
            return 0
        replays = {row[0] for row in rows if row[3] is not None}
        messages = PublishedMessage.objects.in_bulk({row[1] for row in rows})
        subscriptions = Subscription.objects.select_related("topic").in_bulk(
            {row[2] for row in rows}
        )
        by_queue = {}
        for delivery_id, message_id, subscription_id, _replay_of in rows:
            subscription = subscriptions.get(subscription_id)
            if subscription is None or message_id not in messages:
                continue  # unsubscribed (or the topic deleted) since: the row is gone with it
            by_queue.setdefault(subscription.endpoint, []).append(
                Owed(delivery_id, messages[message_id], subscription)
            )
        delivered, failed = [], []
        for queue_arn, batch in by_queue.items():
            ok, errors = _send_to_queue(queue_arn, batch)
            delivered += ok
            failed += errors
        if delivered:
            done = [owed.delivery_id for owed in delivered]
            forgotten = [pk for pk in done if pk not in replays]
            if forgotten:
                delivery_sql.delete(forgotten)
            # A replay stays in the log, delivered, beside the failure it replayed.
            kept = replays.intersection(done)
            if kept:
                Delivery.objects.filter(pk__in=kept).update(
                    status=Delivery.Status.DELIVERED, finished_at=now_ms(), last_error=""
                )
        for owed, error in failed:
            _give_up(owed, error)
    metrics.delivered(delivered)
    return len(rows)


@dataclass
class Owed:
    """One delivery in flight: what a drain or an attempt needs of its row."""

    delivery_id: int
    message: PublishedMessage
    subscription: Subscription


def _send_to_queue(queue_arn, batch):
    """Send a batch to one queue; return (delivered, [(owed, error)])."""
    try:
        queue = queue_service.get_queue_by_arn(queue_arn)
    except RoostError as error:
        return [], [(owed, f"{error.code}: {error.message}") for owed in batch]
    return _send_batch(queue, batch)


def _send_batch(queue, batch):
    """Send a batch to a queue found; return (delivered, [(owed, error)])."""
    entries = [queue_entry(owed.message, owed.subscription, queue) for owed in batch]
    try:
        queue_service.send_messages(queue, entries, sender_id=SNS_SENDER_ID, batch=False)
        return batch, []
    except RoostError:
        pass
    # Something in the batch was refused: send one by one so only the bad ones fail.
    delivered, failed = [], []
    for owed, entry in zip(batch, entries, strict=True):
        try:
            queue_service.send_messages(queue, [entry], sender_id=SNS_SENDER_ID, batch=False)
        except RoostError as error:
            failed.append((owed, f"{error.code}: {error.message}"))
        else:
            delivered.append(owed)
    return delivered, failed


def queue_entry(message, subscription, queue):
    """The SQS message a queue subscriber gets: the envelope, or the raw body and attributes."""
    body = message.body_for("sqs")
    if subscription.raw_message_delivery:
        entry = queue_service.SendEntry(
            body=body, message_attributes=envelopes.raw_attributes(message.attributes)
        )
    else:
        entry = queue_service.SendEntry(
            body=envelopes.notification_text(message, subscription, body)
        )
    if queue.is_fifo:
        entry.group_id = message.group_id or None
        entry.deduplication_id = message.deduplication_id or None
    entry.published = published_event(message, subscription)
    return entry


# Filter verdicts a published event names at most: a topic's first subscriptions, by id.
MAX_VERDICTS = 20


def published_event(message, subscription):
    """The `published` step of the message's lineage in the subscriber's queue: the topic, the
    SNS MessageId, the publisher's key, this subscription and the filter verdicts.

    The verdicts of every subscription of the topic when the publish worked them out (see
    publishing.filter_verdicts), else only this subscription's: it matched.
    """
    topic_arn = subscription.arn.rsplit(":", 1)[0]
    verdicts = getattr(message, "filter_verdicts", None) or {subscription.arn: "matched"}
    return {
        "at": message.published_at,
        "key_id": message.publisher_key_id,
        "topic_arn": topic_arn,
        "sns_message_id": message.message_id,
        "subscription_arn": subscription.arn,
        "filter_verdicts": verdicts,
    }


# Into queues, from the publish itself ------------------------------------------------------------


def deliver_in_publish(rows, messages, subscriptions):
    """Deliver a publish's queue deliveries inside its own transaction; return the rows left owed.

    `rows` are the publish's (subscription id, message id, protocol) deliveries, `messages` and
    `subscriptions` their objects by id. Queue subscribers get their messages in the transaction
    that stores the publish, so both commit together or not at all, with no outbox row, task or
    drain in between. Left for the outbox: other protocols; every delivery when there are more
    than INLINE_QUEUE_DELIVERIES into queues, so one request never holds the write lock long; and
    each one a queue refused, which the drain tries once more before it gives up (to the
    subscription's dead-letter queue), as for every queue delivery. FIFO topics never come here:
    their order into FIFO queues is kept by the drain, one at a time.
    """
    into_queues = [row for row in rows if row[2] == "sqs"]
    if not into_queues or len(into_queues) > INLINE_QUEUE_DELIVERIES:
        return rows
    left, delivered = [row for row in rows if row[2] != "sqs"], []
    by_queue = {}
    for subscription_id, message_id, _protocol in into_queues:
        subscription = subscriptions[subscription_id]
        owed = Owed(None, messages[message_id], subscription)
        by_queue.setdefault(subscription.endpoint, []).append(owed)
    for queue_arn, batch in by_queue.items():
        try:
            queue = queue_service.get_queue_by_arn(queue_arn)
        except RoostError:
            failed = batch
        else:
            done, errors = _send_batch(queue, batch)
            delivered += done
            failed = [owed for owed, _error in errors]
        left += [(owed.subscription.pk, owed.message.pk, "sqs") for owed in failed]
    if delivered:  # counted once after the commit: once per queue took half the commit's time
        transaction.on_commit(functools.partial(metrics.delivered, delivered))
    return left


def forget_queues(rows, subscriptions):
    """Forget the cached queues of these deliveries (one was deleted by another process)."""
    for subscription_id, _message_id, protocol in rows:
        if protocol == "sqs":
            name = queue_service.queue_name_from_arn(subscriptions[subscription_id].endpoint)
            if name:
                queue_service.queue_cache.forget(name)


# To HTTP(S) endpoints and email ----------------------------------------------------------------


def _policy(delivery):
    if delivery.protocol in ("email", "email-json"):
        return EMAIL_POLICY
    subscription = delivery.subscription
    return delivery_policy.effective_policy(
        subscription.topic.delivery_policy, subscription.delivery_policy
    )


def attempt(delivery_ids, slots_reserved=False):
    """Make one attempt at each of these HTTP(S) or email deliveries that is due, side by side.

    Returns {seconds until the next attempt: [delivery ids]} for the ones that will be retried.
    The sends run in threads (they wait on the network, not the CPU); everything that touches
    the database stays on the calling thread. Deliveries to throttled subscriptions take a send
    slot first (`slots_reserved`: they took one already, and this call is their slot's time).
    """
    now = now_ms()
    due = Delivery.objects.filter(
        pk__in=delivery_ids, status=Delivery.Status.PENDING, next_attempt_at__lte=now + 1000
    )
    # The lease: a worker that dies from here on leaves the rows to the sweep, a minute later.
    # Read and lease in one transaction (SQLite's takes the write lock first), so two workers
    # given the same ids never both send.
    with transaction.atomic():
        claimed = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
        rounds = -(-len(claimed) // SEND_THREADS)
        Delivery.objects.filter(pk__in=claimed).update(
            next_attempt_at=now + ATTEMPT_LEASE_MS + rounds * transports.TIMEOUT_SECONDS * 1000,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        return {}
    deliveries = list(
        Delivery.objects.select_related("message", "subscription__topic").filter(pk__in=claimed)
    )
    starts = {}
    if not slots_reserved:
        deliveries, starts = _take_slots(deliveries)
        if not deliveries:
            return {}
    sends = [_paced(_prepared_send(delivery), starts.get(delivery.pk)) for delivery in deliveries]
    if len(sends) == 1:
        outcomes = [sends[0]()]
    else:
        with ThreadPoolExecutor(min(len(sends), SEND_THREADS), "roost-send") as senders:
            outcomes = list(senders.map(lambda send: send(), sends))
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
        for delivery, outcome in zip(deliveries, outcomes, strict=True)
    )
    delivered = [d for d, outcome in zip(deliveries, outcomes, strict=True) if outcome.ok]
    if delivered:
        Delivery.objects.filter(pk__in=[d.pk for d in delivered]).update(
            status=Delivery.Status.DELIVERED, finished_at=now_ms(), last_error=""
        )
        metrics.delivered(delivered)
    retries = {}
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        if not outcome.ok:
            delay = _after_failure(delivery, outcome)
            if delay is not None:
                retries.setdefault(delay, []).append(delivery.pk)
    return retries


def _take_slots(deliveries):
    """Reserve a send slot for each delivery to a throttled HTTP(S) subscription (SNS's
    maxReceivesPerSecond); return (the deliveries to send now, {delivery id: slot start µs}).

    A delivery whose slot starts later than THROTTLE_WAIT_US from now is not sent by this call:
    its attempt is undone and a task due at the slot sends it.
    """
    now = throttle.now_us()
    now_deliveries, starts, later = [], {}, {}
    for delivery in deliveries:
        rate = None
        if delivery.protocol in ("http", "https"):
            rate = _policy(delivery).max_receives_per_second
        if rate is None:
            now_deliveries.append(delivery)
            continue
        start = throttle.reserve(delivery.subscription_id, rate, now)
        if start - now <= THROTTLE_WAIT_US:
            now_deliveries.append(delivery)
            starts[delivery.pk] = start
        else:
            later.setdefault(start, []).append(delivery.pk)
    for start, ids in later.items():
        Delivery.objects.filter(pk__in=ids).update(
            next_attempt_at=start // 1000, attempts=F("attempts") - 1
        )
        dispatch.attempt_in_slot(ids, countdown=(start - throttle.now_us()) / 1_000_000)
    return now_deliveries, starts


def _paced(send, start_us):
    """The send, made to wait for its throttle slot when it has one."""
    if start_us is None:
        return send

    def paced():
        throttle.wait_until(start_us)
        return send()

    return paced


def _after_failure(delivery, outcome):
    """Schedule the next attempt and return its delay, or give up and return None."""
    policy = _policy(delivery)
    if outcome.permanent or delivery.attempts >= policy.max_attempts:
        _give_up(Owed(delivery.pk, delivery.message, delivery.subscription), outcome.error)
        return None
    delay = policy.retry_delays()[delivery.attempts - 1]
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now_ms() + int(delay * 1000), last_error=outcome.error
    )
    return delay


def _prepared_send(delivery):
    """Render what to send now, on this thread; return the send itself, to run on any thread."""
    message, subscription = delivery.message, delivery.subscription
    if delivery.protocol in ("http", "https"):
        body = message.body_for(delivery.protocol)
        envelope = envelopes.notification(message, subscription, body)
        content_type = _policy(delivery).header_content_type
        headers = envelopes.http_headers(envelope, subscription, content_type)
        text = body if subscription.raw_message_delivery else envelopes.dumps(envelope)
        return functools.partial(transports.post, subscription.endpoint, text, headers)
    subject, body, sender = envelopes.email_notification(message, subscription)
    headers = {
        "List-Unsubscribe": f"<{envelopes.unsubscribe_page_url(subscription)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return functools.partial(
        transports.send_email, subscription.endpoint, subject, body, sender, headers
    )


def _give_up(owed, error):
    """Retries are over: to the subscription's dead-letter queue if it has one, else failed."""
    status = Delivery.Status.FAILED
    subscription = owed.subscription
    if subscription.redrive_policy:
        try:
            _dead_letter(owed, error)
            status = Delivery.Status.DEAD_LETTERED
        except (RoostError, ValueError) as dead_letter_error:
            error = f"{error}; the dead-letter queue refused it too: {dead_letter_error}"
    logger.warning("delivery %s to %s failed: %s", owed.delivery_id, subscription.endpoint, error)
    Delivery.objects.filter(pk=owed.delivery_id).update(
        status=status, finished_at=now_ms(), last_error=error
    )
    metrics.delivered([owed], "failed")


def _dead_letter(owed, error):
    """Put the undeliverable message in the DLQ, as SNS does, with why it failed."""
    from notifications.service import dead_letter_queue_arn  # noqa: PLC0415 (no import cycle)

    subscription = owed.subscription
    queue = queue_service.get_queue_by_arn(
        dead_letter_queue_arn(subscription.redrive_policy, subscription.topic.fifo_topic)
    )
    entry = queue_entry(owed.message, subscription, queue)
    code, _, text = error.partition(": ")
    entry.message_attributes = {
        **entry.message_attributes,
        "ErrorCode": {"DataType": "String", "StringValue": (code or "DeliveryFailed")[:256]},
        "ErrorMessage": {"DataType": "String", "StringValue": (text or error or "failed")[:1024]},
    }
    queue_service.send_messages(queue, [entry], sender_id=SNS_SENDER_ID, batch=False)


def replay(delivery, requested_by=""):
    """Deliver a failed or dead-lettered delivery's message again, as a delivery of its own;
    return that new delivery (a pending one is only nudged, and returned as it is).

    The replay names the delivery it replays and who asked, so the log keeps both: the failure
    with its attempts, and the replay with attempts numbered from 1. A delivery is replayed once;
    a replay that fails is replayed in turn. The attempt is dispatched once the caller's
    transaction commits, so every door that replays gets the same outcome.
    """
    if delivery.status == Delivery.Status.DELIVERED:
        raise InvalidParameter(
            "Invalid parameter: only failed or dead-lettered deliveries can be replayed"
        )
    replayed = delivery
    if delivery.status != Delivery.Status.PENDING:
        with transaction.atomic():
            # Locked, so two replays of one delivery make one new delivery.
            locked = Delivery.objects.select_for_update().filter(pk=delivery.pk).first()
            if locked is None:
                raise NotFound("Delivery does not exist")
            earlier = Delivery.objects.filter(replay_of=locked).order_by("-id").first()
            if earlier is not None:
                raise InvalidParameter(
                    f"Invalid parameter: delivery {locked.pk} was replayed already, as delivery "
                    f"{earlier.pk}; replay that one if it failed"
                )
            now = now_ms()
            replayed = Delivery.objects.create(
                subscription_id=locked.subscription_id,
                message_id=locked.message_id,
                protocol=locked.protocol,
                status=Delivery.Status.PENDING,
                next_attempt_at=now,
                created_at=now,
                replay_of=locked,
                replayed_by=requested_by[:150],
            )
            audit_log.record(
                "ReplayDelivery",
                "subscription",
                locked.subscription.arn,
                topic=locked.subscription.topic.name,
                delivery=locked.pk,
                replay=replayed.pk,
            )
    if replayed.protocol == "sqs":
        transaction.on_commit(dispatch.queue_deliveries)
    else:
        transaction.on_commit(functools.partial(dispatch.attempt, [replayed.pk]))
    return replayed


# Subscription confirmations --------------------------------------------------------------------


def send_confirmation(subscription_id, retry=0, requested_by=""):
    """Send a pending subscription its confirmation and log the attempt; return whether it went
    out. `retry` counts the automatic retries before this one; `requested_by` is who asked for
    it to be sent again, if anyone did."""
    subscription = (
        Subscription.objects.select_related("topic")
        .filter(pk=subscription_id, status=Subscription.Status.PENDING)
        .first()
    )
    if subscription is None:
        return True
    now = now_ms()
    if subscription.protocol in ("http", "https"):
        envelope = envelopes.confirmation(subscription, str(uuid.uuid4()), now)
        headers = envelopes.http_headers(envelope, subscription, "text/plain; charset=UTF-8")
        outcome = transports.post(subscription.endpoint, envelopes.dumps(envelope), headers)
    elif subscription.protocol == "email-json":
        envelope = envelopes.confirmation(subscription, str(uuid.uuid4()), now)
        subject, _body, sender = envelopes.email_confirmation(subscription)
        outcome = transports.send_email(
            subscription.endpoint, subject, envelopes.dumps(envelope), sender
        )
    else:
        subject, body, sender = envelopes.email_confirmation(subscription)
        outcome = transports.send_email(subscription.endpoint, subject, body, sender)
    # Sent or not, the token's clock starts: a later Subscribe call sends a fresh one.
    Subscription.objects.filter(pk=subscription.pk, confirmation_sent_at=0).update(
        confirmation_sent_at=now
    )
    _log_confirmation(subscription, now, outcome, retry, requested_by)
    if not outcome.ok:
        logger.warning(
            "confirmation to %s failed: %s", subscription.endpoint, outcome.error or "refused"
        )
    return outcome.ok


def _log_confirmation(subscription, now, outcome, retry, requested_by):
    """Record one confirmation attempt, numbered, keeping the latest CONFIRMATION_ATTEMPTS_KEPT."""
    with transaction.atomic():
        counted = Subscription.objects.filter(pk=subscription.pk).update(
            confirmation_attempts=F("confirmation_attempts") + 1
        )
        if not counted:
            return  # unsubscribed meanwhile
        # The row is locked by the UPDATE until this commits: the number is this attempt's.
        number = (
            Subscription.objects.filter(pk=subscription.pk)
            .values_list("confirmation_attempts", flat=True)
            .get()
        )
        ConfirmationAttempt.objects.create(
            subscription_id=subscription.pk,
            number=number,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            retry=retry,
            requested_by=requested_by[:150],
        )
        oldest_kept = (
            ConfirmationAttempt.objects.filter(subscription_id=subscription.pk)
            .order_by("-id")
            .values_list("id", flat=True)[
                CONFIRMATION_ATTEMPTS_KEPT - 1 : CONFIRMATION_ATTEMPTS_KEPT
            ]
        )
        ConfirmationAttempt.objects.filter(
            subscription_id=subscription.pk, id__lt=Subquery(oldest_kept)
        ).delete()


def send_unsubscribe_confirmation(removed_id):
    """Tell a removed HTTP(S) subscription's endpoint, as SNS does; return whether it went out."""
    removed = (
        RemovedSubscription.objects.select_related("topic")
        .filter(pk=removed_id, topic__isnull=False)
        .first()
    )
    if removed is None:
        return True  # restored, or its topic deleted, since
    envelope = envelopes.unsubscribe_confirmation(removed)
    headers = envelopes.http_headers(envelope, removed, "text/plain; charset=UTF-8")
    outcome = transports.post(removed.endpoint, envelopes.dumps(envelope), headers)
    # As for confirmations: the task retries a failure, the sweep only what never went out.
    RemovedSubscription.objects.filter(pk=removed.pk, sent_at=0).update(sent_at=now_ms())
    if not outcome.ok:
        logger.warning(
            "unsubscribe confirmation to %s failed: %s",
            removed.endpoint,
            outcome.error or "refused",
        )
    return outcome.ok


def unsent_unsubscribe_confirmations(margin_ms=STALL_MARGIN_MS):
    """Removed subscriptions whose UnsubscribeConfirmation task was lost."""
    return list(
        RemovedSubscription.objects.filter(
            sent_at=0, unsubscribed_at__lt=now_ms() - max(margin_ms, STALL_MARGIN_MS)
        ).values_list("pk", flat=True)
    )


# Sweeping ------------------------------------------------------------------------------------


def stalled_work(margin_ms=STALL_MARGIN_MS):
    """What lost its task: (any queue deliveries overdue?, overdue HTTP/email delivery ids,
    subscriptions whose confirmation never went out)."""
    now = now_ms()
    overdue = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lt=now - margin_ms
    ).order_by()
    queues_overdue = overdue.filter(protocol="sqs").exists()
    # Handed out again as due now: later sweeps leave them alone for the margin, and hand them
    # out once more only if this task is lost too. The rest of a large backlog waits for the
    # next sweep, SWEEP_BATCH at a time.
    with transaction.atomic():
        others = list(
            overdue.filter(protocol__in=OUTBOUND_PROTOCOLS)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if others:
            Delivery.objects.filter(pk__in=others).update(next_attempt_at=now)
    # A delivery run twice is harmless, a confirmation sent twice reaches its subscriber twice:
    # only those surely lost are sent again.
    unconfirmed = list(
        Subscription.objects.filter(
            status=Subscription.Status.PENDING,
            confirmation_sent_at=0,
            created_at__lt=_datetime(now - max(margin_ms, STALL_MARGIN_MS)),
        )
        .order_by()  # by id, SQLite would walk the table rather than subscription_unsent_idx
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return queues_overdue, others, unconfirmed


def _datetime(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def prune_deliveries(after=None, deadline=None, now=None):
    """Forget finished deliveries past their retention, with their attempts (and their messages,
    if nothing else owes them), oldest first, a batch per statement.

    Returns the (finished_at, id) to go on after if it stopped at `deadline`, else None.
    """
    now = now or now_ms()
    while True:
        started = time.monotonic()
        rows = delivery_sql.finished_before(now - LOG_RETENTION_MS, after, SWEEP_BATCH)
        if not rows:
            return None
        ids = [row[0] for row in rows]
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=ids).delete()
            delivery_sql.delete(ids)
            delivery_sql.delete_unowed_messages(
                {row[1] for row in rows}, now - MESSAGE_RETENTION_MS
            )
        last_id, _message_id, last_finished = rows[-1]
        after = [last_finished, last_id]
        if len(rows) < SWEEP_BATCH:
            return None
        if _pause(started, deadline):
            return after


def prune_messages(after=None, deadline=None, now=None):
    """Forget published messages past their retention that no delivery owes any more, oldest
    first, a batch per statement; return the (published_at, id) to go on after if it stopped at
    `deadline`, else None."""
    now = now or now_ms()
    while True:
        started = time.monotonic()
        rows = delivery_sql.published_before(now - MESSAGE_RETENTION_MS, after, SWEEP_BATCH)
        if not rows:
            return None
        delivery_sql.delete_unowed_messages([row[0] for row in rows], now - MESSAGE_RETENTION_MS)
        last_id, last_published = rows[-1]
        after = [last_published, last_id]
        if len(rows) < SWEEP_BATCH:
            return None
        if _pause(started, deadline):
            return after


def _pause(started, deadline):
    """Between two batches of a prune: let waiting writers in; return whether time is up.

    SQLite has one write lock and its waiters poll for it, so the prune pauses as long as the
    batch took; PostgreSQL locks only the rows deleted.
    """
    if deadline is not None and time.monotonic() > deadline:
        return True
    if connection.vendor == "sqlite":
        time.sleep(time.monotonic() - started)
    return False


def prune(now=None):
    """Forget what the sweep tidies every run (the batched prunes above run on their own)."""
    now = now or now_ms()
    # Past three days, an UnsubscribeConfirmation's token no longer restores anything.
    RemovedSubscription.objects.filter(unsubscribed_at__lt=now - RESTORE_WINDOW_MS).delete()


def delivery_log(subscription, failed_only=False):
    """A subscription's deliveries, newest first, with their attempts (queue deliveries leave
    rows only when they fail: their messages are the record)."""
    deliveries = Delivery.objects.filter(subscription=subscription).prefetch_related(
        "attempt_log", "replays"
    )
    if failed_only:
        deliveries = deliveries.filter(
            status__in=[Delivery.Status.FAILED, Delivery.Status.DEAD_LETTERED]
        )
    return deliveries.order_by("-id")
