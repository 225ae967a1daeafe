"""Console users scoped by name patterns see and change only their own queues and topics."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console.models import AccessKey, UserScope
from console.roles import OPERATORS_GROUP
from console.views import overview
from console.views import queues as queue_views
from console.views import topics as topic_views
from notifications import service as topics_service
from notifications.models import Subscription, Topic
from queues import listing, service
from queues.models import Message, MessageMoveTask, Queue

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fresh_queue_cache():
    """Forget queues cached by earlier tests (their rows were rolled back)."""
    service.queue_cache.clear()
    yield
    service.queue_cache.clear()


@pytest.fixture
def estate(db):
    """Two teams' queues and topics: orders-*/billing-* and payroll-*."""
    queues = {
        name: service.create_queue(name)
        for name in ["billing-invoices", "orders-new", "orders-new-dlq", "payroll-runs", "zeta"]
    }
    topics = {
        name: topics_service.create_topic(name) for name in ["orders-events", "payroll-events"]
    }
    return queues, topics


def _user(name, scope=None, operator=True, superuser=False):
    if superuser:
        user = User.objects.create_superuser(name, password="a-long-password")
    else:
        user = User.objects.create_user(name, password="a-long-password")
    if operator:
        user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    if scope is not None:
        UserScope.objects.create(user=user, queue_patterns=scope[0], topic_patterns=scope[1])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def orders_team(db):
    """An operator scoped to orders-* and billing-* queues and orders-* topics."""
    return _user("sam", ("orders-*\nbilling-*", "orders-*"))


@pytest.fixture
def orders_reader(db):
    """A read-only user scoped to orders-* queues and topics."""
    return _user("rita", ("orders-*", "orders-*"), operator=False)


def queue_rows(html):
    return re.findall(
        r'<tr id="queue-\d+"[^>]*>\s*<th scope="row">\s*<a href="[^"]+">([^<]+)</a>', html
    )


def count(html, kind):
    found = re.search(
        rf'<span id="{kind}-count" class="count" hx-swap-oob="true">([\d,]+)</span>', html
    )
    return int(found.group(1).replace(",", ""))


def test_a_scoped_user_sees_only_their_queues_and_topics_with_counts(orders_team, estate):
    html = orders_team.get("/").content.decode()

    assert queue_rows(html) == ["billing-invoices", "orders-new", "orders-new-dlq"]
    assert count(html, "queue") == 3
    assert count(html, "topic") == 1
    assert "orders-events" in html
    assert "payroll" not in html
    assert "You see queues matching" in html
    assert "<code>orders-*</code>, <code>billing-*</code>" in html


