"""A small JSON path test for message bodies, as a selective redrive filters by it.

An expression is a path, optionally followed by an operator and a JSON value:

    $.order.status == "failed"        the value there equals "failed" (numbers compare as numbers)
    $.items[0].sku contains "AB-"     a string holds the text, an array holds the value,
                                      or an object has the key
    $.order["ship-to"].country        just a path: the body has something there

A path starts at `$` (which may be left out) and goes on by `.name`, `["name"]` (for keys with
dots, spaces or quotes) and `[index]` (array positions from 0; negative ones count from the end).
No wildcards or slices: each path names at most one value.
"""

import json
import re
from dataclasses import dataclass

from queues.errors import InvalidParameterValue

OPERATORS = ("==", "contains")

_NAME = re.compile(r"[A-Za-z_$][\w$-]*")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_MISSING = object()


def _invalid(expression, reason):
    return InvalidParameterValue(
        f"Value {expression} for parameter json_path is invalid. Reason: {reason}"
    )


@dataclass(frozen=True)
class JsonPathTest:
    """A parsed expression: `matches(body)` says whether a message body passes it."""

    expression: str
    steps: tuple
    operator: str | None = None
    value: object = None

    def matches(self, body):
        try:
            document = json.loads(body)
        except (ValueError, TypeError, RecursionError):
            return False
        found = _walk(document, self.steps)
        if found is _MISSING:
            return False
        if self.operator is None:
            return True
        if self.operator == "==":
            return _equal(found, self.value)
        if isinstance(found, str):
            return isinstance(self.value, str) and self.value in found
        if isinstance(found, list):
            return any(_equal(item, self.value) for item in found)
        if isinstance(found, dict):
            return isinstance(self.value, str) and self.value in found
        return False


def parse(expression):
    """Parse `path [== value | contains value]`; raise InvalidParameterValue saying what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise _invalid(expression, "Give a path such as $.order.status.")
    text = expression.strip()
    steps, position = _parse_path(expression, text)
    rest = text[position:].strip()
    if not rest:
        return JsonPathTest(expression, steps)
    for operator in OPERATORS:
        if rest.startswith(operator):
            operand = rest[len(operator) :].strip()
            break
    else:
        raise _invalid(expression, 'After the path, expect == or contains, e.g. == "failed".')
    if not operand:
        raise _invalid(expression, f"Give a value after {operator}.")
    try:
        value = json.loads(operand)
    except ValueError:
        raise _invalid(
            expression, 'The value must be JSON: a "quoted string", a number, true, false or null.'
        ) from None
    return JsonPathTest(expression, steps, operator, value)


def _parse_path(expression, text):
    steps = []
    position = 0
    if text.startswith("$"):
        position = 1
    else:
        match = _NAME.match(text)
        if not match:
            raise _invalid(expression, "A path starts with $ or a field name.")
        steps.append(match.group())
        position = match.end()
    while position < len(text):
        char = text[position]
        if char == ".":
            match = _NAME.match(text, position + 1)
            if not match:
                raise _invalid(
                    expression, f"Expected a field name after the dot at {position + 1}."
                )
            steps.append(match.group())
            position = match.end()
        elif char == "[":
            match = _INDEX.match(text, position)
            if match:
                steps.append(int(match.group(1)))
                position = match.end()
                continue
            key, position = _bracketed_key(expression, text, position)
            steps.append(key)
        else:
            break
    if not steps:
        raise _invalid(expression, "The path names no field: write $.field.")
    return tuple(steps), position


def _bracketed_key(expression, text, position):
    """A ["quoted key"] at position: (the key, where the path goes on)."""
    decoder = json.JSONDecoder()
    start = position + 1
    while start < len(text) and text[start] == " ":
        start += 1
    if start >= len(text) or text[start] != '"':
        raise _invalid(expression, f'Expected [number] or ["key"] at {position + 1}.')
    try:
        key, end = decoder.raw_decode(text, start)
    except ValueError:
        raise _invalid(expression, f"Unclosed quoted key at {start + 1}.") from None
    while end < len(text) and text[end] == " ":
        end += 1
    if end >= len(text) or text[end] != "]":
        raise _invalid(expression, f"Expected ] at {end + 1}.")
    return key, end + 1


def _walk(node, steps):
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return _MISSING
            node = node[step]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return _MISSING
    return node


def _equal(found, wanted):
    # JSON types stay apart: true is not 1, "1" is not 1.
    if isinstance(found, bool) or isinstance(wanted, bool):
        return type(found) is type(wanted) and found == wanted
    return found == wanted
