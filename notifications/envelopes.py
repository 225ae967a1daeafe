"""What subscribers receive: SNS's JSON envelopes, HTTP headers, emails and the links they carry.

Links point at ROOST_PUBLIC_URL: deliveries are rendered by workers, which have no request to
take a host from. SubscribeURL and UnsubscribeURL have AWS's shape (`/?Action=...`) so code that
follows them gets SNS's XML answer; emails link to HTML pages instead, for people.
"""

import base64
import functools
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings

from notifications import signing

NOTIFICATION = signing.NOTIFICATION
SUBSCRIPTION_CONFIRMATION = signing.SUBSCRIPTION_CONFIRMATION
UNSUBSCRIBE_CONFIRMATION = signing.UNSUBSCRIBE_CONFIRMATION


def _base_url():
    return settings.ROOST_PUBLIC_URL.rstrip("/")


@functools.lru_cache(maxsize=1024)
def timestamp(ms):
    """SNS's Timestamp: ISO 8601 in UTC with milliseconds, like 2012-04-25T21:49:25.719Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _link(params):
    """A link of SNS's shape: `/?Action=...`, with ARNs written as SNS writes them.

    SNS leaves the colons of an ARN unescaped, and subscribers' code looks for the ARN in the URL
    as it is, so colons stay; every other reserved character is escaped.
    """
    return f"{_base_url()}/?{urlencode(params, safe=':')}"


def subscribe_url(subscription):
    return _confirm_link(subscription.topic.arn, subscription.confirmation_token)


def _confirm_link(topic_arn, token):
    return _link({"Action": "ConfirmSubscription", "TopicArn": topic_arn, "Token": token})


def unsubscribe_url(subscription):
    return _unsubscribe_url(subscription.arn, subscription.unsubscribe_token)


@functools.lru_cache(maxsize=4096)
def _unsubscribe_url(arn, token):
    """Cached: a drain renders the same subscription's link for every message it delivers."""
    return _link({"Action": "Unsubscribe", "SubscriptionArn": arn, "Token": token})


def confirmation_page_url(subscription):
    query = urlencode(
        {
            "TopicArn": subscription.topic.arn,
            "Token": subscription.confirmation_token,
            "Endpoint": subscription.endpoint,
        }
    )
    return f"{_base_url()}/sns/confirmation/?{query}"


def unsubscribe_page_url(subscription):
    query = urlencode(
        {"SubscriptionArn": subscription.arn, "Token": subscription.unsubscribe_token}
    )
    return f"{_base_url()}/sns/unsubscribe/?{query}"


def envelope_attributes(attributes):
    """Message attributes as the envelope shows them: {"name": {"Type": ..., "Value": ...}}."""
    return {
        name: {
            "Type": value["DataType"],
            "Value": value["BinaryValue"] if "BinaryValue" in value else value["StringValue"],
        }
        for name, value in attributes.items()
    }


def notification(message, subscription, body):
    """The JSON envelope of one notification, signed unless the topic is FIFO (as SNS does)."""
    envelope = _shared_fields(*_shared_key(message, subscription.topic, body))
    envelope["UnsubscribeURL"] = unsubscribe_url(subscription)
    if message.attributes:
        envelope["MessageAttributes"] = envelope_attributes(message.attributes)
    return envelope


def notification_text(message, subscription, body):
    """json.dumps(notification(...)), the fields every subscriber of the message shares rendered
    once: a publish to ten queues rendered (and hashed) the same signed fields ten times."""
    text = _shared_text(*_shared_key(message, subscription.topic, body))
    text += f', "UnsubscribeURL": {json.dumps(unsubscribe_url(subscription))}'
    if message.attributes:
        text += f', "MessageAttributes": {json.dumps(envelope_attributes(message.attributes))}'
    return text + "}"


def _shared_key(message, topic, body):
    return (
        message.message_id,
        message.sequence_number if topic.fifo_topic else None,
        topic.arn,
        message.subject,
        body,
        message.published_at,
        None if topic.fifo_topic else topic.signature_version,
    )


def _shared_fields(message_id, sequence_number, topic_arn, subject, body, published_at, version):
    """The envelope's fields up to the signature: the same for every subscriber of a message.
    A FIFO topic's have a SequenceNumber and no signature."""
    envelope = {"Type": NOTIFICATION, "MessageId": message_id}
    if sequence_number is not None:
        envelope["SequenceNumber"] = sequence_number
    envelope["TopicArn"] = topic_arn
    if subject:
        envelope["Subject"] = subject
    envelope["Message"] = body
    envelope["Timestamp"] = timestamp(published_at)
    if version is not None:
        envelope.update(
            _signature(body, message_id, subject, envelope["Timestamp"], topic_arn, version)
        )
    return envelope


