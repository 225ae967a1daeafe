"""The typed name that purging or deleting a queue holding many messages asks for."""

from django import forms
from django.conf import settings


def needs_typed_name(message_count):
    """Whether destroying this many messages asks for the queue's name to be typed.

    A dialog focused on Cancel stops a stray Enter; typing the name stops a click on the wrong
    queue's page, which matters once the loss is large (ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE).
    """
    return message_count > settings.ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE


class ConfirmByNameForm(forms.Form):
    """Valid when the queue holds few messages, or when `confirm_name` is the queue's name.

    The count is the one at the time of the request: a queue that grew past the limit since its
    dialog was shown asks for the name then.
    """

    confirm_name = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, queue, message_count, data=None):
        super().__init__(data)
        self.queue = queue
        if not needs_typed_name(message_count):
            del self.fields["confirm_name"]
            return
        field = self.fields["confirm_name"]
        field.label = f"Type {queue.name} to confirm"
        # console.js refuses a submit until the name matches; the server checks it again.
        field.widget.attrs |= {"required": True, "data-confirm-name": queue.name}

    @property
    def asks_for_name(self):
        return "confirm_name" in self.fields

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"]
        if typed != self.queue.name:
            # Asked again, the dialog starts in the field (its Cancel has the focus otherwise).
            self.fields["confirm_name"].widget.attrs["autofocus"] = True
            raise forms.ValidationError(
                f"Type {self.queue.name} exactly to confirm. Nothing was deleted."
            )
        return typed
