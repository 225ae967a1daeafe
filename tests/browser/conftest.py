"""Fixtures for browser tests: headless Chromium (Playwright) logged in to the live server.

Playwright drives the system's Chromium; it never downloads a browser of its own. The session
finds one (ROOST_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser), installs Debian's
`chromium` with apt-get once when it runs as root and finds none, and otherwise skips every
browser test with a reason that says what it tried.
"""

import os
import shutil
import subprocess

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps dialling Google's hosts, which a closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APT_TIMEOUT = 600
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000

OPERATOR = "operator"
VIEWER = "viewer"
PASSWORD = "roost-browser-test-password"

expect.set_options(timeout=TIMEOUT_MS)


def find_chromium():
    """The Chromium to drive, or None: ROOST_CHROMIUM, else the first candidate on disk/PATH."""
    configured = os.environ.get("ROOST_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            pytest.fail(f"ROOST_CHROMIUM={configured} is not an executable.", pytrace=False)
        return found
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _run_logged(command, log_path):
    """Run an apt-get command with its output in log_path; return why it failed, or None."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=APT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` took longer than {APT_TIMEOUT} s"
    return f"`{' '.join(command)}` exited {result.returncode}" if result.returncode else None


def _apt_install_chromium(log_path):
    """Install Debian's chromium; return why it failed, or None.

    A failed `apt-get update` is noted but not fatal: the package lists already on disk may do.
    """
    updated = _run_logged(["apt-get", "update"], log_path)
    failure = _run_logged(["apt-get", "install", "-y", "chromium"], log_path)
    if failure and updated:
        return f"{failure}, after {updated}"
    return failure


@pytest.fixture(scope="session")
def chromium_path(tmp_path_factory):
    """Path of a Chromium executable; installed with apt-get if missing and possible, else skip."""
    found = find_chromium()
    if found:
        return found
    tried = f"looked for ROOST_CHROMIUM, {', '.join(CHROMIUM_CANDIDATES)}"
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"BROWSER TESTS SKIPPED: no Chromium ({tried}); not root with apt-get, so did not "
            "install one. Install Debian's `chromium` or set ROOST_CHROMIUM=/path/to/chrome."
        )
    log_path = tmp_path_factory.getbasetemp() / "apt-get-chromium.log"
    failure = _apt_install_chromium(log_path)
    found = find_chromium()
    if found:
        return found
    pytest.skip(
        f"BROWSER TESTS SKIPPED: no Chromium ({tried}), and installing Debian's chromium "
        f"failed: {failure or 'apt-get installed no chromium executable'}; apt-get's output "
        f"is in {log_path}."
    )


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium driven by Playwright, for the whole session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def create_console_users(server):
    """Create (or reset) an operator and a read-only user on a live server, both with PASSWORD."""
    server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        f"for name in ({OPERATOR!r}, {VIEWER!r}):\n"
        "    user, _ = User.objects.get_or_create(username=name)\n"
        f"    user.set_password({PASSWORD!r})\n"
        "    user.save()\n"
        f"User.objects.get(username={OPERATOR!r}).groups.add(Group.objects.get(name='Operators'))\n",
    )
    return {"operator": OPERATOR, "viewer": VIEWER}


@pytest.fixture(scope="session")
def console_users(roost_server):
    """An operator and a read-only user on the live server, both with PASSWORD."""
    return create_console_users(roost_server)


def new_context(browser, base_url, storage_state=None, **options):
    """A fresh browser context (cookies, storage) at the console's size, with short timeouts;
    options go to Playwright's new_context (color_scheme, viewport, permissions)."""
    options.setdefault("viewport", VIEWPORT)
    context = browser.new_context(base_url=base_url, storage_state=storage_state, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def log_in(page, username, password=PASSWORD):
    """Log in through the console's login form; end on the overview."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queues & topics", level=1)).to_be_visible()


def _storage_state(browser, server, username, path):
    context = new_context(browser, server.url)
    try:
        log_in(context.new_page(), username)
        context.storage_state(path=path)
    finally:
        context.close()
    return path


@pytest.fixture(scope="session")
def operator_state(browser, roost_server, console_users, tmp_path_factory):
    """The operator's logged-in cookies, from one pass through the login form."""
    path = tmp_path_factory.mktemp("browser") / "operator.json"
    return _storage_state(browser, roost_server, console_users["operator"], path)


@pytest.fixture(scope="session")
def viewer_state(browser, roost_server, console_users, tmp_path_factory):
    """The read-only user's logged-in cookies, from one pass through the login form."""
    path = tmp_path_factory.mktemp("browser") / "viewer.json"
    return _storage_state(browser, roost_server, console_users["viewer"], path)


def _watched_page(context):
    """A new page that records the JavaScript errors it throws in `page.js_errors`, live regions
    htmx could not place because they arrived without an id (a mis-parsed frame), and whatever
    the browser refused under the console's Content-Security-Policy."""
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))

    def console_message(message):
        if "oobErrorNoTarget, #null" in message.text:
            page.js_errors.append(f"a pushed live region had no id: {message.text}")
        if "Content Security Policy" in message.text:
            page.js_errors.append(f"the console broke its own CSP: {message.text}")

    page.on("console", console_message)
    return page


def _open_page(browser, server, storage_state=None):
    context = new_context(browser, server.url, storage_state)
    page = _watched_page(context)
    yield page
    context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"


@pytest.fixture
def anonymous_page(browser, roost_server):
    """A page in a fresh context with no one logged in."""
    yield from _open_page(browser, roost_server)


@pytest.fixture
def operator_page(browser, roost_server, operator_state):
    """A page logged in as an operator (may change things)."""
    yield from _open_page(browser, roost_server, operator_state)


@pytest.fixture
def viewer_page(browser, roost_server, viewer_state):
    """A page logged in as a read-only user."""
    yield from _open_page(browser, roost_server, viewer_state)
