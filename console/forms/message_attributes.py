"""Message attribute rows, as the send (SQS) and publish (SNS) forms take them (MessageForm).

Each row is a name, a type and a value, posted as parallel lists (attribute_name, attribute_type,
attribute_value). The type follows SQS's and SNS's rule: String, Number or Binary, optionally
followed by "." and a custom label (Number.float, Binary.jpeg); a blank type is String. A Binary
value is typed as base64.
"""

import base64
import binascii
import re

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
