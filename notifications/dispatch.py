"""Hand committed work to Celery without ever failing the request that committed it.

Called from `transaction.on_commit`: the rows are already safe, so a broker that is down only
delays delivery until the sweep finds the rows again (notifications.delivery.stalled_work).
"""

import logging
import time

logger = logging.getLogger("roost.deliveries")

# Reaching a broker that is down takes Celery seconds (its connection timeout, 4 s, and a retry),
# and that time is the request's. After a failure, hand nothing over for this long, then let one
# call try again while the others keep skipping: the sweep re-sends whatever was skipped.
BROKER_DOWN_SECONDS = 5.0
# HTTP(S)/email deliveries one task attempts together, at most.
ATTEMPT_BATCH = 100
_skip_until = 0.0


def _send(task, *args, countdown=None):
    global _skip_until
    now = time.monotonic()
    if now < _skip_until:
        return
    if _skip_until:
        _skip_until = now + BROKER_DOWN_SECONDS  # this call probes; the others skip meanwhile
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except Exception as error:  # any broker failure: the sweep re-dispatches from the rows
        _skip_until = time.monotonic() + BROKER_DOWN_SECONDS
        logger.warning(
            "could not queue %s%r (%s); the sweep will retry, and nothing is queued for %.0f s",
            task.name,
            args,
            error,
            BROKER_DOWN_SECONDS,
        )
    else:
        _skip_until = 0.0


def published(deliveries):
    """Start on a publish's deliveries, given as (id, protocol): a drain for those into queues,
    attempt tasks for the rest.

    Two tasks on two Celery queues (see CELERY_TASK_ROUTES), so webhooks never delay queues.
    """
    if any(protocol == "sqs" for _, protocol in deliveries):
        queue_deliveries()
    attempt(delivery_id for delivery_id, protocol in deliveries if protocol != "sqs")


def queue_deliveries():
    from notifications import tasks  # noqa: PLC0415 (tasks import the service, which imports us)

    _send(tasks.deliver_to_queues)


def attempt(delivery_ids, countdown=None):
    """Attempt these HTTP(S)/email deliveries (now, or in `countdown` seconds), in a task for
    every ATTEMPT_BATCH of them."""
    from notifications import tasks  # noqa: PLC0415

    delivery_ids = list(delivery_ids)
    for start in range(0, len(delivery_ids), ATTEMPT_BATCH):
        batch = delivery_ids[start : start + ATTEMPT_BATCH]
        _send(tasks.attempt_deliveries, batch, countdown=countdown)


def attempt_in_slot(delivery_ids, countdown):
    """Attempt deliveries whose throttle slots are reserved, when the slots start."""
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.attempt_deliveries_in_slot, list(delivery_ids), countdown=max(0, countdown))


def confirmation(subscription_id, retry=0, countdown=None, requested_by=""):
    """Send a subscription its confirmation; `requested_by` names who asked for it again."""
    from notifications import tasks  # noqa: PLC0415

    extra = [requested_by] if requested_by else []
    _send(tasks.send_confirmation, subscription_id, retry, *extra, countdown=countdown)


def unsubscribe_confirmation(removed_id, retry=0, countdown=None):
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.send_unsubscribe_confirmation, removed_id, retry, countdown=countdown)


def sweep(margin_ms=None):
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.sweep_deliveries, *([] if margin_ms is None else [margin_ms]))
