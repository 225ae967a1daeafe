"""The queue page's chart: an hour of depth samples ending at the depth now, and per-minute
traffic, as SVG points."""

import pytest

from console import charts
from notifications import service as topics_service
from notifications.models import TopicActivity
from queues import activity, service
from queues.depths import EMPTY, QueueStats
from queues.models import QueueActivity, QueueHourlyActivity

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    service.queue_cache.clear()
    return service.create_queue("charted")


def test_an_idle_queue_draws_flat_lines_and_says_so(queue):
    chart = charts.queue_chart(queue.id, EMPTY)
    assert not chart["has_data"]
    for series in chart["depth_series"] + chart["rate_series"]:
        assert len(series.values) == charts.MINUTES
        assert set(series.values) == {0}
        assert len(series.points.split()) == charts.MINUTES


def test_depth_carries_forward_and_traffic_counts_per_minute(queue):
    now = activity.current_minute()
    QueueActivity.objects.create(queue=queue, minute=now - 10, visible=40, in_flight=3, sent=9)
    QueueActivity.objects.create(queue=queue, minute=now - 2, received=7, deleted=4)
    chart = charts.queue_chart(queue.id, QueueStats(visible=40, in_flight=3))
    visible = chart["depth_series"][0].values
    # The last index is the current minute, so "10 minutes ago" is index 49.
    assert visible[:49] == [0] * 49
    assert visible[49:] == [40] * 11  # the sample holds until the next one
    sent, received, deleted = (series.values for series in chart["rate_series"])
    assert sent[49] == 9 and sum(sent) == 9
    assert received[57] == 7 and sum(received) == 7
    assert deleted[57] == 4 and sum(deleted) == 4
    assert chart["depth_ceiling"] == 50
    assert chart["rate_ceiling"] == 10


def test_the_depth_line_ends_at_the_depth_now_not_at_the_last_sample(queue):
    QueueActivity.objects.create(queue=queue, minute=activity.current_minute() - 1, visible=2)
    QueueActivity.objects.create(queue=queue, minute=activity.current_minute(), visible=5, sent=30)
    chart = charts.queue_chart(queue.id, QueueStats(visible=30, in_flight=4))
    visible, in_flight = (series.values for series in chart["depth_series"])
    assert visible[-2:] == [2, 30]
    assert in_flight[-1] == 4
    assert chart["latest"]["visible"] == 30
    assert chart["depth_ceiling"] == 50


def test_a_queue_with_messages_but_no_rows_yet_has_data(queue):
    chart = charts.queue_chart(queue.id, QueueStats(visible=3))
    assert chart["has_data"]
    assert chart["depth_series"][0].values[-1] == 3


def test_points_span_the_width_and_stay_inside_the_height(queue):
    QueueActivity.objects.create(queue=queue, minute=activity.current_minute(), visible=5)
    now = QueueStats(visible=5)
    points = charts.queue_chart(queue.id, now)["depth_series"][0].points.split()
    xs = [float(point.split(",")[0]) for point in points]
    ys = [float(point.split(",")[1]) for point in points]
    assert xs[0] == 0 and xs[-1] == charts.WIDTH
    assert all(charts.PADDING <= y <= charts.HEIGHT - charts.PADDING for y in ys)
    assert ys[-1] < ys[0]  # the latest sample is drawn higher than the empty start


def test_round_axis_ceilings():
    assert [charts._scale(value) for value in (1, 3, 7, 11, 180, 2001)] == [1, 5, 10, 20, 200, 5000]


def test_a_week_is_drawn_a_point_an_hour_with_each_hours_highest_depth(queue):
    hour = activity.current_minute() // 60
    QueueHourlyActivity.objects.create(queue=queue, hour=hour - 30, visible=12, sent=100)
    chart = charts.queue_chart(queue.id, QueueStats(visible=1), "7d")
    assert chart["title"] == "Last 7 days"
    assert chart["per"] == "hour"
    visible = chart["depth_series"][0].values
    assert len(visible) == 7 * 24
    assert visible[-31] == 12 and visible[-2] == 12  # carried forward to the hour now
    assert visible[-1] == 1  # the depth now
    assert sum(chart["rate_series"][0].values) == 100
    assert chart["rate_series"][0].name == "Sent / hour"


def test_an_unknown_range_draws_the_last_hour():
    assert charts.range_name("2y") == "1h"
    assert charts.range_name("30d") == "30d"


def test_a_topic_chart_draws_publishes_and_deliveries(db):
    topic = topics_service.create_topic("charted-topic")
    minute = activity.current_minute()
    TopicActivity.objects.create(topic=topic, minute=minute - 5, published=4, delivered=8, failed=1)
    chart = charts.topic_chart(topic.pk, "6h")
    published, deliveries = chart["figures"]
    assert len(published.series[0].values) == 6 * 60
    assert sum(published.series[0].values) == 4
    assert [sum(series.values) for series in deliveries.series] == [8, 1, 0]
    assert chart["has_data"]
