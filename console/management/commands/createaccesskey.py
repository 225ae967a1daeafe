import sys

from django.core.management.base import BaseCommand, CommandError

from aws_protocol.iam_policy import MalformedPolicyDocument
from console import access_keys, starter_policies
from console.errors import AccessKeyAlreadyExists, AccessKeyValidationError


class Command(BaseCommand):
    help = (
        "Create an access key for SDKs and the REST API and print its id and secret, once, "
        "as AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines. Without --policy or "
        "--starter the key has full access."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--id", dest="access_key_id", help="Use this key id (16-128 of A-Z, 0-9)."
        )
        parser.add_argument("--secret", help="Use this secret (16-128 printable ASCII).")
        parser.add_argument("--name", default="", help="What the key is for.")
        limits = parser.add_mutually_exclusive_group()
        limits.add_argument(
            "--policy",
            metavar="FILE",
            help="An IAM policy document (JSON) limiting what the key may do; - reads stdin.",
        )
        limits.add_argument(
            "--starter",
            choices=list(starter_policies.BY_KEY),
            help="A starter policy: producer and consumer need --pattern, publisher --topic.",
        )
        parser.add_argument("--pattern", help="Queue name pattern for a starter, e.g. orders-*.")
        parser.add_argument("--topic", help="Topic name (or ARN) for the publisher starter.")

    def handle(self, *args, access_key_id=None, secret=None, name="", **options):
        try:
            key, plain_secret = access_keys.create_access_key(
                name=name, access_key_id=access_key_id, secret=secret, policy=_policy(options)
            )
        except MalformedPolicyDocument as error:
            raise CommandError(f"MalformedPolicyDocument: {error.message}") from None
        except (AccessKeyValidationError, AccessKeyAlreadyExists) as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={plain_secret}")


def _policy(options):
    """The new key's policy text, from --policy or --starter; blank for full access."""
    if options["policy"] is not None:
        return _read_policy(options["policy"])
    if options["starter"] is None:
        return ""
    starter = starter_policies.BY_KEY[options["starter"]]
    argument = {"pattern": options["pattern"], "topic": options["topic"]}.get(starter.needs)
    if starter.needs and not argument:
        raise CommandError(f"The {starter.key} starter policy needs --{starter.needs}.")
    if starter.needs == "topic":
        argument = argument.rpartition(":")[2]  # a topic ARN's last part is its name
    return starter_policies.render(starter.document(argument))


def _read_policy(path):
    """The policy document's text from a file, or from stdin for `-`."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as document:
            return document.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read the policy file {path}: {error}") from None
