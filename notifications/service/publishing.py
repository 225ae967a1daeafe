"""Every SNS rule Roost follows for topics, subscriptions and publishing.

The front doors (SNS wire, REST, console) call these and render what they return: plain values
shaped like the SNS API's. Rule violations raise the errors in notifications.errors. Delivering
what a publish accepted is notifications.delivery's job; this module writes the outbox.
"""

import base64
import functools
import hashlib
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from aws_protocol import json_input, quotas
from aws_protocol.errors import RoostError
from notifications import delivery, delivery_policy, delivery_sql, dispatch
from notifications.errors import (
    AuthorizationError,
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    ResourceNotFound,
    TagLimitExceeded,
    TooManyEntriesInBatchRequest,
    TopicLimitExceeded,
)
from notifications.filter_policy import MESSAGE_ATTRIBUTES, SCOPES, parse_filter_policy
from notifications.models import PublishedMessage, RemovedSubscription, Subscription, Topic
from queues.models import now_ms

TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROTOCOLS = ("sqs", "http", "https", "email", "email-json")
PENDING_CONFIRMATION = "pending confirmation"
MAX_PUBLISH_BYTES = 262_144
MAX_BATCH_ENTRIES = 10
MAX_TAGS = 50
PAGE_SIZE = 100
# What Subscription.endpoint holds, counted in bytes so that (topic, protocol, endpoint) always
# fits PostgreSQL's unique index (an index entry must stay under 2,704 bytes).
MAX_ENDPOINT_BYTES = 2048
DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000
# SNS keeps a confirmation token valid for three days.
CONFIRMATION_TOKEN_TTL_MS = 3 * 24 * 3600 * 1000

_FEEDBACK_ATTRIBUTES = tuple(
    f"{protocol}{suffix}"
    for protocol in ("Application", "Firehose", "HTTP", "Lambda", "SQS")
    for suffix in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")
)
# Kept and returned verbatim; Roost has no KMS, X-Ray, archive or feedback logging to apply.
_PASSIVE_TOPIC_ATTRIBUTES = (
    "KmsMasterKeyId",
    "TracingConfig",
    "ArchivePolicy",
    "FifoThroughputScope",
    "DataProtectionPolicy",
    *_FEEDBACK_ATTRIBUTES,
)
TOPIC_ATTRIBUTES = (
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "SignatureVersion",
    "ContentBasedDeduplication",
    *_PASSIVE_TOPIC_ATTRIBUTES,
)
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
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def _account():
    return settings.ROOST_ACCOUNT_ID


# Lookups -------------------------------------------------------------------------------------


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


# Topics --------------------------------------------------------------------------------------


def _validate_topic_name(name, fifo):
    if not name:
        raise InvalidParameter("Invalid parameter: Topic Name")
    if fifo:
        if not FIFO_TOPIC_NAME.match(name):
            raise InvalidParameter(
                "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of "
                "only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, "
                "and must be between 1 and 256 characters long."
            )
    elif not TOPIC_NAME.match(name):
        raise InvalidParameter(
            "Invalid parameter: Topic names must be made up of only uppercase and lowercase ASCII "
            "letters, numbers, underscores, and hyphens, and must be between 1 and 256 "
            "characters long."
        )


def _bool_value(name, value):
    text = str(value).lower()
    if text not in ("true", "false"):
        raise InvalidParameter(f"Invalid parameter: Attributes Reason: {name}: Invalid value")
    return text == "true"


