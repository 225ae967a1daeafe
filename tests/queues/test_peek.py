"""Peeking: listing a queue's messages page by page without receiving or changing them."""

import json

import pytest
from django.db.models import F

from queues import service
from queues.errors import InvalidParameterValue
from queues.models import Message
from queues.peek import peek_messages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_queue_cache")]


@pytest.fixture
def queue():
    """An empty standard queue."""
    return service.create_queue("orders")


def send(queue, body="hello", **fields):
    return service.send_message(queue, service.SendEntry(body=body, **fields))


def string(value):
    return {"DataType": "String", "StringValue": value}


def bodies(messages):
    return [message.body for message in messages]


def all_pages(queue, **filters):
    """Every page's bodies, following the cursor to the end."""
    pages, cursor = [], None
    while True:
        messages, cursor = peek_messages(queue, cursor=cursor, **filters)
        pages.append(bodies(messages))
        if cursor is None:
            return pages


def snapshot():
    return list(
        Message.objects.order_by("id").values_list(
            "receive_count", "visible_at", "receive_token", "first_received_at"
        )
    )


# Nothing changes


def test_peek_changes_neither_receive_count_nor_visibility(queue):
    send(queue, "visible")
    send(queue, "in flight")
    send(queue, "delayed", delay_seconds=300)
    service.receive_messages(queue, max_number=1)
    before = snapshot()

    messages, _ = peek_messages(queue)

    assert len(messages) == 3
    assert snapshot() == before


def test_peeked_message_can_still_be_received_as_never_received(queue):
    send(queue)
    peek_messages(queue)
    peek_messages(queue)

    [received] = service.receive_messages(queue, system_attribute_names=["All"])

    assert received["Attributes"]["ApproximateReceiveCount"] == "1"


# What a peeked message says


def test_peeked_message_carries_its_facts(queue):
    result = send(queue, "hello", message_attributes={"colour": string("red")})
    sent = Message.objects.get()

    [message], cursor = peek_messages(queue)

    assert cursor is None
    assert message.message_id == result["MessageId"]
    assert message.body == "hello"
    assert message.md5_of_body == result["MD5OfMessageBody"]
    assert message.attributes == {"colour": string("red")}
    assert message.md5_of_attributes == result["MD5OfMessageAttributes"]
    assert message.sent_at == sent.sent_at
    assert message.visible_at == sent.visible_at
    assert message.receive_count == 0
    assert message.first_received_at is None
    assert message.state == "visible"
    assert message.group_id == message.deduplication_id == message.sequence_number == ""


