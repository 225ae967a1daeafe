"""Live pages in a real browser: they survive a restart of the web process."""

import pytest
from playwright.sync_api import expect

from tests.browser.locators import (
    expect_live,
    live_status,
    mark_page,
    page_was_kept,
    queue_cell,
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
