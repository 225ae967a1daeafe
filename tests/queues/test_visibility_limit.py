"""SQS hides a received message for at most 12 hours in total, however often it is extended."""

import pytest

from queues import receipts, service
from queues.errors import InvalidParameterValue
from queues.models import Message
from queues.service import receiving, sending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_queue_cache")]

HOUR_MS = 3_600_000


@pytest.fixture
def clock(monkeypatch):
    """The service's clock, in ms, moved by the test."""
    now = [1_800_000_000_000]
    monkeypatch.setattr(sending, "now_ms", lambda: now[0])
    monkeypatch.setattr(receiving, "now_ms", lambda: now[0])
    return now


@pytest.fixture
def received(clock):
    """(queue, receipt handle) of a message received at clock[0] with a 30 s visibility timeout."""
    queue = service.create_queue("held")
    service.send_message(queue, service.SendEntry(body="long job"))
    [message] = service.receive_messages(queue, visibility_timeout=30)
    return queue, message["ReceiptHandle"]


def test_extensions_may_reach_12_hours_after_the_receive(clock, received):
    queue, handle = received
    clock[0] += 6 * HOUR_MS

    service.change_message_visibility(queue, handle, 6 * 3600)

    assert Message.objects.get().visible_at == clock[0] + 6 * HOUR_MS


def test_an_extension_past_12_hours_after_the_receive_is_refused_and_changes_nothing(
    clock, received
):
    queue, handle = received
    clock[0] += 6 * HOUR_MS
    hidden_until = Message.objects.get().visible_at

    with pytest.raises(InvalidParameterValue) as refused:
        service.change_message_visibility(queue, handle, 6 * 3600 + 1)

    assert refused.value.message == (
        "Value 21601 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout "
        "for the message is beyond the limit [43200 seconds]."
    )
    assert Message.objects.get().visible_at == hidden_until


def test_the_limit_counts_from_the_latest_receive(clock, received):
    queue, handle = received
    service.change_message_visibility(queue, handle, 0)
    clock[0] += 10 * HOUR_MS
    [again] = service.receive_messages(queue, visibility_timeout=30)

    service.change_message_visibility(queue, again["ReceiptHandle"], 43_200)

    assert Message.objects.get().visible_at == clock[0] + 12 * HOUR_MS


def test_a_handle_from_before_receive_times_were_kept_is_not_held_to_the_limit(clock, received):
    """Its token is 62 random bits, which say nothing of when the message was received."""
    queue, _ = received
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(receive_token=2**61 + 12345)
    handle = receipts.make_handle(queue.id, message.pk, 2**61 + 12345)
    clock[0] += 11 * HOUR_MS

    service.change_message_visibility(queue, handle, 43_200)

    assert Message.objects.get().visible_at == clock[0] + 12 * HOUR_MS
