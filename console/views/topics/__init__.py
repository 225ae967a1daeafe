"""A topic's page, split by what each part changes; console.urls and console.live use these names."""

from console.views.topics.attributes import attribute_row, edit_attribute
from console.views.topics.page import (
    confirmation_region,
    delivery_log,
    live_fragments,
    subscription_panel,
    subscriptions_region,
    topic_chart_region,
    topic_page,
    topic_stats_region,
)
from console.views.topics.publish_and_delete import delete_topic, publish
from console.views.topics.subscriptions import (
    replay_delivery,
    resend_confirmation,
    save_filter_policy,
    save_redrive_policy,
    set_raw_delivery,
    subscribe,
    test_filter_policy,
    unsubscribe,
)

__all__ = [
    "attribute_row",
    "confirmation_region",
    "delete_topic",
    "delivery_log",
    "edit_attribute",
    "live_fragments",
    "publish",
    "replay_delivery",
    "resend_confirmation",
    "save_filter_policy",
    "save_redrive_policy",
    "set_raw_delivery",
    "subscribe",
    "subscription_panel",
    "subscriptions_region",
    "test_filter_policy",
    "topic_chart_region",
    "topic_page",
    "topic_stats_region",
    "unsubscribe",
]
