"""Merge subscriptions of one endpoint to one topic, before the unique constraint forbids them.

Concurrent Subscribe calls could make two rows for one (topic, protocol, endpoint), and each got
its own delivery of every message. The oldest confirmed row (else the oldest) stays; the others'
deliveries move to it, except pending ones the endpoint would then get twice: those of a message
it has already been delivered, and all but one pending delivery of each message.
"""

from django.db import migrations
from django.db.models import Count

CHUNK = 500


def _chunks(ids):
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def merge_duplicate_subscriptions(apps, schema_editor):
    Subscription = apps.get_model("notifications", "Subscription")
    Delivery = apps.get_model("notifications", "Delivery")
    groups = (
        Subscription.objects.order_by()
        .values("topic_id", "protocol", "endpoint")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
    )
    for group in list(groups):
        members = list(
            Subscription.objects.filter(
                topic_id=group["topic_id"], protocol=group["protocol"], endpoint=group["endpoint"]
            )
            .order_by("id")
            .values_list("id", "status")
        )
        keeper = next((pk for pk, status in members if status == "confirmed"), members[0][0])
        others = [pk for pk, _status in members if pk != keeper]
        deliveries = list(
            Delivery.objects.filter(subscription_id__in=[pk for pk, _status in members])
            .order_by("id")
            .values_list("id", "subscription_id", "message_id", "status")
        )
        delivered = {message for _pk, _sub, message, status in deliveries if status == "delivered"}
        # The keeper's own pending delivery of a message is the one kept, if it has one.
        pending = sorted(
            (delivery for delivery in deliveries if delivery[3] == "pending"),
            key=lambda delivery: (delivery[1] != keeper, delivery[0]),
        )
        owed, dropped = set(), []
        for pk, _subscription, message, _status in pending:
            if message in delivered or message in owed:
                dropped.append(pk)
            else:
                owed.add(message)
        for ids in _chunks(dropped):
            Delivery.objects.filter(pk__in=ids).delete()
        for ids in _chunks(others):
            Delivery.objects.filter(subscription_id__in=ids).update(subscription_id=keeper)
            Subscription.objects.filter(pk__in=ids).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(merge_duplicate_subscriptions, migrations.RunPython.noop),
    ]
