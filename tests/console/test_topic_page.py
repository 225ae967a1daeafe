"""A topic's page: settings, subscriptions and their policies, publishing, delivery logs, deleting."""

import json

import pytest
from django.test import Client

from console.live import stream
from console.templatetags.console_tags import breakable
from console.views import topics as topic_views
from notifications import delivery, service
from notifications.models import (
    ConfirmationAttempt,
    Delivery,
    DeliveryAttempt,
    PublishedMessage,
    Subscription,
    Topic,
)
from queues import service as queue_service
from queues.models import now_ms

pytestmark = pytest.mark.django_db

PAGE = "/topics/events/"
POLICY = '{"store": ["example_corp"]}'


def toast(response):
    return json.loads(response["HX-Trigger"])["toast"]


def events(response):
    return set(json.loads(response["HX-Trigger"])) - {"toast"}


def field_html(html, field_id):
    """The markup of one form field, from its label to the end of its wrapper."""
    start = html.index(f'<label for="{field_id}"')
    return html[start : html.index("</div>", start)]


def output_html(html, subscription):
    start = html.index(f'<output id="policy-test-{subscription.uuid}"')
    return html[start : html.index("</output>", start)]


@pytest.fixture(autouse=True)
def _fresh_topic_cache():
    """Forget topics cached by earlier tests (their rows were rolled back)."""
    service.topic_cache.clear()
    yield
    service.topic_cache.clear()


@pytest.fixture
def topic(db):
    """An empty standard topic named events."""
    return service.create_topic("events")


@pytest.fixture
def queue_subscription(topic, queue):
    """The orders queue subscribed to events (confirmed at once)."""
    return service.subscribe(topic, "sqs", queue.arn)[0]


@pytest.fixture
def hook(topic):
    """An HTTPS endpoint subscribed to events, still pending confirmation."""
    return service.subscribe(topic, "https", "https://example.com/hook")[0]


def confirm(subscription):
    Subscription.objects.filter(pk=subscription.pk).update(status=Subscription.Status.CONFIRMED)
    service.topic_cache.clear()


def owed(subscription, status=Delivery.Status.FAILED, message="hello", subject="", attempts=()):
    """A delivery row (and its attempts: (status code, latency, error)) as a worker leaves it."""
    now = now_ms()
    published = PublishedMessage.objects.create(
        topic=subscription.topic,
        message_id=f"m-{PublishedMessage.objects.count() + 1}",
        subject=subject,
        message=message,
        published_at=now,
    )
    found = Delivery.objects.create(
        subscription=subscription,
        message=published,
        protocol=subscription.protocol,
        status=status,
        attempts=len(attempts),
        next_attempt_at=now,
        created_at=now,
        finished_at=None if status == Delivery.Status.PENDING else now,
        last_error=attempts[-1][2] if attempts else "",
    )
    for offset, (status_code, latency, error) in enumerate(attempts):
        DeliveryAttempt.objects.create(
            delivery=found,
            attempted_at=now - 1000 * (len(attempts) - offset),
            status_code=status_code,
            latency_ms=latency,
            error=error,
        )
    return found


# Who sees what


def test_anonymous_visitors_are_sent_to_log_in(topic):
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_operators_see_every_action(operator_client, queue_subscription, hook):
    page = operator_client.get(PAGE).content.decode()
    assert 'data-live-page="topic"' in page
    assert 'data-live-args="{&quot;name&quot;: &quot;events&quot;}"' in page
    for button in ("Subscribe", "Publish message", "Remove…", "Delete topic…", "Edit"):
        assert f">{button}<" in page
    assert 'role="switch"' in page


def test_read_only_users_see_the_same_page_without_buttons(viewer_client, queue_subscription):
    page = viewer_client.get(PAGE).content.decode()
    assert "read-only</span>" in page
    assert page.count('method="post"') == 1  # logging out
    for button in ("Subscribe", "Publish message", "Remove…", "Delete topic…", "Edit", "Replay"):
        assert f">{button}<" not in page
    assert 'role="switch"' not in page
    assert queue_subscription.endpoint in page


@pytest.mark.parametrize(
    "path, data",
    [
        ("subscriptions/new", {"protocol": "http", "endpoint": "http://example.com/x"}),
        ("subscriptions/{id}/remove", {}),
        ("subscriptions/{id}/raw-delivery", {"enabled": "true"}),
        ("subscriptions/{id}/filter-policy", {"policy": POLICY, "scope": "MessageAttributes"}),
        ("subscriptions/{id}/redrive-policy", {"dead_letter_queue": ""}),
        ("subscriptions/{id}/deliveries/{delivery}/replay", {}),
        ("subscriptions/{id}/confirmation/resend", {}),
        ("attributes/DisplayName/edit", {"value": "Changed"}),
        ("publish", {"message": "hi"}),
        ("delete", {}),
    ],
)
def test_read_only_users_are_refused_every_action(viewer_client, queue_subscription, path, data):
    failed = owed(queue_subscription)
    url = PAGE + path.format(id=queue_subscription.uuid, delivery=failed.pk)
    before = (Subscription.objects.count(), PublishedMessage.objects.count())
    response = viewer_client.post(url, data)
    assert response.status_code == 403
    assert toast(response)["level"] == "error"
    assert (Subscription.objects.count(), PublishedMessage.objects.count()) == before
    subscription = Subscription.objects.get()
    assert not subscription.raw_message_delivery and not subscription.filter_policy
    assert Topic.objects.get().display_name == ""
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_an_unknown_topic_is_not_found(viewer_client, db):
    assert viewer_client.get("/topics/nope/").status_code == 404


