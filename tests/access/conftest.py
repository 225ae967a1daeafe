"""Access keys with IAM policies on the live server, and boto3 clients signed with them.

Keys are made in the server's own database through its management shell, as an operator would
make them; `keys_with_policies` makes several in one process (a manage.py start costs a second
or two). Other access tests import the helpers: `key_with_policy(server, policy)`,
`sqs_client(server, key, protocol)`, `sns_client(server, key)`, `set_policy(...)`.
"""

import json
import os
import secrets
import string
from typing import NamedTuple

import boto3
import botocore.session
import pytest
from botocore.config import Config

from tests.conftest import QUERY_MODEL_FILE, QUERY_MODELS
from tests.servers import TEST_REGION

# The live server's account and region (its settings' defaults unless the run sets them).
ACCOUNT_ID = os.environ.get("ROOST_ACCOUNT_ID", "000000000000")
REGION = os.environ.get("ROOST_REGION", "us-east-1")
_KEY_ID_CHARS = string.ascii_uppercase + "234567"
_SECRET_CHARS = string.ascii_letters + string.digits
_NO_RETRIES = Config(retries={"total_max_attempts": 1})


class Key(NamedTuple):
    """An access key's id and secret (unpacks as `key_id, secret`)."""

    access_key_id: str
    secret: str


def queue_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def topic_arn(name):
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"


def denial(key, action, resource, explicit=False):
    """AWS's message for a refused request; `key` is an access key or its id."""
    key_id = getattr(key, "access_key_id", key)
    reason = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    return (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/{key_id} is not authorized to perform: "
        f"{action} on resource: {resource} {reason}"
    )


def policy_text(policy):
    """A policy as stored: a dict as JSON, text as is, None (full access) as blank."""
    if policy is None:
        return ""
    return policy if isinstance(policy, str) else json.dumps(policy)


def allow(actions, resources="*", effect="Allow", **extra):
    """A one-statement policy document."""
    statement = {"Effect": effect, "Action": actions, "Resource": resources, **extra}
    if "NotAction" in extra:
        del statement["Action"]
    if "NotResource" in extra:
        del statement["Resource"]
    return {"Version": "2012-10-17", "Statement": [statement]}


def keys_with_policies(server, policies):
    """Create one access key per policy (None: no policy, full access) in one manage.py run."""
    keys = [_new_key() for _ in policies]
    lines = ["from console import access_keys"]
    for key, policy in zip(keys, policies, strict=True):
        lines.append(
            f"access_keys.create_access_key(name='access test', "
            f"access_key_id={key.access_key_id!r}, secret={key.secret!r}, "
            f"policy={policy_text(policy)!r})"
        )
    server.manage("shell", "-c", "\n".join(lines))
    return keys


def key_with_policy(server, policy):
    """Create an access key with this policy (None: full access); return Key(id, secret)."""
    [key] = keys_with_policies(server, [policy])
    return key


def set_policy(server, key, policy):
    """Change a key's policy the way the console does (validated), from another process."""
    key_id = key.access_key_id if isinstance(key, Key) else key
    server.manage(
        "shell",
        "-c",
        "from console import access_keys\n"
        "from console.models import AccessKey\n"
        f"access_keys.set_policy(AccessKey.objects.get(access_key_id={key_id!r}), "
        f"{policy_text(policy)!r})",
    )


def write_policy_sql(server, key, policy):
    """Write a key's policy straight into the server's database, committed when this returns."""
    key_id = key.access_key_id if isinstance(key, Key) else key
    url = server.env["DATABASE_URL"]
    statement = "UPDATE console_accesskey SET policy = {} WHERE access_key_id = {}"
    if url.startswith("sqlite:///"):
        import sqlite3  # noqa: PLC0415

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            with connection:
                updated = connection.execute(
                    statement.format("?", "?"), (policy_text(policy), key_id)
                ).rowcount
        finally:
            connection.close()
    else:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, autocommit=True) as connection:
            updated = connection.execute(
                statement.format("%s", "%s"), (policy_text(policy), key_id)
            ).rowcount
    assert updated == 1, f"no access key {key_id} in the server's database"


def sqs_client(server, key, protocol="json"):
    """A boto3 SQS client for the live server signed with this key, speaking "json" or "query"."""
    if protocol == "json":
        session = boto3.Session()
    elif protocol == "query":
        if not QUERY_MODEL_FILE.exists():
            pytest.fail(f"{QUERY_MODEL_FILE} is missing; run `make query-model`.", pytrace=False)
        core = botocore.session.Session()
        core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        session = boto3.Session(botocore_session=core)
    else:
        raise ValueError(f"protocol must be 'json' or 'query', not {protocol!r}")
    client = session.client("sqs", **_client_options(server, key))
    assert client.meta.service_model.protocol == protocol
    return client


def sns_client(server, key):
    """A boto3 SNS client for the live server signed with this key."""
    return boto3.Session().client("sns", **_client_options(server, key))


def _client_options(server, key):
    return {
        "endpoint_url": server.url,
        "region_name": TEST_REGION,
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret,
        # No retries: a server error must fail the test that caused it, at once.
        "config": _NO_RETRIES,
    }


def _new_key():
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ID_CHARS) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_CHARS) for _ in range(40))
    return Key(key_id, secret)


@pytest.fixture(params=["json", "query"])
def protocol(request):
    """Each SQS wire protocol in turn: "json", then "query"."""
    return request.param


@pytest.fixture(scope="session")
def admin_sqs(roost_server):
    """A JSON SQS client with the server's full-access test key, to arrange and observe."""
    return sqs_client(roost_server, Key(roost_server.access_key_id, roost_server.secret))


@pytest.fixture(scope="session")
def admin_sns(sns):
    """The session's SNS client with the full-access test key, to arrange and observe."""
    return sns
