"""Acting on messages by id, without a receipt handle: the console's delete and redrive."""

import pytest

from queues import service
from queues.errors import InvalidParameterValue, MissingParameter
from queues.models import Message, now_ms

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_queue_cache")]


@pytest.fixture
def queues():
    """(orders, its dead-letter queue orders-dlq after one receive, an unrelated queue)."""
    dead_letter_queue = service.create_queue("orders-dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    source = service.create_queue("orders", {"RedrivePolicy": policy})
    return source, dead_letter_queue, service.create_queue("other")


def send(queue, body):
    service.send_message(queue, service.SendEntry(body=body))
    return Message.objects.get(body=body)


def dead_letter(source, body):
    send(source, body)
    for _ in range(2):
        service.receive_messages(source, max_number=10, visibility_timeout=0)
    return Message.objects.get(body=body)


def test_delete_by_id_deletes_a_message_in_any_state(queues):
    source, _, _ = queues
    message = send(source, "a")
    service.receive_messages(source, max_number=1, visibility_timeout=300)
    assert service.delete_message_by_id(source, message.pk) is True
    assert not Message.objects.exists()
    assert service.delete_message_by_id(source, message.pk) is False


def test_delete_by_id_only_deletes_from_the_given_queue(queues):
    source, _, other = queues
    message = send(other, "theirs")
    assert service.delete_message_by_id(source, message.pk) is False
    assert Message.objects.filter(pk=message.pk).exists()


def test_redrive_moves_chosen_messages_back_to_their_source_and_resets_them(queues):
    source, dead_letter_queue, _ = queues
    one, two, three = (dead_letter(source, body) for body in ("one", "two", "three"))
    assert {m.queue_id for m in Message.objects.all()} == {dead_letter_queue.pk}
    assert service.redrive_messages(dead_letter_queue, [one.pk, two.pk]) == 2
    moved = Message.objects.filter(pk__in=[one.pk, two.pk])
    assert set(
        moved.values_list("queue_id", "receive_count", "first_received_at", "dead_letter_source")
    ) == {(source.pk, 0, None, None)}
    assert all(m.visible_at <= now_ms() for m in moved)
    assert Message.objects.get(pk=three.pk).queue_id == dead_letter_queue.pk
    assert [m["Body"] for m in service.receive_messages(source, max_number=10)] in (
        ["one", "two"],
        ["two", "one"],
    )


def test_redrive_to_a_chosen_destination(queues):
    source, dead_letter_queue, other = queues
    message = dead_letter(source, "one")
    assert service.redrive_messages(dead_letter_queue, [message.pk], other) == 1
    assert Message.objects.get(pk=message.pk).queue_id == other.pk


def test_redrive_skips_ids_of_other_queues_and_gone_messages(queues):
    source, dead_letter_queue, other = queues
    stranger = send(other, "stranger")
    message = dead_letter(source, "one")
    assert service.redrive_messages(dead_letter_queue, [message.pk, stranger.pk, 10**9]) == 1
    assert Message.objects.get(pk=stranger.pk).queue_id == other.pk


def test_redrive_refuses_what_a_move_task_refuses(queues):
    source, dead_letter_queue, other = queues
    fifo = service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    message = dead_letter(source, "one")
    with pytest.raises(MissingParameter):
        service.redrive_messages(dead_letter_queue, [])
    with pytest.raises(InvalidParameterValue, match="Dead Letter Queue"):
        service.redrive_messages(other, [message.pk])
    with pytest.raises(InvalidParameterValue, match="must not be the source"):
        service.redrive_messages(dead_letter_queue, [message.pk], dead_letter_queue)
    with pytest.raises(InvalidParameterValue, match="same type"):
        service.redrive_messages(dead_letter_queue, [message.pk], fifo)
    assert Message.objects.get(pk=message.pk).queue_id == dead_letter_queue.pk


def test_redrive_without_a_source_queue_needs_a_destination(queues):
    source, dead_letter_queue, other = queues
    orphan = send(dead_letter_queue, "sent straight to the DLQ")
    with pytest.raises(InvalidParameterValue, match="no longer have a source queue"):
        service.redrive_messages(dead_letter_queue, [orphan.pk])
    assert service.redrive_messages(dead_letter_queue, [orphan.pk], other) == 1
