"""Live updates: the WebSocket consumer and the SSE stream send a page's changed regions only."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.test import AsyncClient

from console.live import pages, stream
from console.live.consumers import GONE, UNAUTHENTICATED, LiveConsumer

pytestmark = pytest.mark.django_db(transaction=True)

REGIONS = {"counter": 0}


def counting_fragments(user, start="0"):
    """A live page for the tests: one region whose number the test changes."""
    value = int(start) + REGIONS["counter"]
    return {"count": f'<span id="count" hx-swap-oob="true">{value}</span>', "fixed": "<b id=f>"}


def vanished_fragments(user):
    raise stream.PageGone("deleted")


@pytest.fixture(autouse=True)
def test_pages(monkeypatch):
    monkeypatch.setitem(pages.PAGES, "counting", f"{__name__}.counting_fragments")
    monkeypatch.setitem(pages.PAGES, "vanished", f"{__name__}.vanished_fragments")
    monkeypatch.setattr(stream, "INTERVAL_SECONDS", 0.05)
    stream.snapshots._entries.clear()
    REGIONS["counter"] = 0


@pytest.fixture
def user():
    return User.objects.create_user("watcher", password="pw-long-enough")


def communicator(user, path="/live/ws/?page=counting&args=%7B%22start%22%3A%20%2240%22%7D",
                 origin=b"http://testserver"):  # fmt: skip
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin))
    connection = WebsocketCommunicator(LiveConsumer.as_asgi(), path, headers=headers)
    connection.scope["user"] = user
    return connection


@async_to_sync
async def exchange(connection, change=None):
    connected, _ = await connection.connect()
    assert connected
    first = await connection.receive_from(timeout=2)
    second = None
    if change is not None:
        REGIONS["counter"] = change
        second = await connection.receive_from(timeout=2)
    await connection.disconnect()
    return first, second


def test_websocket_sends_every_region_then_only_changes(user):
    first, second = exchange(communicator(user), change=2)
    assert '<span id="count" hx-swap-oob="true">40</span>' in first
    assert "<b id=f>" in first
    assert second == '<span id="count" hx-swap-oob="true">42</span>'


@async_to_sync
async def closed_with(connection):
    connected, code = await connection.connect()
    if connected:
        output = await connection.receive_output(timeout=2)
        code = output.get("code")
    return code


def test_websocket_refuses_anonymous_users():
    assert closed_with(communicator(AnonymousUser())) == UNAUTHENTICATED


def test_websocket_refuses_other_sites_pages(user):
    assert closed_with(communicator(user, origin=b"https://evil.example")) == UNAUTHENTICATED
    assert closed_with(communicator(user, origin=None)) == UNAUTHENTICATED


def test_websocket_closes_when_the_page_is_unknown_or_gone(user):
    assert closed_with(communicator(user, path="/live/ws/?page=nope")) == GONE
    assert closed_with(communicator(user, path="/live/ws/?page=vanished")) == GONE


def test_page_arguments_are_plain_strings():
    assert stream.parse_args('{"name": "orders", "n": 3}') == {"name": "orders", "n": "3"}
    assert stream.parse_args("not json") == {}
    assert stream.parse_args('["a"]') == {}
    assert stream.parse_args('{"bad key": "x"}') == {}


@async_to_sync
async def read_events(client, url, count):
    response = await client.get(url)
    assert response["Content-Type"] == "text/event-stream"
    chunks = []
    iterator = aiter(response.streaming_content)
    while len(chunks) < count:
        chunks.append((await asyncio.wait_for(anext(iterator), 2)).decode())
        if len(chunks) == 2:
            REGIONS["counter"] = 5
    await iterator.aclose()
    return chunks


def test_sse_stream_sends_named_events(user):
    client = AsyncClient()
    client.force_login(user)
    chunks = read_events(client, "/live/sse/?page=counting", 3)
    assert chunks[0].startswith("retry: ")
    assert chunks[1].startswith("event: live\n")
    assert 'data: <span id="count" hx-swap-oob="true">0</span><b id=f>' in chunks[1]
    assert chunks[2] == 'event: live\ndata: <span id="count" hx-swap-oob="true">5</span>\n\n'


def test_sse_stream_says_when_the_page_is_gone(user):
    client = AsyncClient()
    client.force_login(user)
    chunks = read_events(client, "/live/sse/?page=vanished", 2)
    assert chunks[1].startswith("event: gone\n")


def test_sse_requires_login():
    response = async_to_sync(AsyncClient().get)("/live/sse/?page=counting")
    assert response.status_code == 401