def _validate_json_object(name, value):
    try:
        parsed = json_input.loads(value)
    except (TypeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidParameter(f"Invalid parameter: {name}: the value must be a JSON object")


def _apply_topic_attribute(topic, name, value, creating):
    """Set one topic attribute on an unsaved topic, validating it as SNS does."""
    if name == "FifoTopic":
        if not creating:
            raise InvalidParameter("Invalid parameter: AttributeName")
        return
    if name not in TOPIC_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    value = "" if value is None else str(value)
    if name == "DisplayName":
        if len(value) > 100 or not value.isprintable():
            raise InvalidParameter("Invalid parameter: DisplayName")
        topic.display_name = value
    elif name == "Policy":
        if value:
            _validate_json_object("Policy", value)
        topic.policy = value
    elif name == "DeliveryPolicy":
        delivery_policy.parse_topic_policy(value)
        topic.delivery_policy = value
    elif name == "SignatureVersion":
        if value not in ("1", "2"):
            raise InvalidParameter(
                "Invalid parameter: SignatureVersion Reason: The only valid values are 1 and 2"
            )
        topic.signature_version = value
    elif name == "ContentBasedDeduplication":
        enabled = _bool_value(name, value)
        if enabled and not topic.fifo_topic:
            raise InvalidParameter(
                "Invalid parameter: ContentBasedDeduplication Reason: Content based "
                "deduplication can only be set for FIFO topics"
            )
        topic.content_based_deduplication = enabled
    else:
        topic.extra_attributes = {**topic.extra_attributes, name: value}
        if not value:
            topic.extra_attributes.pop(name)


def _validate_tags(tags, existing=None):
    merged = {**(existing or {}), **tags}
    if len(merged) > MAX_TAGS:
        raise TagLimitExceeded()
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise InvalidParameter(f"Invalid parameter: Tags Reason: Tag key {key!r} is invalid")
        if len(value) > 256:
            raise InvalidParameter(
                f"Invalid parameter: Tags Reason: The value of tag {key!r} is too long"
            )
    return merged


def create_topic(name, attributes=None, tags=None):
    """Create a topic, or return the existing one when nothing asked for differs (SNS's rule)."""
    attributes = dict(attributes or {})
    fifo = _bool_value("FifoTopic", attributes.get("FifoTopic", "false"))
    _validate_topic_name(name, fifo)
    topic = Topic(name=name, fifo_topic=fifo)
    for attribute, value in attributes.items():
        _apply_topic_attribute(topic, attribute, value, creating=True)
    topic.tags = _validate_tags(tags or {})
    existing = Topic.objects.filter(name=name).first()
    if existing is not None:
        return _existing_topic(existing, topic, attributes, tags)
    try:
        with transaction.atomic():
            quotas.insert_within_cap(topic, settings.ROOST_MAX_TOPICS, TopicLimitExceeded())
    except IntegrityError:
        # Another request created it since the check above: answer as if it had been first.
        existing = Topic.objects.filter(name=name).first()
        if existing is None:
            return create_topic(name, attributes, tags)
        return _existing_topic(existing, topic, attributes, tags)
    topic_cache.forget(name)
    return topic


def _existing_topic(existing, asked, attributes, tags):
    """CreateTopic's answer for a name taken: the topic, unless asked differs from it."""
    if _topic_settings(existing, attributes) != _topic_settings(asked, attributes):
        raise InvalidParameter(
            "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
        )
    if tags and any(existing.tags.get(key) != value for key, value in tags.items()):
        raise InvalidParameter(
            "Invalid parameter: Tags Reason: Topic already exists with different tags"
        )
    return existing


def _topic_settings(topic, attributes):
    values = get_topic_attributes(topic, counts=False)
    return {name: values.get(name, "") for name in ("FifoTopic", *attributes)}


def delete_topic(topic):
    """Delete a topic with its subscriptions, messages and undelivered deliveries."""
    with transaction.atomic():
        # Locked first: a publish or subscribe committing from here on waits (PostgreSQL's
        # foreign-key check) and then fails as a missing topic, instead of slipping rows in
        # between the delete's collection of dependent rows and its DELETE, which then failed.
        list(Topic.objects.select_for_update().filter(pk=topic.pk).values_list("pk"))
        Topic.objects.filter(pk=topic.pk).delete()
    topic_cache.forget(topic.name)


def list_topics(next_token=None):
    """One page of topics in name order and the token for the next (None on the last)."""
    topics = Topic.objects.order_by("name")
    if next_token:
        topics = topics.filter(name__gt=_decode_token(next_token))
    page = list(topics[: PAGE_SIZE + 1])
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        return page, _encode_token(page[-1].name)
    return page, None


def _encode_token(value):
    return base64.urlsafe_b64encode(str(value).encode()).decode()


def _decode_token(token):
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError):
        raise InvalidParameter("Invalid parameter: NextToken") from None


