"""Creating queues and topics from the overview."""

import json

from django import forms

from queues.models import Queue

FIFO_SUFFIX = ".fifo"


def _with_fifo_suffix(name, fifo):
    """(name, fifo): a .fifo name makes a FIFO resource, and a FIFO one gets the suffix."""
    fifo = fifo or name.endswith(FIFO_SUFFIX)
    if fifo and not name.endswith(FIFO_SUFFIX):
        name += FIFO_SUFFIX
    return name, fifo


class CreateQueueForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="Letters, digits, hyphens and underscores, up to 80 characters.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    fifo = forms.BooleanField(
        required=False,
        label="FIFO queue",
        help_text="Ordered, exactly-once delivery; the name gets the .fifo suffix.",
        widget=forms.CheckboxInput(attrs={"data-fifo-switch": ""}),
    )
    # console.js keeps FIFO-only fields disabled until the queue is FIFO; clean() refuses them
    # on a standard queue all the same.
    content_based_deduplication = forms.BooleanField(
        required=False,
        label="Content-based deduplication (FIFO)",
        help_text="Deduplicate by a hash of the body when no deduplication id is sent.",
        widget=forms.CheckboxInput(attrs={"data-fifo-only": ""}),
    )
    visibility_timeout = forms.IntegerField(
        required=False,
        label="Visibility timeout (seconds)",
        help_text="How long a received message stays hidden. Default 30.",
        widget=forms.NumberInput(attrs={"placeholder": "30"}),
    )
    message_retention_period = forms.IntegerField(
        required=False,
        label="Retention period (seconds)",
        help_text="60 to 1,209,600 (14 days). Default 345,600 (4 days).",
        widget=forms.NumberInput(attrs={"placeholder": "345600"}),
    )
    delay_seconds = forms.IntegerField(
        required=False,
        label="Delivery delay (seconds)",
        help_text="0 to 900. Default 0.",
        widget=forms.NumberInput(attrs={"placeholder": "0"}),
    )
    receive_message_wait_time_seconds = forms.IntegerField(
        required=False,
        label="Receive wait time (seconds)",
        help_text="Long polling: 0 to 20. Default 0.",
        widget=forms.NumberInput(attrs={"placeholder": "0"}),
    )
    # A name typed with suggestions (the page's <datalist id="queue-names">), not a <select>:
    # at 2,000 queues a select of every name made the overview 100 kB heavier and slow to render.
    dead_letter_queue = forms.CharField(
        required=False,
        max_length=80,
        label="Dead-letter queue",
        help_text="The name of an existing queue, where messages go after too many receives.",
        widget=forms.TextInput(
            attrs={"list": "queue-names", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    max_receive_count = forms.IntegerField(
        required=False,
        label="Receives before dead-lettering",
        help_text="1 to 1,000. Default 5.",
        widget=forms.NumberInput(attrs={"placeholder": "5"}),
    )

    ATTRIBUTES = {
        "VisibilityTimeout": "visibility_timeout",
        "MessageRetentionPeriod": "message_retention_period",
        "DelaySeconds": "delay_seconds",
        "ReceiveMessageWaitTimeSeconds": "receive_message_wait_time_seconds",
    }
    parameters = {
        **ATTRIBUTES,
        "RedrivePolicy": "dead_letter_queue",
        "ContentBasedDeduplication": "content_based_deduplication",
        "QueueName": "name",
    }
    error_field = "name"

    def clean_dead_letter_queue(self):
        name = self.cleaned_data["dead_letter_queue"].strip()
        if name and not Queue.objects.filter(name=name).exists():
            raise forms.ValidationError(f"There is no queue named {name}.")
        return name

    def clean(self):
        cleaned = super().clean()
        fifo = _with_fifo_suffix(cleaned.get("name", "").strip(), cleaned.get("fifo"))[1]
        if cleaned.get("content_based_deduplication") and not fifo:
            self.add_error(
                "content_based_deduplication",
                "Only FIFO queues deduplicate: tick FIFO queue, or leave this off.",
            )
        return cleaned

    def queue_name(self):
        return _with_fifo_suffix(self.cleaned_data["name"].strip(), self.cleaned_data["fifo"])[0]

    def attributes(self):
        """The SQS attributes the form asks for; blank fields keep SQS's defaults."""
        data = self.cleaned_data
        fifo = _with_fifo_suffix(data["name"].strip(), data["fifo"])[1]
        attributes = {
            name: str(data[field])
            for name, field in self.ATTRIBUTES.items()
            if data.get(field) is not None
        }
        if fifo:
            attributes["FifoQueue"] = "true"
            if data["content_based_deduplication"]:
                attributes["ContentBasedDeduplication"] = "true"
        if data["dead_letter_queue"]:
            dead_letter_queue = Queue.objects.filter(name=data["dead_letter_queue"]).first()
            arn = dead_letter_queue.arn if dead_letter_queue else data["dead_letter_queue"]
            count = data["max_receive_count"] if data["max_receive_count"] is not None else 5
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": count}
            )
        return attributes


class CreateTopicForm(forms.Form):
    name = forms.CharField(
        max_length=256,
        help_text="Letters, digits, hyphens and underscores, up to 256 characters.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    fifo = forms.BooleanField(
        required=False,
        label="FIFO topic",
        help_text="Ordered delivery to FIFO queues; the name gets the .fifo suffix.",
    )

    parameters = {}  # every refusal is about the name
    error_field = "name"

    def __init__(self, *args, **kwargs):
        # Its own ids: the queue form on the same page already has id_name and id_fifo.
        kwargs.setdefault("auto_id", "topic-%s")
        super().__init__(*args, **kwargs)

    def topic_name(self):
        return _with_fifo_suffix(self.cleaned_data["name"].strip(), self.cleaned_data["fifo"])[0]

    def attributes(self):
        fifo = _with_fifo_suffix(self.cleaned_data["name"].strip(), self.cleaned_data["fifo"])[1]
        return {"FifoTopic": "true"} if fifo else {}
