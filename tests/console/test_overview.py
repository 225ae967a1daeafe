"""The overview: queues and topics with their numbers, the name filter, creating both."""

import pytest
from django.contrib.auth import get_user_model

from console.views import overview
from notifications import service as topics_service
from notifications.models import Topic
from queues import depths, service
from queues.models import Message, Queue, now_ms

from .conftest import send

pytestmark = pytest.mark.django_db


def row_of(page, queue):
    """The HTML of one queue's row on the page."""
    start = page.index(f'<tr id="queue-{queue.pk}"')
    return page[start : page.index("</tr>", start)]


def test_overview_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_then_lands_on_overview(client):
    get_user_model().objects.create_user("ops", password="a-long-password")
    response = client.post("/login/", {"username": "ops", "password": "a-long-password"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_queue_rows_show_visible_in_flight_and_delayed(viewer_client, queue):
    for body in ("a", "b", "c"):
        send(queue, body)
    send(queue, "later", delay_seconds=600)
    service.receive_messages(queue, max_number=1)
    row = row_of(viewer_client.get("/").content.decode(), queue)
    numbers = [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split('<td class="num"')[1:4]]
    assert numbers == ["2", "1", "1"]
    assert "data-age" in row  # the oldest message's age


def test_large_numbers_are_compact_with_the_exact_number_in_a_title(viewer_client, queue):
    Message.objects.bulk_create(
        Message(
            queue=queue,
            message_id=str(n),
            body="x",
            md5_of_body="",
            sent_at=now_ms(),
            visible_at=now_ms(),
        )  # fmt: skip
        for n in range(1234)
    )
    row = row_of(viewer_client.get("/").content.decode(), queue)
    assert '<td class="num" data-label="Visible" title="1234">1.2k</td>' in row


def test_a_dead_letter_queue_with_messages_gets_a_badge(viewer_client, dead_letter_pair):
    source, dead_letter_queue = dead_letter_pair
    page = viewer_client.get("/").content.decode()
    assert "dead-lettered" not in row_of(page, source) + row_of(page, dead_letter_queue)
    send(dead_letter_queue, "failed")
    page = viewer_client.get("/").content.decode()
    assert "1 dead-lettered" in row_of(page, source)
    assert "1 dead-lettered" in row_of(page, dead_letter_queue)
    assert ">DLQ<" in row_of(page, dead_letter_queue)


def test_topics_are_listed_with_their_subscription_counts(viewer_client, queue):
    topic = topics_service.create_topic("events")
    topics_service.subscribe(topic, "sqs", queue.arn)
    topics_service.subscribe(topic, "http", "http://example.com/hook")
    page = viewer_client.get("/").content.decode()
    start = page.index(f'<tr id="topic-{topic.pk}"')
    row = page[start : page.index("</tr>", start)]
    assert "events" in row
    assert '<td class="num" data-label="Subscriptions" title="2">2</td>' in row
    assert '<td class="num" data-label="Pending confirmation">1</td>' in row


def test_the_name_filter_narrows_queues_and_topics(viewer_client, htmx_headers):
    service.create_queue("orders")
    service.create_queue("payments")
    topics_service.create_topic("order-events")
    topics_service.create_topic("audit")
    response = viewer_client.get("/", {"q": "ORDER"}, headers=htmx_headers)
    html = response.content.decode()
    # The lists and their counts, not the create forms (a half-typed one stays as it is).
    assert html.lstrip().startswith('<span id="queue-count"')
    assert 'id="queue-list"' in html and 'id="topic-list"' in html
    assert 'id="create-queue"' not in html
    assert "orders" in html and "order-events" in html
    assert "payments" not in html and "audit" not in html
    assert "No queues match" not in html
    assert "No queues match “zzz”" in viewer_client.get("/", {"q": "zzz"}).content.decode()


def test_an_empty_install_shows_a_boto3_snippet(operator_client):
    page = operator_client.get("/").content.decode()
    assert "No queues yet" in page
    assert "endpoint_url=&quot;http://testserver&quot;" in page
    assert 'data-copy="#sqs-snippet"' in page
    assert "No topics yet" in page


def test_an_operator_creates_a_queue_and_goes_to_its_page(operator_client, htmx_headers):
    response = operator_client.post(
        "/queues/new",
        {"name": "jobs", "visibility_timeout": "45", "delay_seconds": ""},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/queues/jobs/"
    queue = Queue.objects.get(name="jobs")
    assert queue.visibility_timeout == 45
    assert queue.delay_seconds == 0
    page = operator_client.get("/queues/jobs/").content.decode()
    assert "Queue jobs created." in page  # the toast, shown after the redirect


def test_creating_a_fifo_queue_adds_the_suffix_and_the_dead_letter_queue(operator_client):
    service.create_queue("jobs-dlq.fifo", {"FifoQueue": "true"})
    response = operator_client.post(
        "/queues/new",
        {
            "name": "jobs",
            "fifo": "on",
            "content_based_deduplication": "on",
            "dead_letter_queue": "jobs-dlq.fifo",
            "max_receive_count": "3",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/queues/jobs.fifo/"
    queue = Queue.objects.get(name="jobs.fifo")
    assert queue.is_fifo and queue.content_based_deduplication
    assert queue.dead_letter_queue.name == "jobs-dlq.fifo"
    assert queue.max_receive_count == 3


def test_queue_creation_errors_show_beside_their_field(operator_client, htmx_headers):
    response = operator_client.post(
        "/queues/new", {"name": "jobs", "visibility_timeout": "99999"}, headers=htmx_headers
    )
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="id_visibility_timeout"') :]
    field = field[: field.index("</div>")]
    assert "Invalid value for the parameter VisibilityTimeout." in field
    assert not Queue.objects.filter(name="jobs").exists()


def test_an_invalid_queue_name_is_shown_beside_the_name(operator_client):
    response = operator_client.post("/queues/new", {"name": "no spaces"})
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="id_name"') :]
    assert "Can only include alphanumeric characters" in field[: field.index("</div>")]


def test_an_operator_creates_a_topic_and_goes_to_its_page(operator_client, htmx_headers):
    response = operator_client.post("/topics/new", {"name": "events"}, headers=htmx_headers)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/topics/events/"
    assert Topic.objects.filter(name="events", fifo_topic=False).exists()
    page = operator_client.get("/topics/events/").content.decode()
    assert "Created topic events." in page  # the toast, shown after the redirect
    response = operator_client.post("/topics/new", {"name": "ordered", "fifo": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/topics/ordered.fifo/"
    assert Topic.objects.get(name="ordered.fifo").fifo_topic


def test_creating_a_topic_that_exists_with_the_same_settings_goes_to_it(operator_client):
    topics_service.create_topic("events")
    response = operator_client.post("/topics/new", {"name": "events"}, follow=True)
    assert response.redirect_chain == [("/topics/events/", 302)]
    assert "Topic events already existed with these settings." in response.content.decode()


def test_topic_creation_errors_show_beside_the_name(operator_client, htmx_headers):
    response = operator_client.post("/topics/new", {"name": "bad name"}, headers=htmx_headers)
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="topic-name"') :]
    assert "Topic names must be made up of" in field[: field.index("</div>")]


# Live regions and the numbers behind them


def test_live_fragments_render_one_region_per_queue_and_topic(operator, dead_letter_pair):
    source, dead_letter_queue = dead_letter_pair
    topic = topics_service.create_topic("events")
    send(dead_letter_queue, "failed")
    regions = overview.live_fragments(operator)
    rows = list(regions)[:3]
    assert set(rows) == {
        f"queue-{source.pk}",
        f"queue-{dead_letter_queue.pk}",
        f"topic-{topic.pk}",
    }
    # Rows first: in a frame, a <tr> after a <span> would be dropped.
    assert list(regions)[3:] == [
        "queue-count",
        "alarm-count",
        "topic-count",
        "queue-set",
        "topic-set",
    ]
    for region_id in rows:
        assert regions[region_id].lstrip().startswith(f'<tr id="{region_id}" hx-swap-oob="true">')
    assert "1 dead-lettered" in regions[f"queue-{source.pk}"]
    assert (
        regions["queue-count"] == '<span id="queue-count" class="count" hx-swap-oob="true">2</span>'
    )
    assert regions["queue-set"].startswith(
        '<span id="queue-set" hx-swap-oob="true" hidden data-live-set="'
    )


def test_queue_stats_count_like_the_service_and_leave_out_expired_messages(queue):
    other = service.create_queue("short", {"MessageRetentionPeriod": "60"})
    for n in range(3):
        send(queue, f"m{n}")
        send(other, f"m{n}")
    send(queue, "later", delay_seconds=60)
    service.receive_messages(queue, max_number=1)
    Message.objects.filter(queue=other, body="m0").update(sent_at=now_ms() - 61_000)
    stats = depths.queue_stats()
    assert (stats[queue.pk].visible, stats[queue.pk].in_flight, stats[queue.pk].delayed) == (
        service.queue_depth(queue)
    )
    assert (
        (stats[other.pk].visible, stats[other.pk].in_flight, stats[other.pk].delayed)
        == (service.queue_depth(other))
        == (2, 0, 0)
    )
    oldest_unexpired = Message.objects.filter(queue=other, body="m1").get().sent_at
    assert stats[other.pk].oldest_sent_at == oldest_unexpired
    assert set(depths.queue_stats([other.pk])) == {other.pk}


def test_queue_stats_cover_every_queue_empty_or_not(queue):
    for n in range(5):
        send(service.create_queue(f"q{n}"), "x")
    stats = depths.queue_stats()
    assert len(stats) == 6
    assert stats[queue.pk].visible == 0 and stats[queue.pk].oldest_sent_at is None
    assert {stats[pk].visible for pk in stats if pk != queue.pk} == {1}


def test_queue_rates_give_an_idle_queue_zero(queue):
    assert depths.queue_rates([queue.pk]) == {queue.pk: (0, 0, 0)}


def test_the_listing_digests_change_when_a_queue_or_topic_comes_or_goes(operator):
    def digests():
        regions = overview.live_fragments(operator)
        return regions["queue-set"], regions["topic-set"]

    empty = digests()
    queue = service.create_queue("arrives")
    with_queue = digests()
    topics_service.create_topic("also")
    with_both = digests()
    service.delete_queue(queue)
    without_queue = digests()
    assert with_queue[0] != empty[0] and with_queue[1] == empty[1]
    assert with_both[0] == with_queue[0] and with_both[1] != with_queue[1]
    assert without_queue[0] == empty[0] and without_queue[1] == with_both[1]
    assert digests() == digests()