def default_policy(topic):
    """The access policy SNS gives a topic nobody set one on."""
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "SNS:GetTopicAttributes",
                        "SNS:SetTopicAttributes",
                        "SNS:AddPermission",
                        "SNS:RemovePermission",
                        "SNS:DeleteTopic",
                        "SNS:Subscribe",
                        "SNS:ListSubscriptionsByTopic",
                        "SNS:Publish",
                    ],
                    "Resource": topic.arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": _account()}},
                }
            ],
        },
        separators=(",", ":"),
    )


def get_topic_attributes(topic, counts=True):
    """GetTopicAttributes' map: every value a string, as SNS returns them."""
    attributes = {
        "TopicArn": topic.arn,
        "Owner": _account(),
        "Policy": topic.policy or default_policy(topic),
        "DisplayName": topic.display_name,
        "EffectiveDeliveryPolicy": delivery_policy.effective_policy_json(topic.delivery_policy),
        "SignatureVersion": topic.signature_version,
    }
    if topic.delivery_policy:
        attributes["DeliveryPolicy"] = topic.delivery_policy
    if counts:
        tally = topic.subscriptions.aggregate(
            confirmed=Count("id", filter=Q(status=Subscription.Status.CONFIRMED)),
            pending=Count("id", filter=Q(status=Subscription.Status.PENDING)),
        )
        attributes["SubscriptionsConfirmed"] = str(tally["confirmed"])
        attributes["SubscriptionsPending"] = str(tally["pending"])
        attributes["SubscriptionsDeleted"] = str(topic.subscriptions_deleted)
    if topic.fifo_topic:
        attributes["FifoTopic"] = "true"
        attributes["ContentBasedDeduplication"] = _text(topic.content_based_deduplication)
    else:
        attributes["FifoTopic"] = "false"
    attributes.update(topic.extra_attributes)
    return attributes


def set_topic_attribute(topic, name, value):
    return update_topic(topic, {name: value})


def update_topic(topic, attributes=None, tags=None, remove_tags=None):
    """Change several attributes and tags at once: all of them, or none when one is refused."""
    with transaction.atomic():
        topic = _locked_topic(topic)
        for name, value in (attributes or {}).items():
            _apply_topic_attribute(topic, name, value, creating=False)
        if tags:
            topic.tags = _validate_tags(tags, topic.tags)
        if remove_tags:
            topic.tags = {key: value for key, value in topic.tags.items() if key not in remove_tags}
        # Not subscriptions_deleted: Unsubscribe counts it up with F() while this runs.
        topic.save(update_fields=_TOPIC_SETTINGS_FIELDS)
    topic_cache.forget(topic.name)
    return topic


_TOPIC_SETTINGS_FIELDS = [
    "display_name",
    "policy",
    "delivery_policy",
    "signature_version",
    "content_based_deduplication",
    "extra_attributes",
    "tags",
]


def _locked_topic(topic, missing=None):
    """The topic's row, fresh and locked until the transaction ends (SQLite's immediate
    transaction holds the write lock anyway); `missing` is raised if it was deleted meanwhile."""
    locked = Topic.objects.select_for_update().filter(pk=topic.pk).first()
    if locked is None:
        topic_cache.forget(topic.name)
        raise missing or NotFound("Topic does not exist")
    return locked


def _text(flag):
    return "true" if flag else "false"


# Tags ----------------------------------------------------------------------------------------


def _tagged_topic(arn):
    try:
        return get_topic(arn, parameter="ResourceArn")
    except NotFound:
        raise ResourceNotFound() from None


def tag_resource(arn, tags):
    topic = _tagged_topic(arn)
    if not tags:
        raise InvalidParameter("Invalid parameter: Tags Reason: no tags given")
    with transaction.atomic():
        topic = _locked_topic(topic, missing=ResourceNotFound())
        topic.tags = _validate_tags(tags, topic.tags)
        topic.save(update_fields=["tags"])
    topic_cache.forget(topic.name)


def untag_resource(arn, keys):
    topic = _tagged_topic(arn)
    with transaction.atomic():
        topic = _locked_topic(topic, missing=ResourceNotFound())
        topic.tags = {key: value for key, value in topic.tags.items() if key not in set(keys)}
        topic.save(update_fields=["tags"])
    topic_cache.forget(topic.name)


def list_tags(arn):
    return dict(_tagged_topic(arn).tags)


# Subscriptions -------------------------------------------------------------------------------


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


