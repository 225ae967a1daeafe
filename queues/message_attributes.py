"""SQS's rules for message bodies and message attributes, and how attributes are stored.

Attributes are held as ``{"name": {"DataType": "String", "StringValue": "x"}}`` or
``{"name": {"DataType": "Binary", "BinaryValue": b"raw"}}``. Error messages follow SQS's own
wording where it is known; the few SQS doesn't document are marked below.
"""

import base64
import json
import re
from decimal import Decimal

from queues.errors import InvalidMessageContents, InvalidParameterValue, MissingParameter

MAX_ATTRIBUTES = 10
MAX_NAME_LENGTH = 256
MAX_TYPE_LENGTH = 256
SYSTEM_ATTRIBUTE_NAMES = frozenset({"AWSTraceHeader"})

ALLOWED_CHARACTERS = "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]"
# The complement of XML 1.0's Char production, so one search finds the first bad character.
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ASCII_ALLOWED = b"\t\n\r" + bytes(range(0x20, 0x80))

# SQS accepts non-ASCII letters in names ("attr.1øßä" is accepted by the live service), so
# \w is Unicode-aware here rather than the guide's A-Za-z0-9.
_NAME = re.compile(r"[\w.-]+")
_RESERVED_PREFIXES = ("aws.", "amazon.")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(?:\..+)?", re.DOTALL)
# BigDecimal's grammar, ASCII digits only; written so a long non-number fails in linear time.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_PRECISION = 38
_NUMBER_MIN = Decimal("-1e128")
_NUMBER_MAX = Decimal("1e126")

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def validate_body(body: str) -> None:
    """Raise unless the body is non-empty and made only of the characters SQS allows."""
    if not body:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    # Most bodies are ASCII: deleting the allowed bytes in C is ~10x faster than the regex.
    if body.isascii() and not body.encode("ascii").translate(None, _ASCII_ALLOWED):
        return
    bad = _FORBIDDEN.search(body)
    if bad:
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, "
            f"the set of allowed characters is {ALLOWED_CHARACTERS}."
        )


def validate_message_attributes(attributes: dict) -> int:
    """Raise unless the message (user) attributes are valid; return their size in bytes.

    The size (UTF-8 name + data type + value bytes) counts toward the queue's message size limit.
    Attributes are checked in name order so a request with two faults always reports the same one.
    """
    if not attributes:
        return 0
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    size = 0
    for name in sorted(attributes):
        _validate_name(name)
        size += _validate_value(name, attributes[name], "(user)")
    return size


def validate_system_attributes(attributes: dict) -> int:
    """Raise unless the message system attributes are valid; return their size in bytes.

    Only AWSTraceHeader, of type String, exists. SQS doesn't count system attributes toward the
    message size limit, so callers shouldn't add this size to the body's.
    """
    if not attributes:
        return 0
    size = 0
    for name in sorted(attributes):
        if name not in SYSTEM_ATTRIBUTE_NAMES:
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        data_type = attributes[name].get("DataType")
        if data_type and data_type != "String":
            raise InvalidParameterValue(
                f"The message system attribute '{name}' is reserved for AWS X-Ray trace header. "
                "The type must be 'String'."
            )
        size += _validate_value(name, attributes[name], "system")
    return size


def encode_attributes(attributes: dict) -> str:
    """Return attributes as compact JSON for storage (binary values in base64), "" for none."""
    if not attributes:
        return ""
    stored = {}
    for name, value in attributes.items():
        string_value = value.get("StringValue")
        if string_value is not None:
            stored[name] = {"DataType": value["DataType"], "StringValue": string_value}
        else:
            encoded = base64.b64encode(value["BinaryValue"]).decode("ascii")
            stored[name] = {"DataType": value["DataType"], "BinaryValue": encoded}
    return _ENCODER.encode(stored)


def decode_attributes(text: str) -> dict:
    """Return the attributes stored by encode_attributes, binary values as bytes again."""
    if not text:
        return {}
    attributes = json.loads(text)
    for value in attributes.values():
        binary = value.get("BinaryValue")
        if binary is not None:
            value["BinaryValue"] = base64.b64decode(binary)
    return attributes


