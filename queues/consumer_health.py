"""Who is consuming a queue and how well: a read model over message lineage and the queue's rows.

For one queue: the access keys that received from it in the last five minutes, with how many
messages each received and deleted and how long it held a message from receive to delete (the
delete's `held_ms`, which the receipt's own receive time gives); the messages received many
times (poison candidates); and, for a FIFO queue, the message groups held up behind a message in
flight, since when.

Every part is bounded: the events read walk the (queue, at) index over the window, at most
EVENT_SAMPLE of them; poison candidates are looked for among the POISON_SCAN oldest messages
(along the (queue, sent_at, id) index: messages that keep coming back are the old ones); blocked
groups among the messages in flight (the hidden end of the claim index).
"""

import json
import math
from dataclasses import dataclass, field

from queues import lineage, receipts
from queues.models import Message, MessageEvent, now_ms
from queues.service.sending import retention_cutoff

WINDOW_MS = 5 * 60 * 1000
EVENT_SAMPLE = 20_000
POISON_SCAN = 10_000
POISON_LIMIT = 20
POISON_MIN_RECEIVES = 3
BLOCKED_SCAN = 5_000
BLOCKED_LIMIT = 50


@dataclass
class Consumer:
    key_id: str
    received: int = 0
    deleted: int = 0
    last_received_at: int | None = None
    held: list = field(default_factory=list)

    def latency(self, percent):
        """The receive-to-delete time (ms) under which `percent` of its deletes fell."""
        if not self.held:
            return None
        ordered = sorted(self.held)
        return ordered[min(len(ordered) - 1, math.ceil(percent / 100 * len(ordered)) - 1)]


def poison_threshold(queue):
    """Receives that make a message suspect: 3, or half the queue's maxReceiveCount if higher."""
    if queue.dead_letter_queue_id and queue.max_receive_count:
        return max(POISON_MIN_RECEIVES, math.ceil(queue.max_receive_count / 2))
    return POISON_MIN_RECEIVES


def consumer_health(queue, now=None):
    """The queue's consumers, poison candidates and blocked FIFO groups, as a dict."""
    lineage.flush()  # this process's latest receives and deletes count too
    now = now_ms() if now is None else now
    consumers, sampled = _consumers(queue, now)
    threshold = poison_threshold(queue)
    return {
        "queue": queue.name,
        "window_seconds": WINDOW_MS // 1000,
        "events_sampled": sampled,
        "sample_capped": sampled >= EVENT_SAMPLE,
        "lineage_enabled": lineage.enabled(),
        "consumers": [
            {
                "key_id": consumer.key_id,
                "received": consumer.received,
                "deleted": consumer.deleted,
                "latency_p50_ms": consumer.latency(50),
                "latency_p90_ms": consumer.latency(90),
                "last_received_at": (
                    lineage.iso(consumer.last_received_at) if consumer.last_received_at else None
                ),
            }
            for consumer in consumers
        ],
        "poison_threshold": threshold,
        "poison_candidates": _poison_candidates(queue, now, threshold),
        "blocked_groups": _blocked_groups(queue, now) if queue.is_fifo else None,
    }


def _consumers(queue, now):
    """Per access key, over the window's receive and delete events (newest first, capped)."""
    rows = list(
        MessageEvent.objects.filter(
            queue_id=queue.id, at__gte=now - WINDOW_MS, kind__in=("received", "deleted")
        )
        .order_by("-at")
        .values_list("kind", "key_id", "at", "details")[:EVENT_SAMPLE]
    )
    by_key = {}
    for kind, key_id, at, details in rows:
        consumer = by_key.get(key_id)
        if consumer is None:
            consumer = by_key[key_id] = Consumer(key_id)
        if kind == "received":
            consumer.received += 1
            if consumer.last_received_at is None:
                consumer.last_received_at = at
        else:
            consumer.deleted += 1
            held = json.loads(details).get("held_ms") if details else None
            if isinstance(held, int):
                consumer.held.append(held)
    ordered = sorted(by_key.values(), key=lambda c: (-c.received, -c.deleted, c.key_id))
    return ordered, len(rows)


def _state(visible_at, receive_count, now):
    if visible_at <= now:
        return "visible"
    return "in_flight" if receive_count else "delayed"


def _poison_candidates(queue, now, threshold):
    oldest = (
        Message.objects.filter(queue_id=queue.id, sent_at__gt=retention_cutoff(queue, now))
        .order_by("sent_at", "id")
        .values("id")[:POISON_SCAN]
    )
    rows = (
        Message.objects.filter(id__in=oldest, receive_count__gte=threshold)
        .order_by("-receive_count", "id")
        .values_list("message_id", "receive_count", "sent_at", "visible_at")[:POISON_LIMIT]
    )
    return [
        {
            "message_id": message_id,
            "receive_count": count,
            "sent_at": sent_at,
            "state": _state(visible_at, count, now),
        }
        for message_id, count, sent_at, visible_at in rows
    ]


def _blocked_groups(queue, now):
    """FIFO groups whose messages wait behind one in flight: the longest-held first."""
    rows = (
        Message.objects.filter(queue_id=queue.id, visible_at__gt=now, receive_count__gt=0)
        .exclude(group_id="")
        .order_by("visible_at", "id")
        .values_list("group_id", "message_id", "receive_token", "id")[:BLOCKED_SCAN]
    )
    groups = {}
    for group_id, message_id, token, pk in rows:
        received_at = receipts.received_at(token)
        known = groups.get(group_id)
        if known is None or (pk < known[2]):
            groups[group_id] = (message_id, received_at, pk)
    blocked = [
        {
            "group_id": group_id,
            "message_id": message_id,
            "since": lineage.iso(received_at) if received_at else None,
            "blocked_seconds": (now - received_at) // 1000 if received_at else None,
        }
        for group_id, (message_id, received_at, _pk) in groups.items()
    ]
    blocked.sort(key=lambda group: -(group["blocked_seconds"] or 0))
    return blocked[:BLOCKED_LIMIT]
