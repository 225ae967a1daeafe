"""Accessibility and the details around it: every console page, filled and empty, with its
dialogs open, checked by axe-core in light and dark mode; tables on a phone-sized screen; ARNs that
wrap at ':' and '/' and copy exactly; FIFO-only options; toasts that cover nothing."""

import json
import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.axe import STYLESHEET, serious_violations
from tests.browser.conftest import _watched_page, create_console_users, log_in, new_context
from tests.browser.endpoints import FailingEndpoint
from tests.browser.locators import expect_live, toast
from tests.servers import live_server, wait_until

pytestmark = pytest.mark.browser


def test_the_dark_scheme_changes_only_colours():
    """What lets the dark check run axe's colour rules alone: it sets custom properties only."""
    css = STYLESHEET.read_text()
    blocks = re.findall(r"@media \(prefers-color-scheme: dark\) \{(.*?)\n\}", css, re.S)
    assert blocks, "the stylesheet has no dark scheme"
    for block in blocks:
        declarations = re.findall(r"([\w-]+)\s*:", re.sub(r"[^{}]*\{", "", block))
        assert declarations
        assert all(name.startswith("--") for name in declarations), declarations


# One retry a second after the first attempt: the delivery log shows two attempts, and the
# delivery has failed for good a second after it was published.
ONE_RETRY = {
    "healthyRetryPolicy": {
        "numRetries": 1,
        "minDelayTarget": 1,
        "maxDelayTarget": 1,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "numMaxDelayRetries": 0,
        "backoffFunction": "linear",
    }
}


def _failed_deliveries(server, subscription_id):
    answer = httpx.get(
        f"{server.url}/api/subscriptions/{subscription_id}/deliveries",
        params={"status": "failed"},
        headers={"Authorization": f"Bearer {server.access_key_id}:{server.secret}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["deliveries"]


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


@pytest.fixture(scope="module")
def scene(roost_server, roost_worker, sqs_client, sns):
    """Queues (standard, FIFO, a dead-letter queue) with messages, and a topic with a queue
    subscription, a pending one and a confirmed web hook whose deliveries failed."""
    sqs = sqs_client("json")
    prefix = f"a11y-{uuid.uuid4().hex[:6]}"
    dead_letters = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    policy = {"deadLetterTargetArn": _arn(sqs, dead_letters), "maxReceiveCount": 1}
    standard = sqs.create_queue(
        QueueName=f"{prefix}-orders",
        Attributes={"RedrivePolicy": json.dumps(policy)},
        tags={"team": "billing"},
    )["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName=f"{prefix}-ledger.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    long_body = json.dumps({"order": 1, "lines": [f"line {n} " * 12 for n in range(60)]})
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    for number in range(3):
        sqs.send_message(QueueUrl=standard, MessageBody=long_body, MessageAttributes=attributes)
        sqs.send_message(QueueUrl=fifo, MessageBody=f"entry {number}", MessageGroupId="g1")
    sqs.send_message(QueueUrl=dead_letters, MessageBody=long_body)
    [received] = sqs.receive_message(
        QueueUrl=standard, MaxNumberOfMessages=1, VisibilityTimeout=600
    )["Messages"]

    topic = f"{prefix}-events"
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_arn(sqs, standard))
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint="http://127.0.0.1:9/never")
    endpoint = FailingEndpoint()
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=endpoint.url)
    assert endpoint.confirmed.wait(30), "the failing endpoint never confirmed"
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    [hook] = [found for found in subscriptions if found["Endpoint"] == endpoint.url]
    sns.set_subscription_attributes(
        SubscriptionArn=hook["SubscriptionArn"],
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(ONE_RETRY),
    )
    # Long enough that its body scrolls in the delivery log.
    sns.publish(TopicArn=topic_arn, Message=json.dumps({f"field{n}": n for n in range(40)}))
    # Failed for good, so that the log offers its Replay button to every test.
    hook_id = hook["SubscriptionArn"].rsplit(":", 1)[1]
    wait_until(
        lambda: _failed_deliveries(roost_server, hook_id),
        what="the web hook's delivery to fail for good",
    )
    yield {
        "standard": standard.rsplit("/", 1)[1],
        "fifo": fifo.rsplit("/", 1)[1],
        "dead_letters": dead_letters.rsplit("/", 1)[1],
        "topic": topic,
        "topic_arn": topic_arn,
        "standard_arn": _arn(sqs, standard),
        "message_id": received["MessageId"],
        "hook": hook_id,
        "hook_url": endpoint.url,
    }
    endpoint.close()


