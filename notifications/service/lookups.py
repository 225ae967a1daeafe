"""Finding topics and subscriptions: by ARN, by name, by UUID, and through topic_cache.

topic_cache is the one-second cache of a topic and its confirmed subscriptions (with compiled
filter policies) that publishing reads through; every change to a topic or its subscriptions
made in this process forgets the topic's entry.
"""

import time

from django.conf import settings

from notifications.errors import InvalidParameter, NotFound
from notifications.filter_policy import parse_filter_policy
from notifications.models import Subscription, Topic


def _account():
    return settings.ROOST_ACCOUNT_ID


class _TopicCache:
    """Topic name -> (Topic, its confirmed subscriptions with compiled filter policies).

    Held for one second so a publish costs no lookups; changes made in this process invalidate at
    once, and SNS itself takes up to a minute to apply subscription changes everywhere.
    """

    ttl = 1.0

    def __init__(self):
        self._entries = {}

    def get(self, name):
        entry = self._entries.get(name)
        if entry is not None and entry[2] > time.monotonic():
            return entry[0], entry[1]
        topic = Topic.objects.filter(name=name).first()
        if topic is None:
            self._entries.pop(name, None)
            raise NotFound("Topic does not exist")
        plan = [
            (
                subscription,
                parse_filter_policy(subscription.filter_policy, subscription.filter_policy_scope),
            )
            for subscription in topic.subscriptions.filter(status=Subscription.Status.CONFIRMED)
        ]
        self._entries[name] = (topic, plan, time.monotonic() + self.ttl)
        return topic, plan

    def forget(self, name):
        self._entries.pop(name, None)

    def clear(self):
        self._entries.clear()


topic_cache = _TopicCache()


def _arn_parts(arn, parameter):
    parts = str(arn or "").split(":")
    if not arn:
        raise InvalidParameter(f"Invalid parameter: {parameter}")
    if len(parts) < 6 or parts[0] != "arn":
        raise InvalidParameter(
            f"Invalid parameter: {parameter} Reason: An ARN must have at least 6 elements, "
            f"not {len(parts)}"
        )
    if parts[2] != "sns":
        raise InvalidParameter(f"Invalid parameter: {parameter} Reason: Not an SNS ARN: {arn}")
    return parts


def topic_name_from_arn(arn, parameter="TopicArn"):
    parts = _arn_parts(arn, parameter)
    if len(parts) != 6 or not parts[5]:
        raise InvalidParameter(f"Invalid parameter: {parameter}")
    if parts[4] != _account():
        raise NotFound("Topic does not exist")
    return parts[5]


def get_topic(arn, parameter="TopicArn"):
    """The topic an ARN names, read fresh, or NotFound (InvalidParameter for a malformed ARN).

    Only publishing reads through topic_cache; everything else sees the latest attributes.
    """
    return get_topic_by_name(topic_name_from_arn(arn, parameter))


def get_topic_to_publish(arn, parameter="TopicArn"):
    """The topic an ARN names, through topic_cache, as publishing reads it: a Publish pays no
    lookup of its own (a topic deleted by another process meanwhile fails at commit instead)."""
    topic, _plan = topic_cache.get(topic_name_from_arn(arn, parameter))
    return topic


def get_topic_by_name(name):
    """The topic with this name (the REST API and console address topics by name)."""
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        raise NotFound("Topic does not exist")
    return topic


def get_subscription_by_uuid(subscription_uuid):
    subscription = (
        Subscription.objects.select_related("topic").filter(uuid=subscription_uuid).first()
    )
    if subscription is None:
        raise NotFound("Subscription does not exist")
    return subscription


def get_subscription(arn, parameter="SubscriptionArn"):
    """The subscription an ARN names, or NotFound (InvalidParameter for a malformed ARN)."""
    parts = _arn_parts(arn, parameter)
    if len(parts) != 7 or not parts[6]:
        raise InvalidParameter(f"Invalid parameter: {parameter}")
    subscription = (
        Subscription.objects.select_related("topic")
        .filter(uuid=parts[6], topic__name=parts[5])
        .first()
    )
    if subscription is None or parts[4] != _account():
        raise NotFound("Subscription does not exist")
    return subscription
