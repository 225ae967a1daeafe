"""The REST API keeps the promises of its own OpenAPI document, fuzzed by schemathesis.

Every operation of /api/openapi.json is called with schema-valid requests (which must be accepted)
and schema-violating ones (which must be refused with a 4xx), as an access key's bearer token,
and every answer goes through all of schemathesis's checks: never a 5xx, a documented status,
content type, headers and body, no answer without credentials, 405 for undeclared methods.
"""

import json
import re

import jsonschema_rs
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from console.api import api

# Per operation; with the coverage phase off the whole run takes about a minute on a CI leg.
EXAMPLES = 25
REQUEST_TIMEOUT = 30

# Rules an OpenAPI document cannot state: they tie one value to another, or to what exists (an
# opaque cursor or receipt handle names state; a policy is JSON inside a string; FIFO-only fields
# depend on the queue's or topic's type). A schema-valid request broken only by one of these is
# refused with 400 and SQS's or SNS's own error, as those services do. Everything else the
# document allows must be accepted (positive_data_acceptance).
RULES = {
    "GET /api/queues": [("InvalidParameterValue", r"NextToken")],
    "GET /api/topics": [("InvalidParameter", r"NextToken")],
    "GET /api/topics/{name}/subscriptions": [("InvalidParameter", r"NextToken")],
    "GET /api/queues/{name}/messages": [("InvalidParameterValue", r"cursor")],
    "GET /api/subscriptions/{subscription_id}/deliveries": [("InvalidParameter", r"cursor")],
    "GET /api/audit": [("InvalidParameterValue", r"cursor")],
    "POST /api/queues": [
        ("InvalidAttributeName", r"Unknown Attribute"),  # FIFO-only ones on a standard queue
        ("InvalidAttributeValue", r"."),  # policies' JSON, FifoQueue against the name, KMS
        ("InvalidParameterValue", r"."),
        ("QueueDeletedRecently", r"."),  # a name deleted by an earlier example
    ],
    "PATCH /api/queues/{name}": [
        ("InvalidAttributeName", r"Unknown Attribute"),
        ("InvalidAttributeValue", r"."),
        ("InvalidParameterValue", r"Tag"),  # more than 50 with the queue's own
    ],
    "POST /api/queues/{name}/move-tasks": [
        ("InvalidParameterValue", r"Dead Letter Queue|Destination queue must"),
        ("UnsupportedOperation", r"."),  # a task already running on this queue
    ],
    "POST /api/move-tasks/{task_handle}/cancel": [("UnsupportedOperation", r"active tasks")],
    # FIFO queues need a group id and a deduplication id or content-based deduplication, and
    # take no per-message delay; standard queues take neither id.
    "POST /api/queues/{name}/messages": [
        ("MissingParameter", r"MessageGroupId|MessageDeduplicationId"),
        ("InvalidParameterValue", r"MessageGroupId|MessageDeduplicationId|DelaySeconds|size"),
    ],
    "POST /api/queues/{name}/messages/batch": [
        ("BatchEntryIdsNotDistinct", r"."),
        ("BatchRequestTooLong", r"."),
    ],
    "POST /api/topics": [("InvalidParameter", r".")],
    "PATCH /api/topics/{name}": [("InvalidParameter", r".")],
    # Which attributes and endpoints a subscription takes depends on its protocol.
    "POST /api/topics/{name}/subscriptions": [("InvalidParameter", r".")],
    "PATCH /api/subscriptions/{subscription_id}": [("InvalidParameter", r".")],
    "POST /api/topics/{name}/publish": [
        ("InvalidParameter", r"MessageGroupId|MessageDeduplicationId|Message Structure|Array"),
    ],
    "POST /api/topics/{name}/publish/batch": [
        ("BatchEntryIdsNotDistinct", r"."),
        ("BatchRequestTooLong", r"."),
    ],
    # An alarm's name must be new; its topic standard; a dead-letter alarm's queue one with a
    # dead-letter queue (or one itself).
    "POST /api/queues/{name}/alarms": [
        ("InvalidParameter", r"exists already|FIFO topic|dead-letter queue"),
    ],
    # A policy is any JSON object to the document; IAM's grammar decides whether it is one.
    "POST /api/access-keys": [("MalformedPolicyDocument", r".")],
    "PUT /api/access-keys/{access_key_id}/policy": [("MalformedPolicyDocument", r".")],
}


def valid_requests_are_accepted(ctx, response, case):
    """positive_data_acceptance, but for the RULES an OpenAPI document cannot state."""
    if response.status_code == 400 and case.meta and case.meta.generation.mode.is_positive:
        error = response.json()
        for code, pattern in RULES.get(case.operation.label, ()):
            if error.get("code") == code and re.search(pattern, error.get("message", "")):
                return None
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture(scope="module")
def api_schema(roost_server):
    """The live server's OpenAPI document, loaded as schemathesis reads it."""
    loaded = schemathesis.openapi.from_url(f"{roost_server.url}/api/openapi.json")
    loaded.config.update(base_url=roost_server.url)
    # The coverage phase tries every boundary of every field: thousands of requests, minutes.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    loaded.config.generation.update(
        max_examples=EXAMPLES, deterministic=True, database="none", no_shrink=True
    )
    return loaded


@pytest.fixture(scope="module")
def bearer(roost_server):
    """The Authorization header of the live server's access key."""
    return {"Authorization": f"Bearer {roost_server.access_key_id}:{roost_server.secret}"}


schema = schemathesis.pytest.from_fixture("api_schema")


def _without_long_polls(case):
    """Receive at once: an empty queue would otherwise hold a valid example for 20 seconds."""
    body = case.body
    if case.path.endswith("/receive") and isinstance(body, dict):
        wait = body.get("wait_seconds")
        if isinstance(wait, int) and not isinstance(wait, bool) and 0 < wait <= 20:
            body["wait_seconds"] = 0


@schema.parametrize()
def test_rest_api_keeps_its_openapi_document(case, bearer):
    _without_long_polls(case)

    case.call_and_validate(
        headers=bearer,
        timeout=REQUEST_TIMEOUT,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_requests_are_accepted],
    )


def _patterns(node):
    """Every regular expression in a JSON Schema document: pattern values and patternProperties."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties":
                yield from value
            yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_every_pattern_in_the_openapi_document_is_a_json_schema_regex():
    """Generators and validators silently drop a pattern they cannot compile."""
    patterns = set(_patterns(json.loads(json.dumps(api.get_openapi_schema()))))

    assert len(patterns) > 10
    for pattern in patterns:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})  # raises if invalid