def _send_confirmation(subscription):
    """Ask for a confirmation message after commit; a fresh token if the old one expired."""
    now = now_ms()
    changes = {"confirmation_sent_at": 0}
    if subscription.confirmation_sent_at and (
        now - subscription.confirmation_sent_at > CONFIRMATION_TOKEN_TTL_MS
    ):
        changes["confirmation_token"] = secrets.token_hex(64)
    # One UPDATE, and only while pending: a subscription confirmed or unsubscribed since it was
    # read needs no message (and a save of the stale row would fail or undo the confirmation).
    pending = Subscription.objects.filter(pk=subscription.pk, status=Subscription.Status.PENDING)
    if not pending.update(**changes):
        return
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription_id = subscription.pk
    transaction.on_commit(lambda: dispatch.confirmation(subscription_id))


def confirm_subscription(topic_arn, token, authenticated=True, authenticate_on_unsubscribe=False):
    """Confirm the pending subscription a token names; return it (confirmed ones stay so)."""
    topic = get_topic(topic_arn)
    if not token:
        raise InvalidParameter("Invalid parameter: Token")
    with transaction.atomic():
        # Locked, and only the confirmation's fields written: an attribute change made while
        # this runs is kept, and two confirmations of one subscription confirm it once.
        subscription = (
            Subscription.objects.select_related("topic")
            .select_for_update(of=("self",))
            .filter(topic=topic, confirmation_token=token)
            .first()
        )
        if subscription is None:
            subscription = _restore(topic, token, authenticated)
        if subscription is None:
            raise InvalidParameter("Invalid parameter: Token")
        if subscription.is_confirmed:
            return subscription
        if (
            subscription.confirmation_sent_at
            and now_ms() - subscription.confirmation_sent_at > CONFIRMATION_TOKEN_TTL_MS
        ):
            raise InvalidParameter("Invalid parameter: Token Reason: the token has expired")
        subscription.status = Subscription.Status.CONFIRMED
        subscription.confirmed_at = timezone.now()
        subscription.confirmation_was_authenticated = authenticated
        fields = ["status", "confirmed_at", "confirmation_was_authenticated"]
        if authenticate_on_unsubscribe:
            subscription.extra_attributes = {
                **subscription.extra_attributes,
                "AuthenticateOnUnsubscribe": "true",
            }
            fields.append("extra_attributes")
        subscription.save(update_fields=fields)
    topic_cache.forget(topic.name)
    return subscription


def unsubscribe(subscription):
    """Remove a subscription; a confirmed HTTP(S) one's endpoint is told once this commits.

    SNS sends that endpoint a signed UnsubscribeConfirmation whose SubscribeURL restores the
    subscription: the removed subscription is kept (RemovedSubscription) for that, three days.
    """
    with transaction.atomic():
        # The topic's row first, as DeleteTopic locks it before its subscriptions: the other
        # order deadlocks against a DeleteTopic of the same topic.
        Topic.objects.filter(pk=subscription.topic_id).update(
            subscriptions_deleted=F("subscriptions_deleted") + 1
        )
        removed = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("topic")
            .filter(pk=subscription.pk)
            .first()
        )
        if removed is not None:
            removed.delete()
            if removed.protocol in ("http", "https") and removed.is_confirmed:
                _keep_removed(removed)
    topic_cache.forget(subscription.topic.name)


# What a restored subscription gets back of the one removed.
_RESTORED_FIELDS = (
    "raw_message_delivery",
    "filter_policy",
    "filter_policy_scope",
    "redrive_policy",
    "delivery_policy",
    "extra_attributes",
    "unsubscribe_token",
)


def _keep_removed(subscription):
    """Record a removed HTTP(S) subscription and send its UnsubscribeConfirmation after commit."""
    removed = RemovedSubscription.objects.create(
        topic=subscription.topic,
        uuid=subscription.uuid,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint,
        token=secrets.token_hex(64),
        message_id=str(uuid.uuid4()),
        unsubscribed_at=now_ms(),
        settings={name: getattr(subscription, name) for name in _RESTORED_FIELDS},
    )
    removed_id = removed.pk
    transaction.on_commit(lambda: dispatch.unsubscribe_confirmation(removed_id))


