"""Every console page: a Content-Security-Policy without 'unsafe-inline', and no caching."""

import os
import re
import runpy

import pytest
from django.urls import URLPattern, URLResolver

from console import access_keys
from console import settings as settings_module
from console.security_headers import content_security_policy
from console.urls import console_patterns
from notifications import service as topics_service

from .conftest import send

pytestmark = pytest.mark.django_db

KEY_ID = "AKIAHEADERSTEST00001"
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _routes(patterns, prefix="/"):
    """Every console URL pattern as a path template, e.g. /queues/<name>/attributes/<...>."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


ROUTES = sorted(set(_routes(console_patterns)))


@pytest.fixture
def console_objects(dead_letter_pair):
    """The objects console URLs name: a queue with a message, a topic with a subscription, a key."""
    source, _ = dead_letter_pair
    send(source, "hello")
    topic = topics_service.create_topic("events")
    subscription, _ = topics_service.subscribe(topic, "sqs", source.arn)
    access_keys.create_access_key(name="ci", access_key_id=KEY_ID)
    return {"queue": source, "topic": topic, "subscription": subscription}


def _path(route, objects):
    is_topic = route.startswith("/topics/")
    values = {
        "name": objects["topic"].name if is_topic else objects["queue"].name,
        "attribute_name": "DisplayName" if is_topic else "VisibilityTimeout",
        "message_id": str(objects["queue"].messages.first().pk),
        "subscription_id": str(objects["subscription"].uuid),
        "delivery_id": "1",
        "key_id": KEY_ID,
        "alarm_id": "1",
        "batch": "0509df66-bf58-4763-8656-c9bc56bff5cd",
    }
    return PARAMETER.sub(lambda match: values[match.group(1)], route)


def test_the_walk_covers_the_console():
    assert "/" in ROUTES
    assert "/queues/<str:name>/" in ROUTES
    assert "/topics/<str:name>/subscriptions/<str:subscription_id>/deliveries" in ROUTES
    assert "/access-keys/" in ROUTES


@pytest.mark.parametrize("route", ROUTES)
def test_every_console_page_has_the_policy_and_is_not_cached(
    operator_client, console_objects, route
):
    response = operator_client.get(_path(route, console_objects))

    assert response.status_code < 500
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert {"private", "no-store"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }


def test_live_socket_may_connect_back_to_the_same_host_only():
    policy = content_security_policy("roost.example:8443")

    assert "connect-src 'self' ws://roost.example:8443 wss://roost.example:8443" in policy
    assert "*" not in policy


def test_login_page_has_the_policy(client):
    response = client.get("/login/")

    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_pages_carry_no_inline_script_style_or_handler(operator_client, console_objects):
    for route in ("/", "/queues/orders/", "/topics/events/", "/access-keys/"):
        html = operator_client.get(_path(route, console_objects)).content.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, route
        assert re.search(r"<style\b|\sstyle=|\son[a-z]+=", html) is None, route


def test_api_and_admin_keep_their_own_rules(operator_client):
    assert "Content-Security-Policy" not in operator_client.get("/api/docs")
    assert "Content-Security-Policy" not in operator_client.get("/admin/login/")


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({"ROOST_PUBLIC_URL": "https://roost.example"}, True),
        ({"ROOST_PUBLIC_URL": "http://localhost:8000"}, False),
        ({"ROOST_PUBLIC_URL": "http://localhost:8000", "ROOST_SECURE_COOKIES": "true"}, True),
        ({"ROOST_PUBLIC_URL": "https://roost.example", "ROOST_SECURE_COOKIES": "false"}, False),
    ],
)
def test_session_and_csrf_cookies_are_secure_behind_tls(environment, secure, tmp_path, monkeypatch):
    monkeypatch.delenv("ROOST_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("ROOST_DATA_DIR", str(tmp_path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # Settings point prometheus_client at their metrics directory through the environment: keep
    # this process's (monkeypatch restores it), or later tests would read another directory.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ["PROMETHEUS_MULTIPROC_DIR"])

    # Settings are read from the environment once, at start-up: read them afresh.
    fresh = runpy.run_path(settings_module.__file__)

    assert fresh["SESSION_COOKIE_SECURE"] is secure
    assert fresh["CSRF_COOKIE_SECURE"] is secure