def test_binary_attributes_are_decoded_to_bytes(queue):
    send(queue, message_attributes={"raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})

    [message], _ = peek_messages(queue)

    assert message.attributes == {"raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}


def test_states_follow_visibility_and_receive_count(queue):
    send(queue, "visible")
    send(queue, "delayed", delay_seconds=60)
    send(queue, "received")
    received = Message.objects.get(body="received")
    Message.objects.filter(pk=received.pk).update(
        receive_count=1, visible_at=F("visible_at") + 900_000
    )

    messages, _ = peek_messages(queue)

    assert {m.body: m.state for m in messages} == {
        "visible": "visible",
        "delayed": "delayed",
        "received": "in_flight",
    }
    in_flight = next(m for m in messages if m.state == "in_flight")
    assert in_flight.visible_at > in_flight.sent_at


def test_message_whose_visibility_timeout_ran_out_is_visible_again(queue):
    send(queue)
    service.receive_messages(queue, visibility_timeout=0)

    [message], _ = peek_messages(queue)

    assert message.state == "visible"
    assert message.receive_count == 1


def test_fifo_message_has_group_deduplication_id_and_sequence_number():
    queue = service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    result = send(queue, "job", group_id="g1", deduplication_id="d1")

    [message], _ = peek_messages(queue)

    assert (message.group_id, message.deduplication_id) == ("g1", "d1")
    assert message.sequence_number == result["SequenceNumber"]


def test_trace_header_is_shown(queue):
    send(queue, system_attributes={"AWSTraceHeader": string("Root=1-abc")})

    [message], _ = peek_messages(queue)

    assert message.trace_header == "Root=1-abc"


def test_dead_lettered_message_names_its_source_queue():
    dead_letter_queue = service.create_queue("orders-dlq")
    policy = {"deadLetterTargetArn": dead_letter_queue.arn, "maxReceiveCount": 1}
    source = service.create_queue("orders", {"RedrivePolicy": json.dumps(policy)})
    send(source, "poison")
    service.receive_messages(source, visibility_timeout=0)
    service.receive_messages(source)  # the second receive moves it to the dead-letter queue

    [message], _ = peek_messages(dead_letter_queue)

    assert message.body == "poison"
    assert message.dead_letter_source_queue == "orders"


# Paging


def test_cursor_pages_through_every_message_once_in_send_order(queue):
    for n in range(7):
        send(queue, f"m{n}")

    pages = all_pages(queue, limit=3)

    assert pages == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]


def test_full_last_page_has_no_cursor(queue):
    for n in range(4):
        send(queue, f"m{n}")

    assert all_pages(queue, limit=2) == [["m0", "m1"], ["m2", "m3"]]


def test_messages_sent_in_the_same_millisecond_page_by_id(queue):
    for n in range(5):
        send(queue, f"m{n}")
    Message.objects.update(sent_at=Message.objects.order_by("id").first().sent_at)

    assert all_pages(queue, limit=2) == [["m0", "m1"], ["m2", "m3"], ["m4"]]


def test_page_is_not_capped_at_ten(queue):
    service.send_messages(
        queue, [service.SendEntry(id=str(n), body=f"m{n}") for n in range(10)], batch=True
    )
    service.send_messages(
        queue, [service.SendEntry(id=str(n), body=f"n{n}") for n in range(5)], batch=True
    )

    messages, cursor = peek_messages(queue, limit=1000)

    assert len(messages) == 15
    assert cursor is None


def test_message_sent_after_a_page_appears_on_a_later_page(queue):
    send(queue, "first")
    send(queue, "second")
    page, cursor = peek_messages(queue, limit=1)
    send(queue, "third")

    rest, _ = peek_messages(queue, cursor=cursor, limit=10)

    assert bodies(page) == ["first"]
    assert bodies(rest) == ["second", "third"]


def test_page_costs_a_bounded_number_of_queries(queue, django_assert_max_num_queries):
    dead_letter_queue = service.create_queue("orders-dlq")
    for n in range(60):
        send(queue, f"m{n}")
    Message.objects.update(dead_letter_source=dead_letter_queue)

    with django_assert_max_num_queries(2):
        messages, _ = peek_messages(queue, limit=50)

    assert len(messages) == 50


def test_other_queues_messages_are_not_shown(queue):
    other = service.create_queue("other")
    send(other, "not mine")
    send(queue, "mine")

    assert bodies(peek_messages(queue)[0]) == ["mine"]


# Retention


def test_expired_messages_never_appear(queue):
    service.set_queue_attributes(queue, {"MessageRetentionPeriod": "60"})
    queue = service.get_queue("orders")
    send(queue, "expired")
    send(queue, "fresh")
    Message.objects.filter(body="expired").update(sent_at=F("sent_at") - 61_000)

    assert bodies(peek_messages(queue)[0]) == ["fresh"]
    assert bodies(peek_messages(queue, older_than_seconds=30)[0]) == []


def test_cursor_from_before_the_retention_cutoff_starts_at_the_oldest_live_message(queue):
    service.set_queue_attributes(queue, {"MessageRetentionPeriod": "60"})
    queue = service.get_queue("orders")
    send(queue, "expired")
    send(queue, "fresh")
    expired = Message.objects.get(body="expired")
    Message.objects.filter(pk=expired.pk).update(sent_at=F("sent_at") - 61_000)

    messages, _ = peek_messages(queue, cursor=f"{expired.sent_at - 61_000}_{expired.pk}")

    assert bodies(messages) == ["fresh"]


# Filters


def test_filter_by_state(queue):
    send(queue, "visible")
    send(queue, "received")
    send(queue, "delayed", delay_seconds=300)
    Message.objects.filter(body="received").update(
        receive_count=2, visible_at=F("visible_at") + 60_000
    )

    def only(*states):
        return bodies(peek_messages(queue, states=states)[0])

    assert only("visible") == ["visible"]
    assert only("in_flight") == ["received"]
    assert only("delayed") == ["delayed"]
    assert only("in_flight", "delayed") == ["received", "delayed"]
    assert only() == ["visible", "received", "delayed"]


def test_filter_by_body_is_case_sensitive_and_pages(queue):
    for n in range(6):
        send(queue, f"NEEDLE {n}")
        send(queue, f"needle {n}")
        send(queue, f"hay {n}")

    pages = all_pages(queue, body_contains="needle", limit=4)

    assert pages == [
        ["needle 0", "needle 1", "needle 2", "needle 3"],
        ["needle 4", "needle 5"],
    ]


def test_body_filter_treats_like_wildcards_literally(queue):
    send(queue, "100% sure")
    send(queue, "1000 sure")

    assert bodies(peek_messages(queue, body_contains="0%")[0]) == ["100% sure"]


def test_filter_by_attribute_name(queue):
    send(queue, "tagged", message_attributes={"colour": string("red")})
    send(queue, "value only", message_attributes={"other": string("colour")})
    send(queue, "plain")

    assert bodies(peek_messages(queue, attribute="colour")[0]) == ["tagged"]


def test_filter_by_attribute_name_and_value(queue):
    send(queue, "red", message_attributes={"colour": string("red")})
    send(queue, "RED", message_attributes={"colour": string("RED")})
    send(queue, "blue", message_attributes={"colour": string("blue")})
    send(queue, "number", message_attributes={"colour": {"DataType": "Number", "StringValue": "1"}})

    assert bodies(peek_messages(queue, attribute="colour=red")[0]) == ["red"]
    assert bodies(peek_messages(queue, attribute="colour=1")[0]) == ["number"]


def test_filter_by_binary_attribute_value_in_base64(queue):
    raw = {"DataType": "Binary", "BinaryValue": b"\x01\x02"}
    send(queue, "binary", message_attributes={"raw": raw})

    assert bodies(peek_messages(queue, attribute="raw=AQI=")[0]) == ["binary"]


def test_filter_by_non_ascii_attribute_name(queue):
    send(queue, "accented", message_attributes={"attr.øß": string("ä")})
    send(queue, "plain", message_attributes={"attr": string("a")})

    assert bodies(peek_messages(queue, attribute="attr.øß=ä")[0]) == ["accented"]


def test_filter_by_min_receive_count(queue):
    send(queue, "never")
    send(queue, "often")
    Message.objects.filter(body="often").update(receive_count=5)

    assert bodies(peek_messages(queue, min_receive_count=3)[0]) == ["often"]
    assert bodies(peek_messages(queue, min_receive_count=0)[0]) == ["never", "often"]


def test_filter_by_age(queue):
    send(queue, "old")
    send(queue, "new")
    Message.objects.filter(body="old").update(sent_at=F("sent_at") - 3_600_000)

    assert bodies(peek_messages(queue, older_than_seconds=60)[0]) == ["old"]


def test_filter_by_group():
    queue = service.create_queue(
        "jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    send(queue, "a1", group_id="a")
    send(queue, "b1", group_id="b")
    send(queue, "a2", group_id="a")

    assert bodies(peek_messages(queue, group_id="a")[0]) == ["a1", "a2"]


def test_filters_combine(queue):
    send(queue, "red old", message_attributes={"colour": string("red")})
    send(queue, "red new", message_attributes={"colour": string("red")})
    send(queue, "blue old", message_attributes={"colour": string("blue")})
    Message.objects.filter(body__endswith="old").update(sent_at=F("sent_at") - 3_600_000)

    messages, _ = peek_messages(queue, attribute="colour=red", older_than_seconds=60)

    assert bodies(messages) == ["red old"]


# Refusals


@pytest.mark.parametrize("limit", [0, 1001, "10"])
def test_limit_must_be_between_one_and_a_thousand(queue, limit):
    with pytest.raises(InvalidParameterValue):
        peek_messages(queue, limit=limit)


@pytest.mark.parametrize("cursor", ["abc", "1_x", "12"])
def test_broken_cursor_is_refused(queue, cursor):
    with pytest.raises(InvalidParameterValue):
        peek_messages(queue, cursor=cursor)


def test_unknown_state_is_refused(queue):
    with pytest.raises(InvalidParameterValue):
        peek_messages(queue, states=["visible", "gone"])


@pytest.mark.parametrize("field", ["min_receive_count", "older_than_seconds"])
def test_negative_numbers_are_refused(queue, field):
    with pytest.raises(InvalidParameterValue):
        peek_messages(queue, **{field: -1})