def test_paging_and_sorting_count_only_the_scope(orders_team, estate, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    first = orders_team.get("/", {"sort": "-visible"}).content.decode()
    second = orders_team.get("/", {"page": "2"}).content.decode()

    assert count(first, "queue") == 3 and len(queue_rows(first)) == 2
    assert queue_rows(second) == ["orders-new-dlq"]
    assert count(second, "queue") == 3


def test_the_name_filter_works_within_the_scope(orders_team, estate):
    html = orders_team.get("/", {"q": "r"}).content.decode()
    assert queue_rows(html) == ["orders-new", "orders-new-dlq"]  # not payroll-runs


def test_the_live_overview_and_create_form_suggestions_keep_to_the_scope(estate):
    sam = User.objects.create_user("sam2")
    UserScope.objects.create(user=sam, queue_patterns="orders-*", topic_patterns="")
    regions = overview.live_fragments(sam)
    rows = [name for name in regions if name.startswith("queue-") and name[6:].isdigit()]
    assert len(rows) == 2
    assert not [name for name in regions if name.startswith("topic-") and name[6:].isdigit()]


def test_patterns_match_whole_names_case_sensitively_with_question_marks(estate):
    names = sorted(
        Queue.objects.filter(listing.names_matching(["orders-ne?", "ZETA", "zet?"])).values_list(
            "name", flat=True
        )
    )
    assert names == ["orders-new", "zeta"]
    assert not Queue.objects.filter(listing.names_matching([])).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/queues/payroll-runs/",
        "/queues/payroll-runs/stats",
        "/queues/payroll-runs/move-tasks",
        "/queues/payroll-runs/attributes/VisibilityTimeout",
        "/queues/payroll-runs/attributes/VisibilityTimeout/edit",
        "/queues/payroll-runs/purge",
        "/queues/payroll-runs/delete",
        "/queues/payroll-runs/messages/some-id/",
        "/topics/payroll-events/",
        "/topics/payroll-events/stats",
        "/topics/payroll-events/subscriptions",
        "/topics/payroll-events/delete",
        "/topics/payroll-events/attributes/DisplayName",
    ],
)
def test_pages_out_of_scope_answer_404_like_missing_ones(orders_team, estate, path):
    assert orders_team.get(path).status_code == 404
    missing = path.replace("payroll-runs", "no-such-queue").replace("payroll-events", "nope")
    assert orders_team.get(missing).status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/queues/payroll-runs/send", {"body": "hi"}),
        ("/queues/payroll-runs/purge", {"confirm_name": "payroll-runs"}),
        ("/queues/payroll-runs/delete", {"confirm_name": "payroll-runs"}),
        ("/queues/payroll-runs/tags", {"key": "team", "value": "x"}),
        ("/queues/payroll-runs/attributes/VisibilityTimeout/edit", {"value": "5"}),
        ("/topics/payroll-events/publish", {"message": "hi"}),
        ("/topics/payroll-events/delete", {}),
        ("/topics/payroll-events/subscriptions/new", {"protocol": "sqs", "endpoint": "x"}),
    ],
)
def test_actions_out_of_scope_answer_404_and_change_nothing(orders_team, estate, path, data):
    assert orders_team.post(path, data, headers=HTMX).status_code == 404
    assert Queue.objects.filter(name="payroll-runs").exists()
    assert Topic.objects.filter(name="payroll-events").exists()


def test_a_scoped_operator_changes_their_own_queue(orders_team, estate):
    response = orders_team.post("/queues/orders-new/send", {"body": "hello"}, headers=HTMX)
    assert response.status_code == 200
    assert "Sent message" in response["HX-Trigger"]


def test_a_scoped_operator_cannot_create_a_queue_or_topic_outside_the_scope(orders_team, estate):
    refused = orders_team.post("/queues/new", {"name": "payroll-new"}, headers=HTMX)
    assert refused.status_code == 422
    assert "is not authorized to perform: sqs:CreateQueue" in refused.content.decode()
    assert not Queue.objects.filter(name="payroll-new").exists()
    made = orders_team.post("/queues/new", {"name": "orders-more"}, headers=HTMX)
    assert made.status_code == 200
    assert Queue.objects.filter(name="orders-more").exists()
    topic = orders_team.post("/topics/new", {"name": "hr-news"}, headers=HTMX)
    assert topic.status_code == 422
    assert not Topic.objects.filter(name="hr-news").exists()


def test_queue_choices_offer_only_queues_in_scope(orders_team, estate):
    queues, _ = estate
    policy = f'{{"deadLetterTargetArn": "{queues["orders-new-dlq"].arn}", "maxReceiveCount": 1}}'
    service.set_queue_attributes(queues["orders-new"], {"RedrivePolicy": policy})
    dlq_page = orders_team.get("/queues/orders-new-dlq/").content.decode()
    redrive = dlq_page[dlq_page.index('id="redrive-destination"') :]
    redrive = redrive[: redrive.index("</select>")]
    assert "orders-new" in redrive and "billing-invoices" in redrive
    assert "payroll-runs" not in redrive and "zeta" not in redrive

    edit = orders_team.get("/queues/orders-new/attributes/RedrivePolicy/edit").content.decode()
    assert "payroll-runs" not in edit and "billing-invoices" in edit

    topic_page = orders_team.get("/topics/orders-events/").content.decode()
    choices = topic_page[topic_page.index('id="subscribe-queue"') :]
    choices = choices[: choices.index("</select>")]
    assert "orders-new" in choices and "payroll-runs" not in choices

    overview_html = orders_team.get("/", {"q": ""}).content.decode()
    assert "payroll-runs" not in overview_html


def test_redriving_to_a_queue_out_of_scope_is_refused(orders_team, estate):
    response = orders_team.post(
        "/queues/orders-new-dlq/redrive", {"destination": "payroll-runs"}, headers=HTMX
    )
    assert response.status_code == 422
    assert not MessageMoveTask.objects.exists()


