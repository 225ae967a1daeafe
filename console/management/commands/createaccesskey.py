from django.core.management.base import BaseCommand, CommandError

from console import access_keys
from console.errors import AccessKeyAlreadyExists, AccessKeyValidationError


class Command(BaseCommand):
    help = (
        "Create an access key for SDKs and the REST API and print its id and secret, once, "
        "as AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--id", dest="access_key_id", help="Use this key id (16-128 of A-Z, 0-9)."
        )
        parser.add_argument("--secret", help="Use this secret (16-128 printable ASCII).")
        parser.add_argument("--name", default="", help="What the key is for.")

    def handle(self, *args, access_key_id=None, secret=None, name="", **options):
        try:
            key, plain_secret = access_keys.create_access_key(
                name=name, access_key_id=access_key_id, secret=secret
            )
        except (AccessKeyValidationError, AccessKeyAlreadyExists) as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={plain_secret}")
