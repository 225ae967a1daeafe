"""Check a request's parameters against its operation's input shape before any of them is used.

The tables come from botocore's service models (queues/wire/sqs_shapes.py,
notifications/wire/sns_shapes.py). A spec is "string", "integer", "boolean" or "blob";
["list", item, ...]; ["map", value, ...] with string keys; or a dict of a structure's members.
Members a table does not name are left alone, as AWS ignores them. Strings may only hold the
characters XML 1.0 allows (what SQS allows in a message body): anything else could not be written
back in a query-protocol response, and PostgreSQL refuses NUL outright.

Each door turns a ShapeError into its own error (SerializationException, InvalidParameterValue,
InvalidParameter).
"""

import re

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "a boolean",
    "blob": "a base64-encoded string",
}


class ShapeError(Exception):
    """A parameter that is not what its shape says: `reason` is "type" or "text"."""

    def __init__(self, path, reason, expected=""):
        self.path = path
        self.reason = reason
        self.expected = expected
        super().__init__(f"{path}: {reason} {expected}".strip())


def has_forbidden_characters(text):
    """Whether `text` holds a character outside XML 1.0's Char production (NUL, surrogates...)."""
    if text.isascii() and text.isprintable():
        return False  # the usual case, without the regex
    return _FORBIDDEN.search(text) is not None


def check_json(params, members, free_text=frozenset()):
    """Check JSON-protocol parameters (a dict) against a structure's `members`.

    A null member counts as absent, as AWS's JSON protocol reads it; a null list item or map
    value is a type error. Members named in `free_text` skip the character check (the service
    answers for them with its own, more specific error).
    """
    _structure(params, members, "", free_text)


def _check(value, spec, path, free_text, name):
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ShapeError(path, "type", "a structure")
        _structure(value, spec, path + ".", free_text)
    elif isinstance(spec, list):
        if spec[0] == "list":
            if not isinstance(value, list):
                raise ShapeError(path, "type", "a list")
            for index, item in enumerate(value, 1):
                _check(item, spec[1], f"{path}.{index}", free_text, name)
        else:
            if not isinstance(value, dict):
                raise ShapeError(path, "type", "a map")
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ShapeError(f"{path}.{key}", "type", "a string key")
                if has_forbidden_characters(key):
                    raise ShapeError(path, "text")
                _check(item, spec[1], f"{path}.{key}", free_text, name)
    elif spec == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(path, "type", _EXPECTED[spec])
        if not INT32_MIN <= value <= INT32_MAX:
            raise ShapeError(path, "type", "a 32-bit integer")
    elif spec == "boolean":
        if not isinstance(value, bool):
            raise ShapeError(path, "type", _EXPECTED[spec])
    else:
        if not isinstance(value, str):
            raise ShapeError(path, "type", _EXPECTED[spec])
        if name not in free_text and has_forbidden_characters(value):
            raise ShapeError(path, "text")


def _structure(params, members, prefix, free_text):
    for name, value in params.items():
        spec = members.get(name)
        if spec is not None and value is not None:
            _check(value, spec, prefix + name, free_text, name)


def check_query(params, members):
    """Check an unflattened query-protocol request (aws_protocol.query.unflatten) against
    `members`, where lists are `Name.member.N` and maps `Name.entry.N.key|value`.

    Every scalar arrives as a string; whether it reads as the integer or boolean it stands for
    is the operation's to check. An empty list may arrive as `Name=`.
    """
    for name, spec in members.items():
        value = params.get(name)
        if value is not None:
            _flattened(value, spec, name)


def _flattened(value, spec, path):
    if isinstance(spec, str):
        if not isinstance(value, str):
            raise ShapeError(path, "type", "a value, not a structure")
        if has_forbidden_characters(value):
            raise ShapeError(path, "text")
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ShapeError(path, "type", "a structure")
        for name, member in spec.items():
            if value.get(name) is not None:
                _flattened(value[name], member, f"{path}.{name}")
        return
    if value == "":
        return
    element = spec[2] if spec[0] == "list" else "entry"
    if not isinstance(value, dict) or set(value) != {element}:
        raise ShapeError(path, "type", f"a list of {path}.{element}.N")
    items = value[element]
    if not isinstance(items, dict) or not all(key.isdigit() for key in items):
        raise ShapeError(f"{path}.{element}", "type", f"numbered {path}.{element}.N")
    for index, item in items.items():
        item_path = f"{path}.{element}.{index}"
        if spec[0] == "list":
            _flattened(item, spec[1], item_path)
            continue
        key_name, value_name = spec[2], spec[3]
        if not isinstance(item, dict):
            raise ShapeError(item_path, "type", f"{item_path}.{key_name} and .{value_name}")
        if not isinstance(item.get(key_name), str):
            raise ShapeError(f"{item_path}.{key_name}", "type", "a value")
        if has_forbidden_characters(item[key_name]):
            raise ShapeError(f"{item_path}.{key_name}", "text")
        if item.get(value_name) is not None:
            _flattened(item[value_name], spec[1], f"{item_path}.{value_name}")
