"""Topics: names, attributes and the default policy; Create/DeleteTopic, ListTopics,
Get/SetTopicAttributes.

Also the small helpers that tags and subscriptions import from here: tag checks, the topic's row
locked, NextToken encoding, and attribute values as SNS's "true"/"false".
"""

import base64
import json
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from audit import log as audit_log
from aws_protocol import json_input, quotas
from notifications import delivery_policy
from notifications.errors import InvalidParameter, NotFound, TagLimitExceeded, TopicLimitExceeded
from notifications.models import Subscription, Topic
from notifications.service.lookups import _account, topic_cache

TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
MAX_TAGS = 50
PAGE_SIZE = 100

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
            audit_log.record("CreateTopic", "topic", name, attributes=attributes, tags=tags or {})
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
        audit_log.record("DeleteTopic", "topic", topic.name)
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
        if attributes:
            audit_log.record("SetTopicAttributes", "topic", topic.name, attributes=attributes)
        if tags:
            audit_log.record("TagResource", "topic", topic.name, tags=tags)
        if remove_tags:
            audit_log.record("UntagResource", "topic", topic.name, tag_keys=list(remove_tags))
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
