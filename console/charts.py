"""The queue page's chart: depth and throughput over the last hour, drawn as inline SVG.

Server-rendered so it needs no charting library, works without JavaScript and is swapped like
any other live region. Each minute's sent, received and deleted are that minute's every message
(queues.activity). The depth line's last point is the depth now, the one the page shows beside
it; earlier minutes have beat's once-a-minute samples, and a minute without one carries the last
depth forward.
"""

from dataclasses import dataclass

from queues import activity

MINUTES = 60
WIDTH = 600
HEIGHT = 120
PADDING = 4


@dataclass
class Series:
    name: str
    css_class: str
    values: list
    points: str = ""


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


def queue_chart(queue_id, now):
    """Context for templates/console/queues/_chart.html; `now` is the queue's depth now (a
    queues.depths.QueueStats)."""
    first = activity.current_minute() - MINUTES + 1
    rows = {row.minute: row for row in activity.history(queue_id, MINUTES)}
    visible, in_flight, sent, received, deleted = [], [], [], [], []
    depth = (0, 0)
    for minute in range(first, first + MINUTES):
        row = rows.get(minute)
        if row is not None and row.visible is not None:
            depth = (row.visible, row.in_flight or 0)
        visible.append(depth[0])
        in_flight.append(depth[1])
        sent.append(row.sent if row else 0)
        received.append(row.received if row else 0)
        deleted.append(row.deleted if row else 0)
    visible[-1], in_flight[-1] = now.visible, now.in_flight
    depth_series = [
        Series("Visible", "chart-visible", visible),
        Series("In flight", "chart-inflight", in_flight),
    ]
    rate_series = [
        Series("Sent / min", "chart-sent", sent),
        Series("Received / min", "chart-received", received),
        Series("Deleted / min", "chart-deleted", deleted),
    ]
    depth_ceiling = _scale(max(max(visible), max(in_flight), 1))
    rate_ceiling = _scale(max(max(sent), max(received), max(deleted), 1))
    for series in depth_series:
        series.points = _points(series.values, depth_ceiling)
    for series in rate_series:
        series.points = _points(series.values, rate_ceiling)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "depth_series": depth_series,
        "depth_ceiling": depth_ceiling,
        "rate_series": rate_series,
        "rate_ceiling": rate_ceiling,
        "has_data": bool(rows) or bool(now.total),
        "latest": {
            "visible": visible[-1],
            "in_flight": in_flight[-1],
            "sent": sent[-1],
            "received": received[-1],
            "deleted": deleted[-1],
        },
    }
