"""One page of the queue list, filtered by name and sorted by name or by a live number.

Sorting by name pages in SQL and counts only the page's queues. Sorting by a number needs every
matching queue's numbers: one walk of the claim index (queue_stats) and one read of the rates,
then a sort in Python, which at 2,000 queues costs far less than either query.
"""

import re
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Q

from queues.depths import EMPTY, QueueStats, queue_rates, queue_stats
from queues.models import Queue

PAGE_SIZE = 50
DEFAULT_SORT = "name"


@dataclass(frozen=True)
class QueueRow:
    """What a queue's row shows: the queue, its depth and rates, its dead-letter queue's depth."""

    queue: Queue
    stats: QueueStats
    rates: tuple  # (sent, received, ...) per minute
    is_dead_letter_queue: bool
    dead_letter_stats: QueueStats | None

    @property
    def dead_lettered(self):
        """Messages in this queue's dead-letter queue, or in this queue when it is one."""
        if self.dead_letter_stats is not None:
            return self.dead_letter_stats.total
        return self.stats.total if self.is_dead_letter_queue else 0


# Each numeric sort: the row's value, None for "nothing to compare" (sorted last both ways).
# Oldest sorts by age, so by the oldest message's send time reversed.
NUMERIC_SORTS = {
    "visible": lambda row: row.stats.visible,
    "in_flight": lambda row: row.stats.in_flight,
    "delayed": lambda row: row.stats.delayed,
    "oldest": lambda row: (
        -row.stats.oldest_sent_at if row.stats.oldest_sent_at is not None else None
    ),
    "sent": lambda row: row.rates[0],
    "received": lambda row: row.rates[1],
    "dead_lettered": lambda row: row.dead_lettered,
}
SORTS = {DEFAULT_SORT, *NUMERIC_SORTS}


def parse_sort(text):
    """(column, descending) from "visible" or "-visible"; anything unknown sorts by name."""
    text = (text or "").strip()
    descending = text.startswith("-")
    column = text.removeprefix("-")
    if column not in SORTS:
        return DEFAULT_SORT, False
    return column, descending


def names_matching(patterns, field="name"):
    """A Q for names matching any of these glob patterns (`*` any run, `?` one character), as
    IAM matches a resource ARN: case-sensitively. No patterns match nothing.

    One anchored regular expression, so the database filters (PostgreSQL's `~`, SQLite's
    REGEXP) and counts and pages see only the matching names.
    """
    if not patterns:
        return Q(pk__in=[])
    alternatives = (
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        for pattern in patterns
    )
    return Q(**{f"{field}__regex": "^(?:" + "|".join(alternatives) + ")$"})


def queue_page(name_filter="", sort=DEFAULT_SORT, page=1, scope=None):
    """The `page`th (1-based; bad or out-of-range numbers give the nearest page) Django Page of
    QueueRows whose names contain `name_filter`, sorted by `sort` ("-" first: descending).

    `scope`, when given, is the name patterns the viewer may see (see `names_matching`).
    """
    column, descending = parse_sort(sort)
    queues = Queue.objects.order_by()
    if scope is not None:
        queues = queues.filter(names_matching(scope))
    if name_filter:
        queues = queues.filter(name__icontains=name_filter)
    if column == DEFAULT_SORT:
        ordered = queues.select_related("dead_letter_queue").order_by(
            "-name" if descending else "name"
        )
        chosen = Paginator(ordered, PAGE_SIZE).get_page(page)
        chosen.object_list = _rows(list(chosen.object_list))
        return chosen
    return _sorted_by_number(queues, name_filter or scope is not None, column, descending, page)


def _sorted_by_number(queues, filtered, column, descending, page):
    listed = list(queues.values_list("id", "name", "dead_letter_queue_id"))
    ids = [pk for pk, _, _ in listed]
    dead_letter_ids = {dlq for _, _, dlq in listed if dlq}
    # Unfiltered, one pass over every queue; filtered, the matches and their dead-letter queues.
    stats = queue_stats(None if not filtered else set(ids) | dead_letter_ids)
    rates = queue_rates(ids)
    used_as_dead_letter = _used_as_dead_letter_queue(ids) if filtered else dead_letter_ids
    value = NUMERIC_SORTS[column]
    keyed = []
    for pk, name, dlq in listed:
        row = QueueRow(
            queue=None,
            stats=stats.get(pk, EMPTY),
            rates=rates.get(pk, (0, 0)),
            is_dead_letter_queue=pk in used_as_dead_letter,
            dead_letter_stats=stats.get(dlq, EMPTY) if dlq else None,
        )
        number = value(row)
        missing = number is None
        keyed.append(((missing, 0 if missing else (-number if descending else number), name), pk))
    keyed.sort()
    chosen = Paginator([pk for _, pk in keyed], PAGE_SIZE).get_page(page)
    on_page = Queue.objects.select_related("dead_letter_queue").in_bulk(chosen.object_list)
    chosen.object_list = _rows(
        [on_page[pk] for pk in chosen.object_list if pk in on_page],
        stats,
        rates,
        used_as_dead_letter,
    )
    return chosen


def _used_as_dead_letter_queue(queue_ids):
    """Which of these queues some queue names as its dead-letter queue."""
    return set(
        Queue.objects.filter(dead_letter_queue_id__in=queue_ids)
        .order_by()
        .values_list("dead_letter_queue_id", flat=True)
    )


def _rows(queues, stats=None, rates=None, used_as_dead_letter=None):
    """QueueRows for these queues; what is not given is looked up for them alone."""
    ids = [queue.pk for queue in queues]
    if stats is None:
        dead_letter_ids = {queue.dead_letter_queue_id for queue in queues}
        stats = queue_stats(set(ids) | (dead_letter_ids - {None}))
    if rates is None:
        rates = queue_rates(ids)
    if used_as_dead_letter is None:
        used_as_dead_letter = _used_as_dead_letter_queue(ids)
    return [
        QueueRow(
            queue=queue,
            stats=stats.get(queue.pk, EMPTY),
            rates=rates.get(queue.pk, (0, 0)),
            is_dead_letter_queue=queue.pk in used_as_dead_letter,
            dead_letter_stats=(
                stats.get(queue.dead_letter_queue_id, EMPTY) if queue.dead_letter_queue_id else None
            ),
        )
        for queue in queues
    ]
