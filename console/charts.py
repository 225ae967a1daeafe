"""The queue and topic pages' charts: their history over a chosen range, drawn as inline SVG.

Server-rendered so it needs no charting library, works without JavaScript and is swapped like
any other live region. The points come from queues.history: a point a minute over 1, 6 or 24
hours, a point an hour over 7 or 30 days. Each minute's counts are that minute's every message
(queues.activity); an hour's are its minutes' sums. The depth line's last point is the depth now,
the one the page shows beside it; earlier points have beat's once-a-minute samples (an hour's
highest), and a point without one carries the last depth forward.
"""

from dataclasses import dataclass, field

from notifications import activity as topic_activity
from queues import history

MINUTES = 60
WIDTH = 600
HEIGHT = 120
PADDING = 4
RANGE_LABELS = {
    "1h": ("1 h", "Last hour"),
    "6h": ("6 h", "Last 6 hours"),
    "24h": ("24 h", "Last 24 hours"),
    "7d": ("7 d", "Last 7 days"),
    "30d": ("30 d", "Last 30 days"),
}


@dataclass
class Series:
    name: str
    css_class: str
    values: list
    points: str = ""


@dataclass
class Figure:
    """One SVG: its caption, the accessible description and its lines on one axis."""

    title: str
    description: str
    series: list
    unit: str = ""
    ceiling: int = 1
    extra: dict = field(default_factory=dict)


def _scale(maximum):
    """A round ceiling for the axis: 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= maximum:
                return step * factor
        step *= 10


def _points(values, ceiling):
    usable = HEIGHT - 2 * PADDING
    step = WIDTH / (len(values) - 1)
    return " ".join(
        f"{index * step:.1f},{HEIGHT - PADDING - usable * value / ceiling:.1f}"
        for index, value in enumerate(values)
    )


def _carried(values):
    """Sampled values with each gap (None) holding the last sample, 0 before the first."""
    last, carried = 0, []
    for value in values:
        if value is not None:
            last = value
        carried.append(last)
    return carried


def _draw(figure):
    figure.ceiling = _scale(max([max(series.values) for series in figure.series] + [1]))
    for series in figure.series:
        series.points = _points(series.values, figure.ceiling)
    return figure


def range_name(value):
    """A known range from a request's value, else the default (1 h)."""
    return value if value in history.RANGES else history.DEFAULT_RANGE


def _span(series):
    label = RANGE_LABELS[series.range][1].lower()
    per = "minute" if series.resolution == "1m" else "hour"
    return label, per


def _frame(region, title_id, series, figures, has_data, **extra):
    return {
        "region": region,
        "title_id": title_id,
        "range": series.range,
        "title": RANGE_LABELS[series.range][1],
        "ranges": [(key, short) for key, (short, _long) in RANGE_LABELS.items()],
        "per": "minute" if series.resolution == "1m" else "hour",
        "width": WIDTH,
        "height": HEIGHT,
        "figures": [_draw(figure) for figure in figures],
        "has_data": has_data,
        **extra,
    }


def queue_chart(queue_id, now, range_name=history.DEFAULT_RANGE):
    """Context for templates/console/queues/_chart.html; `now` is the queue's depth now (a
    queues.depths.QueueStats)."""
    series = history.series(history.QUEUES, queue_id, range_name)
    values = series.values
    visible = _carried(values["visible"])
    in_flight = _carried(values["in_flight"])
    oldest = _carried(values["oldest_age"])
    visible[-1], in_flight[-1] = now.visible, now.in_flight
    label, per = _span(series)
    depth_series = [
        Series("Visible", "chart-visible", visible),
        Series("In flight", "chart-inflight", in_flight),
    ]
    rate_series = [
        Series(f"Sent / {per}", "chart-sent", values["sent"]),
        Series(f"Received / {per}", "chart-received", values["received"]),
        Series(f"Deleted / {per}", "chart-deleted", values["deleted"]),
    ]
    loss_series = [
        Series(f"Expired / {per}", "chart-expired", values["expired"]),
        Series(f"Dead-lettered / {per}", "chart-deadlettered", values["dead_lettered"]),
    ]
    age_series = [Series("Oldest message (s)", "chart-oldest", oldest)]
    figures = [
        Figure("Depth", f"Messages visible and in flight over the {label}", depth_series),
        Figure(
            "Throughput",
            f"Messages sent, received and deleted per {per} over the {label}",
            rate_series,
            unit=f" a {per}",
        ),
        Figure(
            "Expired and dead-lettered",
            f"Messages expired and moved to the dead-letter queue per {per} over the {label}",
            loss_series,
            unit=f" a {per}",
        ),
        Figure(
            "Age of the oldest message",
            f"Age in seconds of the oldest message over the {label}",
            age_series,
            unit=" s",
        ),
    ]
    has_data = any(any(v is not None and v != 0 for v in column) for column in values.values())
    chart = _frame("queue-chart", "queue-chart-title", series, figures, has_data or bool(now.total))
    chart.update(
        depth_series=depth_series,
        rate_series=rate_series,
        loss_series=loss_series,
        age_series=age_series,
        depth_ceiling=figures[0].ceiling,
        rate_ceiling=figures[1].ceiling,
        latest={
            "visible": visible[-1],
            "in_flight": in_flight[-1],
            "sent": values["sent"][-1],
            "received": values["received"][-1],
            "deleted": values["deleted"][-1],
        },
    )
    return chart


def topic_chart(topic_id, range_name=history.DEFAULT_RANGE):
    """Context for templates/console/topics/_chart.html: published and what became of each
    delivery, per minute or hour."""
    series = history.series(topic_activity.TOPICS, topic_id, range_name)
    values = series.values
    label, per = _span(series)
    figures = [
        Figure(
            "Published",
            f"Messages published per {per} over the {label}",
            [Series(f"Published / {per}", "chart-published", values["published"])],
            unit=f" a {per}",
        ),
        Figure(
            "Deliveries",
            f"Deliveries delivered, failed and filtered out per {per} over the {label}",
            [
                Series(f"Delivered / {per}", "chart-delivered", values["delivered"]),
                Series(f"Failed / {per}", "chart-failed", values["failed"]),
                Series(f"Filtered out / {per}", "chart-filtered", values["filtered_out"]),
            ],
            unit=f" a {per}",
        ),
    ]
    has_data = any(any(column) for column in values.values())
    return _frame("topic-chart", "topic-chart-title", series, figures, has_data)
