"""Queue tags: TagQueue, UntagQueue, ListQueueTags and the rules a queue's tags must keep."""

from django.db import transaction

from audit import log as audit_log
from queues.errors import InvalidParameterValue, MissingParameter, QueueDoesNotExist
from queues.models import Queue
from queues.service.lookup import _locked_queue, queue_cache


def _validate_tags(tags):
    if len(tags) > 50:
        raise InvalidParameterValue("Too many tags added for queue. Tag limit per queue is 50.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise InvalidParameterValue(f"Tag key {key!r} is invalid.")
        if len(value) > 256:
            raise InvalidParameterValue(f"Tag value for key {key!r} is longer than 256 characters.")


def tag_queue(queue, tags):
    if not tags:
        raise MissingParameter("The request must contain the parameter Tags.")
    with transaction.atomic():
        queue = _locked_queue(queue)
        merged = {**queue.tags, **tags}
        _validate_tags(merged)
        queue.tags = merged
        queue.save(update_fields=["tags", "modified_at"])
        audit_log.record("TagQueue", "queue", queue.name, tags=tags)
    queue_cache.forget(queue.name)


def untag_queue(queue, keys):
    if not keys:
        raise MissingParameter("The request must contain the parameter TagKeys.")
    with transaction.atomic():
        queue = _locked_queue(queue)
        queue.tags = {key: value for key, value in queue.tags.items() if key not in set(keys)}
        queue.save(update_fields=["tags", "modified_at"])
        audit_log.record("UntagQueue", "queue", queue.name, tag_keys=list(keys))
    queue_cache.forget(queue.name)


def list_queue_tags(queue):
    tags = Queue.objects.filter(pk=queue.pk).values_list("tags", flat=True).first()
    if tags is None:
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist()
    return dict(tags)
