"""History: each queue's (and topic's) minutes rolled up into hours, and the series read back.

Minute rows (queues.activity) are kept 25 hours; once an hour is over, beat rolls it up into one
row per owner (`roll_up`), kept 30 days. Counts are the minutes' sums; gauges (depths, the oldest
message's age) the hour's highest sample, what an operator looking back wants to see. Rolling an
hour up again replaces its rows with the same sums, so a roll-up that ran twice, or a beat that was
down for hours and catches up, gives the same result. An hour is rolled once a minute of the next
hour has passed: by then every process has written its counts for the hour (each writes within a
second).

`series` reads one owner's range at the resolution the range calls for: minutes up to 24 hours,
hours beyond. The REST API and the console's charts both read it (docs/history.md).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Max

from queues import activity, service
from queues.models import QueueActivity, QueueHourlyActivity, now_ms

KEEP_HOURS = 30 * 24
# An hour is rolled up once this many minutes of the next one have passed (late flushes are in).
ROLL_UP_AFTER_MINUTES = 1
# Each range: (resolution, how many buckets).
RANGES = {
    "1h": ("1m", 60),
    "6h": ("1m", 6 * 60),
    "24h": ("1m", 24 * 60),
    "7d": ("1h", 7 * 24),
    "30d": ("1h", 30 * 24),
}
DEFAULT_RANGE = "1h"


@dataclass(frozen=True)
class Family:
    """The series of one kind of owner: its minute and hourly tables and what they hold."""

    minute_model: type
    hourly_model: type
    counts: tuple  # summed over an hour
    gauges: tuple = ()  # sampled: an hour keeps its highest

    @property
    def owner_column(self):
        return next(
            field.column
            for field in self.minute_model._meta.concrete_fields
            if field.is_relation and field.many_to_one
        )

    @property
    def names(self):
        return self.counts + self.gauges


QUEUES = Family(
    QueueActivity,
    QueueHourlyActivity,
    counts=activity.QUEUE_COLUMNS,
    gauges=("visible", "in_flight", "delayed", "oldest_age"),
)


@dataclass
class Series:
    """One owner's range: bucket starts (minutes or hours since the epoch) and values by name.

    Counts are 0 in a bucket without activity; a gauge is None where no sample was taken.
    """

    range: str
    resolution: str
    starts: list
    values: dict

    def timestamps(self):
        seconds = 60 if self.resolution == "1m" else 3600
        return [datetime.fromtimestamp(start * seconds, UTC).isoformat() for start in self.starts]

    def as_json(self):
        """{"range", "resolution", "series": {name: [[ISO 8601 start, value], ...]}}."""
        stamps = self.timestamps()
        return {
            "range": self.range,
            "resolution": self.resolution,
            "series": {
                name: [[stamp, value] for stamp, value in zip(stamps, values, strict=True)]
                for name, values in self.values.items()
            },
        }


# Rolling up (beat) ---------------------------------------------------------------------------


def _roll_up_hour(family, hour):
    """Replace `hour`'s rows with the sums and highest samples of its minutes: one statement."""
    minutes = family.minute_model._meta.db_table
    hours = family.hourly_model._meta.db_table
    owner = family.owner_column
    names = ", ".join(family.names)
    aggregates = ", ".join(
        [f"SUM({name})" for name in family.counts] + [f"MAX({name})" for name in family.gauges]
    )
    updates = ", ".join(f"{name} = excluded.{name}" for name in family.names)
    # The WHERE keeps SQLite from reading ON CONFLICT as a join's ON.
    sql = (
        f"INSERT INTO {hours} ({owner}, hour, {names}) "
        f"SELECT {owner}, %s, {aggregates} FROM {minutes} "
        f"WHERE minute >= %s AND minute < %s GROUP BY {owner} "
        f"ON CONFLICT ({owner}, hour) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [hour, hour * 60, (hour + 1) * 60])
        return cursor.rowcount


def roll_up(family, minute=None):
    """Roll up every finished hour since the last one rolled (within the minutes kept); return
    the hours rolled."""
    minute = minute or activity.current_minute()
    last_finished = (minute - ROLL_UP_AFTER_MINUTES) // 60 - 1
    oldest_kept = (minute - activity.KEEP_MINUTES) // 60 + 1  # its minutes are all still here
    last_rolled = family.hourly_model.objects.aggregate(top=Max("hour"))["top"]
    first = oldest_kept if last_rolled is None else max(last_rolled + 1, oldest_kept)
    rolled = list(range(first, last_finished + 1))
    for hour in rolled:
        _roll_up_hour(family, hour)
    return rolled


def record_queue_history(minute=None):
    """Beat's minute: sample every queue's depths and oldest message's age (one statement over
    the claim index, service.queue_depths), roll finished hours up, prune old minutes and hours."""
    now = now_ms()
    minute = minute or activity.current_minute(now)
    activity.record_depths(
        {
            queue_id: (visible, in_flight, delayed, oldest_age(oldest, now))
            for queue_id, (visible, in_flight, delayed, oldest) in service.queue_depths().items()
        },
        minute,
    )
    roll_up(QUEUES, minute)
    activity.prune()
    prune(QUEUES, minute)


def oldest_age(oldest_sent_at, now):
    """Whole seconds since the oldest unexpired message was sent; 0 for an empty queue."""
    return 0 if oldest_sent_at is None else max(now - oldest_sent_at, 0) // 1000


def prune(family, minute=None):
    """Forget hours older than 30 days and (for families other than the queues', whose minutes
    activity.prune forgets) minutes older than a day."""
    minute = minute or activity.current_minute()
    activity._delete_in_batches(
        family.hourly_model.objects.filter(hour__lt=minute // 60 - KEEP_HOURS)
    )
    if family.minute_model is not QueueActivity:
        activity._delete_in_batches(
            family.minute_model.objects.filter(minute__lt=minute - activity.KEEP_MINUTES)
        )


# Reading -------------------------------------------------------------------------------------


def series(family, owner_id, range_name=DEFAULT_RANGE, minute=None):
    """One owner's Series over `range_name` (a key of RANGES), ending with the current minute or
    hour. Reads one owner's rows through the (owner, minute) and (owner, hour) unique indexes."""
    resolution, buckets = RANGES[range_name]
    minute = minute or activity.current_minute()
    owner = family.owner_column.removesuffix("_id")
    if resolution == "1m":
        first = minute - buckets + 1
        rows = family.minute_model.objects.filter(**{owner: owner_id, "minute__gte": first})
        by_start = {row.minute: _values(family, row) for row in rows}
    else:
        hour = minute // 60
        first = hour - buckets + 1
        rows = family.hourly_model.objects.filter(**{owner: owner_id, "hour__gte": first})
        by_start = {row.hour: _values(family, row) for row in rows}
        by_start.update(_unrolled_hours(family, owner, owner_id, first, hour, minute, by_start))
    starts = list(range(first, first + buckets))
    values = {name: [] for name in family.names}
    for start in starts:
        row = by_start.get(start)
        for name in family.names:
            if row is None:
                values[name].append(0 if name in family.counts else None)
            else:
                values[name].append(row[name])
    return Series(range_name, resolution, starts, values)


def _values(family, row):
    return {name: getattr(row, name) for name in family.names}


def _unrolled_hours(family, owner, owner_id, first, hour, minute, rolled):
    """{hour: values} of the hours in [first, hour] not rolled up yet (the current hour, and the
    last one for its first minute), added up from their minutes."""
    oldest_kept = (minute - activity.KEEP_MINUTES) // 60 + 1
    missing = [h for h in range(max(first, oldest_kept), hour + 1) if h not in rolled]
    if not missing:
        return {}
    hours = {}
    rows = family.minute_model.objects.filter(
        **{owner: owner_id, "minute__gte": min(missing) * 60}
    ).order_by("minute")
    wanted = set(missing)
    for row in rows:
        start = row.minute // 60
        if start not in wanted:
            continue
        totals = hours.setdefault(start, dict.fromkeys(family.counts, 0))
        for name in family.counts:
            totals[name] += getattr(row, name)
        for name in family.gauges:
            value = getattr(row, name)
            if value is not None and (totals.get(name) is None or value > totals[name]):
                totals[name] = value
    for totals in hours.values():
        for name in family.gauges:
            totals.setdefault(name, None)
    return hours
