"""Subscriptions: Subscribe, their endpoints and attributes, ListSubscriptions(ByTopic).

Confirming and removing a subscription (its tokens) is notifications.service.confirmation's.
"""

import re
import secrets
import uuid

from django.db import IntegrityError, transaction

from audit import log as audit_log
from aws_protocol import json_input
from notifications import delivery_policy
from notifications.errors import InvalidParameter, NotFound
from notifications.filter_policy import MESSAGE_ATTRIBUTES, SCOPES, parse_filter_policy
from notifications.models import Subscription, Topic
from notifications.service.confirmation import _locked_subscription, _send_confirmation
from notifications.service.lookups import _account, topic_cache
from notifications.service.topics import PAGE_SIZE, _bool_value, _decode_token, _encode_token, _text

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROTOCOLS = ("sqs", "http", "https", "email", "email-json")
PENDING_CONFIRMATION = "pending confirmation"
# What Subscription.endpoint holds, counted in bytes so that (topic, protocol, endpoint) always
# fits PostgreSQL's unique index (an index entry must stay under 2,704 bytes).
MAX_ENDPOINT_BYTES = 2048

SUBSCRIPTION_ATTRIBUTES = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
)
_PASSIVE_SUBSCRIPTION_ATTRIBUTES = ("SubscriptionRoleArn", "ReplayPolicy")


def _validate_endpoint(topic, protocol, endpoint):
    if protocol in ("sms", "lambda", "firehose", "application"):
        raise InvalidParameter(
            f"Invalid parameter: Protocol Reason: {protocol} subscriptions are not supported by "
            "Roost"
        )
    if protocol not in PROTOCOLS:
        raise InvalidParameter(
            f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        )
    if not endpoint:
        raise InvalidParameter("Invalid parameter: Endpoint")
    if len(endpoint.encode()) > MAX_ENDPOINT_BYTES:
        raise InvalidParameter(
            f"Invalid parameter: Endpoint Reason: An endpoint must be at most {MAX_ENDPOINT_BYTES} "
            "bytes long"
        )
    if topic.fifo_topic and protocol != "sqs":
        raise InvalidParameter(
            f"Invalid parameter: Invalid protocol type: {protocol} Reason: FIFO topics support "
            "only sqs subscriptions"
        )
    if protocol in ("http", "https"):
        if not endpoint.lower().startswith(f"{protocol}://") or len(endpoint) <= len(protocol) + 3:
            raise InvalidParameter(
                f"Invalid parameter: Endpoint must match the specified protocol: {protocol}"
            )
    elif protocol in ("email", "email-json"):
        if not EMAIL.match(endpoint):
            raise InvalidParameter("Invalid parameter: Email address")
    else:
        parts = endpoint.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
            raise InvalidParameter("Invalid parameter: SQS endpoint ARN")
        if parts[5].endswith(".fifo") and not topic.fifo_topic:
            raise InvalidParameter(
                "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not "
                "be subscribed to standard SNS topics"
            )


def _apply_subscription_attribute(subscription, name, value, subscribing):
    """Set one attribute on an unsaved subscription, validating it as SNS does."""
    if name not in SUBSCRIPTION_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    value = "" if value is None else str(value)
    if name == "RawMessageDelivery":
        if subscription.protocol not in ("sqs", "http", "https"):
            raise InvalidParameter(
                f"Invalid parameter: Delivery protocol [{subscription.protocol}] does not support "
                "raw message delivery."
            )
        subscription.raw_message_delivery = _bool_value(name, value)
    elif name == "FilterPolicy":
        parse_filter_policy(value, subscription.filter_policy_scope, subscribing=subscribing)
        subscription.filter_policy = value
    elif name == "FilterPolicyScope":
        scope = value or MESSAGE_ATTRIBUTES
        if scope not in SCOPES:
            parse_filter_policy("", scope)  # raises SNS's error for the scope
        parse_filter_policy(subscription.filter_policy, scope, subscribing=subscribing)
        subscription.filter_policy_scope = scope
    elif name == "DeliveryPolicy":
        if subscription.protocol not in ("http", "https"):
            raise InvalidParameter(
                "Invalid parameter: DeliveryPolicy: only HTTP and HTTPS subscriptions take a "
                "delivery policy"
            )
        delivery_policy.parse_subscription_policy(value, subscribing=subscribing)
        subscription.delivery_policy = value
    elif name == "RedrivePolicy":
        if value:
            dead_letter_queue_arn(value, fifo=subscription.topic.fifo_topic)
        subscription.redrive_policy = value
    else:
        subscription.extra_attributes = {**subscription.extra_attributes, name: value}
        if not value:
            subscription.extra_attributes.pop(name)


