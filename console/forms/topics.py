"""A topic page's forms: one attribute, subscribing, a subscription's filter and redrive policies
(and testing a filter policy), publishing."""

import base64
import binascii
import json
from dataclasses import dataclass

from django import forms
from django.conf import settings

from console.forms import message_attributes
from console.forms.messages import MessageForm
from notifications.filter_policy import MESSAGE_ATTRIBUTES, MESSAGE_BODY
from notifications.service import PublishEntry
from queues.models import Queue


def pretty_json(text):
    """JSON text indented for editing; anything else as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return text


def _queue_choices(fifo):
    """Roost's queues a subscription of a (FIFO or standard) topic can use: (ARN, name)."""
    queues = Queue.objects.filter(fifo_queue=fifo).order_by("name")
    return [(queue.arn, queue.name) for queue in queues]


# Topic attributes


@dataclass(frozen=True)
class TopicAttribute:
    """A topic attribute people can change from its page."""

    name: str  # as SNS spells it
    field: str  # the Topic model field holding it
    label: str
    help: str
    kind: str  # "text", "json" or "choice"
    choices: tuple = ()

    def current(self, topic):
        return getattr(topic, self.field)


EDITABLE = [
    TopicAttribute(
        "DisplayName",
        "display_name",
        "Display name",
        "The sender name of email notifications, up to 100 characters.",
        "text",
    ),
    TopicAttribute(
        "DeliveryPolicy",
        "delivery_policy",
        "Delivery policy",
        "How deliveries to HTTP(S) subscriptions are retried, as JSON, e.g. "
        '{"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}}. '
        "Empty uses SNS's default: 3 retries, 20 seconds apart.",
        "json",
    ),
    TopicAttribute(
        "SignatureVersion",
        "signature_version",
        "Signature version",
        "How notifications are signed for their subscribers to check.",
        "choice",
        (("1", "1 (SHA1)"), ("2", "2 (SHA256)")),
    ),
]
EDITABLE_BY_NAME = {attribute.name: attribute for attribute in EDITABLE}


class TopicAttributeForm(forms.Form):
    """Change one topic attribute; the service validates the value."""

    parameters = {}  # every refusal is about the value
    error_field = "value"

    def __init__(self, topic, attribute, *args, **kwargs):
        kwargs.setdefault("auto_id", f"topic-attr-{attribute.name}-%s")
        super().__init__(*args, **kwargs)
        self.attribute = attribute
        if attribute.kind == "choice":
            field = forms.ChoiceField(choices=attribute.choices)
        elif attribute.kind == "json":
            field = forms.CharField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
            )
        else:
            field = forms.CharField(
                required=False, strip=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
            )
        field.label = attribute.label
        field.help_text = attribute.help
        current = attribute.current(topic)
        field.initial = pretty_json(current) if attribute.kind == "json" and current else current
        self.fields["value"] = field

    def attribute_value(self):
        return self.cleaned_data["value"]


# Subscribing

PROTOCOLS = [
    ("sqs", "sqs: a queue"),
    ("https", "https: a web hook"),
    ("http", "http: a web hook"),
    ("email", "email: a plain-text email"),
    ("email-json", "email-json: the notification's JSON by email"),
]
RAW_DELIVERY_PROTOCOLS = ("sqs", "http", "https")
# What the endpoint is called for each protocol: (label, placeholder, help). The page names it
# generally; console.js switches to the chosen protocol's words.
ENDPOINTS = {
    "sqs": (
        "Queue ARN",
        "arn:aws:sqs:{region}:{account}:orders",
        "Or pick one of Roost's queues above.",
    ),
    "https": (
        "URL",
        "https://example.com/sns-hook",
        "It stays pending until the endpoint visits the SubscribeURL it is sent.",
    ),
    "http": (
        "URL",
        "http://example.com/sns-hook",
        "It stays pending until the endpoint visits the SubscribeURL it is sent.",
    ),
    "email": (
        "Email address",
        "ops@example.com",
        "It stays pending until the recipient follows the link in the confirmation email.",
    ),
    "email-json": (
        "Email address",
        "ops@example.com",
        "The email carries the notification's JSON. It stays pending until the recipient "
        "follows the link in the confirmation email.",
    ),
}
# Which protocols each optional field of the subscribe form applies to (the page shows them all
# without JavaScript, each naming its protocols).
FIELD_PROTOCOLS = {"queue": ("sqs",), "raw_message_delivery": RAW_DELIVERY_PROTOCOLS}


class SubscribeForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol")
    queue = forms.ChoiceField(
        required=False,
        label="Queue (sqs)",
        help_text="Pick one of Roost's queues, or type a queue's ARN as the endpoint.",
    )
    endpoint = forms.CharField(
        required=False,
        max_length=2048,
        label="Endpoint",
        help_text="A URL for http and https, an email address for email, a queue ARN for sqs. "
        "Web hooks and email addresses stay pending until they confirm.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    raw_message_delivery = forms.BooleanField(
        required=False,
        label="Raw message delivery",
        help_text="Deliver the message as published, without SNS's JSON envelope (sqs, http, "
        "https).",
    )

    def __init__(self, *args, topic, **kwargs):
        kwargs.setdefault("auto_id", "subscribe-%s")
        super().__init__(*args, **kwargs)
        self.topic = topic
        if topic.fifo_topic:
            self.fields["protocol"].choices = PROTOCOLS[:1]
            self.fields["protocol"].help_text = "FIFO topics deliver only to FIFO queues."
        else:
            self.fields["protocol"].choices = PROTOCOLS
        self.fields["protocol"].widget.attrs["data-protocol-switch"] = ""
        self.fields["queue"].choices = [("", "None"), *_queue_choices(topic.fifo_topic)]
        region, account = settings.ROOST_REGION, settings.ROOST_ACCOUNT_ID
        words = {
            protocol: {
                "label": label,
                "placeholder": placeholder.format(region=region, account=account),
                "help": help_text,
            }
            for protocol, (label, placeholder, help_text) in ENDPOINTS.items()
        }
        self.fields["endpoint"].widget.attrs["data-endpoint-words"] = json.dumps(words)

    @property
    def field_protocols(self):
        """{field name: the protocols it applies to, space-separated} for the optional fields."""
        return {name: " ".join(protocols) for name, protocols in FIELD_PROTOCOLS.items()}

    @property
    def parameters(self):
        """Which field a service error belongs to, by the words its message uses."""
        endpoint = "queue" if self.cleaned_data.get("queue") else "endpoint"
        return {
            "raw message delivery": "raw_message_delivery",
            "Endpoint": endpoint,
            "Email address": "endpoint",
            "SQS endpoint ARN": endpoint,
            "protocol": "protocol",
            "Protocol": "protocol",
            "Attributes": "raw_message_delivery",
        }

    error_field = "endpoint"

    def clean(self):
        cleaned = super().clean()
        queue, endpoint = cleaned.get("queue"), (cleaned.get("endpoint") or "").strip()
        if queue:
            if cleaned.get("protocol") != "sqs":
                self.add_error("queue", "A queue is subscribed with the sqs protocol.")
            elif endpoint and endpoint != queue:
                self.add_error("endpoint", "Pick a queue or type an endpoint, not both.")
            endpoint = queue
        elif not endpoint:
            self.add_error("endpoint", "Give the endpoint to deliver to.")
        cleaned["endpoint"] = endpoint
        return cleaned

    def attributes(self):
        return {"RawMessageDelivery": "true"} if self.cleaned_data["raw_message_delivery"] else {}

    def subscribe_arguments(self):
        """service.subscribe's arguments after the topic: protocol, endpoint, attributes."""
        return self.cleaned_data["protocol"], self.cleaned_data["endpoint"], self.attributes()


# A subscription's filter policy and its test box

SCOPES = [(MESSAGE_ATTRIBUTES, "Message attributes"), (MESSAGE_BODY, "Message body")]


class FilterPolicyForm(forms.Form):
    """The filter policy editor; `testing` also checks the sample message for the test box."""

    policy = forms.CharField(
        required=False,
        label="Filter policy",
        help_text='JSON, e.g. {"store": ["example_corp"], "price": [{"numeric": [">", 10]}]}. '
        "Empty delivers every message.",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    scope = forms.ChoiceField(
        choices=SCOPES,
        label="Applies to",
        help_text="Whether the policy's keys name message attributes or fields of a JSON body.",
    )
    sample_message = forms.CharField(
        required=False,
        strip=False,
        label="Sample message",
        help_text="The message body; a JSON object when the policy applies to the body.",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    sample_attributes = forms.CharField(
        required=False,
        label="Sample message attributes",
        help_text='JSON: {"store": "example_corp", "price": 12, "tags": ["a", "b"]}, or the full '
        'form {"name": {"DataType": "String", "StringValue": "…"}}.',
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    SAMPLE = ("sample_message", "sample_attributes")
    # "FilterPolicy" is in "FilterPolicyScope": the scope comes first.
    parameters = {
        "FilterPolicyScope": "scope",
        "MessageAttributes": "sample_attributes",
        "FilterPolicy": "policy",
    }
    error_field = "policy"

    def __init__(self, subscription, *args, testing=False, **kwargs):
        kwargs.setdefault("auto_id", f"filter-{subscription.uuid}-%s")
        super().__init__(*args, **kwargs)
        self.testing = testing
        self.fields["policy"].initial = pretty_json(subscription.filter_policy)
        self.fields["scope"].initial = subscription.filter_policy_scope or MESSAGE_ATTRIBUTES

    def clean_sample_attributes(self):
        text = self.cleaned_data["sample_attributes"]
        if not self.testing or not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error}.") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(
                'Give the attributes as a JSON object: {"name": "value", …}.'
            )
        return {name: _sample_attribute(name, value) for name, value in parsed.items()}

    def attributes(self):
        """The subscription attributes to save (the scope before the policy it governs)."""
        return {
            "FilterPolicyScope": self.cleaned_data["scope"],
            "FilterPolicy": self.cleaned_data["policy"],
        }

    def test_arguments(self):
        """filter_policy_matches' arguments: the policy, its scope and the sample to test."""
        data = self.cleaned_data
        return data["policy"], data["scope"], data["sample_message"], data["sample_attributes"]


def _sample_attribute(name, value):
    """One test attribute in the service's form: strings, numbers and arrays by their JSON type."""
    if isinstance(value, dict) and "DataType" in value:
        attribute = {"DataType": str(value["DataType"])}
        if "StringValue" in value:
            attribute["StringValue"] = str(value["StringValue"])
        if "BinaryValue" in value:
            try:
                attribute["BinaryValue"] = base64.b64decode(
                    str(value["BinaryValue"]), validate=True
                )
            except (binascii.Error, ValueError):
                raise forms.ValidationError(f"The BinaryValue of {name} is not base64.") from None
        return attribute
    if isinstance(value, str):
        return {"DataType": "String", "StringValue": value}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"DataType": "Number", "StringValue": json.dumps(value)}
    if isinstance(value, list):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    raise forms.ValidationError(
        f'Give {name} a string, a number, an array or {{"DataType": …, "StringValue": …}}.'
    )


