"""Live: a browser that leaves a live page (tab closed, reload) ends its stream quietly."""

import re
from contextlib import ExitStack

import httpx
import pytest

from tests.servers import wait_until

USERNAME = "live-close-watcher"
PASSWORD = "live-close-watcher-password"
CLOSED = re.compile(r"live stream of overview closed after [0-9.]+ s \((\d+) open\)")


@pytest.fixture(scope="module")
def console_cookies(roost_server):
    """The session cookies of a console user logged in on the live server."""
    roost_server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import User\n"
        f"user, _ = User.objects.get_or_create(username={USERNAME!r})\n"
        f"user.set_password({PASSWORD!r})\n"
        "user.save()\n",
    )
    with httpx.Client(base_url=roost_server.url) as client:
        client.get("/login/").raise_for_status()
        response = client.post(
            "/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, response.text
        return dict(client.cookies)


def _log_since(server, offset):
    with open(server.log_path, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _read_first_event(response):
    """Read the stream up to its first live event, leaving the connection open."""
    lines = response.iter_lines()
    for line in lines:  # a break, unlike a dropped generator, does not close the iterator
        if line == "event: live":
            response.kept_lines = lines
            return
    pytest.fail("the stream ended before its first live event")


def test_leaving_an_sse_stream_ends_it_quietly_and_runs_its_clean_up(roost_server, console_cookies):
    offset = roost_server.log_path.stat().st_size
    # Leaving the block closes the connection mid-stream, as a closed tab does.
    with (
        httpx.Client(base_url=roost_server.url, cookies=console_cookies, timeout=10) as client,
        client.stream("GET", "/live/sse/", params={"page": "overview"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        _read_first_event(response)

    wait_until(
        lambda: CLOSED.search(_log_since(roost_server, offset)), 10, what="the stream's clean-up"
    )
    log = _log_since(roost_server, offset)

    assert "Traceback" not in log
    assert "Error" not in log


def test_each_stream_left_is_counted_closed(roost_server, console_cookies):
    offset = roost_server.log_path.stat().st_size
    with ExitStack() as streams:
        for _ in range(3):
            client = streams.enter_context(
                httpx.Client(base_url=roost_server.url, cookies=console_cookies, timeout=10)
            )
            response = streams.enter_context(
                client.stream("GET", "/live/sse/", params={"page": "overview"})
            )
            _read_first_event(response)

    wait_until(
        lambda: len(CLOSED.findall(_log_since(roost_server, offset))) >= 3,
        10,
        what="three streams' clean-up",
    )
    log = _log_since(roost_server, offset)
    still_open = [int(count) for count in CLOSED.findall(log)]
    assert still_open == [still_open[0], still_open[0] - 1, still_open[0] - 2]
    assert "Traceback" not in log