def dead_letter_queue_arn(redrive_policy, fifo=False):
    """The deadLetterTargetArn of a subscription's RedrivePolicy, validated."""
    try:
        policy = json_input.loads(redrive_policy)
    except ValueError:
        policy = None
    arn = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    if not isinstance(arn, str):
        raise InvalidParameter(
            "Invalid parameter: RedrivePolicy: Redrive policy must be a JSON object with a "
            "deadLetterTargetArn"
        )
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
        raise InvalidParameter("Invalid parameter: RedrivePolicy: deadLetterTargetArn is invalid")
    if fifo and not parts[5].endswith(".fifo"):
        raise InvalidParameter(
            "Invalid parameter: RedrivePolicy: a FIFO topic's subscription needs a FIFO "
            "dead-letter queue"
        )
    return arn


def subscribe(topic, protocol, endpoint, attributes=None, return_subscription_arn=False):
    """Subscribe an endpoint; return (subscription, what Subscribe answers as SubscriptionArn).

    Queue subscriptions are confirmed at once (one account); HTTP(S) and email ones start pending
    and get a confirmation message once this transaction commits.
    """
    protocol = (protocol or "").lower()
    endpoint = endpoint or ""
    attributes = dict(attributes or {})
    _validate_endpoint(topic, protocol, endpoint)
    subscription = Subscription(topic=topic, protocol=protocol, endpoint=endpoint)
    # FilterPolicyScope first, so the policy is checked in the scope it will be used in.
    for name in sorted(attributes, key=lambda name: name != "FilterPolicyScope"):
        _apply_subscription_attribute(subscription, name, attributes[name], subscribing=True)
    existing = _subscription_of(topic, protocol, endpoint)
    if existing is not None:
        return _existing_subscription(existing, subscription, attributes, return_subscription_arn)
    subscription.uuid = str(uuid.uuid4())
    subscription.unsubscribe_token = secrets.token_hex(32)
    subscription.confirmation_token = secrets.token_hex(64)
    if protocol == "sqs":
        subscription.status = Subscription.Status.CONFIRMED
        subscription.confirmation_was_authenticated = True
    try:
        with transaction.atomic():
            subscription.save()
            if subscription.is_confirmed:
                # Confirmed as it was created: the same instant, not a moment before it.
                subscription.confirmed_at = subscription.created_at
                subscription.save(update_fields=["confirmed_at"])
            else:
                _send_confirmation(subscription)
            audit_log.record(
                "Subscribe",
                "subscription",
                subscription.arn,
                topic=topic.name,
                protocol=protocol,
                endpoint=endpoint,
                attributes=attributes,
            )
    except IntegrityError:
        # A concurrent Subscribe of the same endpoint won the unique constraint (or the topic
        # was deleted meanwhile): answer as if this call had come second.
        existing = _subscription_of(topic, protocol, endpoint)
        if existing is not None:
            return _existing_subscription(
                existing, subscription, attributes, return_subscription_arn
            )
        if not Topic.objects.filter(pk=topic.pk).exists():
            topic_cache.forget(topic.name)
            raise NotFound("Topic does not exist") from None
        return subscribe(topic, protocol, endpoint, attributes, return_subscription_arn)
    topic_cache.forget(topic.name)
    return subscription, _subscribe_answer(subscription, return_subscription_arn)


def _subscription_of(topic, protocol, endpoint):
    return (
        Subscription.objects.select_related("topic")
        .filter(topic=topic, protocol=protocol, endpoint=endpoint)
        .first()
    )


def _existing_subscription(existing, asked, attributes, return_subscription_arn):
    """Subscribe's answer when the endpoint is subscribed already: SNS's idempotent rule.

    Only the attributes the call names are compared; any that differ refuse the call.
    """
    if attributes and any(
        get_subscription_attributes(existing).get(name, "")
        != get_subscription_attributes(asked, saved=False).get(name, "")
        for name in attributes
    ):
        raise InvalidParameter(
            "Invalid parameter: Attributes Reason: Subscription already exists with different "
            "attributes"
        )
    if not existing.is_confirmed:
        _send_confirmation(existing)
    return existing, _subscribe_answer(existing, return_subscription_arn)


