"""A queue page's forms: one attribute, tags, sending, redrive and the message explorer's filters."""

import json
from dataclasses import dataclass

from django import forms

from console.forms.messages import MessageForm
from queues import queue_attributes
from queues.models import Queue
from queues.peek import MAX_LIMIT
from queues.service import SendEntry


@dataclass(frozen=True)
class EditableAttribute:
    """A queue attribute people can change from its page."""

    name: str  # as SQS spells it
    label: str
    help: str
    unit: str = ""  # "seconds" or "bytes" for numbers

    @property
    def spec(self):
        return queue_attributes.SETTABLE[self.name]

    def applies_to(self, queue):
        return self.name not in queue_attributes.FIFO_ONLY or queue.is_fifo


EDITABLE = [
    EditableAttribute(
        "VisibilityTimeout",
        "Visibility timeout",
        "How long a received message stays hidden from other receivers (0 to 43,200).",
        "seconds",
    ),
    EditableAttribute(
        "DelaySeconds",
        "Delivery delay",
        "How long each new message stays invisible after it is sent (0 to 900).",
        "seconds",
    ),
    EditableAttribute(
        "ReceiveMessageWaitTimeSeconds",
        "Receive wait time",
        "How long a receive waits for a message when none is visible: long polling (0 to 20).",
        "seconds",
    ),
    EditableAttribute(
        "MessageRetentionPeriod",
        "Retention period",
        "How long a message is kept before it expires (60 to 1,209,600: 14 days).",
        "seconds",
    ),
    EditableAttribute(
        "MaximumMessageSize",
        "Maximum message size",
        "The largest body plus attributes accepted (1,024 to 1,048,576).",
        "bytes",
    ),
    EditableAttribute(
        "RedrivePolicy",
        "Dead-letter queue",
        "Where a message goes once it has been received too many times without being deleted.",
    ),
    EditableAttribute(
        "RedriveAllowPolicy",
        "Redrive allow policy",
        "Which queues may use this one as their dead-letter queue, as JSON, e.g. "
        '{"redrivePermission": "allowAll"}. Empty allows all.',
    ),
    EditableAttribute(
        "ContentBasedDeduplication",
        "Content-based deduplication",
        "Deduplicate by a hash of the body when a message comes without a deduplication id.",
    ),
    EditableAttribute(
        "DeduplicationScope",
        "Deduplication scope",
        "Whether deduplication ids are unique per queue or per message group.",
    ),
    EditableAttribute(
        "FifoThroughputLimit",
        "FIFO throughput limit",
        "Whether the throughput quota applies per queue or per message group.",
    ),
    EditableAttribute(
        "SqsManagedSseEnabled",
        "SQS-managed encryption",
        "Reported to clients as SQS does; Roost keeps messages in its own database either way.",
    ),
    EditableAttribute("KmsMasterKeyId", "KMS key id", "Kept and reported; Roost does not use KMS."),
    EditableAttribute(
        "KmsDataKeyReusePeriodSeconds",
        "KMS data key reuse period",
        "Kept and reported; Roost does not use KMS (60 to 86,400).",
        "seconds",
    ),
    EditableAttribute(
        "Policy", "Access policy", "An IAM policy document as JSON; kept and reported."
    ),
]
EDITABLE_BY_NAME = {attribute.name: attribute for attribute in EDITABLE}


def editable_attributes(queue):
    return [attribute for attribute in EDITABLE if attribute.applies_to(queue)]


