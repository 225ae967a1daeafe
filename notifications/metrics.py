"""SNS's Prometheus metrics: messages published and deliveries by topic, counted where the
publish and the delivery decide (multiprocess mode: see queues.metrics). The same events are
counted for the topics' history (notifications.activity), so the two agree."""

from collections import Counter as Tally

from prometheus_client import Counter

from notifications import activity

MESSAGES_PUBLISHED = Counter(
    "roost_topic_messages_published",
    "Messages accepted by Publish(Batch), any door.",
    ["topic"],
)
DELIVERIES = Counter(
    "roost_topic_deliveries",
    "Deliveries to subscriptions: delivered, failed for good (dead-lettered or not), or "
    "filtered_out by the subscription's filter policy.",
    ["topic", "protocol", "outcome"],
)


def published(topic, accepted, fresh, plan, owed):
    """Count a publish: `accepted` messages, and for the `fresh` ones (not FIFO duplicates) each
    subscription of the `plan` whose filter left it out of `owed` (subscription, message, protocol)."""
    if accepted:
        MESSAGES_PUBLISHED.labels(topic.name).inc(accepted)
        activity.count(topic.pk, published=accepted)
    if not fresh or not plan:
        return
    offered = Tally(subscription.protocol for subscription, _policy in plan)
    matched = Tally(protocol for _subscription, _message, protocol in owed)
    for protocol, subscriptions in offered.items():
        filtered = subscriptions * len(fresh) - matched[protocol]
        if filtered:
            DELIVERIES.labels(topic.name, protocol, "filtered_out").inc(filtered)
            activity.count(topic.pk, filtered_out=filtered)


def delivered(deliveries, outcome="delivered"):
    """Count deliveries (anything with a `subscription` whose `topic` is loaded) as `outcome`."""
    tally = Tally(
        (item.subscription.topic.name, item.subscription.topic_id, item.subscription.protocol)
        for item in deliveries
    )
    for (topic, topic_id, protocol), count in tally.items():
        DELIVERIES.labels(topic, protocol, outcome).inc(count)
        activity.count(topic_id, **{outcome: count})