def _restore(topic, token, authenticated):
    """The subscription an UnsubscribeConfirmation's token restores (confirmed, under its old
    ARN), or None if the token names no subscription removed in the last three days.

    If the endpoint subscribed again since, that subscription stands and is the answer.
    """
    with transaction.atomic():
        removed = (
            RemovedSubscription.objects.select_for_update()
            .filter(
                topic=topic,
                token=token,
                unsubscribed_at__gt=now_ms() - delivery.RESTORE_WINDOW_MS,
            )
            .first()
        )
        if removed is None:
            return None
        removed.delete()
        subscription = Subscription(
            topic=topic,
            uuid=removed.uuid,
            protocol=removed.protocol,
            endpoint=removed.endpoint,
            status=Subscription.Status.CONFIRMED,
            confirmation_token=removed.token,
            confirmation_was_authenticated=authenticated,
            confirmed_at=timezone.now(),
            **{name: value for name, value in removed.settings.items() if name in _RESTORED_FIELDS},
        )
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            # Subscribed again since: that subscription stands.
            subscription = Subscription.objects.filter(
                topic=topic, protocol=removed.protocol, endpoint=removed.endpoint
            ).first()
        name = topic.name
        transaction.on_commit(lambda: topic_cache.forget(name))
    return subscription


def unsubscribe_with_token(subscription_arn, token):
    """Unsubscribe through the link a delivery carried: only for the token it names."""
    subscription = subscription_for_unsubscribe_link(subscription_arn, token)
    unsubscribe(subscription)
    return subscription


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


def _locked_subscription(subscription):
    """The subscription's row, fresh and locked until the transaction ends, or NotFound."""
    locked = (
        Subscription.objects.select_related("topic")
        .select_for_update(of=("self",))
        .filter(pk=subscription.pk)
        .first()
    )
    if locked is None:
        raise NotFound("Subscription does not exist")
    return locked


def subscription_for_unsubscribe_link(subscription_arn, token):
    """The subscription an unsubscribe link may remove, or the error the link deserves.

    An unknown subscription gets the same answer as a wrong token: links are unauthenticated.
    """
    try:
        subscription = get_subscription(subscription_arn)
    except NotFound:
        raise AuthorizationError("Invalid token for this subscription") from None
    if not token or not secrets.compare_digest(
        subscription.unsubscribe_token.encode(), str(token).encode()
    ):
        raise AuthorizationError("Invalid token for this subscription")
    if subscription.extra_attributes.get("AuthenticateOnUnsubscribe") == "true":
        raise AuthorizationError(
            "This subscription can only be removed by an authenticated Unsubscribe call"
        )
    return subscription


def set_subscription_attribute(subscription, name, value):
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        _apply_subscription_attribute(subscription, name, value, subscribing=False)
        subscription.save(update_fields=_SUBSCRIPTION_SETTINGS_FIELDS)
    topic_cache.forget(subscription.topic.name)
    return subscription


# Publishing ----------------------------------------------------------------------------------


@dataclass
class PublishEntry:
    """One message to publish, as Publish or one PublishBatch entry gives it.

    Message attributes are {"name": {"DataType": ..., "StringValue": ... | "BinaryValue": bytes}}.
    """

    message: str | None
    id: str = ""
    subject: str | None = None
    message_structure: str | None = None
    message_attributes: dict = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None


def _validate_subject(subject):
    if subject is None:
        return ""
    if not subject or len(subject) > 100 or not subject.isprintable() or not subject.isascii():
        raise InvalidParameter(
            "Invalid parameter: Subject Reason: Subject must be ASCII text that begins with a "
            "letter, number, or punctuation mark; must not include line breaks or control "
            "characters; and must be less than 100 characters long."
        )
    return subject


def _structured(entry):
    if entry.message_structure is None:
        return None
    if entry.message_structure != "json":
        raise InvalidParameter("Invalid parameter: MessageStructure")
    try:
        structured = json_input.loads(entry.message)
    except ValueError:
        raise InvalidParameter(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        ) from None
    if not isinstance(structured, dict):
        raise InvalidParameter(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        )
    if "default" not in structured:
        raise InvalidParameter(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )
    for key, value in structured.items():
        if not isinstance(value, str):
            raise InvalidParameter(
                f"Invalid parameter: Message Structure - the value for {key} must be a string"
            )
    return structured


def _attribute_error(name, reason):
    return InvalidParameter(
        f"Invalid parameter: MessageAttributes Reason: The message attribute '{name}' {reason}"
    )


