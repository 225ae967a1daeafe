"""Create the first admin and access key of a fresh install, then say where Roost answers.

Their secrets go to one file in the data directory, readable only by its owner, and never to the
command's output: `manage.py serve` (what `make run` runs) shows that file once Roost answers, so
the secrets are the last thing on the screen rather than buried under the processes' banners.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from console.access_keys import create_access_key
from console.models import AccessKey

ADMIN_USERNAME = "admin"
CREDENTIALS_FILENAME = "first-start-credentials.txt"


def credentials_path():
    """Where bootstrap writes the first admin's password and the first access key."""
    return Path(settings.DATA_DIR) / CREDENTIALS_FILENAME


def write_private(path, text):
    """Write text to path, readable and writable by its owner only (0600) from the start.

    The file is created under a temporary name with os.open(..., 0o600), so no other user can
    ever open it, and then renamed over path.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def credentials_text(endpoint, admin_password=None, access_key=None):
    """The credentials file's content: what was created on this start, and how to use it."""
    lines = [f"Roost console:  {endpoint}/"]
    if admin_password is not None:
        lines += [f"  user:         {ADMIN_USERNAME}", f"  password:     {admin_password}"]
    if access_key is not None:
        access_key_id, secret = access_key
        lines += [
            "",
            "Access key (for boto3, the AWS CLI and the REST API):",
            f"  AWS_ACCESS_KEY_ID={access_key_id}",
            f"  AWS_SECRET_ACCESS_KEY={secret}",
        ]
    return "\n".join(lines) + "\n"


def bootstrap(endpoint, out, style):
    """Create the admin and the access key that do not exist yet; write the secrets of what was
    created to credentials_path() and return that path, or return None when nothing was created.

    `out` is called with each line to show; no line holds a secret.
    """
    admin_password = _ensure_admin(out, style)
    access_key = _ensure_access_key(out)
    path = credentials_path()
    if admin_password is None and access_key is None:
        if path.exists():
            out(f"The first-start credentials are still in {path}; delete it once they are saved.")
        return None
    write_private(path, credentials_text(endpoint, admin_password, access_key))
    out(style.SUCCESS(f"Wrote their secrets to {path} (readable only by you)."))
    return path


def _ensure_admin(out, style):
    users = get_user_model().objects
    if users.filter(is_superuser=True).exists():
        out("Keeping the existing admin user; its password is not shown again.")
        return None
    if users.filter(username=ADMIN_USERNAME).exists():
        out(
            style.WARNING(
                f"No superuser exists but a user named {ADMIN_USERNAME!r} does; "
                "create one with `manage.py createsuperuser`."
            )
        )
        return None
    password = secrets.token_urlsafe(12)
    users.create_superuser(ADMIN_USERNAME, email="", password=password)
    out(style.SUCCESS(f"Created the console admin {ADMIN_USERNAME!r}."))
    return password


def _ensure_access_key(out):
    if AccessKey.objects.exists():
        out(
            "Keeping the existing access keys; their secrets are not shown again "
            "(create another with `manage.py createaccesskey`)."
        )
        return None
    key, secret = create_access_key(name="bootstrap")
    out(f"Created the access key {key.access_key_id}.")
    return key.access_key_id, secret


def endpoint_for(port):
    return f"http://127.0.0.1:{port}"


class Command(BaseCommand):
    help = (
        "Create an admin user and an access key if none exist, writing their secrets to "
        f"{CREDENTIALS_FILENAME} in the data directory (mode 0600), "
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
        endpoint = endpoint_for(port)
        bootstrap(endpoint, self.stdout.write, self.style)
        self.stdout.write("")
        self.stdout.write(f"Roost console:  {endpoint}/")
        self.stdout.write(
            f'SQS endpoint:   boto3.client("sqs", endpoint_url="{endpoint}", '
            f'region_name="{settings.ROOST_REGION}")'
        )
        self.stdout.write("")