class AttributeForm(forms.Form):
    """Change one attribute. RedrivePolicy is asked for as a queue and a count, not as JSON."""

    def __init__(self, queue, attribute, *args, **kwargs):
        kwargs.setdefault("auto_id", f"attr-{attribute.name}-%s")
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.attribute = attribute
        if attribute.name == "RedrivePolicy":
            self._redrive_fields()
            return
        spec = attribute.spec
        current = queue_attributes.render(queue, attribute.name)
        if isinstance(spec, queue_attributes.IntegerAttribute):
            field = forms.IntegerField(
                widget=forms.NumberInput(attrs={"min": spec.minimum, "max": spec.maximum})
            )
        elif isinstance(spec, queue_attributes.BooleanAttribute):
            field = forms.ChoiceField(choices=[("true", "On"), ("false", "Off")])
        elif isinstance(spec, queue_attributes.ChoiceAttribute):
            field = forms.ChoiceField(choices=[(choice, choice) for choice in spec.choices])
        elif attribute.name == "KmsMasterKeyId":
            field = forms.CharField(required=False)
        else:
            field = forms.CharField(
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
            )
        field.label = attribute.label + (f" ({attribute.unit})" if attribute.unit else "")
        field.help_text = attribute.help
        field.initial = current
        self.fields["value"] = field

    def _redrive_fields(self):
        others = (
            Queue.objects.filter(fifo_queue=self.queue.is_fifo)
            .exclude(pk=self.queue.pk)
            .order_by("name")
            .values_list("name", flat=True)
        )
        current = self.queue.dead_letter_queue.name if self.queue.dead_letter_queue_id else ""
        self.fields["dead_letter_queue"] = forms.ChoiceField(
            required=False,
            label="Dead-letter queue",
            choices=[("", "None"), *[(name, name) for name in others]],
            initial=current,
            help_text=self.attribute.help,
        )
        self.fields["max_receive_count"] = forms.IntegerField(
            required=False,
            label="Receives before dead-lettering",
            initial=self.queue.max_receive_count or 5,
            help_text="1 to 1,000.",
            widget=forms.NumberInput(attrs={"min": 1, "max": 1000}),
        )

    @property
    def error_field(self):
        return "dead_letter_queue" if self.attribute.name == "RedrivePolicy" else "value"

    @property
    def parameters(self):
        """Which field a service error belongs to, by the parameter its message names."""
        if self.attribute.name == "RedrivePolicy":
            return {"maxReceiveCount": "max_receive_count"}
        return {}

    def attribute_value(self):
        """The attribute's new value as SQS takes it (a string)."""
        data = self.cleaned_data
        if self.attribute.name != "RedrivePolicy":
            return str(data["value"])
        if not data["dead_letter_queue"]:
            return ""
        target = Queue.objects.filter(name=data["dead_letter_queue"]).first()
        count = data["max_receive_count"] if data["max_receive_count"] is not None else 5
        return json.dumps(
            {
                "deadLetterTargetArn": target.arn if target else data["dead_letter_queue"],
                "maxReceiveCount": count,
            }
        )


