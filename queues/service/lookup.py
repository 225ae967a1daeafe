"""Finding a queue: by name (through the one-second queue cache), by URL or by ARN, or its row
locked for a read-modify-write."""

import time
from urllib.parse import unquote, urlsplit

from django.conf import settings

from queues.errors import InvalidAddress, MissingParameter, QueueDoesNotExist
from queues.models import Queue


class _QueueCache:
    """Name -> Queue for one second, so the hot path skips a lookup per request.

    SQS itself takes up to a minute to propagate attribute changes; a second is well inside that,
    and changes made in this process invalidate at once.
    """

    ttl = 1.0

    def __init__(self):
        self._entries = {}

    def get(self, name):
        entry = self._entries.get(name)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        queue = Queue.objects.filter(name=name).first()
        if queue is None:
            self._entries.pop(name, None)
            raise QueueDoesNotExist()
        self._entries[name] = (queue, time.monotonic() + self.ttl)
        return queue

    def forget(self, name):
        self._entries.pop(name, None)

    def clear(self):
        self._entries.clear()


queue_cache = _QueueCache()


def get_queue(name):
    """The queue with this name, or QueueDoesNotExist."""
    return queue_cache.get(name)


def queue_name_from_url(url):
    """Take the queue name from a queue URL's /<account>/<name> path, whatever its host."""
    if not url:
        raise MissingParameter("The request must contain the parameter QueueUrl.")
    try:
        path = urlsplit(url).path if "://" in url else url
    except ValueError:  # e.g. an unclosed IPv6 bracket in the host
        raise InvalidAddress(f"The address {url} is not valid for this endpoint.") from None
    parts = [unquote(part) for part in path.split("/") if part]
    if len(parts) == 2:
        return parts[1]
    if len(parts) == 1 and "://" not in url:
        return parts[0]
    raise InvalidAddress(f"The address {url} is not valid for this endpoint.")


def get_queue_by_url(url):
    return get_queue(queue_name_from_url(url))


def queue_name_from_arn(arn):
    """The queue name from an SQS ARN of this account, or None if it is not one."""
    parts = str(arn).split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        return None
    if parts[4] != settings.ROOST_ACCOUNT_ID:
        return None
    return parts[5]


def get_queue_by_arn(arn):
    name = queue_name_from_arn(arn)
    if name is None:
        raise QueueDoesNotExist()
    return get_queue(name)


def _locked_queue(queue):
    """The queue's row, fresh and locked until the transaction ends, or QueueDoesNotExist.

    Every read-modify-write of a queue row takes this lock (on SQLite, the immediate transaction's
    write lock does the same), so a concurrent tag, purge or attribute change is never undone.
    """
    locked = Queue.objects.select_for_update().filter(pk=queue.pk).first()
    if locked is None:
        # Deleted by another request since this process cached it.
        queue_cache.forget(queue.name)
        raise QueueDoesNotExist()
    return locked
