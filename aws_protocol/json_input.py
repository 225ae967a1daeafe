"""JSON from a client, parsed only after a linear check that it nests at most 64 levels deep.

Python's json parser recurses once per level; a document nested a few thousand deep raises
RecursionError (not ValueError) from inside it. Checking the depth first, without recursion, turns
such a document into an ordinary parse error every caller already handles. The check costs next
to nothing for the usual request: a document with at most 64 brackets cannot nest deeper.
"""

import json
import re
from itertools import accumulate

MAX_DEPTH = 64

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# Opening brackets count +1, closing ones -1 (as 2 and 0, shifted by one below).
_STEPS = str.maketrans({"[": "\x02", "{": "\x02", "]": "\x00", "}": "\x00"})


class TooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH; a ValueError, like any other parse error."""


def depth(text):
    """How deep the document's arrays and objects nest, ignoring brackets inside strings."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = brackets.translate(_STEPS).encode("latin-1")
    return max(accumulate(step - 1 for step in steps), default=0)


def check_depth(text, max_depth=MAX_DEPTH):
    """Raise TooDeep if `text` (str or bytes) nests deeper than `max_depth`."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", "replace")
    elif not isinstance(text, str):
        return  # json.loads raises the TypeError callers expect
    # Fewer opening brackets than the limit cannot nest past it: most documents stop here.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise TooDeep(f"JSON nested more than {max_depth} levels deep")


def loads(text, max_depth=MAX_DEPTH, **options):
    """json.loads, refusing documents nested deeper than `max_depth` with TooDeep."""
    check_depth(text, max_depth)
    return json.loads(text, **options)
