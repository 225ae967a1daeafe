"""Message attribute rows, as the send (SQS) and publish (SNS) forms take them.

Each row is a name, a type and a value, posted as parallel lists (attribute_name, attribute_type,
attribute_value). The type follows SQS's and SNS's rule: String, Number or Binary, optionally
followed by "." and a custom label (Number.float, Binary.jpeg); a blank type is String. A Binary
value is typed as base64.
"""

import base64
import binascii
import re

from django import forms

DATA_TYPE = re.compile(r"(?P<base>String|Number|Binary)(?:\..+)?", re.DOTALL)
# Suggestions for the type box; any custom label may be typed after them.
TYPES = [("String", "String"), ("Number", "Number"), ("Binary", "Binary (base64)")]
BLANK_ROW = {"name": "", "type": "", "value": ""}


def typed_rows(data):
    """The rows in a form's posted data, less those with neither a name nor a value."""
    rows = zip(
        data.getlist("attribute_name"),
        data.getlist("attribute_type"),
        data.getlist("attribute_value"),
        strict=False,
    )
    return [
        {"name": name, "type": data_type, "value": value}
        for name, data_type, value in rows
        if name or value
    ]


def parse_rows(rows):
    """(attributes, errors): the rows as the service takes them, and what is wrong with any."""
    attributes, errors = {}, []
    for row in rows:
        name, data_type, value = row["name"].strip(), row["type"].strip() or "String", row["value"]
        if not name and not value:
            continue
        match = DATA_TYPE.fullmatch(data_type)
        if not name:
            errors.append("Give every attribute with a value a name.")
        elif match is None:
            errors.append(
                f"The type of {name} is not String, Number or Binary, nor one of them followed "
                "by a custom label (e.g. Number.float)."
            )
        elif match["base"] == "Binary":
            try:
                binary = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                errors.append(f"The value of {name} is not valid base64.")
            else:
                attributes[name] = {"DataType": data_type, "BinaryValue": binary}
        else:
            attributes[name] = {"DataType": data_type, "StringValue": value}
    return attributes, errors


class MessageAttributesForm(forms.Form):
    """A form with message attribute rows: cleaned_data["message_attributes"] holds them, as the
    service takes them. The template shows them with components/message_attributes.html."""

    # A home for errors about the rows, shown beside them.
    attributes = forms.CharField(required=False, widget=forms.HiddenInput)
    attribute_types = TYPES

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