def _stored_attributes(attributes):
    """Validate message attributes; return them JSON-ready (binary base64) and their size."""
    stored, size = {}, 0
    for name in sorted(attributes):
        value = attributes[name] or {}
        if (
            not _ATTRIBUTE_NAME.match(name)
            or ".." in name
            or name.startswith(".")
            or name.endswith(".")
            or name.lower().startswith(("aws.", "amazon."))
        ):
            raise InvalidParameter(
                f"Invalid parameter: MessageAttributes Reason: Invalid attribute name: {name}"
            )
        data_type = value.get("DataType") or ""
        if not data_type:
            raise _attribute_error(name, "must contain a non-empty message attribute type.")
        base_type = data_type.split(".", 1)[0]
        if base_type not in ("String", "Number", "Binary"):
            raise _attribute_error(
                name,
                "has an invalid message attribute type, the set of supported type prefixes is "
                "Binary, Number, and String.",
            )
        if base_type == "Binary":
            raw = value.get("BinaryValue")
            if not raw:
                raise _attribute_error(
                    name,
                    f"must contain non-empty message attribute value for message attribute type "
                    f"'{data_type}'.",
                )
            if isinstance(raw, str):
                raw = raw.encode()
            stored[name] = {"DataType": data_type, "BinaryValue": base64.b64encode(raw).decode()}
            size += len(name.encode()) + len(data_type) + len(raw)
            continue
        text = value.get("StringValue")
        if text is None or text == "":
            raise _attribute_error(
                name,
                f"must contain non-empty message attribute value for message attribute type "
                f"'{data_type}'.",
            )
        if base_type == "Number":
            _validate_number(name, text)
        if data_type == "String.Array":
            try:
                items = json_input.loads(text)
            except ValueError:
                items = None
            if not isinstance(items, list):
                raise _attribute_error(name, "has an invalid String.Array value.")
        stored[name] = {"DataType": data_type, "StringValue": text}
        size += len(name.encode()) + len(data_type) + len(text.encode())
    return stored, size


def _validate_number(name, text):
    try:
        number = Decimal(text) if _NUMBER.match(text) else None
    except InvalidOperation:
        number = None
    if number is None or not Decimal("-1e9") <= number <= Decimal("1e9"):
        raise _attribute_error(
            name,
            "has an invalid value for message attribute type 'Number': numbers must be between "
            "-10^9 and 10^9.",
        )


def _prepare(topic, entry, now):
    """Validate one entry; return an unsaved PublishedMessage and its size in bytes."""
    if entry.message is None or entry.message == "":
        raise InvalidParameter("Invalid parameter: Empty message")
    subject = _validate_subject(entry.subject)
    structured = _structured(entry)
    attributes, size = _stored_attributes(entry.message_attributes or {})
    size += len(entry.message.encode())
    if size > MAX_PUBLISH_BYTES:
        raise InvalidParameter("Invalid parameter: Message too long")
    group_id = entry.group_id or ""
    deduplication_id = entry.deduplication_id or ""
    if topic.fifo_topic:
        if not group_id:
            raise InvalidParameter(
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
            )
        _validate_fifo_id("MessageGroupId", group_id)
        if deduplication_id:
            _validate_fifo_id("MessageDeduplicationId", deduplication_id)
        elif topic.content_based_deduplication:
            deduplication_id = hashlib.sha256(entry.message.encode()).hexdigest()
        else:
            raise InvalidParameter(
                "Invalid parameter: The topic should either have ContentBasedDeduplication "
                "enabled or MessageDeduplicationId provided explicitly"
            )
    else:
        if deduplication_id:
            raise InvalidParameter(
                "Invalid parameter: MessageDeduplicationId Reason: The request includes "
                "MessageDeduplicationId parameter that is not valid for this topic type"
            )
        if group_id:
            _validate_fifo_id("MessageGroupId", group_id)
    message = PublishedMessage(
        topic_id=topic.pk,
        message_id=str(uuid.uuid4()),
        subject=subject,
        message=entry.message,
        structured=structured,
        attributes=attributes,
        group_id=group_id,
        deduplication_id=deduplication_id,
        published_at=now,
    )
    return message, size


