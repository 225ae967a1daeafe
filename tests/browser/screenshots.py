"""Take the console screenshots in docs/screenshots/: `.venv/bin/python -m tests.browser.screenshots`.

Starts a fresh Roost (server and worker, in a temporary directory, on SQLite unless DATABASE_URL
says otherwise), fills it with a few queues, a dead-letter queue with a move task under way, a
topic with a failing web hook and some access keys, and saves 1280x800 PNGs of each main page.
It also follows one order message through its life (received by two keys, dead-lettered and
redriven), leaves a poison message in flight, previews a selective redrive, tries a filter policy
on the topic's messages, purges a queue from the console, and sets an alarm off.

A fresh server has no history, so the "orders" queue's minutes over the past 24 hours are seeded
(sends, receives, deletes, a few dead letters, the depths and the oldest message's age: a day's
traffic with a morning rush that is draining, ending at today's depth); the alarm is then
evaluated by hand, as beat does each minute. Everything else on the pictures is real.
"""

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import (
    CHROMIUM_ARGS,
    OPERATOR,
    PASSWORD,
    create_console_users,
    find_chromium,
    new_context,
)
from tests.browser.endpoints import FailingEndpoint
from tests.browser.locators import expect_live, stat
from tests.conftest import TEST_REGION, live_server, live_worker

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WORKER_SECRET = "orders-worker-secret-0123456789"
# What beat does each minute: record the minute's depths, then evaluate the alarms on them.
EVALUATE = (
    "from queues import history; from notifications import service; "
    "history.record_queue_history(); service.evaluate_alarms()"
)
NO_RETRIES = {"healthyRetryPolicy": {"numRetries": 0, "minDelayTarget": 1, "maxDelayTarget": 1}}

# The chart's past 24 hours for "orders": a day's traffic and a morning rush that is draining,
# ending at today's depth.
SEED_CHART = """
import math
from queues import activity
from queues.models import Queue, QueueActivity
queue = Queue.objects.get(name="orders")
now = activity.current_minute()
rows = []
for age in range(24 * 60, 0, -1):
    rush = (
        math.exp(-((age - 35) / 12) ** 2)
        + 0.45 * math.exp(-((age - 540) / 100) ** 2)
        + 0.3 * math.exp(-((age - 1150) / 140) ** 2)
    )
    rows.append(QueueActivity(
        queue=queue, minute=now - age,
        sent=int(30 + 90 * rush + 6 * math.sin(age)),
        received=int(28 + 70 * rush + 5 * math.cos(age)),
        deleted=int(26 + 68 * rush + 5 * math.cos(age)),
        visible=int(VISIBLE + 140 * rush + 4 * math.sin(age / 3)),
        in_flight=int(IN_FLIGHT + 12 * rush), delayed=0,
        dead_lettered=int(rush > 0.3 and age % 29 == 0), oldest_age=int(20 + 240 * rush),
    ))
QueueActivity.objects.bulk_create(
    rows, update_conflicts=True, unique_fields=["queue", "minute"],
    update_fields=[
        "sent", "received", "deleted", "dead_lettered", "visible", "in_flight", "delayed",
        "oldest_age",
    ],
)
"""


def _clients(server, key_id=None, secret=None):
    options = {
        "endpoint_url": server.url,
        "region_name": TEST_REGION,
        "aws_access_key_id": key_id or server.access_key_id,
        "aws_secret_access_key": secret or server.secret,
        "config": Config(retries={"total_max_attempts": 1}),
    }
    return boto3.client("sqs", **options), boto3.client("sns", **options)