def test_subscribing_a_queue_out_of_scope_by_its_arn_is_refused(orders_team, estate):
    queues, _ = estate
    response = orders_team.post(
        "/topics/orders-events/subscriptions/new",
        {"protocol": "sqs", "endpoint": queues["payroll-runs"].arn},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "not authorized to perform: sqs:SendMessage" in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_superuser_sees_everything_even_with_a_scope(estate):
    admin = _user("root", ("orders-*", ""), superuser=True)
    html = admin.get("/").content.decode()
    assert count(html, "queue") == 5 and count(html, "topic") == 2
    assert admin.get("/queues/payroll-runs/").status_code == 200
    assert "You see queues matching" not in html


def test_an_unscoped_user_sees_everything(estate):
    viewer = _user("victor", operator=False)
    html = viewer.get("/").content.decode()
    assert count(html, "queue") == 5
    assert viewer.get("/topics/payroll-events/").status_code == 200


def test_a_read_only_scoped_user_sees_their_queues_but_changes_nothing(orders_reader, estate):
    assert orders_reader.get("/queues/orders-new/").status_code == 200
    assert orders_reader.get("/queues/billing-invoices/").status_code == 404
    sent = orders_reader.post("/queues/orders-new/send", {"body": "hi"}, headers=HTMX)
    purged = orders_reader.post("/queues/orders-new/purge", {"confirm_name": "orders-new"})
    published = orders_reader.post("/topics/orders-events/publish", {"message": "hi"})
    assert sent.status_code == purged.status_code == published.status_code == 403
    assert Message.objects.count() == 0


def test_scoped_users_cannot_manage_access_keys(orders_team, estate):
    assert orders_team.get("/access-keys/").status_code == 403
    refused = orders_team.post("/access-keys/new", {"name": "escape", "starter": "full"})
    assert refused.status_code == 403
    assert not AccessKey.objects.exists()
    assert "Access keys</a>" not in orders_team.get("/").content.decode()


def test_live_streams_of_pages_out_of_scope_are_refused(estate):
    sam = User.objects.create_user("sam3")
    UserScope.objects.create(user=sam, queue_patterns="orders-*", topic_patterns="orders-*")
    assert "queue-stats" in queue_views.live_fragments(sam, "orders-new")
    with pytest.raises(Queue.DoesNotExist):
        queue_views.live_fragments(sam, "payroll-runs")
    with pytest.raises(Topic.DoesNotExist):
        topic_views.live_fragments(sam, "payroll-events")


def test_the_user_admin_sets_a_users_scope_inline(estate):
    admin = _user("root", superuser=True)
    member = User.objects.create_user("tess")
    page = admin.get(f"/admin/auth/user/{member.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="console_scope-0-queue_patterns"' in html
    assert "One queue name pattern a line" in html

    data = {
        "username": "tess",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        "console_scope-TOTAL_FORMS": "1",
        "console_scope-INITIAL_FORMS": "0",
        "console_scope-MIN_NUM_FORMS": "0",
        "console_scope-MAX_NUM_FORMS": "1",
        "console_scope-0-queue_patterns": "payroll-*",
        "console_scope-0-topic_patterns": "",
        "console_scope-0-user": str(member.pk),
    }
    saved = admin.post(f"/admin/auth/user/{member.pk}/change/", data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    member.refresh_from_db()
    assert member.console_scope.queue_patterns == "payroll-*"
    member_client = Client()
    member_client.force_login(member)
    assert queue_rows(member_client.get("/").content.decode()) == ["payroll-runs"]


def test_saving_a_user_with_the_scope_left_blank_leaves_them_unscoped(estate):
    admin = _user("root", superuser=True)
    member = User.objects.create_user("uma")
    data = {
        "username": "uma",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "console_scope-TOTAL_FORMS": "1",
        "console_scope-INITIAL_FORMS": "0",
        "console_scope-MIN_NUM_FORMS": "0",
        "console_scope-MAX_NUM_FORMS": "1",
        "console_scope-0-queue_patterns": "",
        "console_scope-0-topic_patterns": "",
        "console_scope-0-user": str(member.pk),
    }
    assert admin.post(f"/admin/auth/user/{member.pk}/change/", data).status_code == 302
    assert not UserScope.objects.filter(user=member).exists()
