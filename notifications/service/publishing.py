"""Publishing: Publish and PublishBatch.

Each message is validated (subject, MessageStructure, message attributes, FIFO group and
de-duplication ids), FIFO topics skip a de-duplication id seen in the last five minutes, and the
messages are written with what they owe each matching confirmed subscription: a standard topic's
few queue subscribers get their messages in the same transaction, everything else an outbox
Delivery; delivering is notifications.delivery's job. Also the console's filter-policy test, which reads message
attributes as Publish does.
"""

import base64
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from aws_protocol import actor, json_input
from aws_protocol.errors import RoostError
from notifications import delivery, delivery_sql, dispatch, metrics
from notifications.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    TooManyEntriesInBatchRequest,
)
from notifications.filter_policy import MESSAGE_ATTRIBUTES, parse_filter_policy
from notifications.models import PublishedMessage, Topic
from notifications.service.lookups import topic_cache
from queues import lineage as queue_lineage
from queues.models import now_ms

BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_PUBLISH_BYTES = 262_144
MAX_BATCH_ENTRIES = 10
DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


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
        publisher_key_id=actor.current().key_id or "",
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
    messages = [message for _, message in prepared]
    try:
        fresh, owed = _store(topic, plan, messages, now, in_publish=not topic.fifo_topic)
    except IntegrityError:
        # A queue or a subscription deleted by another process since this one cached it fails a
        # foreign key at commit: store again, leaving deliveries to the drain, with the topic's
        # subscriptions read afresh (NotFound if the topic itself is gone).
        delivery.forget_queues(_deliveries_for(messages, plan), _subscriptions(plan))
        topic_cache.forget(topic.name)
        topic, plan = topic_cache.get(topic.name)
        for message in messages:
            message.pk, message._state.adding = None, True
        try:
            fresh, owed = _store(topic, plan, messages, now, in_publish=False)
        except IntegrityError:
            # Another process deleted the topic (or a subscription) since this one cached it.
            topic_cache.forget(topic.name)
            raise NotFound("Topic does not exist") from None
    metrics.published(topic, len(prepared), fresh, plan, owed)
    results = []
    for entry, message in prepared:
        result = {"MessageId": message.message_id}
        if topic.fifo_topic:
            result["SequenceNumber"] = message.sequence_number
        if batch:
            result = {"Id": entry.id, **result}
        results.append(result)
    return results, failures


def _store(topic, plan, messages, now, in_publish):
    """Write the messages and what they owe their subscriptions, in one transaction; return (the
    messages stored, not FIFO duplicates; every delivery they owe as rows).

    With `in_publish`, deliveries into queues are made in this transaction (see
    notifications.delivery.deliver_in_publish); the rest go to the outbox, dispatched after the
    commit.
    """
    with transaction.atomic():
        if topic.fifo_topic:
            fresh = _publish_fifo(topic, messages, now)
        else:
            delivery_sql.insert_messages(messages)
            fresh = messages
        owed = _deliveries_for(fresh, plan)
        pending = owed
        if in_publish and queue_lineage.enabled():
            filter_verdicts(fresh, plan, owed)
        if in_publish:
            pending = delivery.deliver_in_publish(
                owed, {message.pk: message for message in fresh}, _subscriptions(plan)
            )
        deliveries = delivery_sql.insert_pending(pending, now)
        if deliveries:
            transaction.on_commit(functools.partial(dispatch.published, deliveries))
    return fresh, owed


def _subscriptions(plan):
    return {subscription.pk: subscription for subscription, _policy in plan}


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


def filter_verdicts(messages, plan, owed):
    """Note on each message delivered to a queue every subscription's filter verdict (its
    lineage's `published` step names them): "matched", or the clause that failed.

    Only the topic's first delivery.MAX_VERDICTS subscriptions; the clause is worked out only
    for a message that reaches a queue, and only where a policy refused it.
    """
    into_queues = {message_id for _sid, message_id, protocol in owed if protocol == "sqs"}
    matched = {(sid, message_id) for sid, message_id, _protocol in owed}
    for message in messages:
        if message.pk not in into_queues:
            continue
        verdicts = {}
        for subscription, policy in plan[: delivery.MAX_VERDICTS]:
            if (subscription.pk, message.pk) in matched:
                verdicts[subscription.arn] = "matched"
            else:
                clause = policy.explain(body=message.message, attributes=message.attributes)
                verdicts[subscription.arn] = clause or "not delivered"
        message.filter_verdicts = verdicts


def filter_policy_matches(policy_text, scope, message, attributes=None):
    """Whether a message would pass a filter policy (the console's "test this policy" box)."""
    policy = parse_filter_policy(policy_text, scope or MESSAGE_ATTRIBUTES)
    stored, _size = _stored_attributes(attributes or {})
    return policy.matches(body=message, attributes=stored)
