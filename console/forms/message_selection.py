"""Which messages the explorer's "Delete selected" and "Delete all matching" act on."""

from django import forms

from console.forms.queues import PeekFilterForm
from queues import peek, service

SELECTED = "selected"
MATCHING = "matching"


class DeleteMessagesForm(forms.Form):
    """The messages ticked in the explorer (`message`, their database ids), or every message
    matching its filters (the filter fields, as in the explorer's URL).

    `up_to` is the newest message id when the count was shown: deleting all that match spares
    messages sent after the operator saw how many there were.
    """

    scope = forms.ChoiceField(choices=[(SELECTED, "Selected"), (MATCHING, "All matching")])
    up_to = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, data):
        super().__init__(data)
        given = set(PeekFilterForm.base_fields) & set(data)
        self.filter_form = PeekFilterForm(data if given else None)

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == SELECTED and not self.message_ids():
            raise forms.ValidationError("Tick the messages to delete first.")
        if scope == MATCHING and self.filter_form.is_bound and not self.filter_form.is_valid():
            raise forms.ValidationError("The filters are not valid; correct them above the list.")
        return cleaned

    @property
    def is_matching(self):
        return self.cleaned_data.get("scope") == MATCHING

    @property
    def is_filtered(self):
        return self.filter_form.is_bound and self.filter_form.is_filtered()

    def message_ids(self):
        """The ticked messages' database ids, each once."""
        values = self.data.getlist("message") if hasattr(self.data, "getlist") else []
        return sorted({int(value) for value in values if value.isdigit()})

    def filter_params(self):
        """The filter fields as (name, value) pairs, for the confirmation to send back."""
        if not self.filter_form.is_bound:
            return []
        names = [name for name in PeekFilterForm.base_fields if name != "limit"]
        return [(name, value) for name in names for value in self.data.getlist(name)]

    def _filters(self):
        return self.filter_form.filters() if self.filter_form.is_bound else {}

    def count(self, queue):
        """How many messages the deletion would take (a queues.peek.MessageCount)."""
        if self.is_matching:
            return peek.count_messages(queue, **self._filters())
        return peek.MessageCount(len(self.message_ids()))

    def delete(self, queue, batch=None):
        """Delete them through the service, to trash batch `batch`; return how many went."""
        if self.is_matching:
            up_to = self.cleaned_data.get("up_to")
            if up_to is None:
                up_to = service.newest_message_id()
            return service.delete_matching_messages(queue, self._filters(), up_to, batch)
        return service.delete_messages_by_id(queue, self.message_ids(), batch)