def _subscribe_answer(subscription, return_subscription_arn):
    if subscription.is_confirmed or return_subscription_arn:
        return subscription.arn
    return PENDING_CONFIRMATION


def subscription_listing(subscription):
    """One entry of ListSubscriptions(ByTopic)."""
    return {
        "SubscriptionArn": subscription.arn if subscription.is_confirmed else "PendingConfirmation",
        "Owner": _account(),
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": subscription.topic.arn,
    }


def list_subscriptions(topic=None, next_token=None):
    """One page of subscriptions (of one topic, or all) in creation order, and the next token."""
    subscriptions = Subscription.objects.select_related("topic").order_by("id")
    if topic is not None:
        subscriptions = subscriptions.filter(topic=topic)
    if next_token:
        try:
            after = int(_decode_token(next_token))
        except ValueError:
            raise InvalidParameter("Invalid parameter: NextToken") from None
        subscriptions = subscriptions.filter(id__gt=after)
    page = list(subscriptions[: PAGE_SIZE + 1])
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        return page, _encode_token(page[-1].id)
    return page, None


def get_subscription_attributes(subscription, saved=True):
    """GetSubscriptionAttributes' map: every value a string, as SNS returns them."""
    attributes = {
        "SubscriptionArn": subscription.arn if saved else "",
        "TopicArn": subscription.topic.arn,
        "Owner": _account(),
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "ConfirmationWasAuthenticated": _text(subscription.confirmation_was_authenticated),
        "PendingConfirmation": _text(not subscription.is_confirmed),
        "RawMessageDelivery": _text(subscription.raw_message_delivery),
        "SubscriptionPrincipal": f"arn:aws:iam::{_account()}:root",
    }
    if subscription.filter_policy:
        attributes["FilterPolicy"] = subscription.filter_policy
        attributes["FilterPolicyScope"] = subscription.filter_policy_scope
    if subscription.redrive_policy:
        attributes["RedrivePolicy"] = subscription.redrive_policy
    if subscription.protocol in ("http", "https"):
        if subscription.delivery_policy:
            attributes["DeliveryPolicy"] = subscription.delivery_policy
        attributes["EffectiveDeliveryPolicy"] = delivery_policy.subscription_effective_policy_json(
            subscription.topic.delivery_policy, subscription.delivery_policy
        )
    attributes.update(
        (name, value)
        for name, value in subscription.extra_attributes.items()
        if name in _PASSIVE_SUBSCRIPTION_ATTRIBUTES
    )
    return attributes


def set_subscription_attributes(subscription, attributes):
    """Change several attributes at once: all or none, the scope before the policy it governs."""
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        scope = attributes.get("FilterPolicyScope")
        if scope is not None:
            subscription.filter_policy_scope = scope or MESSAGE_ATTRIBUTES
            parse_filter_policy("", subscription.filter_policy_scope)  # SNS's error for a bad one
        for name, value in attributes.items():
            if name != "FilterPolicyScope":
                _apply_subscription_attribute(subscription, name, value, subscribing=False)
        # The final scope and policy must fit each other, whichever was set.
        parse_filter_policy(subscription.filter_policy, subscription.filter_policy_scope)
        subscription.save(update_fields=_SUBSCRIPTION_SETTINGS_FIELDS)
        _log_attributes(subscription, attributes)
    topic_cache.forget(subscription.topic.name)
    return subscription


# What SetSubscriptionAttributes changes; a confirmation writes its own fields beside these.
_SUBSCRIPTION_SETTINGS_FIELDS = [
    "raw_message_delivery",
    "filter_policy",
    "filter_policy_scope",
    "delivery_policy",
    "redrive_policy",
    "extra_attributes",
]


def _log_attributes(subscription, attributes):
    audit_log.record(
        "SetSubscriptionAttributes",
        "subscription",
        subscription.arn,
        topic=subscription.topic.name,
        attributes=attributes,
    )


def set_subscription_attribute(subscription, name, value):
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        _apply_subscription_attribute(subscription, name, value, subscribing=False)
        subscription.save(update_fields=_SUBSCRIPTION_SETTINGS_FIELDS)
        _log_attributes(subscription, {name: value})
    topic_cache.forget(subscription.topic.name)
    return subscription
