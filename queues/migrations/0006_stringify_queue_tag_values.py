"""Queue tags whose values are not strings: numbers and booleans become strings, objects and
lists are dropped.

Older versions stored whatever a CreateQueue or TagQueue request sent as a tag value; SQS tags
are strings, and pages and APIs that read them expect strings.
"""

import json

from django.db import migrations


def _string_tags(tags):
    fixed = {}
    for key, value in tags.items():
        if isinstance(value, str):
            fixed[str(key)] = value
        elif isinstance(value, bool | int | float):
            fixed[str(key)] = json.dumps(value)
    return fixed


def stringify_tag_values(apps, schema_editor):
    Queue = apps.get_model("queues", "Queue")
    for queue in Queue.objects.exclude(tags={}).only("pk", "tags").iterator():
        tags = queue.tags if isinstance(queue.tags, dict) else {}
        fixed = _string_tags(tags)
        if fixed != queue.tags:
            Queue.objects.filter(pk=queue.pk).update(tags=fixed)


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0005_sweep_and_purge_indexes"),
    ]

    operations = [
        migrations.RunPython(stringify_tag_values, migrations.RunPython.noop, elidable=True),
    ]
