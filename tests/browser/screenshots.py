"""Take the console screenshots in docs/screenshots/: `.venv/bin/python -m tests.browser.screenshots`.

Starts a fresh Roost (server and worker, in a temporary directory, on SQLite unless DATABASE_URL
says otherwise), fills it with a few queues, a dead-letter queue with a move task under way, a
topic with a failing web hook and some access keys, and saves 1280x800 PNGs of each main page.
A fresh server has no history, so the queue chart's past hour is seeded; everything else on the
pictures is real.
"""

import argparse
import json
import re
import sys
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
NO_RETRIES = {"healthyRetryPolicy": {"numRetries": 0, "minDelayTarget": 1, "maxDelayTarget": 1}}

# The chart's past hour for "orders": a morning rush that is draining, ending at today's depth.
SEED_CHART = """
import math
from queues import activity
from queues.models import Queue, QueueActivity
queue = Queue.objects.get(name="orders")
now = activity.current_minute()
rows = []
for age in range(60, 0, -1):
    rush = math.exp(-((age - 35) / 12) ** 2)
    rows.append(QueueActivity(
        queue=queue, minute=now - age,
        sent=int(30 + 90 * rush + 6 * math.sin(age)),
        received=int(28 + 70 * rush + 5 * math.cos(age)),
        deleted=int(26 + 68 * rush + 5 * math.cos(age)),
        visible=int(VISIBLE + 140 * rush + 4 * math.sin(age / 3)),
        in_flight=int(IN_FLIGHT + 12 * rush), delayed=0,
    ))
QueueActivity.objects.bulk_create(
    rows, update_conflicts=True, unique_fields=["queue", "minute"],
    update_fields=["sent", "received", "deleted", "visible", "in_flight", "delayed"],
)
"""


def _clients(server):
    options = {
        "endpoint_url": server.url,
        "region_name": TEST_REGION,
        "aws_access_key_id": server.access_key_id,
        "aws_secret_access_key": server.secret,
        "config": Config(retries={"total_max_attempts": 1}),
    }
    return boto3.client("sqs", **options), boto3.client("sns", **options)


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def populate(server, sqs, sns, hook):
    """Queues with messages, a dead-letter queue, a topic with subscribers, access keys."""
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": 2})
    orders = sqs.create_queue(
        QueueName="orders", Attributes={"RedrivePolicy": policy, "VisibilityTimeout": "60"}
    )["QueueUrl"]
    emails = sqs.create_queue(QueueName="emails")["QueueUrl"]
    sqs.create_queue(QueueName="payments.fifo", Attributes={"FifoQueue": "true"})
    thumbnails = sqs.create_queue(QueueName="thumbnails")["QueueUrl"]

    for number in range(5):
        body = {"order": 1040 + number, "sku": "MUG-01", "quantity": -1}
        sqs.send_message(QueueUrl=orders, MessageBody=json.dumps(body))
    for _ in range(10):  # the broken ones fail twice and are dead-lettered
        sqs.receive_message(QueueUrl=orders, MaxNumberOfMessages=10, VisibilityTimeout=0)
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
    sqs.receive_message(QueueUrl=orders, MaxNumberOfMessages=3, VisibilityTimeout=600)
    for number in range(4):
        sqs.send_message(QueueUrl=thumbnails, MessageBody=f"img/{number}.png", DelaySeconds=900)
    sqs.send_message(QueueUrl=emails, MessageBody="Welcome aboard!")

    topic = sns.create_topic(Name="order-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, emails))
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
    for number, subject in enumerate(["Order shipped", "Order refunded"]):
        sns.publish(TopicArn=topic, Subject=subject, Message=json.dumps({"order": 1100 + number}))

    server.manage("createaccesskey", "--name", "billing-service")
    server.manage("createaccesskey", "--name", "ci-pipeline")
    server.manage(
        "createaccesskey",
        "--name",
        "orders-worker",
        "--starter",
        "consumer",
        "--pattern",
        "orders*",
    )
    stats = sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["All"])["Attributes"]
    seed = SEED_CHART.replace("VISIBLE", stats["ApproximateNumberOfMessages"]).replace(
        "IN_FLIGHT", stats["ApproximateNumberOfMessagesNotVisible"]
    )
    server.manage("shell", "--no-imports", "-c", seed)
    return hook_arn.rsplit(":", 1)[1]


def take(browser, server, out, hook_uuid):
    """Save one PNG per page into `out`."""
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
    expect_live(page)
    shoot(page, "overview")

    page.goto("/queues/orders/")
    expect(page.locator("#message-page tbody.message").first).to_be_visible()
    expect_live(page)
    shoot(page, "queue")
    page.evaluate("document.getElementById('messages').scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -16)")
    shoot(page, "queue-messages")

    page.locator("#message-page a.message-id").nth(3).click()
    expect(page.get_by_role("heading", name="Body")).to_be_visible()
    shoot(page, "message")

    page.goto(f"/topics/order-events/?log={hook_uuid}")
    expect(page.locator("#subscriptions .state-failed").first).to_be_visible()
    expect_live(page)
    shoot(page, "topic")
    page.evaluate("document.querySelector('section.delivery-log').scrollIntoView()")
    page.evaluate("window.scrollBy(0, -16)")
    shoot(page, "topic-delivery-log")

    page.goto("/access-keys/")
    shoot(page, "access-keys")

    page.get_by_role("row", name=re.compile("orders-worker")).get_by_role("link").first.click()
    simulator = page.locator("#simulator")
    simulator.get_by_label("Action").fill("sqs:PurgeQueue")
    simulator.get_by_label("Resource").fill("arn:aws:sqs:us-east-1:000000000000:orders")
    simulator.get_by_role("button", name="Simulate").click()
    expect(page.locator("#simulation")).to_contain_text("Denied implicitly")
    page.evaluate("document.getElementById('simulator').scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -16)")
    shoot(page, "access-key")

    page.goto("/queues/orders-dlq/")
    expect_live(page)
    page.get_by_label("Messages per second").fill("1")
    page.get_by_role("button", name="Redrive all messages").click()
    progress = page.locator("#move-tasks progress")
    expect(progress).to_have_attribute("value", "2")
    expect(stat(page, "visible")).to_have_text("3")
    page.locator("#toasts .toast").evaluate_all("toasts => toasts.forEach(t => t.remove())")
    page.evaluate("document.getElementById('redrive').scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -16)")
    shoot(page, "dead-letter-queue")
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
            hook_uuid = populate(server, sqs, sns, hook)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                take(browser, server, args.out, hook_uuid)
                browser.close()
    finally:
        hook.close()


if __name__ == "__main__":
    main()