def test_the_overview_links_to_the_topic_page(viewer_client, topic):
    assert f'<a href="{PAGE}">events</a>' in viewer_client.get("/").content.decode()


def test_the_page_shows_the_arn_with_a_copy_button_and_the_fifo_facts(viewer_client):
    service.create_topic("ordered.fifo", {"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    page = viewer_client.get("/topics/ordered.fifo/").content.decode()
    arn = Topic.objects.get().arn
    assert f'<code id="topic-arn" class="breakable">{breakable(arn)}</code>' in page
    assert 'data-copy="#topic-arn"' in page
    assert "FIFO topic</span>" in page
    assert "Content-based deduplication</dt><dd>On" in page


# Subscriptions


def test_pending_and_confirmed_subscriptions_are_told_apart(
    viewer_client, queue_subscription, hook
):
    page = viewer_client.get(PAGE).content.decode()
    queue_row = page[page.index(f'<tr id="subscription-{queue_subscription.uuid}"') :]
    hook_row = page[page.index(f'<tr id="subscription-{hook.uuid}"') :]
    assert '<span class="badge badge-confirmed">Confirmed</span>' in queue_row[:2000]
    assert "Pending confirmation</span>" in hook_row[:2000]
    assert '<span class="stat-value" title="1">1</span> <span class="stat-label">confirmed' in page


def test_without_subscriptions_the_page_says_how_to_add_one(operator_client, topic):
    page = operator_client.get(PAGE).content.decode()
    assert "No subscriptions yet" in page
    assert '<details class="disclosure" open>' in page  # the add form is open


def test_an_operator_subscribes_a_queue_picked_by_arn(operator_client, topic, queue, htmx_headers):
    response = operator_client.post(
        PAGE + "subscriptions/new",
        {"protocol": "sqs", "queue": queue.arn, "raw_message_delivery": "on"},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert toast(response) == {"level": "success", "message": f"Subscribed {queue.arn}."}
    assert events(response) == {"topic-changed"}
    assert response.content.decode().lstrip().startswith('<form id="subscribe-form"')
    subscription = Subscription.objects.get()
    assert (subscription.protocol, subscription.endpoint) == ("sqs", queue.arn)
    assert subscription.is_confirmed and subscription.raw_message_delivery


def test_the_queue_picker_offers_only_queues_the_topic_can_use(operator_client, topic, queue):
    fifo = queue_service.create_queue("jobs.fifo", {"FifoQueue": "true"})
    page = operator_client.get(PAGE).content.decode()
    picker = page[page.index('id="subscribe-queue"') :]
    picker = picker[: picker.index("</select>")]
    assert f'value="{queue.arn}"' in picker
    assert fifo.arn not in picker


def test_a_web_hook_subscription_stays_pending(operator_client, topic, htmx_headers):
    response = operator_client.post(
        PAGE + "subscriptions/new",
        {"protocol": "https", "endpoint": "https://example.com/hook"},
        headers=htmx_headers,
    )
    assert "stays pending until it confirms" in toast(response)["message"]
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_subscription_errors_show_beside_their_field(operator_client, topic, queue, htmx_headers):
    response = operator_client.post(
        PAGE + "subscriptions/new",
        {"protocol": "http", "endpoint": "ftp://example.com"},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Endpoint must match the specified protocol: http" in field_html(
        html, "subscribe-endpoint"
    )
    assert 'value="ftp://example.com"' in html
    raw_email = operator_client.post(
        PAGE + "subscriptions/new",
        {"protocol": "email", "endpoint": "a@example.com", "raw_message_delivery": "on"},
        headers=htmx_headers,
    )
    assert "does not support raw message delivery" in field_html(
        raw_email.content.decode(), "subscribe-raw_message_delivery"
    )
    picked_for_http = operator_client.post(
        PAGE + "subscriptions/new", {"protocol": "http", "queue": queue.arn}, headers=htmx_headers
    )
    assert "A queue is subscribed with the sqs protocol." in field_html(
        picked_for_http.content.decode(), "subscribe-queue"
    )
    assert not Subscription.objects.exists()


def test_an_operator_removes_a_subscription_after_confirming(
    operator_client, queue_subscription, htmx_headers
):
    url = f"{PAGE}subscriptions/{queue_subscription.uuid}/remove"
    dialog = operator_client.get(url, headers=htmx_headers).content.decode()
    assert "Remove this subscription?" in dialog
    assert f"<strong>{queue_subscription.endpoint}</strong> (sqs)" in dialog
    assert "<!doctype html>" in operator_client.get(url).content.decode()  # without JavaScript
    response = operator_client.post(url, headers=htmx_headers)
    assert (
        toast(response)["message"] == f"Removed the subscription of {queue_subscription.endpoint}."
    )
    assert events(response) == {"topic-changed"}
    assert not Subscription.objects.exists()
    assert Topic.objects.get().subscriptions_deleted == 1


def test_endpoints_and_messages_are_escaped(viewer_client, topic):
    hook = service.subscribe(topic, "http", "http://example.com/<script>alert(1)</script>")[0]
    owed(hook, message="<img src=x onerror=alert(2)>", subject="<b>subject</b>")
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    assert "<script>alert(1)" not in page
    assert "http://example.com/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>subject</b>" not in page and "&lt;b&gt;subject&lt;/b&gt;" in page


# Raw delivery


def test_an_operator_switches_raw_delivery(operator_client, queue_subscription, htmx_headers):
    url = f"{PAGE}subscriptions/{queue_subscription.uuid}/raw-delivery"
    response = operator_client.post(url, {"enabled": "true"}, headers=htmx_headers)
    assert response.status_code == 200
    assert (
        toast(response)["message"] == f"Raw message delivery on for {queue_subscription.endpoint}."
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="subscriptions" hx-swap-oob="true"')
    assert 'aria-checked="true"' in html
    assert Subscription.objects.get().raw_message_delivery
    operator_client.post(url, {"enabled": "false"}, headers=htmx_headers)
    assert not Subscription.objects.get().raw_message_delivery


def test_email_subscriptions_have_no_raw_delivery_switch(operator_client, topic, htmx_headers):
    email = service.subscribe(topic, "email", "someone@example.com")[0]
    page = operator_client.get(PAGE).content.decode()
    assert 'role="switch"' not in page
    response = operator_client.post(
        f"{PAGE}subscriptions/{email.uuid}/raw-delivery", {"enabled": "true"}, headers=htmx_headers
    )
    assert response.status_code == 400
    assert "does not support raw message delivery" in toast(response)["message"]


# Filter policies


def test_the_settings_panel_opens_in_place_and_by_link(operator_client, hook, htmx_headers):
    panel = operator_client.get(f"{PAGE}subscriptions/{hook.uuid}/", headers=htmx_headers)
    html = panel.content.decode()
    assert html.lstrip().startswith('<section id="subscription-panel"')
    assert f'<code id="subscription-arn" class="breakable">{breakable(hook.arn)}</code>' in html
    assert ">Save filter policy<" in html and ">Save dead-letter queue<" in html
    plain = operator_client.get(f"{PAGE}subscriptions/{hook.uuid}/")
    assert plain.status_code == 302
    assert plain["Location"] == f"{PAGE}?subscription={hook.uuid}#subscription-panel"
    page = operator_client.get(plain["Location"]).content.decode()
    assert 'id="subscription-panel-title" tabindex="-1" autofocus' in page


def test_an_operator_saves_a_filter_policy(operator_client, queue_subscription, htmx_headers):
    response = operator_client.post(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy",
        {"policy": POLICY, "scope": "MessageBody", "sample_message": '{"store": "x"}'},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    assert toast(response)["message"].startswith("Saved the filter policy")
    assert "{&quot;store&quot;: &quot;x&quot;}</textarea>" in response.content.decode()  # kept
    assert events(response) == {"topic-changed"}
    subscription = Subscription.objects.get()
    assert (subscription.filter_policy, subscription.filter_policy_scope) == (POLICY, "MessageBody")
    page = operator_client.get(PAGE).content.decode()
    assert "&quot;example_corp&quot;" in page and "<small>on the body</small>" in page


def test_filter_policy_errors_show_beside_the_policy(
    operator_client, queue_subscription, htmx_headers
):
    response = operator_client.post(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy",
        {"policy": '{"store": "not-an-array"}', "scope": "MessageAttributes"},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="subscription-panel"')
    error = field_html(html, f"filter-{queue_subscription.uuid}-policy")
    assert 'class="field-error"' in error and "FilterPolicy" in error
    assert "not-an-array" in html  # what was typed is kept
    assert Subscription.objects.get().filter_policy == ""
    invalid_json = operator_client.post(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy",
        {"policy": "{nope", "scope": "MessageAttributes"},
    )
    assert invalid_json.status_code == 422
    assert "<!doctype html>" in invalid_json.content.decode()
    assert "FilterPolicy: failed to parse JSON" in field_html(
        invalid_json.content.decode(), f"filter-{queue_subscription.uuid}-policy"
    )


def test_clearing_the_policy_delivers_everything(operator_client, queue_subscription):
    service.set_subscription_attributes(queue_subscription, {"FilterPolicy": POLICY})
    response = operator_client.post(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy",
        {"policy": "", "scope": "MessageAttributes"},
        follow=True,
    )
    assert "gets every message now." in response.content.decode()
    assert Subscription.objects.get().filter_policy == ""


@pytest.mark.parametrize(
    "sample, expected",
    [
        ({"sample_attributes": '{"store": "example_corp"}'}, "Matches"),
        ({"sample_attributes": '{"store": "other"}'}, "Doesn’t match"),
        ({"sample_attributes": ""}, "Doesn’t match"),
        (
            {
                "sample_attributes": '{"store": {"DataType": "String", "StringValue": "example_corp"}}'
            },
            "Matches",
        ),
    ],
)
def test_the_policy_test_box_says_whether_a_sample_matches(
    viewer_client, queue_subscription, htmx_headers, sample, expected
):
    response = viewer_client.get(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy/test",
        {"policy": POLICY, "scope": "MessageAttributes", "sample_message": "hi", **sample},
        headers=htmx_headers,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<output id="policy-test-{queue_subscription.uuid}"')
    assert f">{expected}</span>" in html
    assert Subscription.objects.get().filter_policy == ""  # testing saves nothing


def test_the_policy_test_box_matches_bodies(viewer_client, queue_subscription, htmx_headers):
    url = f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy/test"
    query = {"policy": '{"price": [{"numeric": [">", 10]}]}', "scope": "MessageBody"}
    matching = viewer_client.get(
        url, {**query, "sample_message": '{"price": 12}'}, headers=htmx_headers
    )
    assert ">Matches</span>" in matching.content.decode()
    cheap = viewer_client.get(
        url, {**query, "sample_message": '{"price": 2}'}, headers=htmx_headers
    )
    assert ">Doesn’t match</span>" in cheap.content.decode()


@pytest.mark.parametrize(
    "query, field, words",
    [
        ({"policy": "{nope"}, "Filter policy", "failed to parse JSON"),
        (
            {"policy": POLICY, "sample_attributes": "[1"},
            "Sample message attributes",
            "not valid JSON",
        ),
        (
            {"policy": POLICY, "sample_attributes": '{"store": true}'},
            "Sample message attributes",
            "Give store",
        ),
        (
            {
                "policy": POLICY,
                "sample_attributes": '{"n": {"DataType": "Number", "StringValue": "x"}}',
            },
            "Sample message attributes",
            "invalid value for message attribute type",
        ),
    ],
)
def test_the_policy_test_box_shows_errors(
    viewer_client, queue_subscription, htmx_headers, query, field, words
):
    response = viewer_client.get(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy/test",
        {"scope": "MessageAttributes", **query},
        headers=htmx_headers,
    )
    html = output_html(response.content.decode(), queue_subscription)
    assert f'<span class="field-error">{field}: ' in html
    assert words in html


def test_without_javascript_the_policy_test_shows_the_page_with_its_result(
    operator_client, queue_subscription
):
    response = operator_client.get(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/filter-policy/test",
        {"policy": POLICY, "scope": "MessageAttributes", "sample_attributes": '{"store": "x"}'},
    )
    html = response.content.decode()
    assert "<!doctype html>" in html
    assert ">Doesn’t match</span>" in output_html(html, queue_subscription)
    assert "&quot;example_corp&quot;" in html  # the policy tried, kept in the editor


# Dead-letter queues


def test_an_operator_picks_a_dead_letter_queue(operator_client, queue_subscription, htmx_headers):
    dead_letter_queue = queue_service.create_queue("events-dlq")
    url = f"{PAGE}subscriptions/{queue_subscription.uuid}/redrive-policy"
    response = operator_client.post(
        url, {"dead_letter_queue": dead_letter_queue.arn}, headers=htmx_headers
    )
    assert response.status_code == 200
    assert "go to events-dlq now" in toast(response)["message"]
    assert json.loads(Subscription.objects.get().redrive_policy) == {
        "deadLetterTargetArn": dead_letter_queue.arn
    }
    assert (
        '<a href="/queues/events-dlq/">events-dlq</a>' in operator_client.get(PAGE).content.decode()
    )
    operator_client.post(url, {"dead_letter_queue": ""}, headers=htmx_headers)
    assert Subscription.objects.get().redrive_policy == ""


# Publishing


def test_publishing_reaches_the_subscriptions_whose_policy_it_passes(
    operator_client, topic, queue, hook, htmx_headers
):
    confirm(hook)
    other = queue_service.create_queue("audit")
    filtered = service.subscribe(topic, "sqs", other.arn, {"FilterPolicy": POLICY})[0]
    response = operator_client.post(
        PAGE + "publish",
        {
            "message": "hello <world>",
            "subject": "Greetings",
            "attribute_name": ["store", ""],
            "attribute_type": ["String", "String"],
            "attribute_value": ["elsewhere", ""],
        },
        headers=htmx_headers,
    )
    assert response.status_code == 200
    published = PublishedMessage.objects.get()
    assert toast(response)["message"] == f"Published message {published.message_id}."
    assert events(response) == {"topic-changed"}
    assert response.content.decode().lstrip().startswith('<form id="publish-form"')
    assert (published.message, published.subject) == ("hello <world>", "Greetings")
    assert published.attributes == {"store": {"DataType": "String", "StringValue": "elsewhere"}}
    assert set(Delivery.objects.values_list("subscription__endpoint", flat=True)) == {hook.endpoint}
    assert filtered.pk not in Delivery.objects.values_list("subscription_id", flat=True)


def test_publishing_to_no_subscription_still_counts(operator_client, topic, htmx_headers):
    operator_client.post(PAGE + "publish", {"message": "into the void"}, headers=htmx_headers)
    stats = operator_client.get(PAGE + "stats").content.decode()
    assert stats.lstrip().startswith('<section id="topic-stats"')
    assert 'title="1">1</span> <span class="stat-label">published in the last minute' in stats


def test_fifo_publish_errors_show_beside_their_field(operator_client, htmx_headers):
    service.create_topic("ordered.fifo", {"FifoTopic": "true"})
    response = operator_client.post(
        "/topics/ordered.fifo/publish",
        {"message": "hi", "deduplication_id": "d1"},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "MessageGroupId parameter is required for FIFO topics" in field_html(
        html, "publish-group_id"
    )
    assert 'value="d1"' in html
    sent = operator_client.post(
        "/topics/ordered.fifo/publish",
        {"message": "hi", "group_id": "g1", "deduplication_id": "d1"},
        headers=htmx_headers,
    )
    assert "Sequence number" in toast(sent)["message"]
    assert 'value="g1"' in sent.content.decode()  # the group is kept for the next one


def test_a_standard_topic_asks_for_no_group_or_deduplication_id(operator_client, topic):
    page = operator_client.get(PAGE).content.decode()
    assert "publish-group_id" not in page and "publish-deduplication_id" not in page


# Delivery logs


def test_the_delivery_log_lists_every_attempt_newest_delivery_first(viewer_client, hook):
    confirm(hook)
    first = owed(
        hook,
        attempts=[(500, 120, "HTTP 500: Internal Server Error"), (None, 3000, "timed out")],
    )
    second = owed(hook, status=Delivery.Status.DELIVERED, attempts=[(200, 42, "")])
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    log = page[page.index(f'<section id="delivery-log-{hook.uuid}"') :]
    assert log.index(f'id="delivery-{second.pk}"') < log.index(f'id="delivery-{first.pk}"')
    assert "HTTP 500: Internal Server Error" in log and "timed out" in log
    latency = '<td class="num" data-label="Latency">{} ms</td>'
    assert latency.format(120) in log and latency.format(42) in log
    assert ">Failed</span>" in log and ">Delivered</span>" in log
    assert ">Replay<" not in log  # read-only
    assert 'data-live-args="{&quot;name&quot;: &quot;events&quot;, &quot;log&quot;' in page
    row = page[page.index(f'<tr id="subscription-{hook.uuid}"') :]
    assert ">Delivered</span>" in row[: row.index("</tr>")]  # the latest delivery's status
    assert "42 ms" in row[: row.index("</tr>")]  # and its last attempt


def test_a_failed_latest_delivery_links_to_the_failed_ones(viewer_client, queue_subscription):
    owed(queue_subscription)  # a queue that refused it: queue deliveries leave rows only then
    page = viewer_client.get(PAGE).content.decode()
    row = page[page.index(f'<tr id="subscription-{queue_subscription.uuid}"') :]
    row = row[: row.index("</tr>")]
    uuid = queue_subscription.uuid
    assert f'href="{PAGE}?log={uuid}&amp;failed=1#delivery-log-{uuid}"' in row
    assert ">Failed</span>" in row
    assert f'href="{PAGE}?log={uuid}#delivery-log-{uuid}"' in row  # the log link


def test_the_delivery_log_filters_failed_deliveries(viewer_client, hook, htmx_headers):
    failed = owed(hook, attempts=[(500, 10, "HTTP 500")])
    dead = owed(hook, status=Delivery.Status.DEAD_LETTERED, attempts=[(503, 10, "HTTP 503")])
    delivered = owed(hook, status=Delivery.Status.DELIVERED, attempts=[(200, 10, "")])
    url = f"{PAGE}subscriptions/{hook.uuid}/deliveries"
    html = viewer_client.get(url, {"failed": "1"}, headers=htmx_headers).content.decode()
    assert html.lstrip().startswith(f'<section id="delivery-log-{hook.uuid}" class="panel')
    assert f'id="delivery-{failed.pk}"' in html and f'id="delivery-{dead.pk}"' in html
    assert f'id="delivery-{delivered.pk}"' not in html
    everything = viewer_client.get(url, headers=htmx_headers).content.decode()
    assert f'id="delivery-{delivered.pk}"' in everything
    plain = viewer_client.get(url, {"failed": "1"})
    assert plain["Location"] == f"{PAGE}?log={hook.uuid}&failed=1#delivery-log-{hook.uuid}"


def test_an_empty_delivery_log_says_why(viewer_client, hook, queue_subscription):
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    assert (
        "No deliveries to https://example.com/hook yet. It gets messages once it confirms." in page
    )
    queue_log = viewer_client.get(PAGE, {"log": queue_subscription.uuid}).content.decode()
    assert "deliveries into queues are logged only when they fail" in queue_log


def test_an_operator_replays_a_failed_delivery_as_a_delivery_of_its_own(
    operator_client, hook, htmx_headers
):
    confirm(hook)
    failed = owed(hook, attempts=[(500, 10, "HTTP 500")])
    page = operator_client.get(PAGE, {"log": hook.uuid}).content.decode()
    assert f'action="{PAGE}subscriptions/{hook.uuid}/deliveries/{failed.pk}/replay"' in page
    response = operator_client.post(
        f"{PAGE}subscriptions/{hook.uuid}/deliveries/{failed.pk}/replay", headers=htmx_headers
    )
    assert response.status_code == 200
    replay = Delivery.objects.get(replay_of=failed)
    assert toast(response)["message"] == (
        f"Replaying delivery {failed.pk} to {hook.endpoint} as delivery {replay.pk}."
    )
    assert events(response) == {"topic-changed"}
    assert (replay.status, replay.attempts, replay.replayed_by) == (
        Delivery.Status.PENDING,
        0,
        "olga",
    )
    assert replay.message_id == failed.message_id
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED  # the failure stays in the log as it was

    log = operator_client.get(PAGE, {"log": hook.uuid}).content.decode()
    original = log[log.index(f'<li class="delivery" id="delivery-{failed.pk}"') :]
    original = original[: original.index("</li>")]
    assert (
        f'Replayed as <a href="#delivery-{replay.pk}">delivery {replay.pk}</a> by olga' in original
    )
    assert ">Replay<" not in original  # replayed once; its replay is what to try again
    replayed = log[log.index(f'<li class="delivery" id="delivery-{replay.pk}"') :]
    replayed = replayed[: replayed.index("</li>")]
    assert (
        f'Replay of <a href="#delivery-{failed.pk}">delivery {failed.pk}</a>, asked for by olga.'
        in replayed
    )
    assert log.index(f'id="delivery-{replay.pk}"') < log.index(f'id="delivery-{failed.pk}"')

    again = operator_client.post(
        f"{PAGE}subscriptions/{hook.uuid}/deliveries/{failed.pk}/replay", headers=htmx_headers
    )
    assert again.status_code == 400
    assert f"replayed already, as delivery {replay.pk}" in toast(again)["message"]
    assert Delivery.objects.filter(replay_of=failed).count() == 1


def test_the_delivery_log_counts_the_attempts_it_shows(viewer_client, hook):
    confirm(hook)
    found = owed(hook, attempts=[(500, 10, "HTTP 500"), (503, 12, "HTTP 503"), (200, 9, "")])
    # An older worker reset the counter on replay: what the log shows comes from its rows.
    Delivery.objects.filter(pk=found.pk).update(attempts=1)
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    entry = page[page.index(f'<li class="delivery" id="delivery-{found.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert '<span class="attempt-count">3 attempts</span>' in entry
    numbers = [f'<td class="num" data-label="Attempt">{n} of 3</td>' for n in (1, 2, 3)]
    assert all(number in entry for number in numbers)
    assert entry.index(numbers[0]) < entry.index(numbers[1]) < entry.index(numbers[2])


def test_an_attempt_under_way_is_counted_apart_from_the_logged_ones(viewer_client, hook):
    confirm(hook)
    found = owed(hook, status=Delivery.Status.PENDING, attempts=[(500, 10, "HTTP 500")])
    Delivery.objects.filter(pk=found.pk).update(attempts=2)  # leased, its endpoint not answered
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    assert '<span class="attempt-count">1 attempt</span>' in page
    assert "attempt 2 under way" in page


def test_json_messages_are_pretty_printed_and_escaped_in_the_log(viewer_client, hook):
    confirm(hook)
    owed(hook, message='{"order": {"id": 7, "note": "<b>rush</b>"}}', attempts=[(500, 1, "x")])
    page = viewer_client.get(PAGE, {"log": hook.uuid}).content.decode()
    pretty = (
        "{\n  &quot;order&quot;: {\n    &quot;id&quot;: 7,\n"
        "    &quot;note&quot;: &quot;&lt;b&gt;rush&lt;/b&gt;&quot;\n  }\n}"
    )
    assert pretty in page
    assert "<b>rush</b>" not in page
    assert 'class="body" tabindex="0"' in page  # a scrollable body takes the keyboard focus


def test_delivered_messages_cannot_be_replayed(operator_client, hook, htmx_headers):
    delivered = owed(hook, status=Delivery.Status.DELIVERED, attempts=[(200, 10, "")])
    page = operator_client.get(PAGE, {"log": hook.uuid}).content.decode()
    assert ">Replay<" not in page
    response = operator_client.post(
        f"{PAGE}subscriptions/{hook.uuid}/deliveries/{delivered.pk}/replay", headers=htmx_headers
    )
    assert response.status_code == 400
    assert "only failed or dead-lettered deliveries" in toast(response)["message"]
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_a_delivery_cannot_be_replayed_through_another_subscription(
    operator_client, hook, queue_subscription
):
    failed = owed(hook)
    response = operator_client.post(
        f"{PAGE}subscriptions/{queue_subscription.uuid}/deliveries/{failed.pk}/replay"
    )
    assert response.status_code == 404
    assert Delivery.objects.get().status == Delivery.Status.FAILED


# Confirmations


@pytest.fixture
def refused_hook(topic):
    """An HTTP endpoint nothing listens on, subscribed to events and so pending."""
    return service.subscribe(topic, "http", "http://127.0.0.1:9/hook")[0]


def test_a_pending_subscription_shows_its_confirmation_attempts(
    viewer_client, refused_hook, htmx_headers
):
    assert delivery.send_confirmation(refused_hook.pk) is False  # connection refused
    assert delivery.send_confirmation(refused_hook.pk, retry=1) is False
    page = viewer_client.get(PAGE, {"subscription": refused_hook.uuid}).content.decode()
    region = page[page.index(f'<div id="confirmation-{refused_hook.uuid}"') :]
    region = region[: region.index("</table>")]
    assert "Pending: waiting for the endpoint to visit the SubscribeURL it was sent." in region
    rows = region.split("<tr>")[2:]  # newest first, after the header
    assert [row.split('data-label="#">')[1].split("<")[0] for row in rows] == ["2", "1"]
    assert "No answer" in rows[0] and "Connection refused" in rows[0]
    assert "Retry 1" in rows[0] and "Subscribed" in rows[1]
    assert ">Resend confirmation<" not in page  # read-only
    row = page[page.index(f'<tr id="subscription-{refused_hook.uuid}"') :]
    assert "Confirmation 2 <time" in row[: row.index("</tr>")]

    alone = viewer_client.get(
        f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation", headers=htmx_headers
    ).content.decode()
    assert alone.lstrip().startswith(f'<div id="confirmation-{refused_hook.uuid}"')
    assert 'hx-trigger="topic-changed from:body, htmx:oobAfterSwap from:body delay:200ms"' in alone
    plain = viewer_client.get(f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation")
    assert plain["Location"] == f"{PAGE}?subscription={refused_hook.uuid}#subscription-panel"


def test_only_the_latest_confirmation_attempts_are_kept(viewer_client, refused_hook):
    kept = delivery.CONFIRMATION_ATTEMPTS_KEPT
    for _ in range(kept + 2):
        delivery.send_confirmation(refused_hook.pk)
    numbers = list(
        ConfirmationAttempt.objects.filter(subscription=refused_hook).values_list(
            "number", flat=True
        )
    )
    assert numbers == list(range(kept + 2, 2, -1))
    page = viewer_client.get(PAGE, {"subscription": refused_hook.uuid}).content.decode()
    assert f"The latest {kept} of {kept + 2} confirmations sent." in page


def test_an_email_subscription_shows_what_the_mail_server_said(viewer_client, topic, mailoutbox):
    subscription = service.subscribe(topic, "email", "ops@example.com")[0]
    assert delivery.send_confirmation(subscription.pk) is True
    page = viewer_client.get(PAGE, {"subscription": subscription.uuid}).content.decode()
    assert "Accepted by the mail server" in page
    assert "waiting for the recipient to follow the link in the confirmation email" in page


def test_an_operator_resends_a_confirmation_at_most_every_half_minute(
    operator_client, refused_hook, htmx_headers, django_capture_on_commit_callbacks
):
    url = f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation/resend"
    on_its_way = operator_client.post(url, headers=htmx_headers)
    assert on_its_way.status_code == 400  # Subscribe's own confirmation was never sent
    assert "on its way already" in toast(on_its_way)["message"]

    delivery.send_confirmation(refused_hook.pk)
    page = operator_client.get(PAGE, {"subscription": refused_hook.uuid}).content.decode()
    assert f'action="{url}"' in page and ">Resend confirmation<" in page
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(url, headers=htmx_headers)
    assert response.status_code == 200
    assert toast(response)["message"] == "Sending a new confirmation to http://127.0.0.1:9/hook."
    assert events(response) == {"topic-changed"}
    assert len(callbacks) == 1  # the confirmation task, queued once the resend committed
    assert Subscription.objects.get(pk=refused_hook.pk).confirmation_sent_at == 0
    region = operator_client.get(
        f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation", headers=htmx_headers
    ).content.decode()
    assert "A confirmation is on its way." in region

    delivery.send_confirmation(refused_hook.pk, requested_by="olga")  # what the task does
    newest = ConfirmationAttempt.objects.filter(subscription=refused_hook).first()
    assert (newest.number, newest.requested_by) == (2, "olga")
    region = operator_client.get(
        f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation", headers=htmx_headers
    ).content.decode()
    assert "Resent by olga" in region

    too_soon = operator_client.post(url, headers=htmx_headers)
    assert too_soon.status_code == 400
    assert "you can send another in" in toast(too_soon)["message"]
    assert Subscription.objects.get(pk=refused_hook.pk).confirmation_sent_at != 0

    ConfirmationAttempt.objects.filter(pk=newest.pk).update(
        attempted_at=now_ms() - service.RESEND_INTERVAL_MS - 1
    )
    assert operator_client.post(url, headers=htmx_headers).status_code == 200


def test_a_confirmed_or_queue_subscription_is_not_resent(
    operator_client, hook, queue_subscription, htmx_headers
):
    for subscription in (queue_subscription, hook):
        confirm(hook)
        response = operator_client.post(
            f"{PAGE}subscriptions/{subscription.uuid}/confirmation/resend", headers=htmx_headers
        )
        assert response.status_code == 400
    page = operator_client.get(PAGE, {"subscription": hook.uuid}).content.decode()
    assert ">Resend confirmation<" not in page


def test_without_javascript_a_resend_returns_to_the_open_panel(operator_client, refused_hook):
    delivery.send_confirmation(refused_hook.pk)
    response = operator_client.post(f"{PAGE}subscriptions/{refused_hook.uuid}/confirmation/resend")
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?subscription={refused_hook.uuid}#subscription-panel"


# The subscribe form


def test_the_subscribe_form_marks_which_protocols_each_field_is_for(operator_client, topic):
    page = operator_client.get(PAGE).content.decode()
    form = page[page.index('<form id="subscribe-form"') :]
    form = form[: form.index("</form>")]
    assert "data-protocol-switch" in form
    queue = form[form.index('<div data-protocols="sqs">') :]
    assert '<label for="subscribe-queue">' in queue[:300]
    raw = form[form.index('<div data-protocols="sqs http https">') :]
    assert 'id="subscribe-raw_message_delivery"' in raw[:300]
    words = form[form.index("data-endpoint-words=") :]
    assert "&quot;email&quot;: {&quot;label&quot;: &quot;Email address&quot;" in words
    assert "arn:aws:sqs:us-east-1:000000000000:orders" in words
    # Without JavaScript every field shows, saying which protocols it is for.
    assert "Queue (sqs)" in form and "(sqs, http, https)" in form


# Settings


def test_an_operator_edits_an_attribute_in_place(operator_client, topic, htmx_headers):
    url = PAGE + "attributes/DisplayName/edit"
    form = operator_client.get(url, headers=htmx_headers).content.decode()
    assert form.lstrip().startswith('<tr id="topic-attribute-DisplayName">')
    response = operator_client.post(url, {"value": "Order events"}, headers=htmx_headers)
    assert response.status_code == 200
    assert toast(response)["message"] == "Saved display name."
    assert "Order events" in response.content.decode()
    assert Topic.objects.get().display_name == "Order events"


def test_attribute_errors_show_beside_the_field(operator_client, topic, htmx_headers):
    response = operator_client.post(
        PAGE + "attributes/DeliveryPolicy/edit",
        {"value": '{"http": {"defaultHealthyRetryPolicy": {"numRetries": 500}}}'},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    assert "numRetries" in field_html(response.content.decode(), "topic-attr-DeliveryPolicy-value")
    assert Topic.objects.get().delivery_policy == ""
    signature = operator_client.post(
        PAGE + "attributes/SignatureVersion/edit", {"value": "1"}, headers=htmx_headers
    )
    assert "1 (SHA1)" in signature.content.decode()
    assert Topic.objects.get().signature_version == "1"


# Deleting


def test_an_operator_deletes_the_topic_after_confirming(
    operator_client, queue_subscription, hook, htmx_headers
):
    dialog = operator_client.get(PAGE + "delete", headers=htmx_headers).content.decode()
    assert "Delete events?" in dialog
    assert "its <strong>2 subscriptions</strong>" in dialog
    response = operator_client.post(PAGE + "delete", headers=htmx_headers)
    assert response["HX-Redirect"] == "/"
    assert not Topic.objects.exists() and not Subscription.objects.exists()
    overview = operator_client.get("/").content.decode()
    assert "Deleted topic events and its 2 subscriptions." in overview


# Live regions


def test_live_fragments_give_the_stats_and_subscriptions(operator, hook):
    regions = topic_views.live_fragments(operator, name="events")
    assert set(regions) == {"topic-stats", "topic-chart", "subscriptions"}
    assert (
        regions["topic-stats"]
        .lstrip()
        .startswith('<section id="topic-stats" class="stats" hx-swap-oob="true"')
    )
    assert (
        regions["subscriptions"].lstrip().startswith('<div id="subscriptions" hx-swap-oob="true"')
    )
    assert "Pending confirmation" in regions["subscriptions"]
    confirm(hook)
    regions = topic_views.live_fragments(operator, name="events")
    assert "badge-confirmed" in regions["subscriptions"]


def test_live_fragments_include_an_open_delivery_log(operator, hook):
    owed(hook, attempts=[(500, 10, "HTTP 500")])
    regions = topic_views.live_fragments(operator, name="events", log=hook.uuid, failed="1")
    region = regions[f"delivery-log-{hook.uuid}"]
    assert region.lstrip().startswith(f'<section id="delivery-log-{hook.uuid}"')
    assert 'hx-swap-oob="true"' in region
    assert ">Replay<" in region
    service.unsubscribe(hook)
    gone = topic_views.live_fragments(operator, name="events", log=hook.uuid)
    assert "This subscription was removed." in gone[f"delivery-log-{hook.uuid}"]


def test_the_live_stream_renders_the_topic_page_by_its_arguments(operator, hook):
    stream.snapshots._entries.clear()
    fragments, _cost = stream._render(operator, "topic", {"name": "events", "log": hook.uuid})
    assert set(fragments) == {
        "topic-stats",
        "topic-chart",
        "subscriptions",
        f"delivery-log-{hook.uuid}",
    }
    with pytest.raises(stream.PageGone):
        stream._render(operator, "topic", {"name": "gone"})


def test_live_fragments_of_a_deleted_topic_raise(operator, db):
    with pytest.raises(Topic.DoesNotExist):
        topic_views.live_fragments(operator, name="gone")


def test_live_regions_do_not_change_while_nothing_happens(operator, hook):
    confirm(hook)
    owed(hook, status=Delivery.Status.DELIVERED, attempts=[(200, 10, "")])
    assert topic_views.live_fragments(operator, name="events", log=hook.uuid) == (
        topic_views.live_fragments(operator, name="events", log=hook.uuid)
    )


def test_the_subscriptions_region_answers_alone(viewer_client, hook):
    html = viewer_client.get(PAGE + "subscriptions").content.decode()
    assert html.lstrip().startswith('<div id="subscriptions" hx-swap-oob="true"')