def _validate_name(name: str) -> None:
    if not name:
        raise InvalidParameterValue(
            "The request must contain non-empty message (user) attribute names."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValue("Message (user) attribute name must be shorter than 256 bytes.")
    if not _NAME.fullmatch(name):
        # SQS's phrasing, "lower score" and trailing space included.
        raise InvalidParameterValue(
            "Message (user) attributes name can only contain upper and lower score characters, "
            "digits, periods, hyphens and underscores. "
        )
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise InvalidParameterValue(
            "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. "
            "These strings are reserved for internal use."
        )
    if name.startswith("."):
        raise InvalidParameterValue(
            "Message (user) attribute name must not begin with character '.'."
        )
    if name.endswith("."):
        raise InvalidParameterValue(
            "Message (user) attribute name must not end with character '.'."
        )
    if ".." in name:
        raise InvalidParameterValue(
            "Message (user) attribute name must not have successive '.' characters."
        )


def _validate_value(name: str, value: dict, kind: str) -> int:
    """Check one attribute's type and value; return its size in bytes."""
    data_type = value.get("DataType")
    string_value = value.get("StringValue")
    binary_value = value.get("BinaryValue")
    if data_type is None and string_value is None and binary_value is None:
        raise InvalidParameterValue(
            f"The message {kind} attribute '{name}' must contain a non-empty message attribute "
            "value."
        )
    if not data_type:
        raise InvalidParameterValue(
            f"The message {kind} attribute '{name}' must contain a non-empty message attribute "
            "type."
        )
    if value.get("StringListValues") or value.get("BinaryListValues"):
        raise InvalidParameterValue(
            "Message attribute list values in SendMessage operation are not supported."
        )
    match = _DATA_TYPE.fullmatch(data_type)
    if not match or _FORBIDDEN.search(data_type):
        raise InvalidParameterValue(
            f"The type of message {kind} attribute '{name}' is invalid. You must use only the "
            "following supported type prefixes: Binary, Number, String."
        )
    if len(data_type) > MAX_TYPE_LENGTH:
        raise InvalidParameterValue(
            f"Message {kind} attribute type must be shorter than 256 bytes."
        )
    if string_value is not None and binary_value is not None:
        raise InvalidParameterValue(f"Message {kind} attribute '{name}' must have a single value.")
    if not string_value and not binary_value:
        raise InvalidParameterValue(
            f"Message {kind} attribute '{name}' must contain a non-empty value of type "
            f"'{data_type}'."
        )

    base = match.group(1)
    size = len(name.encode("utf-8")) + len(data_type.encode("utf-8"))
    if base == "Binary":
        if binary_value is None:
            raise InvalidParameterValue(
                f"Message {kind} attribute '{name}' with type '{data_type}' must use field "
                "'Binary'."
            )
        return size + len(binary_value)

    if string_value is None:
        raise InvalidParameterValue(
            f"Message {kind} attribute '{name}' with type '{data_type}' must use field 'String'."
        )
    bad = _FORBIDDEN.search(string_value)
    if bad:
        # SQS answers InvalidParameterValue here, not InvalidMessageContents; the wording is ours.
        raise InvalidParameterValue(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the value of message "
            f"{kind} attribute '{name}', the set of allowed characters is {ALLOWED_CHARACTERS}."
        )
    if base == "Number":
        _validate_number(name, string_value, kind)
    return size + len(string_value.encode("utf-8"))


def _validate_number(name: str, text: str, kind: str) -> None:
    if not _NUMBER.fullmatch(text):
        raise InvalidParameterValue(
            f"Can't cast the value of message {kind} attribute '{name}' to a number."
        )
    number = Decimal(text)
    significant = "".join(map(str, number.as_tuple().digits)).rstrip("0")
    if len(significant) > _NUMBER_PRECISION or not _NUMBER_MIN <= number <= _NUMBER_MAX:
        # SQS documents the limits but not this error's wording.
        raise InvalidParameterValue(
            f"The value of message {kind} attribute '{name}' is out of range for a number: "
            "it can have up to 38 digits of precision and be between -10^128 and 10^126."
        )
