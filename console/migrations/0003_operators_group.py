"""Create the "Operators" group holding `console.operate`, the console's operator role."""

from django.db import migrations

GROUP = "Operators"


def create_operators_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Django creates permissions after all migrations ran (post_migrate), so make this one now;
    # post_migrate then finds it and leaves it alone.
    content_type, _ = ContentType.objects.get_or_create(app_label="console", model="consoleaccess")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="operate",
        defaults={"name": "Can change queues, topics, messages and access keys in the console"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def delete_operators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0002_console_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_operators_group, delete_operators_group)]