def _rest(server, method, path, payload):
    """One call to the REST API with the server's access key; its JSON answer."""
    request = urllib.request.Request(
        f"{server.url}/api{path}",
        method=method,
        data=json.dumps(payload).encode(),
        headers={
            "Authorization": f"Bearer {server.access_key_id}:{server.secret}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def populate(server, sqs, sns, hook):
    """Queues with messages, a dead-letter queue, a topic with subscribers, access keys.

    Returns what the pictures need: the web hook's subscription id, the traced order's
    MessageId and the ARN of the queue the topic delivers to.
    """
    created = server.manage(
        "createaccesskey",
        "--name",
        "orders-worker",
        "--starter",
        "consumer",
        "--pattern",
        "orders*",
        "--secret",
        WORKER_SECRET,
    ).stdout
    worker_id = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", created).group(1)
    worker, _ = _clients(server, worker_id, WORKER_SECRET)
    server.manage("createaccesskey", "--name", "billing-service")
    server.manage("createaccesskey", "--name", "ci-pipeline")

    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": 5})
    orders = sqs.create_queue(
        QueueName="orders", Attributes={"RedrivePolicy": policy, "VisibilityTimeout": "60"}
    )["QueueUrl"]
    emails = sqs.create_queue(QueueName="emails")["QueueUrl"]
    sqs.create_queue(QueueName="payments.fifo", Attributes={"FifoQueue": "true"})
    thumbnails = sqs.create_queue(QueueName="thumbnails")["QueueUrl"]
    newsletters = sqs.create_queue(QueueName="newsletters")["QueueUrl"]

    # Broken orders: the worker takes them, fails, and they are dead-lettered after five receives.
    traced = None
    for number, sku in enumerate(["MUG-01", "TEE-M", "MUG-01", "CAP-02", "MUG-01"]):
        body = {"order": 1040 + number, "sku": sku, "quantity": -1}
        sent = sqs.send_message(QueueUrl=orders, MessageBody=json.dumps(body))
        traced = traced or sent["MessageId"]
    worker.receive_message(QueueUrl=orders, MaxNumberOfMessages=10, VisibilityTimeout=0)
    taken = sqs.receive_message(QueueUrl=orders, MaxNumberOfMessages=10, VisibilityTimeout=30)
    for message in taken.get("Messages", []):  # given back at once
        sqs.change_message_visibility(
            QueueUrl=orders, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    for _ in range(10):
        sqs.receive_message(QueueUrl=orders, MaxNumberOfMessages=10, VisibilityTimeout=0)

    # A poison message: received over and over, in flight again.
    poison = sqs.send_message(
        QueueUrl=orders, MessageBody=json.dumps({"order": 1099, "sku": "MUG-01", "quantity": "x"})
    )["MessageId"]
    for timeout in (0, 0, 0, 600):
        worker.receive_message(QueueUrl=orders, MaxNumberOfMessages=1, VisibilityTimeout=timeout)
    for number in range(14):
        body = {"order": 1100 + number, "sku": ["MUG-01", "TEE-M", "CAP-02"][number % 3]}
        sqs.send_message(
            QueueUrl=orders,
            MessageBody=json.dumps(body),
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": "web-shop"},
                "priority": {"DataType": "Number", "StringValue": str(1 + number % 3)},
            },
        )
    done = worker.receive_message(QueueUrl=orders, MaxNumberOfMessages=4, VisibilityTimeout=60)
    for message in done.get("Messages", []):
        if message["MessageId"] == poison:
            sys.exit("the poison message was received again: it should be in flight")
        worker.delete_message(QueueUrl=orders, ReceiptHandle=message["ReceiptHandle"])
    sqs.receive_message(QueueUrl=orders, MaxNumberOfMessages=3, VisibilityTimeout=600)
    for number in range(4):
        sqs.send_message(QueueUrl=thumbnails, MessageBody=f"img/{number}.png", DelaySeconds=900)
    sqs.send_message(QueueUrl=emails, MessageBody="Welcome aboard!")

    topic = sns.create_topic(Name="order-events")["TopicArn"]
    sns.create_topic(Name="ops-alerts")
    emails_arn = _arn(sqs, emails)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=emails_arn)
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    hook_arn = sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=hook.url, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    if not hook.confirmed.wait(10):
        sys.exit("the web hook never got its subscription confirmation")
    sns.set_subscription_attributes(
        SubscriptionArn=hook_arn,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(NO_RETRIES),
    )
    events = [
        ("Order placed", "placed", "web-shop", 1110),
        ("Order shipped", "shipped", "web-shop", 1100),
        ("Order placed", "placed", "mobile-app", 1111),
        ("Order refunded", "refunded", "web-shop", 1101),
        ("Order shipped", "shipped", "mobile-app", 1102),
        ("Order placed", "placed", "web-shop", 1112),
    ]
    for subject, event, store, order in events:
        sns.publish(
            TopicArn=topic,
            Subject=subject,
            Message=json.dumps({"order": order, "event": event}),
            MessageAttributes={
                "event": {"DataType": "String", "StringValue": event},
                "store": {"DataType": "String", "StringValue": store},
            },
        )

    for number in range(6):
        sqs.send_message(QueueUrl=newsletters, MessageBody=f"Issue {number + 1}")
    sqs.purge_queue(QueueUrl=newsletters)
    # A queue made through the REST API, for the console purge (so the others keep their data).
    _rest(server, "POST", "/queues", {"name": "imports"})
    for number in range(20):
        _rest(server, "POST", "/queues/imports/messages", {"body": f"row {number + 1} of batch 7"})

    stats = sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["All"])["Attributes"]
    seed = SEED_CHART.replace("VISIBLE", stats["ApproximateNumberOfMessages"]).replace(
        "IN_FLIGHT", stats["ApproximateNumberOfMessagesNotVisible"]
    )
    server.manage("shell", "--no-imports", "-c", seed)
    return hook_arn.rsplit(":", 1)[1], traced, emails_arn


