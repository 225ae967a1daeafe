# A migration of its own: on PostgreSQL the merge before it leaves deferred foreign-key checks
# pending, and a table with pending checks cannot be altered in the same transaction.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_merge_duplicate_subscriptions"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="subscription",
            constraint=models.UniqueConstraint(
                fields=("topic", "protocol", "endpoint"), name="subscription_unique_endpoint"
            ),
        ),
    ]
