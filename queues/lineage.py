"""Message lineage: the steps of each message's life, recorded as they happen.

Services call these inside the transaction that makes the step, with one INSERT per call however
many messages it covers (a batch of ten received messages is one statement). The acting access
key comes from `aws_protocol.actor`. Kinds: sent, received, visibility_changed, dead_lettered,
redriven, deleted, expired, purged, restored (and, for messages a topic delivered, published).
"""

import json

from django.conf import settings

from aws_protocol import actor
from queues.models import MessageEvent, now_ms


def enabled():
    return settings.ROOST_LINEAGE


def _details_text(details):
    return json.dumps(details, separators=(",", ":"), sort_keys=True) if details else ""


def record(queue_id, message_id, kind, at=None, **details):
    """Record one step of one message."""
    record_many(queue_id, kind, [message_id], at, **details)


def record_many(queue_id, kind, message_ids, at=None, **details):
    """Record the same step, with the same details, for several messages of one queue."""
    if not message_ids or not enabled():
        return
    key_id = actor.current().key_id or ""
    at = now_ms() if at is None else at
    text = _details_text(details)
    MessageEvent.objects.bulk_create(
        [
            MessageEvent(
                queue_id=queue_id,
                message_id=message_id,
                at=at,
                kind=kind,
                key_id=key_id,
                details=text,
            )
            for message_id in message_ids
        ]
    )


def record_each(queue_id, kind, items, at=None):
    """Record one step for several messages, each with its own details: [(message_id, {...})]."""
    if not items or not enabled():
        return
    key_id = actor.current().key_id or ""
    at = now_ms() if at is None else at
    MessageEvent.objects.bulk_create(
        [
            MessageEvent(
                queue_id=queue_id,
                message_id=message_id,
                at=at,
                kind=kind,
                key_id=key_id,
                details=_details_text(details),
            )
            for message_id, details in items
        ]
    )