# A subscription's dead-letter queue


class RedrivePolicyForm(forms.Form):
    dead_letter_queue = forms.ChoiceField(
        required=False,
        label="Dead-letter queue",
        help_text="Where a message goes when its deliveries fail for good, with why.",
    )

    parameters = {"RedrivePolicy": "dead_letter_queue"}
    error_field = "dead_letter_queue"

    def __init__(self, subscription, *args, **kwargs):
        kwargs.setdefault("auto_id", f"redrive-{subscription.uuid}-%s")
        super().__init__(*args, **kwargs)
        choices = _queue_choices(subscription.topic.fifo_topic)
        current = dead_letter_target(subscription.redrive_policy)
        if current and current not in dict(choices):
            choices.append((current, f"{current.rsplit(':', 1)[-1]} (not in Roost)"))
        self.fields["dead_letter_queue"].choices = [("", "None"), *choices]
        self.fields["dead_letter_queue"].initial = current

    def attributes(self):
        arn = self.cleaned_data["dead_letter_queue"]
        return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn}) if arn else ""}


def dead_letter_target(redrive_policy):
    """The deadLetterTargetArn a stored RedrivePolicy names, or ""."""
    try:
        target = json.loads(redrive_policy).get("deadLetterTargetArn")
    except (TypeError, ValueError, AttributeError):
        return ""
    return target if isinstance(target, str) else ""


# Publishing

# SNS reads this label: the value is a JSON array, which filter policies match item by item.
STRING_ARRAY = ("String.Array", "String.Array (JSON array)")


class PublishForm(MessageForm):
    """A test message to publish."""

    message = forms.CharField(
        strip=False,
        label="Message",
        help_text="Ctrl+Enter publishes.",
        widget=forms.Textarea(
            attrs={"rows": 5, "spellcheck": "false", "data-submit-on-ctrl-enter": ""}
        ),
    )
    subject = forms.CharField(
        required=False,
        label="Subject",
        help_text="Optional: the subject of email notifications, up to 100 ASCII characters.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    per_protocol = forms.BooleanField(
        required=False,
        label="A message per protocol",
        help_text='MessageStructure=json: the message is {"default": "…", "sqs": "…", '
        '"https": "…"}, each subscriber gets its protocol\'s.',
    )
    parameters = {
        "MessageDeduplicationId": "deduplication_id",
        "MessageGroupId": "group_id",
        "MessageAttributes": "attributes",
        "Subject": "subject",
        "Message Structure": "per_protocol",
        "MessageStructure": "per_protocol",
    }
    error_field = "message"
    attribute_types = [*message_attributes.TYPES, STRING_ARRAY]

    def __init__(self, *args, topic, **kwargs):
        kwargs.setdefault("auto_id", "publish-%s")
        super().__init__(*args, **kwargs)
        self.topic = topic
        self.ask_for_deduplication_id(topic.fifo_topic, topic.content_based_deduplication, "topic")
        if not topic.fifo_topic:
            del self.fields["group_id"]

    def entry(self):
        data = self.cleaned_data
        return PublishEntry(
            message=data["message"],
            subject=data["subject"] or None,
            message_structure="json" if data["per_protocol"] else None,
            message_attributes=data["message_attributes"],
            **self.fifo_ids(),
        )
