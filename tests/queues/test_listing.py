"""One page of the queue list: filtered, sorted by name or by a live number, paged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queues import activity, listing, service
from queues.models import Message, now_ms

pytestmark = pytest.mark.django_db


def send(queue, count=1, **fields):
    for _ in range(count):
        service.send_message(queue, service.SendEntry(body="x", **fields))


def names(page):
    return [row.queue.name for row in page]


@pytest.fixture
def queues():
    """Five queues with different depths: c 3 visible, a 2 visible + 1 in flight, e 1 delayed,
    b and d empty; d is e's dead-letter queue and holds one message."""
    made = {name: service.create_queue(name) for name in "abcd"}
    policy = f'{{"deadLetterTargetArn": "{made["d"].arn}", "maxReceiveCount": 3}}'
    made["e"] = service.create_queue("e", {"RedrivePolicy": policy})
    send(made["c"], 3)
    send(made["a"], 3)
    service.receive_messages(made["a"], max_number=1)
    send(made["e"], delay_seconds=600)
    send(made["d"])
    return made


def test_name_sort_pages_in_order(queues, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    assert names(listing.queue_page()) == ["a", "b"]
    assert names(listing.queue_page(page=2)) == ["c", "d"]
    assert names(listing.queue_page(page=3)) == ["e"]
    assert names(listing.queue_page(sort="-name")) == ["e", "d"]


def test_bad_or_out_of_range_page_numbers_give_the_nearest_page(queues, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    assert listing.queue_page(page="abc").number == 1
    assert listing.queue_page(page="-4").number == 3
    assert listing.queue_page(page="99999999999999999999").number == 3
    assert listing.queue_page(name_filter="zzz", page="7").number == 1


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("visible", ["b", "e", "d", "a", "c"]),
        ("-visible", ["c", "a", "d", "b", "e"]),
        ("-in_flight", ["a", "b", "c", "d", "e"]),
        ("-delayed", ["e", "a", "b", "c", "d"]),
        # Dead-lettered: e's dead-letter queue d holds 1, and so does d itself.
        ("-dead_lettered", ["d", "e", "a", "b", "c"]),
        ("dead_lettered", ["a", "b", "c", "d", "e"]),
        ("nonsense", ["a", "b", "c", "d", "e"]),
    ],
)
def test_numeric_sorts_order_every_matching_queue_then_by_name(queues, sort, expected):
    assert names(listing.queue_page(sort=sort)) == expected


def test_oldest_sorts_by_age_with_empty_queues_last_either_way(queues):
    for name, age_ms in (("c", 3_600_000), ("e", 120_000), ("a", 60_000), ("d", 30_000)):
        Message.objects.filter(queue=queues[name]).update(sent_at=now_ms() - age_ms)
    assert names(listing.queue_page(sort="-oldest")) == ["c", "e", "a", "d", "b"]
    assert names(listing.queue_page(sort="oldest")) == ["d", "a", "e", "c", "b"]


@pytest.mark.django_db(transaction=True)  # counts are written outside any transaction
def test_sent_and_received_per_minute_sort_by_the_rates(queues):
    activity.flush()  # what the fixture's sends counted
    activity.count(queues["d"].pk, sent=5)
    activity.count(queues["b"].pk, sent=2, received=7)
    activity.flush()
    # The fixture sent 3 to a and c, 1 to d and e.
    assert names(listing.queue_page(sort="-sent")) == ["d", "a", "c", "b", "e"]
    assert names(listing.queue_page(sort="sent")) == ["e", "b", "a", "c", "d"]
    assert names(listing.queue_page(sort="-received"))[0] == "b"


def test_a_filtered_numeric_sort_pages_the_matches_only(queues, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    service.create_queue("cc")
    page = listing.queue_page(name_filter="C", sort="-visible")
    assert names(page) == ["c"]
    assert page.paginator.count == 2
    assert names(listing.queue_page(name_filter="C", sort="-visible", page=2)) == ["cc"]


def test_rows_carry_the_numbers_the_overview_shows(queues):
    rows = {row.queue.name: row for row in listing.queue_page(sort="-visible")}
    assert (rows["a"].stats.visible, rows["a"].stats.in_flight) == (2, 1)
    assert rows["e"].dead_letter_stats.total == 1 and rows["e"].dead_lettered == 1
    assert rows["d"].is_dead_letter_queue and rows["d"].dead_lettered == 1
    assert not rows["a"].is_dead_letter_queue and rows["a"].dead_lettered == 0


@pytest.mark.parametrize("sort", ["name", "-visible"])
def test_a_page_costs_the_same_few_queries_however_many_queues(sort):
    for n in range(120):
        service.create_queue(f"q{n:03d}")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            rows = list(listing.queue_page(sort=sort, page=2))
        assert len(rows) == listing.PAGE_SIZE
        return len(captured)

    few = queries()
    for n in range(120, 240):
        service.create_queue(f"q{n:03d}")
    assert queries() == few <= 6
