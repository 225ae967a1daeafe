"""Numbers, times and message bodies formatted for people."""

import base64
import json
import re
from datetime import UTC, datetime

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from console.roles import is_operator
from queues import queue_attributes
from queues.models import now_ms

register = template.Library()

# Bodies longer than this are cut in the message explorer; the REST API's peek has them whole.
BODY_PREVIEW_CHARS = 10_000

_UNITS = ((86_400, "day", "days"), (3_600, "h", "h"), (60, "min", "min"), (1, "s", "s"))


@register.filter
def compact(number):
    """1234 -> "1.2k", 12_345 -> "12k", 3_400_000 -> "3.4M"; small numbers as they are."""
    if number is None or number == "":
        return "—"
    number = float(number)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            value = number / limit
            text = f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return f"{number:.0f}"


def _span(seconds, coarse=False):
    """A duration in its largest unit: "12 s", "3 min", "2 h", "4 days"."""
    seconds = max(0, int(seconds))
    if coarse and seconds < 60:
        return "under a minute"
    for size, one, many in _UNITS:
        if seconds >= size:
            value = seconds // size
            return f"{value} {one if value == 1 else many}"
    return "0 s"


@register.filter
def duration(seconds):
    """Seconds as people say them: 30 -> "30 s", 345600 -> "4 days"; exact units only."""
    if seconds in (None, ""):
        return "—"
    seconds = int(seconds)
    for size, one, many in _UNITS:
        if seconds >= size and seconds % size == 0:
            value = seconds // size
            return f"{value} {one if value == 1 else many}"
    return f"{seconds} s"


@register.filter
def age(ms):
    """How long ago a time (ms since the epoch) was, to the minute: live regions change rarely.

    console.js refines it to the second in the browser.
    """
    if ms in (None, ""):
        return "—"
    return _span((now_ms() - int(ms)) / 1000, coarse=True)


@register.filter
def ago(ms):
    """ "3 min ago" for a time in ms since the epoch (or a datetime)."""
    if ms in (None, ""):
        return "—"
    if isinstance(ms, datetime):
        ms = int(ms.timestamp() * 1000)
    seconds = (now_ms() - int(ms)) / 1000
    if seconds < 5:
        return "just now"
    return f"{_span(seconds)} ago"


@register.filter
def until(ms):
    """ "in 25 s" for a future time in ms since the epoch; "now" once it has passed."""
    if ms in (None, ""):
        return "—"
    seconds = int((int(ms) - now_ms()) / 1000 + 0.999)
    if seconds <= 0:
        return "now"
    if 60 <= seconds < 3600 and seconds % 60:
        return f"in {seconds // 60} min {seconds % 60} s"
    return f"in {_span(seconds)}"


@register.filter
def ms_datetime(ms):
    """A time in ms since the epoch as an aware datetime (for `date` and `<time datetime>`)."""
    if ms in (None, ""):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


@register.filter
def iso(ms):
    """A time in ms since the epoch as ISO 8601 for `<time datetime>`."""
    moment = ms_datetime(ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else ""


@register.filter
def pretty_body(body):
    """The body to show: indented when it is a JSON object or array, else as it is.

    Returns plain text; the template escapes it like any other value.
    """
    stripped = body.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return body


@register.filter
def preview(text):
    """The text cut to BODY_PREVIEW_CHARS characters."""
    return text if len(text) <= BODY_PREVIEW_CHARS else text[:BODY_PREVIEW_CHARS]


@register.filter
def is_cut(text):
    return len(text) > BODY_PREVIEW_CHARS


# The message table shows this much of a body's first line.
FIRST_LINE_CHARS = 120


@register.filter
def first_line(body):
    """The body's first non-blank line, cut to FIRST_LINE_CHARS characters."""
    line = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return line if len(line) <= FIRST_LINE_CHARS else line[: FIRST_LINE_CHARS - 1] + "…"


@register.filter
def thousands(number):
    """1234 -> "1,234"."""
    return f"{int(number):,}"


@register.filter
def message_count(count):
    """A queues.peek.MessageCount as people read it: "1,234", "more than 10,000", "at least 12"."""
    if count is None:
        return "—"
    if count.capped:
        return f"more than {count.number:,}"
    return f"{count.number:,}" if count.exact else f"at least {count.number:,}"


@register.filter
def attribute_text(attribute):
    """A message attribute's value as text (binary values in base64)."""
    if attribute.get("StringValue") is not None:
        return attribute["StringValue"]
    return base64.b64encode(attribute.get("BinaryValue", b"")).decode("ascii")


@register.filter
def utf8_size(text):
    return len(text.encode())


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def sqs_attribute(queue, attribute):
    """The queue's current value of an EditableAttribute, as SQS reports it."""
    return queue_attributes.render(queue, attribute.name)


@register.filter
def operator(user):
    """Whether the user has the operator role (for the page header)."""
    return is_operator(user)


_PARTS = re.compile(r"[^:/]*[:/]|[^:/]+")


@register.filter
def breakable(text):
    """The text escaped, in parts that each end at a ':' or '/', with a <wbr> between them:
    ARNs and URLs wrap there.

    Each part is a span that console.css keeps whole (an inline-block) unless it is wider than
    the line, so "us-east-1" never wraps at its hyphens. Copying the element's text gives the
    text exactly: neither the spans nor <wbr> add any.
    """
    parts = _PARTS.findall(str(text))
    return mark_safe("<wbr>".join(f"<span>{conditional_escape(part)}</span>" for part in parts))
