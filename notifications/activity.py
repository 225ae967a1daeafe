"""How busy each topic is: messages published, deliveries delivered, failed and filtered out.

Counted by the same per-process Recorder as the queues' activity (queues.activity): a dict update
where notifications.metrics counts the same events for Prometheus, written about once a second by
a thread of each process into TopicActivity minutes. Beat rolls finished hours up into
TopicHourlyActivity and prunes both (queues.history).
"""

from notifications.models import TopicActivity, TopicHourlyActivity
from queues import activity, history

TOPIC_COLUMNS = ("published", "delivered", "failed", "filtered_out")
topic_counts = activity.Recorder("topic activity", TopicActivity, TOPIC_COLUMNS)
TOPICS = history.Family(TopicActivity, TopicHourlyActivity, counts=TOPIC_COLUMNS)


def count(topic_id, published=0, delivered=0, failed=0, filtered_out=0):
    """Count on a topic once the caller's transaction (if any) commits."""
    topic_counts.count(topic_id, published, delivered, failed, filtered_out)


def flush():
    """Write what this process counted for topics; return how many (topic, period) rows."""
    return topic_counts.flush()


def record_topic_history(minute=None):
    """Beat's minute for topics: roll finished hours up, prune old minutes and hours."""
    minute = minute or activity.current_minute()
    history.roll_up(TOPICS, minute)
    history.prune(TOPICS, minute)
