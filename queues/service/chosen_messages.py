"""Acting on chosen messages without a receipt (the console): delete one, or redrive some of a
dead-letter queue's now."""

from django.db import transaction

from queues import metrics
from queues.errors import InvalidParameterValue, MissingParameter, QueueDoesNotExist
from queues.models import Message, Queue, now_ms
from queues.service.redrive import _check_redrive_queues, _redrive
from queues.service.sending import retention_cutoff

# The console works on what peek showed: messages named by their database id (PeekedMessage.pk),
# which stays the same for a message's whole life, moves included, and is never reused. Looking
# messages up by it costs one primary-key probe each; the Message table keeps no MessageId index
# (every index costs each send).


def delete_message_by_id(queue, message_id):
    """Delete one message of the queue, whatever its state; return whether it was still there."""
    deleted, _ = Message.objects.filter(pk=message_id, queue_id=queue.id).delete()
    metrics.count(metrics.MESSAGES_DELETED, queue.name, deleted)
    return deleted > 0


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
        return sum(_redrive(ids, source.id, target, now) for target, ids in by_destination.items())
