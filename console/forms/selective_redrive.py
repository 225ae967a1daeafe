"""The "Redrive selected" form of a dead-letter queue's page: filters, a destination, and new
bodies for messages of the previewed plan."""

import hashlib

from django import forms

from console.forms.queues import RedriveForm
from queues.models import Queue

EDIT_PREFIX = "edit-"
ORIGINAL_PREFIX = "original-"


def body_digest(body):
    """A digest of a body as a textarea gives it back (CRLF line ends), to tell an edit apart."""
    return hashlib.sha256(_as_typed(body).encode()).hexdigest()


def _as_typed(text):
    return text.replace("\r\n", "\n")


class SelectiveRedriveForm(RedriveForm):
    """Which of the dead-letter queue's messages to move, and where (RedriveForm's fields)."""

    body_contains = forms.CharField(
        required=False, strip=False, label="Body contains", help_text="Case-sensitive text."
    )
    json_path = forms.CharField(
        required=False,
        label="JSON path",
        help_text='On a JSON body: $.order.status == "failed", $.items[0].sku contains "AB", '
        "or a bare path (something is there).",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    attribute = forms.CharField(
        required=False, label="Message attribute", help_text="A name, or name=value."
    )
    min_receive_count = forms.IntegerField(
        required=False, min_value=0, label="Received at least (times)"
    )
    max_receive_count = forms.IntegerField(
        required=False, min_value=0, label="Received at most (times)"
    )
    older_than_seconds = forms.IntegerField(
        required=False, min_value=0, label="Sent more than (seconds ago)"
    )
    newer_than_seconds = forms.IntegerField(
        required=False, min_value=0, label="Sent less than (seconds ago)"
    )
    source_queue = forms.ChoiceField(required=False, label="Dead-lettered from")
    group_id = forms.CharField(required=False, label="Message group")
    message_ids = forms.CharField(
        required=False,
        label="Only these messages",
        help_text="MessageIds, one a line (or separated by spaces or commas).",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )

    parameters = {
        **RedriveForm.parameters,
        "json_path": "json_path",
        "source_queue": "source_queue",
        "max_messages_per_second": "rate",
    }
    error_field = None

    def __init__(self, *args, queue, sources=(), **kwargs):
        kwargs.setdefault("auto_id", "selective-%s")
        super().__init__(*args, queue=queue, **kwargs)
        self.fields[
            "destination"
        ].help_text = (
            "Each message goes back to the queue it was dead-lettered from, or all to one queue."
        )
        self.fields["rate"].help_text = "1 to 500; blank moves as fast as Roost can."
        self.fields["source_queue"].choices = [
            ("", "Any queue"),
            *[(source.name, source.name) for source in sources],
        ]
        if not queue.is_fifo:
            del self.fields["group_id"]

    def selection(self):
        """The filters as plan_redrive and start_selective_redrive take them."""
        data = self.cleaned_data
        selection = {}
        for name in (
            "body_contains",
            "json_path",
            "attribute",
            "min_receive_count",
            "max_receive_count",
            "older_than_seconds",
            "newer_than_seconds",
            "source_queue",
            "group_id",
        ):
            if data.get(name) not in (None, ""):
                selection[name] = data[name]
        ids = data.get("message_ids", "").replace(",", " ").split()
        if ids:
            selection["message_ids"] = ids
        return selection

    def destination_queue(self):
        name = self.cleaned_data.get("destination")
        return Queue.objects.filter(name=name).first() if name else None

    def edits(self):
        """{MessageId: new body} for the bodies changed in the plan's editors."""
        edits = {}
        for key, value in self.data.items():
            if not key.startswith(EDIT_PREFIX):
                continue
            message_id = key[len(EDIT_PREFIX) :]
            if self.data.get(ORIGINAL_PREFIX + message_id) != body_digest(value):
                edits[message_id] = _as_typed(value)
        return edits
