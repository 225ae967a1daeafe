"""Celery tasks for topics: thin wrappers around notifications.delivery.

Every task is idempotent (it acts only on rows still pending and due) and acks late, so running
one twice, or again after a worker died mid-way, delivers nothing twice that it can avoid.
"""

import time

from celery import shared_task
from celery.signals import worker_ready

from notifications import activity, delivery, dispatch, service

# A prune works this long, then hands over, so it holds a worker slot for seconds at most.
PRUNE_RUN_SECONDS = 5


@shared_task(acks_late=True, ignore_result=True)
def deliver_to_queues():
    delivery.deliver_to_queues()


@shared_task(acks_late=True, ignore_result=True)
def attempt_deliveries(delivery_ids):
    """Attempt HTTP(S)/email deliveries side by side; schedule the retries they ask for."""
    for delay, retry_ids in delivery.attempt(delivery_ids).items():
        dispatch.attempt(retry_ids, countdown=delay)


@shared_task(acks_late=True, ignore_result=True)
def attempt_deliveries_in_slot(delivery_ids):
    """Attempt throttled deliveries at the send slots they reserved; schedule their retries."""
    for delay, retry_ids in delivery.attempt(delivery_ids, slots_reserved=True).items():
        dispatch.attempt(retry_ids, countdown=delay)


@shared_task(acks_late=True, ignore_result=True)
def send_confirmation(subscription_id, retry=0, requested_by=""):
    if delivery.send_confirmation(subscription_id, retry, requested_by):
        return
    if retry < len(delivery.CONFIRMATION_RETRY_DELAYS):
        dispatch.confirmation(
            subscription_id, retry + 1, countdown=delivery.CONFIRMATION_RETRY_DELAYS[retry]
        )


@shared_task(acks_late=True, ignore_result=True)
def send_unsubscribe_confirmation(removed_id, retry=0):
    if delivery.send_unsubscribe_confirmation(removed_id):
        return
    if retry < len(delivery.CONFIRMATION_RETRY_DELAYS):
        dispatch.unsubscribe_confirmation(
            removed_id, retry + 1, countdown=delivery.CONFIRMATION_RETRY_DELAYS[retry]
        )


@shared_task(acks_late=True, ignore_result=True)
def sweep_deliveries(margin_ms=delivery.STALL_MARGIN_MS):
    """Re-dispatch work whose task was lost, and forget what is past its retention."""
    queues_overdue, delivery_ids, subscription_ids = delivery.stalled_work(margin_ms)
    if queues_overdue:
        delivery.deliver_to_queues()
    dispatch.attempt(delivery_ids)
    for subscription_id in subscription_ids:
        dispatch.confirmation(subscription_id)
    for removed_id in delivery.unsent_unsubscribe_confirmations(margin_ms):
        dispatch.unsubscribe_confirmation(removed_id)
    delivery.prune()


@shared_task(acks_late=True, ignore_result=True)
def prune_deliveries(phase="deliveries", after=None):
    """Forget finished deliveries, then messages, past their retention; after PRUNE_RUN_SECONDS
    hand over to a fresh run that goes on from where this one stopped."""
    deadline = time.monotonic() + PRUNE_RUN_SECONDS
    if phase == "deliveries":
        after = delivery.prune_deliveries(after, deadline)
        if after is not None:
            prune_deliveries.apply_async(("deliveries", after), countdown=1)
            return
        phase = "messages"
    after = delivery.prune_messages(after, deadline)
    if after is not None:
        prune_deliveries.apply_async(("messages", after), countdown=1)


@shared_task(acks_late=True, ignore_result=True)
def evaluate_alarms():
    """Evaluate every alarm once a minute; roll finished hours of topics up, prune old ones."""
    service.evaluate_alarms()
    activity.record_topic_history()


@worker_ready.connect
def _sweep_on_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) picks up what was left at once.

    Every pending delivery that is due, not only those overdue by the sweep's margin: the tasks of
    a worker killed a moment ago are lost now, and running a delivery twice is harmless.
    """
    dispatch.sweep(margin_ms=0)
