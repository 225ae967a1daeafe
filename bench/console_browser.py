"""What bench.console_scale measures in Chromium: time until the overview is usable, the longest
main-thread task during live updates, and open tabs for the web process's CPU per tab.

Chromium is the one the browser tests drive (tests/browser/conftest.py), through Playwright.
"""

import contextlib

USABLE_TIMEOUT_MS = 30_000

# Installed in every page before its own scripts: long tasks, live messages received, and the
# queue rows live updates changed, counted from `window.__bench.from` on.
_WATCH = """
window.__bench = {tasks: [], live: 0, rows: new Set(), from: 0};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__bench.tasks.push([entry.startTime, entry.duration]);
}).observe({type: "longtask", buffered: true});
for (const name of ["htmx:wsAfterMessage", "htmx:sseMessage"]) {
  document.addEventListener(name, () => { window.__bench.live += 1; });
}
const watchRows = () => new MutationObserver((records) => {
  if (performance.now() < window.__bench.from) return;
  for (const record of records) {
    const nodes = [record.target, ...record.addedNodes];
    for (const node of nodes) {
      const element = node.nodeType === 1 ? node : node.parentElement;
      const row = element && element.closest && element.closest('tr[id^="queue-"]');
      if (row) window.__bench.rows.add(row.id);
    }
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true});
if (document.body) watchRows(); else document.addEventListener("DOMContentLoaded", watchRows);
"""

# Whether the queue list shows `name` and only queues whose names hold it: the filter answered.
# Returns the time since navigation start, so the page's clock times it, not Playwright's calls.
_ANSWERED = """
(name) => {
  const rows = [...document.querySelectorAll('tr[id^="queue-"]')]
    .filter((row) => row.getClientRects().length > 0);
  const ok = rows.length > 0 && rows.every((row) => row.textContent.includes(name));
  return ok ? performance.now() : false;
}
"""


def unavailable():
    """Why Chromium cannot be driven here, or None."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 (the dev extra has it, bench's not)

        from tests.browser.conftest import find_chromium  # noqa: PLC0415
    except ImportError as error:
        return f"{error.name} is not installed (pip install -e '.[dev]')"
    if find_chromium() is None:
        return "no Chromium found (install Debian's chromium or set ROOST_CHROMIUM)"
    return None


@contextlib.contextmanager
def logged_in(base_url, username, password):
    """Yield a Chromium browser context logged in to the console as `username`."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORT, find_chromium  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
            context.set_default_timeout(60_000)
            context.add_init_script(_WATCH)
            page = context.new_page()
            page.goto("/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            page.close()
            yield context
        finally:
            browser.close()


def time_until_usable(context, path, name, timeout_ms=USABLE_TIMEOUT_MS):
    """Ms from navigation start until typing `name` in the filter shows only its match; None
    when that takes longer than `timeout_ms`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    page = context.new_page()
    try:
        page.goto(path, wait_until="commit")
        page.locator("#name-filter").fill(name, timeout=timeout_ms)
        answered = page.wait_for_function(_ANSWERED, arg=name, polling="raf", timeout=timeout_ms)
        return answered.json_value()
    except PlaywrightTimeout:
        return None
    finally:
        page.close()


def open_page(context, path):
    page = context.new_page()
    page.goto(path, wait_until="load")
    return page


def start_watching(page):
    """Count long tasks, live messages and changed rows from now on."""
    page.evaluate(
        "() => { window.__bench.from = performance.now(); window.__bench.live = 0;"
        " window.__bench.rows.clear(); }"
    )


def watched(page):
    """(longest task ms, long tasks, live messages, queue rows changed) since start_watching."""
    found = page.evaluate(
        "() => { const b = window.__bench;"
        " const tasks = b.tasks.filter(([start]) => start >= b.from).map(([, ms]) => ms);"
        " return [tasks.length ? Math.max(...tasks) : 0, tasks.length, b.live, b.rows.size]; }"
    )
    return tuple(found)


def visibility(page):
    return page.evaluate("() => document.visibilityState")
