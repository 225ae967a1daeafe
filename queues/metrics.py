"""SQS's Prometheus metrics: messages counted by queue where the service moves them, and the
depth gauges, read from the depth read model when /metrics is scraped.

The counters are prometheus_client's, in its multiprocess mode (the project sets the directory
before anything imports it): each process adds to files of its own and a scrape sums them all.
"""

import time

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

MESSAGES_SENT = Counter(
    "roost_messages_sent", "Messages accepted by SendMessage(Batch), any door.", ["queue"]
)
MESSAGES_RECEIVED = Counter(
    "roost_messages_received", "Messages handed out by ReceiveMessage, any door.", ["queue"]
)
MESSAGES_DELETED = Counter(
    "roost_messages_deleted",
    "Messages deleted by DeleteMessage(Batch) or the console (not purges or expiry).",
    ["queue"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "roost_messages_dead_lettered",
    "Messages moved to the queue's dead-letter queue after maxReceiveCount receives.",
    ["queue"],
)


def count(counter, queue_name, messages):
    """Add `messages` to a by-queue counter (nothing for 0: no series for a queue never used)."""
    if messages:
        counter.labels(queue_name).inc(messages)


class QueueDepthCollector:
    """The depth gauges of every queue, computed when collected.

    `depths` is {queue name: (visible, in flight, delayed, oldest sent_at ms or None)}, read
    before the scrape renders (see console.metrics), so a database error never reaches here.
    """

    def __init__(self, depths, now_ms=None):
        self.depths = depths
        self.now_ms = now_ms if now_ms is not None else int(time.time() * 1000)

    def collect(self):
        families = [
            GaugeMetricFamily(
                "roost_queue_visible_messages",
                "Messages available to ReceiveMessage (ApproximateNumberOfMessages).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "roost_queue_in_flight_messages",
                "Messages received and not yet deleted or visible again "
                "(ApproximateNumberOfMessagesNotVisible).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "roost_queue_delayed_messages",
                "Messages sent with a delay that has not passed (ApproximateNumberOfMessagesDelayed).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "roost_queue_oldest_message_age_seconds",
                "Age of the queue's oldest message, in any state; 0 when the queue is empty.",
                labels=["queue"],
            ),
        ]
        visible, in_flight, delayed, age = families
        for name, (n_visible, n_in_flight, n_delayed, oldest) in self.depths.items():
            labels = [name]
            visible.add_metric(labels, n_visible)
            in_flight.add_metric(labels, n_in_flight)
            delayed.add_metric(labels, n_delayed)
            age.add_metric(labels, 0 if oldest is None else max(self.now_ms - oldest, 0) / 1000)
        return families
