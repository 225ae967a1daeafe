"""Fixtures for the console's page tests: people in each role, logged-in clients, queues."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console.roles import OPERATORS_GROUP
from queues import service


@pytest.fixture(autouse=True)
def _fresh_queue_cache():
    """Forget queues cached by earlier tests (their rows were rolled back)."""
    service.queue_cache.clear()
    yield
    service.queue_cache.clear()


@pytest.fixture
def operator(db):
    """A user in the Operators group."""
    user = User.objects.create_user("olga", password="a-long-password")
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    return user


@pytest.fixture
def viewer(db):
    """A logged-in user without the operator role: reads everything, changes nothing."""
    return User.objects.create_user("victor", password="a-long-password")


@pytest.fixture
def operator_client(operator):
    """A browser logged in as the operator."""
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(viewer):
    """A browser logged in as the read-only user."""
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def htmx_headers():
    """Headers that make a request look like htmx's."""
    return {"HX-Request": "true"}


@pytest.fixture
def queue(db):
    """An empty standard queue named orders."""
    return service.create_queue("orders")


@pytest.fixture
def dead_letter_pair(db):
    """(source queue, its dead-letter queue): orders sends to orders-dlq after 1 receive."""
    dead_letter_queue = service.create_queue("orders-dlq")
    policy = f'{{"deadLetterTargetArn": "{dead_letter_queue.arn}", "maxReceiveCount": 1}}'
    source = service.create_queue("orders", {"RedrivePolicy": policy})
    return source, dead_letter_queue


def send(queue, body="hello", **fields):
    """Send one message through the service; return its MessageId."""
    return service.send_message(queue, service.SendEntry(body=body, **fields))["MessageId"]
