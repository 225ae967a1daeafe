"""Creating an access key from the console."""

from django import forms

from console.access_keys import NAME_MAX_LENGTH


class CreateAccessKeyForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=NAME_MAX_LENGTH,
        label="Name",
        help_text="What the key is for, e.g. “billing worker” (optional).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    parameters = {}  # every refusal is about the name
    error_field = "name"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "key-%s")
        super().__init__(*args, **kwargs)
