"""SQS's Prometheus metrics: messages counted by queue where the service moves them, and the
depth gauges, read from the depth read model when /metrics is scraped.

The counters are prometheus_client's, in its multiprocess mode (the project sets the directory
before anything imports it): each process adds to files of its own and a scrape sums them all.
"""

import time

from prometheus_client import Counter

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

MESSAGES_EXPIRED = Counter(
    "roost_messages_expired",
    "Messages deleted by the retention sweep, past the queue's MessageRetentionPeriod.",
    ["queue"],
)


def count(counter, queue_name, messages):
    """Add `messages` to a by-queue counter (nothing for 0: no series for a queue never used)."""
    if messages:
        counter.labels(queue_name).inc(messages)


# The depth gauges: (name, help) in the order of a depths tuple's counts, then the oldest's age.
DEPTH_GAUGES = (
    (
        "roost_queue_visible_messages",
        "Messages available to ReceiveMessage (ApproximateNumberOfMessages).",
    ),
    (
        "roost_queue_in_flight_messages",
        "Messages received and not yet deleted or visible again "
        "(ApproximateNumberOfMessagesNotVisible).",
    ),
    (
        "roost_queue_delayed_messages",
        "Messages sent with a delay that has not passed (ApproximateNumberOfMessagesDelayed).",
    ),
    (
        "roost_queue_oldest_message_age_seconds",
        "Age of the queue's oldest message, in any state; 0 when the queue is empty.",
    ),
)


def render_depths(depths, now_ms=None):
    """The depth gauges of every queue in Prometheus's text format, read at scrape time.

    `depths` is {queue name: (visible, in flight, delayed, oldest sent_at ms or None)}
    (queues.depths.depths_by_name). Written as text rather than through prometheus_client's
    metric families: at 10,000 queues those cost ten times as much.
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    rows = [
        (
            escape_label_value(name),
            (visible, in_flight, delayed, 0 if oldest is None else max(now_ms - oldest, 0) / 1000),
        )
        for name, (visible, in_flight, delayed, oldest) in depths.items()
    ]
    lines = []
    for index, (gauge, help_text) in enumerate(DEPTH_GAUGES):
        lines.append(f"# HELP {gauge} {help_text}\n# TYPE {gauge} gauge\n")
        lines += [f'{gauge}{{queue="{name}"}} {values[index]}\n' for name, values in rows]
    return "".join(lines)


def escape_label_value(value):
    """A label value as the text format writes it (backslash, newline and double quote)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