class TagForm(forms.Form):
    key = forms.CharField(
        max_length=128, label="Key", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    value = forms.CharField(
        max_length=256,
        required=False,
        label="Value",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    parameters = {"Tag value": "value"}
    error_field = "key"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "tag-%s")
        super().__init__(*args, **kwargs)

    def tags(self):
        return {self.cleaned_data["key"]: self.cleaned_data["value"]}


class SendMessageForm(MessageForm):
    """One message to send."""

    body = forms.CharField(
        strip=False,
        label="Body",
        help_text="Ctrl+Enter sends.",
        widget=forms.Textarea(
            attrs={"rows": 5, "spellcheck": "false", "data-submit-on-ctrl-enter": ""}
        ),
    )
    delay_seconds = forms.IntegerField(
        required=False,
        label="Delay (seconds)",
        help_text="0 to 900; blank uses the queue's delivery delay.",
        widget=forms.NumberInput(attrs={"min": 0, "max": 900}),
    )
    parameters = {
        "MessageDeduplicationId": "deduplication_id",
        "MessageGroupId": "group_id",
        "DelaySeconds": "delay_seconds",
        "attribute": "attributes",
        "MessageBody": "body",
    }
    error_field = "body"

    def __init__(self, *args, queue, **kwargs):
        kwargs.setdefault("auto_id", "send-%s")
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.ask_for_deduplication_id(queue.is_fifo, queue.content_based_deduplication, "queue")
        # A FIFO queue delays whole queues, not messages; group and deduplication ids are
        # FIFO-only.
        if queue.is_fifo:
            del self.fields["delay_seconds"]
        else:
            del self.fields["group_id"]

    def entry(self):
        data = self.cleaned_data
        return SendEntry(
            body=data["body"],
            delay_seconds=data.get("delay_seconds"),
            message_attributes=data["message_attributes"],
            **self.fifo_ids(),
        )


class RedriveForm(forms.Form):
    """Move a dead-letter queue's messages (all, as a task, or those selected) elsewhere."""

    destination = forms.ChoiceField(
        required=False,
        label="Move to",
        help_text="Each message goes back to the queue it was dead-lettered from, or all to one queue.",
    )
    rate = forms.IntegerField(
        required=False,
        label="Messages per second",
        help_text="1 to 500, for moving all; blank moves as fast as Roost can.",
        widget=forms.NumberInput(attrs={"min": 1, "max": 500}),
    )

    parameters = {"MaxNumberOfMessagesPerSecond": "rate", "Destination": "destination"}
    error_field = None

    def __init__(self, *args, queue, **kwargs):
        kwargs.setdefault("auto_id", "redrive-%s")
        super().__init__(*args, **kwargs)
        others = (
            Queue.objects.filter(fifo_queue=queue.is_fifo)
            .exclude(pk=queue.pk)
            .order_by("name")
            .values_list("name", flat=True)
        )
        self.fields["destination"].choices = [
            ("", "Their source queues"),
            *[(name, name) for name in others],
        ]

    def destination_queue(self):
        name = self.cleaned_data.get("destination")
        return Queue.objects.filter(name=name).first() if name else None

    def destination_arn(self):
        """The chosen queue's ARN; None sends each message back to its source queue."""
        destination = self.destination_queue()
        return destination.arn if destination else None

    def selected_ids(self):
        """The ids of the messages ticked in the explorer."""
        return [int(value) for value in self.data.getlist("message") if value.isdigit()]


STATE_CHOICES = [("visible", "Visible"), ("in_flight", "In flight"), ("delayed", "Delayed")]
AGE_UNITS = [("60", "minutes"), ("1", "seconds"), ("3600", "hours"), ("86400", "days")]
PAGE_SIZES = [(25, "25"), (50, "50"), (100, "100"), (250, "250"), (MAX_LIMIT, f"{MAX_LIMIT:,}")]


class PeekFilterForm(forms.Form):
    """The message explorer's filters (a GET form: the URL keeps them)."""

    state = forms.MultipleChoiceField(
        required=False,
        choices=STATE_CHOICES,
        label="State",
        widget=forms.CheckboxSelectMultiple,
    )
    body = forms.CharField(required=False, label="Body contains")
    attribute = forms.CharField(
        required=False, label="Attribute", help_text="A name, or name=value."
    )
    min_receive_count = forms.IntegerField(
        required=False, min_value=0, label="Received at least", help_text="times"
    )
    older_than = forms.IntegerField(required=False, min_value=0, label="Older than")
    older_than_unit = forms.ChoiceField(
        required=False, choices=AGE_UNITS, label="Age unit", initial="60"
    )
    group = forms.CharField(required=False, label="Message group")
    limit = forms.TypedChoiceField(
        required=False, choices=PAGE_SIZES, coerce=int, empty_value=25, initial=25, label="Per page"
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)

    def peek_arguments(self):
        """peek_messages' keyword arguments (without the cursor)."""
        data = self.cleaned_data if self.is_bound else {}
        older_than = data.get("older_than")
        unit = int(data.get("older_than_unit") or 60)
        return {
            "limit": data.get("limit") or 25,
            "states": data.get("state") or None,
            "body_contains": data.get("body") or None,
            "attribute": (data.get("attribute") or "").strip() or None,
            "min_receive_count": data.get("min_receive_count"),
            "older_than_seconds": older_than * unit if older_than is not None else None,
            "group_id": data.get("group") or None,
        }

    def filters(self):
        """The filters alone (peek_arguments without the page size): queues.peek.matching's
        keywords, which also count and delete what the explorer shows."""
        arguments = self.peek_arguments()
        del arguments["limit"]
        return arguments

    def is_filtered(self):
        arguments = self.peek_arguments()
        return any(
            arguments[name] is not None
            for name in (
                "states",
                "body_contains",
                "attribute",
                "min_receive_count",
                "older_than_seconds",
                "group_id",
            )
        )
