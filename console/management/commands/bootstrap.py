"""Create the first admin and access key of a fresh install, then say where Roost answers."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from console.access_keys import create_access_key
from console.models import AccessKey

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Create an admin user and an access key if none exist (printing their secrets once), "
        "then print the console URL and the boto3 endpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="Port the server listens on (default: $PORT or 8000).",
        )

    def handle(self, *args, port, **options):
        self._ensure_admin()
        self._ensure_access_key()
        endpoint = f"http://127.0.0.1:{port}"
        self.stdout.write("")
        self.stdout.write(f"Roost console:  {endpoint}/")
        self.stdout.write(
            f'SQS endpoint:   boto3.client("sqs", endpoint_url="{endpoint}", '
            f'region_name="{settings.ROOST_REGION}")'
        )
        self.stdout.write("")

    def _ensure_admin(self):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("Keeping the existing admin user; its password is not shown again.")
            return
        if users.filter(username=ADMIN_USERNAME).exists():
            self.stdout.write(
                self.style.WARNING(
                    f"No superuser exists but a user named {ADMIN_USERNAME!r} does; "
                    "create one with `manage.py createsuperuser`."
                )
            )
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(ADMIN_USERNAME, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS("Created the console admin (shown once, save it now):")
        )
        self.stdout.write(f"  user:     {ADMIN_USERNAME}")
        self.stdout.write(f"  password: {password}")

    def _ensure_access_key(self):
        if AccessKey.objects.exists():
            self.stdout.write(
                "Keeping the existing access keys; their secrets are not shown again "
                "(create another with `manage.py createaccesskey`)."
            )
            return
        key, secret = create_access_key(name="bootstrap")
        self.stdout.write(self.style.SUCCESS("Created an access key (shown once, save it now):"))
        self.stdout.write(f"  AWS_ACCESS_KEY_ID={key.access_key_id}")
        self.stdout.write(f"  AWS_SECRET_ACCESS_KEY={secret}")