def _open_dialog(page, link_name):
    page.get_by_role("link", name=re.compile(link_name)).first.click()
    expect(page.locator("dialog#dialog")).to_be_visible()


def test_console_pages_have_no_serious_accessibility_violations(
    operator_page, anonymous_page, scene, sqs_client
):
    found = []

    page = anonymous_page
    page.goto("/login/")
    found += serious_violations(page, "login")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    found += serious_violations(page, "login with an error")

    page = operator_page
    page.goto("/")
    expect_live(page)
    for summary in ("Create queue", "Create topic"):
        page.locator("summary", has_text=summary).click()
    found += serious_violations(page, "overview, create forms open")
    page.goto("/?q=nothing-has-this-name")
    found += serious_violations(page, "overview, filtered to nothing")

    for kind in ("standard", "fifo", "dead_letters"):
        page.goto(f"/queues/{scene[kind]}/")
        expect_live(page)
        page.locator("summary", has_text="Filter messages").click()
        page.locator("summary", has_text="Send a message").click()
        page.locator("#message-page button[data-expand]").first.click()
        expect(page.locator("#message-page tr.message-details pre.body").first).to_be_visible()
        found += serious_violations(page, f"{kind} queue page, a message and the forms open")
    _open_dialog(page, "Purge messages…")
    found += serious_violations(page, "purge dialog")
    page.keyboard.press("Escape")
    _open_dialog(page, "Delete queue…")
    found += serious_violations(page, "delete queue dialog")
    page.keyboard.press("Escape")
    page.goto(f"/queues/{scene['standard']}/messages/{scene['message_id']}/")
    expect(page.locator("#message-body")).to_be_visible()
    expect(page.locator("#timeline li").first).to_be_visible()
    found += serious_violations(page, "message page")
    page.goto(f"/queues/{scene['standard']}/consumers")
    expect(page.locator("#consumers-card")).to_be_visible()
    found += serious_violations(page, "consumers page")
    page.goto(f"/queues/{scene['standard']}/")
    page.locator("#settings").get_by_role("link", name="Edit").first.click()
    expect(page.locator("#settings form")).to_be_visible()
    found += serious_violations(page, "queue page, a setting being edited")
    page.goto(f"/queues/{scene['dead_letters']}/")
    page.locator("summary", has_text="Redrive selected messages, by filter").click()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#redrive-plan")).to_be_visible()
    page.locator(".redrive-sample summary").first.click()
    found += serious_violations(page, "dead-letter queue page, a selective redrive previewed")

    topic = scene["topic"]
    page.goto(f"/topics/{topic}/")
    expect_live(page)
    found += serious_violations(page, "topic page")
    _open_dialog(page, "^Remove the subscription")
    found += serious_violations(page, "unsubscribe dialog")
    page.keyboard.press("Escape")
    _open_dialog(page, "Delete topic…")
    found += serious_violations(page, "delete topic dialog")
    page.keyboard.press("Escape")
    page.goto(f"/topics/{topic}/?subscription={scene['hook']}#subscription-panel")
    found += serious_violations(page, "subscription panel")
    page.locator("summary", has_text="Playground: try a policy").click()
    page.get_by_label("Policy to try").fill('{"field1": [2]}')
    expect(page.locator(".playground-results tr.not-matched")).to_have_count(1)
    found += serious_violations(page, "subscription panel, the filter playground")
    page.goto(f"/topics/{topic}/?log={scene['hook']}#delivery-log-{scene['hook']}")
    expect(page.locator("li.delivery table.attempts tbody tr").first).to_be_visible()
    found += serious_violations(page, "delivery log")

    sqs = sqs_client("json")
    trashed = f"{scene['standard']}-trash"
    trashed_url = sqs.create_queue(QueueName=trashed)["QueueUrl"]
    sqs.send_message(QueueUrl=trashed_url, MessageBody="purged")
    sqs.purge_queue(QueueUrl=trashed_url)
    page.goto(f"/queues/{trashed}/")
    batch = page.locator("#trash tbody tr").first.get_attribute("id").removeprefix("trash-")
    page.goto(f"/queues/{trashed}/?undo={batch}")
    expect(page.locator("#undo-banner")).to_contain_text("Purged 1 message.")
    found += serious_violations(page, "queue page with the Undo banner and the trash")
    page.goto(f"/audit/?queue={trashed}")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(2)
    found += serious_violations(page, "audit log, filtered to a queue")

    page.goto("/access-keys/")
    page.get_by_label("Name").fill("a11y")
    page.get_by_role("button", name="Create access key").click()
    expect(page.locator("#new-key")).to_be_visible()
    found += serious_violations(page, "access keys with a new key")
    page.goto(f"/access-keys/{page.locator('#new-key-id').inner_text()}/")
    statement = {"Sid": "Send", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
    page.get_by_label("Policy document").fill(json.dumps({"Statement": [statement]}))
    page.get_by_role("button", name="Save policy").click()
    expect(toast(page, "Saved the policy")).to_be_visible()
    page.get_by_label("Action").fill("sqs:SendMessage")
    page.get_by_label("Resource").fill(scene["standard_arn"])
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("#deciding-statement")).to_be_visible()
    found += serious_violations(page, "access key page with a simulation")

    page.goto(f"/queues/{scene['standard']}/")
    page.evaluate("roostToast({level: 'success', message: 'Sent message 1.'})")
    page.evaluate("roostToast({level: 'error', message: 'Roost did not answer.'})")
    expect(toast(page, "Sent message")).to_be_visible()
    found += serious_violations(page, "queue page with a toast")

    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)

    # The check itself works under the console's Content-Security-Policy: a button without a
    # name is reported.
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert any("button-name (critical)" in line for line in serious_violations(page, "broken"))


