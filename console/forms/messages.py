"""What the send form (queue page) and the publish form (topic page) share: a message's attribute
rows and, on a FIFO queue or topic, its group and deduplication ids."""

from django import forms

from console.forms.message_attributes import BLANK_ROW, TYPES, parse_rows, typed_rows


class MessageForm(forms.Form):
    """A message's attribute rows and FIFO ids; the send and publish forms add the rest.

    cleaned_data["message_attributes"] holds the rows as the service takes them; the template
    shows them with components/message_attributes.html.
    """

    group_id = forms.CharField(
        required=False,
        label="Message group id",
        help_text="Required: messages of one group are delivered in order.",
    )
    deduplication_id = forms.CharField(
        required=False,
        label="Deduplication id",
        help_text="A repeat within five minutes is accepted but not delivered again.",
    )
    # A home for errors about the attribute rows, shown beside them.
    attributes = forms.CharField(required=False, widget=forms.HiddenInput)
    attribute_types = TYPES

    def ask_for_deduplication_id(self, fifo, content_based_deduplication, kind):
        """Ask for a deduplication id only on a FIFO queue or topic (`kind`), saying whether
        it is required there."""
        if not fifo:
            del self.fields["deduplication_id"]
            return
        self.fields["deduplication_id"].help_text += (
            f" Optional: this {kind} deduplicates by content."
            if content_based_deduplication
            else f" Required: this {kind} has no content-based deduplication."
        )

    @property
    def attribute_types_id(self):
        """The id of the type box's list of suggestions, unique on the page like the form's ids."""
        return self.auto_id % "attribute_types"

    def attribute_rows(self):
        """The rows to show: what was typed, else one blank row."""
        return (typed_rows(self.data) if self.is_bound else []) or [BLANK_ROW]

    def clean(self):
        cleaned = super().clean()
        cleaned["message_attributes"], errors = parse_rows(self.attribute_rows())
        for error in errors:
            self.add_error("attributes", error)
        return cleaned

    def fifo_ids(self):
        """The entry's group and deduplication ids (None when not given)."""
        return {
            "group_id": self.cleaned_data.get("group_id") or None,
            "deduplication_id": self.cleaned_data.get("deduplication_id") or None,
        }
