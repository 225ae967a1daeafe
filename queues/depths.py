"""Depths and rates of many queues at once: the read model behind pages that list queues."""

from dataclasses import dataclass

from queues import activity, service
from queues.models import Queue


@dataclass(frozen=True)
class QueueStats:
    """A queue's depth and the send time (ms) of its oldest unexpired message."""

    visible: int = 0
    in_flight: int = 0
    delayed: int = 0
    oldest_sent_at: int | None = None

    @property
    def total(self):
        return self.visible + self.in_flight + self.delayed


EMPTY = QueueStats()


def queue_stats(queue_ids=None):
    """{queue pk: QueueStats} for these queues (None: all).

    service.queue_depths walks the receive claim's index per queue rather than the
    messages: on PostgreSQL with 200 queues and 1,000,000 messages that is ~120-160 ms, where a
    GROUP BY over the table took ~520 ms (docs/benchmarks.md).
    """
    return {
        queue_id: QueueStats(visible, in_flight, delayed, oldest)
        for queue_id, (visible, in_flight, delayed, oldest) in service.queue_depths(
            queue_ids
        ).items()
    }


def queue_rates(queue_ids):
    """{queue pk: activity.Rates (.sent, .received, .deleted) in the last minute}; queues without
    traffic get zeros. Any number of queues costs one query (activity.rates)."""
    queue_ids = list(queue_ids)
    counted = activity.rates(queue_ids)
    return {pk: counted.get(pk, activity.NO_RATES) for pk in queue_ids}


def depths_by_name():
    """{queue name: (visible, in flight, delayed, oldest sent_at ms or None)} of every queue.

    What /metrics reports: one pass over the claim index per queue (service.queue_depths) and
    one over the queue table for the names.
    """
    depths = service.queue_depths()
    names = dict(Queue.objects.order_by().values_list("id", "name"))
    # A queue created or deleted between the two reads is left out of this scrape.
    return {names[pk]: depth for pk, depth in depths.items() if pk in names}
