"""A message's lineage in words, for its page: what happened, who did it, and the particulars.

`queues.lineage.timeline` gives the events as data (the REST API serves them so); this says each
one as a person reads it: "Received by AKIA… — visible again in 30 s, receive #2".
"""

from aws_protocol import authorization
from queues import lineage
from queues.models import queue_arn

ENDINGS = ("deleted", "expired", "purged")


def _who(event):
    return event.get("user") or event.get("key_id") or "Roost"


def _seconds(value):
    return f"{value:,} s" if isinstance(value, int) else "?"


def _published(event):
    topic = event.get("topic_arn", "").rsplit(":", 1)[-1]
    verdicts = event.get("filter_verdicts") or {}
    lines = [
        f"Subscription {arn.rsplit(':', 1)[-1][:8]}: "
        + ("matched" if verdict == "matched" else f"filtered out — {verdict}")
        for arn, verdict in verdicts.items()
    ]
    return (
        f"Published to topic {topic}",
        f"by {event.get('key_id') or 'a console user or Roost'}; SNS message "
        f"{event.get('sns_message_id', '?')}",
        lines,
    )


def _sent(event):
    parts = [f"by {_who(event)}"]
    if event.get("delay_seconds"):
        parts.append(f"delayed {_seconds(event['delay_seconds'])}")
    if event.get("group_id"):
        parts.append(f"group {event['group_id']}")
    if event.get("subscription_arn"):
        return "Enqueued by its topic subscription", "; ".join(parts[1:]) or "", []
    return "Sent", "; ".join(parts), []


def _received(event):
    return (
        f"Received by {_who(event)}",
        f"visible again in {_seconds(event.get('visibility_timeout'))}, "
        f"receive #{event.get('receive_count', '?')}",
        [],
    )


def _visibility(event):
    return (
        f"Visibility changed by {_who(event)}",
        f"visible again in {_seconds(event.get('visibility_timeout'))}",
        [],
    )


def _dead_lettered(event):
    return (
        f"Moved to the dead-letter queue {event.get('queue', '')}",
        f"from {event.get('from_queue', '?')}: {event.get('reason', '')}",
        [],
    )


def _redriven(event):
    if event.get("move_task"):
        detail = f"by a move task started by {event.get('started_by') or 'Roost'}"
    else:
        detail = f"by {_who(event)}"
    return (
        f"Redriven from {event.get('from_queue', '?')} to {event.get('to_queue', '?')}",
        detail,
        [],
    )


def _deleted(event):
    held = event.get("held_ms")
    detail = f"{held / 1000:,.1f} s after its receive" if isinstance(held, int) else ""
    return f"Deleted by {_who(event)}", detail, []


def _other(kind):
    def say(event):
        detail = event.get("reason", "")
        return f"{kind.replace('_', ' ').capitalize()} by {_who(event)}", detail, []

    return say


SAYINGS = {
    "published": _published,
    "sent": _sent,
    "received": _received,
    "visibility_changed": _visibility,
    "dead_lettered": _dead_lettered,
    "redriven": _redriven,
    "deleted": _deleted,
    "expired": lambda event: ("Expired", event.get("reason", ""), []),
}


def described(user, message_id):
    """The message's events the user may read (those of queues they may receive from), each
    with `title`, `detail` and `lines` in words; and how it ended, if it did."""
    allowed = {}
    events = []
    for event in lineage.timeline(message_id):
        name = event["queue"]
        if name not in allowed:
            decision = authorization.decide(user, "sqs:ReceiveMessage", queue_arn(name))
            allowed[name] = bool(name) and decision.allowed
        if not allowed[name]:
            continue
        title, detail, lines = SAYINGS.get(event["type"], _other(event["type"]))(event)
        events.append({**event, "title": title, "detail": detail, "lines": lines})
    ended = events[-1] if events and events[-1]["type"] in ENDINGS else None
    return events, ended
