"""Live pages in a real browser: they survive a restart of the web process, and the overview's
rows are patched in place over WebSockets and Server-Sent Events alike."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.locators import (
    expect_live,
    live_status,
    mark_page,
    page_was_kept,
    queue_cell,
    queue_row,
)
from tests.conftest import _free_port, _stop, launch_server

pytestmark = pytest.mark.browser


class WebProcess:
    """One more web process of the live server (same database and sessions), to restart."""

    def __init__(self, server):
        self.env = server.env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = server.data_dir / f"web-{self.port}.log"
        self.process = None

    def start(self):
        self.process = launch_server(self.env, self.port, self.log_path)

    def stop(self):
        if self.process is not None:
            _stop(self.process)
            self.process = None


@pytest.fixture
def web_process(roost_server):
    """A second web process of the live server, started; the test may stop and restart it."""
    web = WebProcess(roost_server)
    web.start()
    yield web
    web.stop()


def test_live_page_reconnects_after_the_server_restarts(
    operator_page, web_process, make_queue, sqs_json
):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    page = operator_page
    page.goto(f"{web_process.url}/?q={name}")  # more queues than a page: filter to this one
    expect(queue_cell(page, name, "visible")).to_have_text("0")
    expect_live(page)
    mark_page(page)
    # htmx retries a lost WebSocket after a random delay of up to 1, 2, 4 ... 64 s; shorten it
    # so the test stays within its timeouts whatever the dice say.
    page.evaluate("htmx.config.wsReconnectDelay = () => 200")

    web_process.stop()
    expect(live_status(page)).to_have_attribute("data-state", "reconnecting")
    sqs_json.send_message(QueueUrl=url, MessageBody="sent while the page was offline")
    web_process.start()

    expect_live(page)
    expect(queue_cell(page, name, "visible")).to_have_text("1")
    assert page_was_kept(page)


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_overview_rows_are_patched_in_place_over_either_transport(
    transport, operator_page, make_queue, sqs_json
):
    page = operator_page
    if transport == "sse":
        # The overview as a page that asks for Server-Sent Events (data-live-transport="sse").
        def ask_for_sse(route):
            answer = route.fetch()
            html = answer.text().replace(
                "data-live-page=", 'data-live-transport="sse" data-live-page='
            )
            route.fulfill(response=answer, body=html)

        page.route(lambda url: urlsplit(url).path == "/", ask_for_sse)
    first = make_queue()
    name = first.rsplit("/", 1)[1]
    page.goto(f"/?q={name}")
    expect(queue_cell(page, name, "visible")).to_have_text("0")
    expect_live(page)
    over = "Server-Sent Events" if transport == "sse" else "WebSockets"
    expect(live_status(page)).to_have_attribute("title", f"Updating live over {over}")
    mark_page(page)
    queue_row(page, name).evaluate("(row) => { row.__kept = true; }")

    sqs_json.send_message(QueueUrl=first, MessageBody="one")
    sqs_json.send_message(QueueUrl=first, MessageBody="later", DelaySeconds=600)
    expect(queue_cell(page, name, "visible")).to_have_text("1")
    expect(queue_cell(page, name, "delayed")).to_have_text("1")
    assert queue_row(page, name).evaluate("(row) => row.__kept === true"), "the row was replaced"

    # A queue that joins the filtered list changes the list's digest: the list reloads with it.
    second = make_queue()
    expect(queue_row(page, second.rsplit("/", 1)[1])).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("2")
    assert page_was_kept(page), "the overview reloaded instead of updating in place"
