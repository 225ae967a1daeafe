"""Every SNS rule Roost follows for topics, subscriptions and publishing.

The front doors (SNS wire, REST, console) call these and render what they return: plain values
shaped like the SNS API's. Rule violations raise the errors in notifications.errors. Delivering
what a publish accepted is notifications.delivery's job; this package writes the outbox.

Callers import from here (`from notifications import service`); the modules, each importing only
the ones listed before it:

- lookups: a topic or subscription found by ARN, name or UUID, and topic_cache, the one-second
  cache of a topic and its confirmed subscriptions that publishing reads through.
- topics: topic names and attributes, CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes
  and the default policy; also the helpers the later modules share (tag checks, the topic's row
  locked, NextToken encoding, "true"/"false" values).
- tags: TagResource, UntagResource, ListTagsForResource.
- confirmation: a subscription's tokens: the confirmation message (resent on request, with its
  attempts) and ConfirmSubscription,
  Unsubscribe and the UnsubscribeConfirmation that can restore what it removed, unsubscribe links.
- subscriptions: Subscribe, endpoint and subscription attribute checks, the RedrivePolicy's
  dead-letter queue, Get/SetSubscriptionAttributes, ListSubscriptions(ByTopic).
- publishing: Publish and PublishBatch (message validation, FIFO de-duplication, the outbox
  rows) and the console's filter-policy test.
- filter_playground: a filter policy tried on a topic's latest messages, each non-match
  explained (the console's playground and the REST test endpoint).
- alarms: alarms on queues (depth, oldest message's age, dead letters) and beat's evaluation,
  publishing CloudWatch-shaped notifications.
"""

from notifications.service.alarms import (
    alarms_of,
    create_alarm,
    delete_alarm,
    evaluate_alarms,
    get_alarm,
    queues_in_alarm,
)
from notifications.service.confirmation import (
    CONFIRMATION_TOKEN_TTL_MS,
    CONFIRMED_BY_ENDPOINT,
    RESEND_INTERVAL_MS,
    confirm_subscription,
    confirmation_attempts,
    resend_confirmation,
    subscription_for_unsubscribe_link,
    unsubscribe,
    unsubscribe_with_token,
)
from notifications.service.filter_playground import (
    PLAYGROUND_MESSAGES,
    PlaygroundResult,
    try_filter_policy,
)
from notifications.service.lookups import (
    get_subscription,
    get_subscription_by_uuid,
    get_topic,
    get_topic_by_name,
    get_topic_to_publish,
    topic_cache,
    topic_name_from_arn,
)
from notifications.service.publishing import (
    BATCH_ENTRY_ID,
    DEDUPLICATION_WINDOW_MS,
    MAX_BATCH_ENTRIES,
    MAX_PUBLISH_BYTES,
    PublishEntry,
    filter_policy_matches,
    publish,
    publish_messages,
)
from notifications.service.subscriptions import (
    EMAIL,
    MAX_ENDPOINT_BYTES,
    PENDING_CONFIRMATION,
    PROTOCOLS,
    SUBSCRIPTION_ATTRIBUTES,
    dead_letter_queue_arn,
    get_subscription_attributes,
    list_subscriptions,
    set_subscription_attribute,
    set_subscription_attributes,
    subscribe,
    subscription_listing,
)
from notifications.service.tags import list_tags, tag_resource, untag_resource
from notifications.service.topics import (
    FIFO_TOPIC_NAME,
    MAX_TAGS,
    PAGE_SIZE,
    TOPIC_ATTRIBUTES,
    TOPIC_NAME,
    create_topic,
    default_policy,
    delete_topic,
    get_topic_attributes,
    list_topics,
    set_topic_attribute,
    update_topic,
)

__all__ = [
    "alarms_of",
    "create_alarm",
    "delete_alarm",
    "evaluate_alarms",
    "get_alarm",
    "queues_in_alarm",
    # lookups
    "get_subscription",
    "get_subscription_by_uuid",
    "PLAYGROUND_MESSAGES",
    "PlaygroundResult",
    "try_filter_policy",
    "get_topic",
    "get_topic_by_name",
    "get_topic_to_publish",
    "topic_cache",
    "topic_name_from_arn",
    # topics
    "FIFO_TOPIC_NAME",
    "MAX_TAGS",
    "PAGE_SIZE",
    "TOPIC_ATTRIBUTES",
    "TOPIC_NAME",
    "create_topic",
    "default_policy",
    "delete_topic",
    "get_topic_attributes",
    "list_topics",
    "set_topic_attribute",
    "update_topic",
    # tags
    "list_tags",
    "tag_resource",
    "untag_resource",
    # confirmation
    "CONFIRMATION_TOKEN_TTL_MS",
    "CONFIRMED_BY_ENDPOINT",
    "RESEND_INTERVAL_MS",
    "confirm_subscription",
    "confirmation_attempts",
    "resend_confirmation",
    "subscription_for_unsubscribe_link",
    "unsubscribe",
    "unsubscribe_with_token",
    # subscriptions
    "EMAIL",
    "MAX_ENDPOINT_BYTES",
    "PENDING_CONFIRMATION",
    "PROTOCOLS",
    "SUBSCRIPTION_ATTRIBUTES",
    "dead_letter_queue_arn",
    "get_subscription_attributes",
    "list_subscriptions",
    "set_subscription_attribute",
    "set_subscription_attributes",
    "subscribe",
    "subscription_listing",
    # publishing
    "BATCH_ENTRY_ID",
    "DEDUPLICATION_WINDOW_MS",
    "MAX_BATCH_ENTRIES",
    "MAX_PUBLISH_BYTES",
    "PublishEntry",
    "filter_policy_matches",
    "publish",
    "publish_messages",
]
