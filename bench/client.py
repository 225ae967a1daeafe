"""boto3 clients for a benchmark target, built fresh in each process."""

import boto3
from botocore.config import Config

REGION = "us-east-1"

# No retries: a retried SendMessageBatch would show up as a duplicate, and a benchmark that
# hides errors measures the wrong thing. The read timeout outlasts a 20 s long poll.
_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=40)


def make_client(service, server):
    """Return a boto3 client for `service` that talks to `server` only."""
    return boto3.session.Session().client(
        service,
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id=server.key_id,
        aws_secret_access_key=server.secret,
        config=_CONFIG,
    )