def _scroll_to(page, selector):
    page.evaluate(f"document.querySelector({selector!r}).scrollIntoView({{block: 'start'}})")
    page.evaluate("window.scrollBy(0, -16)")


def _clear_toasts(page):
    page.locator("#toasts .toast").evaluate_all("toasts => toasts.forEach(t => t.remove())")


def take(browser, server, out, seeded):
    """Save one PNG per page into `out`."""
    hook_uuid, traced, emails_arn = seeded
    out.mkdir(parents=True, exist_ok=True)

    def shoot(page, name):
        page.mouse.move(0, 0)
        page.screenshot(path=out / f"{name}.png")
        print(out / f"{name}.png")

    context = new_context(browser, server.url)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(OPERATOR)
    shoot(page, "login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queues & topics")).to_be_visible()

    page.goto("/queues/orders/")
    expect(page.locator("#message-page tbody.message").first).to_be_visible()
    expect_live(page)
    shoot(page, "queue")
    _scroll_to(page, "#messages")
    shoot(page, "queue-messages")

    card = page.locator("#consumers-card")
    expect(card.locator(".poison-candidates li")).to_have_count(1)
    _scroll_to(page, "#consumers")
    shoot(page, "queue-consumers")

    page.locator("#message-page a.message-id").nth(3).click()
    expect(page.get_by_role("heading", name="Body")).to_be_visible()
    shoot(page, "message")

    page.goto(f"/topics/order-events/?log={hook_uuid}")
    expect(page.locator("#subscriptions .state-failed").first).to_be_visible()
    expect_live(page)
    shoot(page, "topic")
    _scroll_to(page, "section.delivery-log")
    shoot(page, "topic-delivery-log")

    page.goto("/topics/order-events/")
    expect_live(page)
    row = page.locator("#subscriptions tbody tr").filter(has_text=emails_arn)
    row.get_by_role("link", name=f"Edit the subscription of {emails_arn}").click()
    panel = page.locator("#subscription-panel")
    panel.get_by_text("Playground: try a policy on the topic's latest messages").click()
    policy = panel.get_by_label("Policy to try")
    results = panel.locator(".playground-results")
    expect(results).to_contain_text("Matches 6 of the latest 6 messages")
    policy.fill(json.dumps({"store": ["web-shop"], "event": ["placed", "shipped"]}, indent=2))
    try:  # htmx may not have wired the freshly loaded textarea up yet: then type again
        expect(results).to_contain_text("Matches 3 of the latest", timeout=2000)
    except AssertionError:
        policy.dispatch_event("input")
    expect(results).to_contain_text("Matches 3 of the latest")
    expect(results.locator("tr.not-matched").first).to_be_visible()
    policy.evaluate("textarea => { textarea.scrollTop = 0; textarea.blur(); }")
    expect(results).to_contain_text("Matches 3 of the latest")
    page.evaluate(
        "document.querySelector('#subscription-panel .playground-results')"
        ".scrollIntoView({block: 'end'})"
    )
    shoot(page, "filter-playground")

    page.goto("/access-keys/")
    shoot(page, "access-keys")

    page.get_by_role("row", name=re.compile("orders-worker")).get_by_role("link").first.click()
    simulator = page.locator("#simulator")
    simulator.get_by_label("Action").fill("sqs:PurgeQueue")
    simulator.get_by_label("Resource").fill("arn:aws:sqs:us-east-1:000000000000:orders")
    simulator.get_by_role("button", name="Simulate").click()
    expect(page.locator("#simulation")).to_contain_text("Denied implicitly")
    _scroll_to(page, "#simulator")
    shoot(page, "access-key")

    page.goto("/queues/orders-dlq/")
    expect_live(page)
    page.get_by_text("Redrive selected messages, by filter").click()
    form = page.locator("#selective-redrive-form")
    form.get_by_label("JSON path").fill('$.sku == "MUG-01"')
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#redrive-plan-summary")).to_contain_text("3 messages match")
    sample = page.locator(".redrive-sample > li").first
    sample.get_by_text("Edit body").click()
    sample.locator("textarea").fill(json.dumps({"order": 1040, "sku": "MUG-01", "quantity": 1}))
    _scroll_to(page, "#redrive-plan")
    shoot(page, "selective-redrive")

    page.goto("/queues/orders-dlq/")
    expect_live(page)
    page.get_by_label("Messages per second").first.fill("1")
    page.get_by_role("button", name="Redrive all messages").click()
    progress = page.locator("#move-tasks progress")
    expect(progress).to_have_attribute("value", "2")
    expect(stat(page, "visible")).to_have_text("3")
    _clear_toasts(page)
    _scroll_to(page, "#redrive")
    shoot(page, "dead-letter-queue")
    expect(page.locator("#move-tasks tbody tr .state")).to_have_text("Completed")

    page.goto(f"/queues/orders/messages/{traced}/")
    expect(page.locator("#timeline li.timeline-event").last).to_contain_text("edrive")
    _scroll_to(page, "#timeline")
    shoot(page, "message-timeline")

    page.goto("/queues/orders/#alarms")
    expect_live(page)
    alarms = page.locator("#alarms")
    alarms.get_by_label("Name").fill("orders backlog")
    alarms.get_by_label("When").select_option("depth")
    alarms.get_by_label("Threshold").fill("10")
    alarms.get_by_label("For minutes").fill("1")
    alarms.get_by_label("Publish to topic").select_option("ops-alerts")
    alarms.get_by_role("button", name="Create alarm").click()
    expect(page.locator("#alarms tbody tr", has_text="orders backlog")).to_be_visible()
    server.manage("shell", "-c", EVALUATE)
    page.goto("/queues/orders/?range=24h")
    expect(page.locator("#queue-chart h2")).to_have_text("Last 24 hours")
    expect(page.locator("#alarms tbody tr", has_text="orders backlog")).to_contain_text(
        "Threshold Crossed"
    )
    expect_live(page)
    _scroll_to(page, "#queue-chart")
    shoot(page, "history-alarms")

    page.goto("/")
    expect(page.locator("#alarm-count")).to_contain_text("in ALARM")
    expect_live(page)
    shoot(page, "overview")

    page.goto("/queues/imports/")
    expect_live(page)
    expect(stat(page, "visible")).to_have_text("20")
    page.get_by_role("link", name="Purge messages…").click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("button", name="Purge imports").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#undo-banner")).to_contain_text("Purged 20 messages.")
    expect(page.locator("#trash tbody tr")).to_have_count(1)
    expect(stat(page, "visible")).to_have_text("0")
    _clear_toasts(page)
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "undo-purge")
    _scroll_to(page, "#trash")
    shoot(page, "trash")

    page.goto("/audit/")
    expect(page.locator("#audit-entries tbody tr").first).to_contain_text("PurgeQueue")
    _scroll_to(page, "#audit-entries")
    shoot(page, "audit-log")
    context.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to save (default {OUT})")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("No Chromium found: install Debian's chromium or set ROOST_CHROMIUM.")
    hook = FailingEndpoint()
    try:
        with live_server("shots") as server, live_worker(server):
            create_console_users(server)
            sqs, sns = _clients(server)
            seeded = populate(server, sqs, sns, hook)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                take(browser, server, args.out, seeded)
                browser.close()
    finally:
        hook.close()


if __name__ == "__main__":
    main()
