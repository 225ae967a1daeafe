"""Hand committed work to Celery without ever failing the request that committed it.

Called from `transaction.on_commit`: the rows are already safe, so a broker that is down only
delays delivery until the sweep finds the rows again (notifications.delivery.stalled_work).
"""

import logging

logger = logging.getLogger("roost.deliveries")


def _send(task, *args, countdown=None):
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except Exception as error:  # any broker failure: the sweep re-dispatches from the rows
        logger.warning("could not queue %s%r (%s); the sweep will retry", task.name, args, error)


def published(message_ids):
    """Deliver what these newly published messages owe."""
    from notifications import tasks  # noqa: PLC0415 (tasks import the service, which imports us)

    _send(tasks.deliver_published, list(message_ids))


def queue_deliveries():
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.deliver_to_queues)


def attempt(delivery_id, countdown=None):
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.attempt_delivery, delivery_id, countdown=countdown)


def confirmation(subscription_id, retry=0, countdown=None):
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.send_confirmation, subscription_id, retry, countdown=countdown)


def sweep(margin_ms=None):
    from notifications import tasks  # noqa: PLC0415

    _send(tasks.sweep_deliveries, *([] if margin_ms is None else [margin_ms]))