def _validate_fifo_id(name, value):
    if len(value) > 128 or not re.fullmatch(r"[!-~]+", value):
        raise InvalidParameter(
            f"Invalid parameter: {name} Reason: {name} can only include alphanumeric and "
            "punctuation characters. 1 to 128 in length."
        )


def _check_batch_ids(ids):
    if not ids:
        raise EmptyBatchRequest()
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"The batch request contains more entries than permissible. You sent {len(ids)}; "
            f"the limit is {MAX_BATCH_ENTRIES}."
        )
    for entry_id in ids:
        if not entry_id or not BATCH_ENTRY_ID.match(entry_id):
            raise InvalidBatchEntryId()
    if len(set(ids)) != len(ids):
        raise BatchEntryIdsNotDistinct()


def publish(topic, entry):
    """Publish one message; return Publish's result fields."""
    results, _failures = publish_messages(topic, [entry], batch=False)
    return results[0]


def publish_messages(topic, entries, batch=True):
    """Publish messages: return (results with Id, failures as (id, error)).

    The messages and one Delivery per matching confirmed subscription are written in one
    transaction; delivery is dispatched only after it commits, so what was accepted is never lost
    and nothing is delivered that was not accepted.
    """
    if batch:
        _check_batch_ids([entry.id for entry in entries])
    # A fresh subscription list, so the plan matches the topic this call sees.
    topic, plan = topic_cache.get(topic.name)
    now = now_ms()
    prepared, failures, total = [], [], 0
    for entry in entries:
        try:
            message, size = _prepare(topic, entry, now)
        except RoostError as error:
            if not batch:
                raise
            failures.append((entry.id, error))
            continue
        total += size
        prepared.append((entry, message))
    if batch and total > MAX_PUBLISH_BYTES:
        raise BatchRequestTooLong(
            f"The length of all the messages put together is more than the limit: {total} bytes "
            f"against {MAX_PUBLISH_BYTES}."
        )
    if not prepared:
        return [], failures
    try:
        with transaction.atomic():
            if topic.fifo_topic:
                fresh = _publish_fifo(topic, [message for _, message in prepared], now)
            else:
                PublishedMessage.objects.bulk_create([message for _, message in prepared])
                fresh = [message for _, message in prepared]
            deliveries = delivery_sql.insert_pending(_deliveries_for(fresh, plan), now)
            if deliveries:
                transaction.on_commit(functools.partial(dispatch.published, deliveries))
    except IntegrityError:
        # Another process deleted the topic (or a subscription) since this one cached it.
        topic_cache.forget(topic.name)
        raise NotFound("Topic does not exist") from None
    results = []
    for entry, message in prepared:
        result = {"MessageId": message.message_id}
        if topic.fifo_topic:
            result["SequenceNumber"] = message.sequence_number
        if batch:
            result = {"Id": entry.id, **result}
        results.append(result)
    return results, failures


def _publish_fifo(topic, messages, now):
    """Insert FIFO messages in order, skipping any seen in the last five minutes."""
    Topic.objects.select_for_update().filter(pk=topic.pk).exists()
    fresh = []
    for message in messages:
        seen = (
            PublishedMessage.objects.filter(
                topic_id=topic.pk,
                deduplication_id=message.deduplication_id,
                published_at__gt=now - DEDUPLICATION_WINDOW_MS,
            )
            .only("message_id", "sequence_number")
            .first()
        )
        if seen is not None:
            message.message_id = seen.message_id
            message.sequence_number = seen.sequence_number
            continue
        message.save()
        message.sequence_number = str(10**19 + message.pk)
        PublishedMessage.objects.filter(pk=message.pk).update(
            sequence_number=message.sequence_number
        )
        fresh.append(message)
    return fresh


def _deliveries_for(messages, plan):
    """(subscription id, message id, protocol) for every subscription each message matches."""
    return [
        (subscription.pk, message.pk, subscription.protocol)
        for message in messages
        for subscription, policy in plan
        if policy.matches(body=message.message, attributes=message.attributes)
    ]


def filter_policy_matches(policy_text, scope, message, attributes=None):
    """Whether a message would pass a filter policy (the console's "test this policy" box)."""
    policy = parse_filter_policy(policy_text, scope or MESSAGE_ATTRIBUTES)
    stored, _size = _stored_attributes(attributes or {})
    return policy.matches(body=message, attributes=stored)
