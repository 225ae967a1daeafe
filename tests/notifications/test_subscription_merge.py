"""The migration that merges duplicate subscriptions before Subscribe's unique constraint.

Runs on the unit tests' database: SQLite, or PostgreSQL in CI's PostgreSQL leg, where the merge
and the new constraint must run in separate transactions.
"""

import itertools

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("notifications", "0001_initial")]
_numbers = itertools.count(1)


def migrate(targets=None):
    """Migrate the test database to `targets` (default: the latest); return the state's apps."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    """The models as they were before the constraint, on a database migrated back to then."""
    apps = migrate(BEFORE)
    yield apps
    migrate()


class Rows:
    """Rows written through the old models, with just the fields the merge reads."""

    def __init__(self, apps):
        self.Topic = apps.get_model("notifications", "Topic")
        self.Subscription = apps.get_model("notifications", "Subscription")
        self.Message = apps.get_model("notifications", "PublishedMessage")
        self.Delivery = apps.get_model("notifications", "Delivery")
        self.topic = self.Topic.objects.create(name="merged")

    def subscription(self, endpoint, status, protocol="http"):
        number = next(_numbers)
        return self.Subscription.objects.create(
            topic=self.topic,
            uuid=f"00000000-0000-0000-0000-{number:012d}",
            protocol=protocol,
            endpoint=endpoint,
            status=status,
            confirmation_token=f"token-{number}",
            unsubscribe_token=f"unsubscribe-{number}",
        ).pk

    def message(self):
        number = next(_numbers)
        return self.Message.objects.create(
            topic=self.topic, message_id=f"message-{number}", message="m", published_at=number
        ).pk

    def delivery(self, subscription, message, status, protocol="http"):
        return self.Delivery.objects.create(
            subscription_id=subscription,
            message_id=message,
            protocol=protocol,
            status=status,
            next_attempt_at=0,
            created_at=0,
        ).pk


def test_merge_keeps_the_oldest_confirmed_subscription_and_owes_each_message_once(old_apps):
    rows = Rows(old_apps)
    hook = "http://example.com/hook"
    pending_first = rows.subscription(hook, "pending")
    keeper = rows.subscription(hook, "confirmed")
    duplicate = rows.subscription(hook, "confirmed")
    queue = "arn:aws:sqs:us-east-1:000000000000:q"
    queue_keeper = rows.subscription(queue, "confirmed", protocol="sqs")
    queue_duplicate = rows.subscription(queue, "confirmed", protocol="sqs")
    alone = rows.subscription("http://example.com/other", "confirmed")
    both_pending, only_duplicate, keeper_delivered, duplicate_delivered, failed = (
        rows.message() for _ in range(5)
    )
    kept = {
        # Both owed it: the keeper's own delivery stays, the duplicate's goes.
        rows.delivery(keeper, both_pending, "pending"): (both_pending, "pending"),
        # Only the duplicate owed it: its delivery moves over, still pending.
        rows.delivery(duplicate, only_duplicate, "pending"): (only_duplicate, "pending"),
        rows.delivery(keeper, keeper_delivered, "delivered"): (keeper_delivered, "delivered"),
        # Delivered through the duplicate: the record moves over.
        rows.delivery(duplicate, duplicate_delivered, "delivered"): (
            duplicate_delivered,
            "delivered",
        ),
        rows.delivery(duplicate, failed, "failed"): (failed, "failed"),
    }
    dropped = [
        rows.delivery(duplicate, both_pending, "pending"),
        # The endpoint has these already: delivering them again would be twice.
        rows.delivery(duplicate, keeper_delivered, "pending"),
        rows.delivery(keeper, duplicate_delivered, "pending"),
    ]
    queue_rows = [
        rows.delivery(queue_keeper, both_pending, "delivered", protocol="sqs"),
        rows.delivery(queue_duplicate, both_pending, "delivered", protocol="sqs"),
    ]
    alone_row = rows.delivery(alone, both_pending, "pending")

    apps = migrate()

    Subscription = apps.get_model("notifications", "Subscription")
    Delivery = apps.get_model("notifications", "Delivery")
    assert set(Subscription.objects.values_list("pk", flat=True)) == {keeper, queue_keeper, alone}
    assert not Subscription.objects.filter(pk__in=[pending_first, duplicate]).exists()
    assert {
        pk: (message, status)
        for pk, message, status in Delivery.objects.filter(subscription_id=keeper).values_list(
            "pk", "message_id", "status"
        )
    } == kept
    assert not Delivery.objects.filter(pk__in=dropped).exists()
    assert set(
        Delivery.objects.filter(subscription_id=queue_keeper).values_list("pk", flat=True)
    ) == set(queue_rows)
    assert list(Delivery.objects.filter(subscription_id=alone).values_list("pk", flat=True)) == [
        alone_row
    ]
    # And from now on the database itself refuses a second subscription of the endpoint.
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            topic_id=rows.topic.pk,
            uuid="another",
            protocol="http",
            endpoint=hook,
            confirmation_token="another",
            unsubscribe_token="another",
        )


def test_merge_of_pending_duplicates_keeps_the_oldest(old_apps):
    rows = Rows(old_apps)
    oldest = rows.subscription("someone@example.com", "pending", protocol="email")
    rows.subscription("someone@example.com", "pending", protocol="email")

    apps = migrate()

    Subscription = apps.get_model("notifications", "Subscription")
    assert list(Subscription.objects.values_list("pk", flat=True)) == [oldest]
