"""A purge deletes in steps of batches, so the AWS endpoint can run other requests between them;
it deletes exactly the messages sent before it began."""

import pytest

from queues import message_sql, service
from queues.models import Message, now_ms

pytestmark = pytest.mark.django_db


def fill(queue, count):
    now = now_ms()
    Message.objects.bulk_create(
        Message(queue=queue, message_id=f"m{n}", body="x", md5_of_body="", sent_at=now - n,
                visible_at=now)
        for n in range(count)
    )  # fmt: skip


def test_a_purge_goes_a_batch_a_step_and_spares_what_was_sent_after_it_began(fresh_queue_cache):
    queue = service.create_queue("purged-in-steps")
    other = service.create_queue("not-purged")
    fill(queue, 2 * message_sql.DELETE_BATCH + 500)
    fill(other, 3)

    purge = service.start_purge(queue)
    steps = [purge.step(seconds=0)]  # one batch a step: the step ends after its first batch
    [sent_later] = service.send_messages(queue, [service.SendEntry(body="after", id="a")])[0]
    while not steps[-1]:
        steps.append(purge.step(seconds=0))

    assert steps == [False, False, True]
    assert purge.deleted == 2 * message_sql.DELETE_BATCH + 500
    assert list(Message.objects.filter(queue=queue).values_list("body", flat=True)) == ["after"]
    assert Message.objects.filter(queue=other).count() == 3


def test_an_empty_queue_is_purged_at_once(fresh_queue_cache):
    purge = service.start_purge(service.create_queue("empty"))
    assert purge.step() and purge.deleted == 0