def test_empty_overview_has_no_serious_accessibility_violations(browser):
    with live_server("a11y-empty") as server:
        create_console_users(server)
        context = new_context(browser, server.url)
        try:
            page = _watched_page(context)
            log_in(page, "operator")
            expect(page.locator("#sqs-snippet")).to_be_visible()
            found = serious_violations(page, "empty overview")
            page.goto("/access-keys/")
            found += serious_violations(page, "access keys, only the test's key")
        finally:
            context.close()
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)
    assert not page.js_errors


# Narrow screens: every table's actions in reach on a phone, without scrolling the page sideways.

PHONE = {"width": 375, "height": 740}

# Where each checked page's tables put their actions (or their first cell's link).
NARROW_ACTIONS = {
    "overview": ["#queue-list tbody tr:first-child th a", "#topic-list tbody tr:first-child th a"],
    "standard queue": [
        "#message-page tbody.message a.message-id",
        "#message-page tbody.message input[type=checkbox]",
        "#queue-tags .row-actions button",
        "#settings .row-actions a",
        "#queue-arn + button",
    ],
    "topic": [
        "#subscriptions tbody .row-actions a:text-is('Edit')",
        "#subscriptions tbody .row-actions a:text-is('Remove…')",
        "#subscriptions tbody button[data-copy]",
        "#settings .row-actions a",
    ],
    "delivery log": ["section.delivery-log table.attempts tbody td", ".delivery-actions button"],
    "access keys": ["#key-list .row-actions button:text-is('Disable')"],
}


@pytest.fixture
def phone_page(browser, roost_server, operator_state):
    """An operator's page on a 375 px wide screen."""
    yield from _phone_page(browser, roost_server, operator_state)


