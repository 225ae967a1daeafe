"""Access policies in a real browser: a key made from a starter policy, its policy edited (IAM's
message for a bad edit), the simulator naming the deciding statement, and a scoped console user
who sees only their own queues."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, _watched_page, log_in, new_context
from tests.browser.locators import toast

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def prefix():
    """A name prefix no other test uses."""
    return f"ap-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def team_queues(sqs_client, prefix):
    """Queues of two teams: <prefix>-orders-a, <prefix>-orders-b and <prefix>-payroll."""
    sqs = sqs_client("json")
    names = [f"{prefix}-orders-a", f"{prefix}-orders-b", f"{prefix}-payroll"]
    for name in names:
        sqs.create_queue(QueueName=name)
    return names


def _policy_with_a_deny(prefix):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendOrders",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:*:*:{prefix}-*",
                },
                {
                    "Sid": "KeepOffPayroll",
                    "Effect": "Deny",
                    "Action": "sqs:*",
                    "Resource": f"arn:aws:sqs:*:*:{prefix}-payroll",
                },
            ],
        },
        indent=2,
    )


def test_an_operator_makes_a_key_edits_its_policy_and_simulates_it(
    operator_page, team_queues, prefix
):
    page = operator_page
    page.goto("/access-keys/")
    form = page.locator("#create-key-form")
    form.get_by_label("Name").fill(f"{prefix} producer")
    # The pattern field shows only for the starters that need one.
    expect(form.get_by_label("Queues matching")).to_be_hidden()
    form.get_by_label("Permissions").select_option("producer")
    expect(form.get_by_label("Topic", exact=True)).to_be_hidden()
    form.get_by_label("Queues matching").fill(f"{prefix}-orders-*")
    form.get_by_role("button", name="Create access key").click()
    new_key = page.locator("#new-key")
    expect(new_key).to_be_visible()
    expect(new_key).to_contain_text("Policy: 1 statement")
    key_id = page.locator("#new-key-id").inner_text()

    new_key.get_by_role("link", name="Policy: 1 statement").click()
    expect(page).to_have_url(re.compile(rf"/access-keys/{key_id}/$"))
    editor = page.get_by_label("Policy document")
    expect(editor).to_have_value(re.compile(r'"Sid": "SendToQueues"'))
    expect(editor).to_have_value(re.compile(rf'"Resource": "arn:aws:sqs:\*:\*:{prefix}-orders-\*"'))

    # A bad edit: IAM's message beside the field, and nothing saved.
    editor.fill(editor.input_value().replace('"sqs:SendMessage"', '"SendMessage"'))
    page.get_by_role("button", name="Save policy").click()
    error = page.locator("#policy .field-error")
    expect(error).to_have_text(
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    )
    page.reload()
    expect(page.get_by_label("Policy document")).to_have_value(re.compile('"sqs:SendMessage"'))

    page.get_by_label("Policy document").fill(_policy_with_a_deny(prefix))
    page.get_by_role("button", name="Save policy").click()
    expect(toast(page, f"Saved the policy of {key_id}")).to_be_visible()
    expect(page.locator("#policy-summary")).to_contain_text("Policy: 2 statements")

    # Removing the policy asks first, with Cancel focused.
    page.get_by_role("button", name="Remove policy (full access)").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # The simulator: suggestions as a name is typed, the deciding statement shown.
    simulator = page.locator("#simulator")
    simulator.get_by_label("Action").fill("sqs:SendMessage")
    resource = simulator.get_by_label("Resource")
    resource.press_sequentially(f"{prefix}-pay")
    payroll_option = page.locator(f'#resource-suggestions option[value$=":{prefix}-payroll"]')
    expect(payroll_option).to_have_count(1)
    resource.fill(payroll_option.get_attribute("value"))
    simulator.get_by_role("button", name="Simulate").click()
    result = page.locator("#simulation")
    expect(result).to_contain_text("Denied explicitly")
    expect(result).to_contain_text("statement 2, Sid KeepOffPayroll")
    expect(page.locator("#deciding-statement")).to_contain_text('"Effect": "Deny"')

    simulator = page.locator("#simulator")
    simulator.get_by_label("Resource").fill(f"arn:aws:sqs:us-east-1:000000000000:{prefix}-orders-a")
    simulator.get_by_role("button", name="Simulate").click()
    expect(page.locator("#simulation")).to_contain_text("Allowed")
    expect(page.locator("#deciding-statement")).to_contain_text('"Sid": "SendOrders"')

    simulator = page.locator("#simulator")
    simulator.get_by_label("Action").fill("sqs:ReceiveMessage")
    simulator.get_by_role("button", name="Simulate").click()
    expect(page.locator("#simulation")).to_contain_text("Denied implicitly")
    expect(page.locator("#deciding-statement")).to_have_count(0)


def test_a_scoped_console_user_sees_only_their_queues(browser, roost_server, team_queues, prefix):
    username = f"{prefix}-team"
    roost_server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        "from console.models import UserScope\n"
        f"user = User.objects.create_user({username!r}, password={PASSWORD!r})\n"
        "user.groups.add(Group.objects.get(name='Operators'))\n"
        f"UserScope.objects.create(user=user, queue_patterns={prefix + '-orders-*'!r})\n",
    )
    context = new_context(browser, roost_server.url)
    try:
        page = _watched_page(context)
        log_in(page, username)
        expect(page.locator("#scope-notice")).to_contain_text(
            f"You see queues matching {prefix}-orders-*"
        )
        rows = page.locator('#queue-list tr[id^="queue-"] th[scope="row"] a')
        expect(rows).to_have_text([f"{prefix}-orders-a", f"{prefix}-orders-b"])
        expect(page.locator("#queue-count")).to_have_text("2")
        expect(page.get_by_role("link", name="Access keys")).to_have_count(0)

        assert page.goto(f"/queues/{prefix}-payroll/").status == 404
        assert page.goto(f"/queues/{prefix}-orders-a/").status == 200
        assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"
    finally:
        context.close()