# Keyed on whole bodies (up to 256 KiB each): a message's subscribers are rendered back to back, so
# a few entries keep the benefit without holding many large bodies in every process.
@functools.lru_cache(maxsize=32)
def _shared_text(*key):
    """The shared fields as JSON, without the closing brace, for notification_text to go on."""
    return json.dumps(_shared_fields(*key))[:-1]


# A drain takes up to 200 deliveries, queue by queue: enough entries to sign each message once.
@functools.lru_cache(maxsize=256)
def _signature(body, message_id, subject, sent, topic_arn, version):
    """Sign once per message: every subscriber of a topic gets the same signed fields."""
    fields = {
        "Type": NOTIFICATION,
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": body,
        "Timestamp": sent,
    }
    if subject:
        fields["Subject"] = subject
    signed = signing.sign(fields, _base_url(), version)
    return {name: signed[name] for name in ("SignatureVersion", "Signature", "SigningCertURL")}


def confirmation(subscription, message_id, sent_ms):
    """The signed SubscriptionConfirmation an HTTP(S) endpoint must answer by visiting a URL."""
    topic = subscription.topic
    fields = {
        "Type": SUBSCRIPTION_CONFIRMATION,
        "MessageId": message_id,
        "Token": subscription.confirmation_token,
        "TopicArn": topic.arn,
        "Message": (
            f"You have chosen to subscribe to the topic {topic.arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        ),
        "SubscribeURL": subscribe_url(subscription),
        "Timestamp": timestamp(sent_ms),
    }
    return signing.sign(fields, _base_url(), topic.signature_version)


def unsubscribe_confirmation(removed):
    """The signed UnsubscribeConfirmation a removed HTTP(S) subscription's endpoint gets; its
    SubscribeURL restores the subscription."""
    topic = removed.topic
    fields = {
        "Type": UNSUBSCRIBE_CONFIRMATION,
        "MessageId": removed.message_id,
        "Token": removed.token,
        "TopicArn": topic.arn,
        "Message": (
            f"You have chosen to deactivate subscription {removed.arn}.\n"
            "To cancel this operation and restore the subscription, visit the SubscribeURL "
            "included in this message."
        ),
        "SubscribeURL": _confirm_link(topic.arn, removed.token),
        "Timestamp": timestamp(removed.unsubscribed_at),
    }
    return signing.sign(fields, _base_url(), topic.signature_version)


def http_headers(envelope, subscription, content_type):
    """The headers SNS sends with every HTTP(S) POST."""
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": envelope["Type"],
        "x-amz-sns-message-id": envelope["MessageId"],
        "x-amz-sns-topic-arn": envelope["TopicArn"],
    }
    if envelope["Type"] == NOTIFICATION:
        headers["x-amz-sns-subscription-arn"] = subscription.arn
        if subscription.raw_message_delivery:
            headers["x-amz-sns-rawdelivery"] = "true"
    elif envelope["Type"] == UNSUBSCRIBE_CONFIRMATION:
        headers["x-amz-sns-subscription-arn"] = subscription.arn
    return headers


def raw_attributes(attributes):
    """Message attributes in SQS's shape for raw delivery: binary values as bytes."""
    converted = {}
    for name, value in attributes.items():
        if "BinaryValue" in value:
            converted[name] = {
                "DataType": value["DataType"],
                "BinaryValue": base64.b64decode(value["BinaryValue"]),
            }
        else:
            converted[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    return converted


def dumps(envelope):
    return json.dumps(envelope, ensure_ascii=False, indent=2)


def _sender(topic):
    name = topic.display_name or "Roost Notifications"
    return f"{name} <{settings.DEFAULT_FROM_EMAIL}>"


def email_notification(message, subscription):
    """(subject, body, from) of a notification to an email or email-json subscriber."""
    topic = subscription.topic
    subject = message.subject or topic.display_name or "Roost Notification Message"
    if subscription.protocol == "email-json":
        body = dumps(notification(message, subscription, message.body_for("email-json")))
    else:
        body = (
            f"{message.body_for('email')}\n\n--\n"
            "If you wish to stop receiving notifications from this topic, please click or visit "
            f"the link below to unsubscribe:\n{unsubscribe_page_url(subscription)}\n"
        )
    return subject, body, _sender(topic)


def email_confirmation(subscription):
    """(subject, body, from) of the email asking a subscriber to confirm."""
    topic = subscription.topic
    body = (
        f"You have chosen to subscribe to the topic:\n{topic.arn}\n\n"
        "To confirm this subscription, click or visit the link below (If this was in error no "
        f"action is necessary):\n{confirmation_page_url(subscription)}\n"
    )
    return "Roost Notification - Subscription Confirmation", body, _sender(topic)