def _phone_page(browser, server, storage_state):
    context = new_context(
        browser, server.url, storage_state, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = _watched_page(context)
    yield page
    context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"


def expect_in_reach(page, locator, what):
    """The control is on screen within the page's width and nothing covers it."""
    expect(locator, what).to_be_visible()
    # Scrolls it into view; fails if another element would take the click. (Live updates may
    # replace the element meanwhile: Playwright finds it again.)
    locator.click(trial=True)
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{what} is at {box}"


def test_tables_become_cards_with_their_actions_in_reach_on_a_phone(phone_page, scene):
    page = phone_page
    pages = {
        "overview": f"/?q={scene['standard'].rsplit('-', 1)[0]}",
        "standard queue": f"/queues/{scene['standard']}/",
        "topic": f"/topics/{scene['topic']}/",
        "delivery log": f"/topics/{scene['topic']}/?log={scene['hook']}",
        "access keys": "/access-keys/",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        for selector in NARROW_ACTIONS[name]:
            expect_in_reach(page, page.locator(selector).first, f"{selector} on the {name} page")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= PHONE["width"], f"the {name} page scrolls sideways: {page_width} px"
        header = page.locator("table.cards thead").first
        expect(header, f"the {name} page's column headings").not_to_be_in_viewport()


# ARNs and URLs: wrap at ':' and '/', copy exactly.

# The characters each visual line of an element ends with (but the last), from the text's layout.
LINE_ENDS = """element => {
    const ends = [];
    let lastTop = null, lastChar = null;
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (!rect) continue;
            if (lastTop !== null && rect.top > lastTop + 2) ends.push(lastChar);
            lastTop = rect.top;
            lastChar = node.data[i];
        }
    }
    return ends;
}"""


def test_arns_wrap_only_after_colons_and_slashes_on_a_phone(phone_page, scene):
    page = phone_page
    page.goto(f"/queues/{scene['standard']}/")
    for selector in ("#queue-arn", "#queue-url"):
        code = page.locator(selector)
        ends = code.evaluate(LINE_ENDS)
        assert ends, f"{selector} fits one line at 375 px; the test needs it to wrap"
        assert set(ends) <= {":", "/"}, f"{selector} wraps after {ends}"
        box = code.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]


def test_copy_buttons_copy_the_exact_arn(browser, roost_server, operator_state, scene):
    context = new_context(
        browser,
        roost_server.url,
        operator_state,
        permissions=["clipboard-read", "clipboard-write"],
    )
    try:
        page = _watched_page(context)
        page.goto(f"/queues/{scene['standard']}/")
        page.get_by_role("button", name="Copy the queue ARN").click()
        expect(toast(page, "Copied.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == scene["standard_arn"]

        page.goto(f"/topics/{scene['topic']}/")
        page.get_by_role("button", name="Copy the topic ARN").click()
        expect(toast(page, "Copied.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == scene["topic_arn"]
        page.get_by_role("button", name=f"Copy the endpoint {scene['hook_url']}").click()
        expect(toast(page, "Copied.").nth(1)).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == scene["hook_url"]
        assert not page.js_errors
    finally:
        context.close()


# FIFO-only options.


def test_content_based_deduplication_is_offered_only_for_fifo_queues(operator_page):
    page = operator_page
    page.goto("/")
    page.locator("summary", has_text="Create queue").click()
    form = page.locator("#create-queue")
    deduplication = form.get_by_label("Content-based deduplication (FIFO)")
    expect(deduplication).to_be_disabled()
    form.get_by_label("FIFO queue").check()
    expect(deduplication).to_be_enabled()
    deduplication.check()
    form.get_by_label("FIFO queue").uncheck()
    expect(deduplication).to_be_disabled()
    form.get_by_label("Name", exact=True).fill("ledger.fifo")
    expect(deduplication).to_be_enabled()


def test_a_standard_queue_offers_no_fifo_fields(operator_page, scene):
    page = operator_page
    page.goto(f"/queues/{scene['standard']}/")
    send = page.locator("#send-form")
    expect(send.get_by_label("Body", exact=True)).to_have_count(1)
    expect(send.get_by_label("Message group id")).to_have_count(0)
    expect(send.get_by_label("Deduplication id")).to_have_count(0)
    expect(page.locator("#settings")).not_to_contain_text("Content-based deduplication")
    page.goto(f"/queues/{scene['fifo']}/")
    expect(page.locator("#send-form").get_by_label("Message group id")).to_have_count(1)
    expect(page.locator("#settings")).to_contain_text("Content-based deduplication")


# Toasts.

# Controls on screen whose middle is under a toast.
COVERED_CONTROLS = """() => {
    const covered = [];
    const controls = "button, a[href], input, select, textarea, summary, [tabindex]";
    for (const control of document.querySelectorAll(controls)) {
        if (control.closest("#toasts")) continue;
        const box = control.getBoundingClientRect();
        if (!box.width || !box.height || box.bottom < 0 || box.top > innerHeight) continue;
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        if (hit && hit.closest("#toasts")) covered.push(control.outerHTML.slice(0, 100));
    }
    return covered;
}"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 800}], ids=["phone", "wide"])
def test_toasts_never_cover_a_control(browser, roost_server, operator_state, scene, viewport):
    context = new_context(
        browser,
        roost_server.url,
        operator_state,
        viewport=viewport,
        permissions=["clipboard-read", "clipboard-write"],
    )
    try:
        page = _watched_page(context)
        page.goto(f"/queues/{scene['standard']}/")
        copy = page.get_by_role("button", name="Copy the queue ARN")
        for count in range(1, 4):
            copy.click()
            expect(toast(page, "Copied.")).to_have_count(count)
        for scroll in ("0", "document.body.scrollHeight / 2", "document.body.scrollHeight"):
            page.evaluate(f"window.scrollTo(0, {scroll})")
            assert page.evaluate(COVERED_CONTROLS) == [], f"toasts cover controls at {scroll}"
        # The bottom corner where toasts used to float: the last control there takes a click.
        purge = page.get_by_role("link", name="Purge messages…")
        purge.scroll_into_view_if_needed()
        purge.click(trial=True)
        assert not page.js_errors
    finally:
        context.close()
