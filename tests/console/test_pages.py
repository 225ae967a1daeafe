"""Every console page: who may see it, who may change things from it, and what it shows."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console import access_keys
from console.roles import OPERATORS_GROUP, is_operator
from notifications import service as topics_service
from queues.models import Queue

from .conftest import send

pytestmark = pytest.mark.django_db

PAGES = ["/", "/queues/orders/", "/queues/orders-dlq/", "/access-keys/"]
BUTTONS = [
    "Create queue",
    "Create topic",
    "Send message",
    "Purge messages…",
    "Delete queue…",
    "Delete",
    "Edit",
    "Add tag",
    "Remove",
    "Redrive all messages",
    "Redrive selected messages",
    "Create access key",
    "Disable",
]

# Every action a read-only user must not take: (path, form data).
ACTIONS = [
    ("/queues/new", {"name": "created"}),
    ("/topics/new", {"name": "events"}),
    ("/queues/orders/attributes/VisibilityTimeout/edit", {"value": "60"}),
    ("/queues/orders/tags", {"key": "team", "value": "payments"}),
    ("/queues/orders/tags/remove", {"key": "env"}),
    ("/queues/orders/send", {"body": "hello"}),
    ("/queues/orders/purge", {}),
    ("/queues/orders/delete", {}),
    ("/queues/orders-dlq/redrive", {}),
    ("/queues/orders-dlq/redrive/selected", {"message": "1"}),
    ("/queues/orders-dlq/move-tasks/cancel", {"task_handle": "x"}),
    ("/access-keys/new", {"name": "laptop"}),
    ("/access-keys/AKIAPAGESTEST0000001/disable", {}),
    ("/access-keys/AKIAPAGESTEST0000001/enable", {}),
    ("/access-keys/AKIAPAGESTEST0000001/delete", {}),
]


@pytest.fixture
def world(dead_letter_pair):
    """A queue with a tag and a message, its DLQ, a topic and an access key."""
    source, dead_letter_queue = dead_letter_pair
    Queue.objects.filter(pk=source.pk).update(tags={"env": "test"})
    send(source, "hello")
    topics_service.create_topic("events")
    access_keys.create_access_key(name="ci", access_key_id="AKIAPAGESTEST0000001")
    return source, dead_letter_queue


def test_operators_group_carries_the_operate_permission(db):
    group = Group.objects.get(name=OPERATORS_GROUP)
    assert list(group.permissions.values_list("codename", flat=True)) == ["operate"]


def test_roles(operator, viewer):
    admin = User.objects.create_superuser("root", password="a-long-password")
    inactive = User.objects.create_user("gone", password="a-long-password", is_active=False)
    inactive.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    assert is_operator(operator)
    assert is_operator(admin)
    assert not is_operator(viewer)
    assert not is_operator(inactive)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(world, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path, data", ACTIONS[:3])
def test_anonymous_posts_are_sent_to_log_in(world, path, data):
    response = Client().post(path, data)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", PAGES)
def test_operators_see_pages_with_their_action_buttons(world, operator_client, path):
    response = operator_client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "operator</span>" in page
    assert 'method="post"' in page


@pytest.mark.parametrize("path", PAGES)
def test_read_only_users_see_the_same_pages_without_buttons(world, viewer_client, path):
    response = viewer_client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "read-only</span>" in page
    # The only form that changes anything is the log-out button.
    assert page.count('method="post"') == 1
    for button in BUTTONS:
        assert f">{button}<" not in page


def test_the_dead_letter_queue_page_shows_redrive_to_operators(world, operator_client):
    page = operator_client.get("/queues/orders-dlq/").content.decode()
    assert "Redrive all messages" in page
    assert "Redrive selected messages" in page


@pytest.mark.parametrize("path, data", ACTIONS)
def test_read_only_users_are_refused_every_action(world, viewer_client, path, data):
    before = (
        list(Queue.objects.values_list("name", "tags", "visibility_timeout")),
        Queue.objects.get(name="orders").messages.count(),
        list(access_keys.AccessKey.objects.values_list("access_key_id", "is_active")),
    )
    response = viewer_client.post(path, data, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert '"toast"' in response["HX-Trigger"]
    after = (
        list(Queue.objects.values_list("name", "tags", "visibility_timeout")),
        Queue.objects.get(name="orders").messages.count(),
        list(access_keys.AccessKey.objects.values_list("access_key_id", "is_active")),
    )
    assert after == before


def test_read_only_users_cannot_open_edit_forms(world, viewer_client):
    assert viewer_client.get("/queues/orders/attributes/VisibilityTimeout/edit").status_code == 403
    assert viewer_client.get("/queues/orders/purge").status_code == 403
    assert viewer_client.get("/queues/orders/delete").status_code == 403


def test_actions_refuse_get(world, operator_client):
    assert operator_client.get("/queues/orders/send").status_code == 405
    assert operator_client.get("/access-keys/new").status_code == 405


def test_csrf_is_required_for_actions(world, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/queues/orders/send", {"body": "hello"})
    assert response.status_code == 403
    assert Queue.objects.get(name="orders").messages.count() == 1


def test_a_missing_queue_is_not_found(operator_client):
    assert operator_client.get("/queues/nope/").status_code == 404


def test_pages_load_htmx_and_the_console_assets_locally(world, viewer_client):
    page = viewer_client.get("/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in page
    assert "/static/django_htmx/ext/hx-sse-2.min.js" in page
    assert "/static/django_htmx/ext/hx-ws-2.min.js" in page
    assert "/static/console/console.css" in page
    assert "/static/console/console.js" in page
    head = page.split("<body")[0]
    assert 'src="http' not in head and 'href="http' not in head  # no CDN
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_live_pages_name_themselves(world, viewer_client):
    assert 'data-live-page="overview"' in viewer_client.get("/").content.decode()
    page = viewer_client.get("/queues/orders/").content.decode()
    assert 'data-live-page="queue"' in page
    assert 'data-live-args="{&quot;name&quot;: &quot;orders&quot;}"' in page
    assert '<section id="queue-chart"' in page


def test_the_header_names_the_role_on_every_page(world, operator_client):
    assert "operator</span>" in operator_client.get("/queues/orders/purge").content.decode()
