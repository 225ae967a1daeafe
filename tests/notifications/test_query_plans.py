"""The delivery sweep and the prunes read index ranges, never whole outbox tables, and the sweep
hands an overdue delivery out once per stall margin, not on every run.

Each statement they run is EXPLAINed here (on SQLite, and on PostgreSQL when the suite runs
there); see tests/query_plans.py.
"""

import uuid
from datetime import UTC, datetime

import pytest

from notifications import delivery, delivery_sql
from notifications.models import Delivery, DeliveryAttempt, PublishedMessage, Subscription, Topic
from queues.models import now_ms
from tests.query_plans import capture, full_scans

pytestmark = pytest.mark.django_db

DAY_MS = 24 * 3600 * 1000


def subscription(topic, protocol, endpoint, **fields):
    return Subscription.objects.create(
        topic=topic,
        uuid=str(uuid.uuid4()),
        protocol=protocol,
        endpoint=endpoint,
        confirmation_token=uuid.uuid4().hex,
        unsubscribe_token=uuid.uuid4().hex,
        **fields,
    )


def published(topic, at):
    return PublishedMessage.objects.create(
        topic=topic, message_id=str(uuid.uuid4()), message="hello", published_at=at
    )


def owed(message, to, status="pending", **fields):
    return Delivery.objects.create(
        subscription=to, message=message, protocol=to.protocol, status=status, **fields
    )


@pytest.fixture
def outbox():
    """Deliveries of every kind the sweep and the prunes look at: overdue, finished long ago,
    finished recently, and a message nothing owes any more."""
    now = now_ms()
    topic = Topic.objects.create(name="plans")
    hook = subscription(topic, "http", "http://127.0.0.1:9/hook", status="confirmed")
    queue = subscription(
        topic, "sqs", "arn:aws:sqs:us-east-1:000000000000:plans", status="confirmed"
    )
    subscription(topic, "http", "http://127.0.0.1:9/new")  # pending, never sent a confirmation
    Subscription.objects.filter(status="pending").update(
        created_at=datetime.fromtimestamp((now - DAY_MS) / 1000, tz=UTC)
    )
    old = now - 8 * DAY_MS
    stale = owed(
        published(topic, old), hook, "failed", next_attempt_at=old, created_at=old, finished_at=old
    )
    DeliveryAttempt.objects.create(delivery=stale, attempted_at=old, error="refused")
    owed(
        published(topic, now),
        hook,
        "delivered",
        next_attempt_at=now,
        created_at=now,
        finished_at=now,
    )
    lost = owed(
        published(topic, now - DAY_MS), hook, next_attempt_at=now - DAY_MS, created_at=now - DAY_MS
    )
    owed(lost.message, queue, next_attempt_at=now - DAY_MS, created_at=now - DAY_MS)
    forgotten = published(topic, now - DAY_MS)
    return {"stale": stale, "lost": lost, "forgotten": forgotten}


def assert_served_by_indexes(statements):
    assert statements, "nothing ran: nothing was checked"
    for sql in statements:
        assert full_scans(sql) == [], sql


def test_the_delivery_sweep_is_served_by_indexes_and_hands_a_lost_delivery_out_once(outbox):
    with capture() as captured:
        queues_overdue, ids, unconfirmed = delivery.stalled_work()
    assert queues_overdue
    assert ids == [outbox["lost"].pk]
    assert len(unconfirmed) == 1
    assert_served_by_indexes(captured.statements())

    again = delivery.stalled_work()
    assert again[1] == [], "handed out again before its task could run"
    outbox["lost"].refresh_from_db()
    assert outbox["lost"].next_attempt_at >= now_ms() - 1000, "due now, for the attempt task"


@pytest.fixture
def keep_one(monkeypatch):
    """The prune keeps only each topic's newest message; the topic gets one, published now."""
    monkeypatch.setattr(delivery_sql, "KEEP_LATEST_PER_TOPIC", 1)
    return published(Topic.objects.get(), now_ms())


def test_the_prunes_are_served_by_indexes_and_forget_only_what_is_past_retention(outbox, keep_one):
    with capture() as captured:
        assert delivery.prune_deliveries() is None
        assert delivery.prune_messages() is None
    assert_served_by_indexes(captured.statements())

    assert not Delivery.objects.filter(pk=outbox["stale"].pk).exists()
    assert not DeliveryAttempt.objects.exists()
    assert not PublishedMessage.objects.filter(pk=outbox["stale"].message_id).exists()
    assert not PublishedMessage.objects.filter(pk=outbox["forgotten"].pk).exists()
    assert PublishedMessage.objects.filter(pk=outbox["lost"].message_id).exists(), "still owed"
    assert Delivery.objects.count() == 3


def test_a_prune_stopped_at_its_deadline_goes_on_where_it_stopped(outbox, keep_one, monkeypatch):
    now = now_ms()
    topic = Topic.objects.get()
    messages = [published(topic, now - 2 * DAY_MS - n) for n in range(5)]
    monkeypatch.setattr(delivery, "SWEEP_BATCH", 2)
    after = delivery.prune_messages(deadline=0)
    assert after is not None
    # The first batch of two: the failed delivery's message (8 days old, still in its log) and
    # the oldest of these five.
    assert PublishedMessage.objects.filter(pk__in=[m.pk for m in messages]).count() == 4
    while after is not None:
        after = delivery.prune_messages(after, deadline=0)
    assert not PublishedMessage.objects.filter(pk__in=[m.pk for m in messages]).exists()


def test_the_prune_keeps_each_topics_latest_messages(monkeypatch):
    monkeypatch.setattr(delivery_sql, "KEEP_LATEST_PER_TOPIC", 3)
    now = now_ms()
    busy, quiet = Topic.objects.create(name="busy"), Topic.objects.create(name="quiet")
    old = [published(busy, now - 2 * DAY_MS - n) for n in range(5)]
    lone = published(quiet, now - 2 * DAY_MS)

    delivery.prune_messages()

    kept = set(PublishedMessage.objects.values_list("pk", flat=True))
    assert kept == {old[0].pk, old[1].pk, old[2].pk, lone.pk}
