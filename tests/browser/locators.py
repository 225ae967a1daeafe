"""Where things are on console pages, for the browser tests and the screenshots."""

import re

from playwright.sync_api import expect


def live_status(page):
    """The badge that says whether the page is following live updates."""
    return page.locator("#live-status")


def expect_live(page):
    """Wait until the page's live stream is open."""
    expect(live_status(page)).to_have_attribute("data-state", "live")


def stat(page, label):
    """A number in the queue page's depth region: "visible", "in flight", "delayed"."""
    region = page.locator("#queue-stats .stat")
    label_text = page.locator(".stat-label", has_text=re.compile(f"^{re.escape(label)}$"))
    return region.filter(has=label_text).locator(".stat-value")


def queue_row(page, name):
    """A queue's row on the overview."""
    link = page.get_by_role("link", name=name, exact=True)
    return page.locator("#lists tr").filter(has=link)


def queue_cell(page, name, column):
    """A number in a queue's overview row: "visible", "in flight" or "delayed"."""
    index = ["visible", "in flight", "delayed"].index(column)
    return queue_row(page, name).locator("td").nth(index)


def message_rows(page):
    """The rows (one tbody each: the row and its expansion) of the queue page's message table."""
    return page.locator("#message-page tbody.message")


def message_row(page, text):
    """The message whose row shows `text` (its first line, id or state)."""
    return message_rows(page).filter(has_text=text)


def expand(message):
    """Expand a message's row in place; return its expansion (body, attributes, actions)."""
    message.get_by_role("button", name=re.compile(r"^Show message ")).click()
    details = message.locator("tr.message-details")
    expect(details).to_be_visible()
    return details


def send_form(page):
    """The queue page's send form, its disclosure opened."""
    send = page.locator("details#send")
    if send.get_attribute("open") is None:
        send.locator("summary").click()
    return page.locator("#send-form")


def toast(page, text):
    return page.locator("#toasts .toast", has_text=text)


def mark_page(page):
    """Tag the loaded document; `page_was_kept` tells whether the page was since reloaded."""
    page.evaluate("window.__roostMarker = 1")


def page_was_kept(page):
    return page.evaluate("window.__roostMarker") == 1
