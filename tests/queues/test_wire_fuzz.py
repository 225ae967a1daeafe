"""Malformed SQS requests, JSON and query, against a live server: a 4xx in the door's own error
shape every time, and nothing changed in the database.

Each request is a valid-shaped one with one thing broken (a field of the wrong type, a character
SQS refuses, JSON nested too deep, a query parameter nested under a value, a map entry missing
its value, an integer out of range, a malformed queue URL...), so the checks past the first are
reached too. Every mutation is invalid by construction: the server must refuse it.
"""

import json
import random
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from queues.wire.sqs_shapes import INPUTS
from tests.wire_fuzz import SQS_XMLNS, RawClient, Snapshot, assert_unchanged, json_error, xml_error

REQUESTS_PER_EXAMPLE = 50
JSON_EXAMPLES = 170
QUERY_EXAMPLES = 125
# With tests/notifications/test_sns_wire_fuzz.py's 6,000, at least 20,000 a run.
MINIMUM_JSON_REQUESTS = 8_000
MINIMUM_QUERY_REQUESTS = 6_000

JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
BAD_TEXT = ["\x00", "nul\x00nul", "\ud800", "lone \udfff", "\x08", "\x1f", "\ufffe", "\uffff"]
BAD_QUEUE_URLS = [
    "http://127.0.0.1:4669[/000000000000/q",
    "http://[::1/000000000000/q",
    "http://h/000000000000/fuzz-none/extra/parts",
    "http://h/000000000000/fuzz-does-not-exist",
    "http://h/000000000000/" + "x" * 5000,
    "/",
    "http://h",
    "http://h:notaport/000000000000/q",
    "%",
]
# Integers with a valid type but a value SQS refuses (top-level members only: in a batch, a bad
# value fails its entry, not the request).
BAD_INTEGERS = {
    "DelaySeconds": [-1, 901],
    "MaxNumberOfMessages": [0, 11, -5],
    "VisibilityTimeout": [-1, 43_201],
    "WaitTimeSeconds": [-1, 21],
    "MaxResults": [0, 1001, -1],
}
OUT_OF_INT32 = [2**31, -(2**31) - 1, 10**30]
# Strings the service checks itself: in a batch entry, a bad one fails only that entry.
FREE_TEXT = {"MessageBody", "StringValue", "DataType"}


def templates(urls):
    """A valid request for each operation the fuzz breaks, against the fixture's queues."""
    std, fifo, _dlq = urls
    attributes = {"a": {"DataType": "String", "StringValue": "v"}}
    return {
        "CreateQueue": {
            "QueueName": "fuzz-created",
            "Attributes": {"DelaySeconds": "1"},
            "tags": {"team": "fuzz"},
        },
        "GetQueueUrl": {"QueueName": "fuzz-std"},
        "ListQueues": {"QueueNamePrefix": "fuzz", "MaxResults": 5},
        "DeleteQueue": {"QueueUrl": std},
        "GetQueueAttributes": {"QueueUrl": std, "AttributeNames": ["All"]},
        "SetQueueAttributes": {"QueueUrl": std, "Attributes": {"VisibilityTimeout": "31"}},
        "TagQueue": {"QueueUrl": std, "Tags": {"owner": "fuzz"}},
        "UntagQueue": {"QueueUrl": std, "TagKeys": ["team"]},
        "ListQueueTags": {"QueueUrl": std},
        "PurgeQueue": {"QueueUrl": std},
        "ListDeadLetterSourceQueues": {"QueueUrl": std, "MaxResults": 5},
        "SendMessage": {
            "QueueUrl": std,
            "MessageBody": "hello",
            "DelaySeconds": 0,
            "MessageAttributes": attributes,
            "MessageSystemAttributes": {
                "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1"}
            },
        },
        "SendMessageBatch": {
            "QueueUrl": fifo,
            "Entries": [
                {
                    "Id": "one",
                    "MessageBody": "b",
                    "MessageGroupId": "g",
                    "MessageDeduplicationId": "d1",
                    "MessageAttributes": attributes,
                },
                {"Id": "two", "MessageBody": "c", "MessageGroupId": "g"},
            ],
        },
        "ReceiveMessage": {
            "QueueUrl": std,
            "MaxNumberOfMessages": 1,
            "VisibilityTimeout": 0,
            "WaitTimeSeconds": 0,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["SentTimestamp"],
        },
        "DeleteMessage": {"QueueUrl": std, "ReceiptHandle": "bogus-handle"},
        "DeleteMessageBatch": {
            "QueueUrl": std,
            "Entries": [{"Id": "a", "ReceiptHandle": "bogus"}],
        },
        "ChangeMessageVisibility": {
            "QueueUrl": std,
            "ReceiptHandle": "bogus-handle",
            "VisibilityTimeout": 10,
        },
        "ChangeMessageVisibilityBatch": {
            "QueueUrl": std,
            "Entries": [{"Id": "a", "ReceiptHandle": "bogus", "VisibilityTimeout": 5}],
        },
        "StartMessageMoveTask": {
            "SourceArn": "arn:aws:sqs:us-east-1:000000000000:fuzz-dlq",
            "MaxNumberOfMessagesPerSecond": 5,
        },
        "ListMessageMoveTasks": {
            "SourceArn": "arn:aws:sqs:us-east-1:000000000000:fuzz-dlq",
            "MaxResults": 1,
        },
        "CancelMessageMoveTask": {"TaskHandle": "bogus"},
    }


def _leaves(value, spec, path, in_batch):
    """Every (path, spec, in_batch) a mutation may break, the containers included."""
    yield path, spec, in_batch
    if isinstance(spec, dict) and isinstance(value, dict):
        for name, member in value.items():
            if name in spec:
                yield from _leaves(member, spec[name], (*path, name), in_batch)
    elif isinstance(spec, list) and spec[0] == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, spec[1], (*path, index), in_batch or path == ("Entries",))
    elif isinstance(spec, list) and isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, spec[1], (*path, key), in_batch)


def _wrong_type(spec, rng, at_member):
    """A JSON value of another type than `spec` (null only where it cannot mean 'absent')."""
    choices = [1, -7, 2.5, True, False, "text", ["x"], [], {"x": 1}, {}]
    if not at_member:
        choices.append(None)
    kind = spec if isinstance(spec, str) else ("structure" if isinstance(spec, dict) else spec[0])
    wrong = {
        "string": lambda v: not isinstance(v, str),
        "blob": lambda v: not isinstance(v, str),
        "integer": lambda v: isinstance(v, bool) or not isinstance(v, int),
        "boolean": lambda v: not isinstance(v, bool),
        "list": lambda v: not isinstance(v, list),
        "map": lambda v: not isinstance(v, dict),
        "structure": lambda v: not isinstance(v, dict),
    }[kind]
    return rng.choice([value for value in choices if wrong(value)])


DEEP = "__deep__"


def _deep_text(rng):
    """JSON text nested 65 to 20,000 levels deep (json.dumps itself could not write it)."""
    depth = rng.choice([65, 100, 200, 3000, 3000, 20_000] if rng.random() < 0.1 else [65, 100, 200])
    if rng.random() < 0.5:
        return "[" * depth + "1" + "]" * depth
    return '{"k":' * depth + '"x"' + "}" * depth


def _set(params, path, value):
    node = params
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _rename_key(params, path, new_key):
    node = params
    for part in path[:-1]:
        node = node[part]
    node[new_key] = node.pop(path[-1])


def mutate_json(template, operation, rng):
    """Break one thing in a valid request; return (params, why)."""
    params = json.loads(json.dumps(template))
    spec = INPUTS[operation]
    leaves = [leaf for leaf in _leaves(params, spec, (), False) if leaf[0]]
    path, leaf_spec, in_batch = rng.choice(leaves)
    parent = path[-2] if len(path) > 1 else None
    at_member = not isinstance(path[-1], int) and not (
        isinstance(parent, str) and parent in ("Attributes", "tags", "Tags")
    )
    options = ["type", "deep"]
    if leaf_spec in ("string", "blob") and not (in_batch and path[-1] in FREE_TEXT):
        options += ["text", "text"]
    if leaf_spec == "integer":
        options.append("int32")
        if not in_batch and path[-1] in BAD_INTEGERS:
            options.append("range")
    if path[-1] == "QueueUrl":
        options += ["url", "url"]
    if isinstance(leaf_spec, list) and leaf_spec[0] == "map" and path[0] != "MessageAttributes":
        options.append("key")
    choice = rng.choice(options)
    if choice == "type":
        _set(params, path, _wrong_type(leaf_spec, rng, at_member))
    elif choice == "deep":
        _set(params, path, DEEP)
    elif choice == "text":
        _set(params, path, rng.choice(BAD_TEXT))
    elif choice == "int32":
        _set(params, path, rng.choice(OUT_OF_INT32))
    elif choice == "range":
        _set(params, path, rng.choice(BAD_INTEGERS[path[-1]]))
    elif choice == "url":
        _set(params, path, rng.choice(BAD_QUEUE_URLS))
    else:
        node = params
        for part in path:
            node = node[part]
        if node:
            _rename_key(params, (*path, next(iter(node))), rng.choice(BAD_TEXT))
        else:
            _set(params, path, _wrong_type(leaf_spec, rng, at_member))
    return params, f"{choice} at {'.'.join(map(str, path))}"


RAW_BODIES = [
    b"{",
    b'{"QueueUrl": ',
    b"[]",
    b'"text"',
    b"123",
    b"null",
    b"\xff\xfe{}",
    b'{"MaxResults": NaN}',
    b'{"MaxResults": Infinity}',
    b'{"MaxResults": 1e400}',
    b'{"MaxResults": ' + b"9" * 5000 + b"}",
    b"[" * 100_000,
    b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"a": "\\ud800"',
]


def json_request(templates_by_op, rng):
    """(headers, body, why, door) of one malformed SQS JSON request."""
    operation = rng.choice(sorted(templates_by_op))
    headers = {**JSON_HEADERS, "X-Amz-Target": f"AmazonSQS.{operation}"}
    roll = rng.random()
    if roll < 0.06:
        body = rng.choice(RAW_BODIES)
        return headers, body, f"raw body {body[:30]!r}", "json"
    if roll < 0.09:
        headers["X-Amz-Target"] = rng.choice(
            ["AmazonSQS.NoSuchOperation", "AmazonSNS.Publish", "AmazonSQS", ".SendMessage", ""]
        )
        return headers, b"{}", f"target {headers['X-Amz-Target']!r}", "json"
    params, why = mutate_json(templates_by_op[operation], operation, rng)
    text = json.dumps(params).replace(json.dumps(DEEP), _deep_text(rng))
    return headers, text.encode("utf-8", "surrogatepass"), f"{operation}: {why}", "json"


# The query protocol's names for the JSON shape's lists, maps and batch entries.
QUERY_LISTS = {
    "AttributeNames": "AttributeName",
    "MessageAttributeNames": "MessageAttributeName",
    "MessageSystemAttributeNames": "MessageSystemAttributeName",
    "TagKeys": "TagKey",
}
QUERY_ENTRIES = {
    "SendMessageBatch": "SendMessageBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
}
QUERY_MAPS = {
    "Attributes": ("Attribute", "Name", "Value"),
    "MessageAttributes": ("MessageAttribute", "Name", "Value"),
    "MessageSystemAttributes": ("MessageSystemAttribute", "Name", "Value"),
    "tags": ("Tag", "Key", "Value"),
    "Tags": ("Tag", "Key", "Value"),
}


def flatten(params, operation, prefix=""):
    """JSON-shaped SQS parameters as the query protocol's (name, value) pairs."""
    pairs = []
    for name, value in params.items():
        if isinstance(value, list):
            element = QUERY_ENTRIES.get(operation) if name == "Entries" else QUERY_LISTS[name]
            for index, item in enumerate(value, 1):
                if isinstance(item, dict):
                    pairs += flatten(item, operation, f"{prefix}{element}.{index}.")
                else:
                    pairs.append((f"{prefix}{element}.{index}", str(item)))
        elif isinstance(value, dict):
            element, key_name, value_name = QUERY_MAPS[name]
            for index, (key, item) in enumerate(value.items(), 1):
                pairs.append((f"{prefix}{element}.{index}.{key_name}", key))
                if isinstance(item, dict):
                    for field, inner in item.items():
                        pairs.append((f"{prefix}{element}.{index}.{value_name}.{field}", inner))
                else:
                    pairs.append((f"{prefix}{element}.{index}.{value_name}", str(item)))
        else:
            pairs.append((f"{prefix}{name}", str(value)))
    return pairs


NOISE = ["&", "&&", "&=", "&%zz", "&Foo.1.2.3=x", "&=x", "&%ff%fe=1"]


def query_request(templates_by_op, rng):
    """(headers, body, why, door) of one malformed SQS query request."""
    operation = rng.choice(sorted(templates_by_op))
    pairs = [("Action", operation), ("Version", "2012-11-05")]
    pairs += flatten(templates_by_op[operation], operation)
    value_pairs = [i for i, (name, _) in enumerate(pairs) if name not in ("Action", "Version")]
    choice = rng.choice(
        ["nested", "nested", "conflict", "missing", "integer", "text", "text", "action", "url"]
    )
    maps = [i for i in value_pairs if pairs[i][0].endswith((".Value", ".Key", ".Name"))]
    maps = [i for i in maps if pairs[i][0].count(".") == 2]
    integers = [i for i in value_pairs if pairs[i][0].rpartition(".")[2] in BAD_INTEGERS]
    texts = [
        i
        for i in value_pairs
        if not (pairs[i][0].rpartition(".")[2] in FREE_TEXT and "Entry" in pairs[i][0])
        and pairs[i][0].rpartition(".")[2] not in BAD_INTEGERS
    ]
    if choice == "missing" and maps:
        index = rng.choice(maps)
        name = pairs[index][0]
        stem = name.rsplit(".", 1)[0]
        pairs = (
            [pair for pair in pairs if not pair[0].startswith(f"{stem}.Value")]
            if (rng.random() < 0.5)
            else [pair for pair in pairs if pair[0] not in (f"{stem}.Key", f"{stem}.Name")]
        )
        if not any(pair[0].startswith(stem + ".") for pair in pairs):
            pairs.append((f"{stem}.Value", "orphan"))
        why = f"{stem} missing a field"
    elif choice == "integer" and integers:
        index = rng.choice(integers)
        bad = rng.choice(["abc", "1.5", "", " 1", "1e3", "99999999999999", "0x10", "١", "+"])
        pairs[index] = (pairs[index][0], bad)
        why = f"{pairs[index][0]}={bad!r}"
    elif choice == "text" and texts:
        index = rng.choice(texts)
        bad = rng.choice(["\x00", "a\x00b", "\x08", "\x1f", "\ufffe", "\uffff"])
        pairs[index] = (pairs[index][0], bad)
        why = f"{pairs[index][0]} holds {bad!r}"
    elif choice == "action":
        pairs[0] = ("Action", rng.choice(["NoSuchAction", "", "sendmessage", "Publish"]))
        why = f"Action={pairs[0][1]!r}"
    elif choice == "url" and any(name == "QueueUrl" for name, _ in pairs):
        pairs = [(n, rng.choice(BAD_QUEUE_URLS) if n == "QueueUrl" else v) for n, v in pairs]
        why = "bad QueueUrl"
    elif choice == "conflict" and value_pairs:
        name = pairs[rng.choice(value_pairs)][0]
        cut = name.rsplit(".", 1)[0] if "." in name and rng.random() < 0.5 else name
        pairs.append((cut if cut != name else f"{name}.x", "y"))
        why = f"{name} also given as {pairs[-1][0]}"
    else:
        # Nest a parameter under one that has a plain value: QueueUrl.x=y, Tag.1.Key.x=y.
        index = rng.choice(value_pairs) if value_pairs else 0
        name, value = pairs[index]
        nested = f"{name}.{rng.choice(['x', '1', 'Value', 'member.1'])}"
        if rng.random() < 0.5:
            pairs[index] = (nested, value)
        else:
            pairs.append((nested, value))
        why = f"{name} nested as {nested}"
        if index == 0:
            pairs.append(("QueueUrl.x", "y"))
            pairs.append(("QueueUrl", "z"))
    body = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    if rng.random() < 0.2:
        body += rng.choice(NOISE)
    return dict(FORM_HEADERS), body.encode(), f"{operation}: {why}", "query"


AUTH_JUNK = ["", " ", "=", ",", "/", "\u00e9", "%", ";", "AWS4-HMAC-SHA256", "\t", "==,=="]


def mangle_signature(headers, rng):
    """Signed headers with their signature broken some way; (headers, query string, why)."""
    headers = dict(headers)
    authorization = headers["authorization"]
    choice = rng.randrange(7)
    if choice == 0:
        cut = rng.randrange(len(authorization))
        headers["authorization"] = authorization[:cut] + rng.choice(AUTH_JUNK)
        return headers, "", f"authorization cut at {cut}"
    if choice == 1:
        part = rng.choice(["Credential=", "SignedHeaders=", "Signature="])
        junk = rng.choice(AUTH_JUNK + ["a/b", "k/20200101/r/s/aws4_request/x", "host;;", "HOST"])
        headers["authorization"] = authorization.replace(part, part + junk, 1)
        return headers, "", f"{part} prefixed with {junk!r}"
    if choice == 2:
        headers["x-amz-date"] = rng.choice(
            ["", "20200101T000000Z", "2020-01-01T00:00:00Z", "99999999T999999Z", "\u00e9" * 16]
        )
        return headers, "", f"x-amz-date {headers['x-amz-date']!r}"
    if choice == 3:
        headers.pop("x-amz-date")
        headers["date"] = rng.choice(
            ["Fri, 31 Dec 9999 23:59:59 -0100", "yesterday", "Mon, 01 Jan 2001 00:00:00 GMT"]
        )
        return headers, "", f"date {headers['date']!r}"
    if choice == 4:
        headers["authorization"] = rng.choice(
            ["Bearer x", "AWS key:sig", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512 Credential=x"]
        )
        return headers, "", f"authorization {headers['authorization']!r}"
    # Presigned-style parameters, alone or beside the header.
    params = {
        "X-Amz-Algorithm": rng.choice(["AWS4-HMAC-SHA256", "AWS4", ""]),
        "X-Amz-Credential": rng.choice(["k/20200101/us-east-1/sqs/aws4_request", "", "%zz"]),
        "X-Amz-Date": rng.choice([headers.get("x-amz-date", ""), "x"]),
        "X-Amz-Expires": rng.choice(["300", "-1", "abc", "99999999999", ""]),
        "X-Amz-SignedHeaders": rng.choice(["host", "", "content-type"]),
        "X-Amz-Signature": rng.choice(["00", "", "\u00e9"]),
    }
    query = "&".join(f"{name}={quote(value, safe='%')}" for name, value in params.items())
    if choice == 5:
        headers.pop("authorization")
    return headers, query, f"presigned {params}"


def check_response(client, status, headers, body, door, why):
    assert 400 <= status < 500, f"{status} for {why}: {body[:300]!r}"
    if door == "json":
        json_error(status, headers, body)
    else:
        xml_error(status, headers, body, SQS_XMLNS)


@pytest.fixture(scope="module")
def fuzz_queues(roost_server, sqs_client):
    """Queues the fuzz aims at (standard with a message and tags, FIFO, dead-letter queue)."""
    client = sqs_client("json")
    dlq = client.create_queue(QueueName="fuzz-dlq")["QueueUrl"]
    std = client.create_queue(QueueName="fuzz-std", tags={"team": "fuzz"})["QueueUrl"]
    fifo = client.create_queue(QueueName="fuzz-fifo.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    client.send_message(QueueUrl=std, MessageBody="resident")
    yield std, fifo, dlq
    for url in (std, fifo, dlq):
        client.delete_queue(QueueUrl=url)


@pytest.fixture(scope="module")
def raw_client(roost_server):
    """One keep-alive connection to the live server, counting the requests sent through it."""
    client = RawClient(roost_server)
    yield client
    client.close()


FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _send_batch(raw_client, make, templates_by_op, seed):
    rng = random.Random(seed)
    for _ in range(REQUESTS_PER_EXAMPLE):
        headers, body, why, door = make(templates_by_op, rng)
        roll = rng.random()
        if roll < 0.05:
            response = raw_client.send("POST", "/", headers, body)  # unsigned
            why = f"unsigned {why}"
        elif roll < 0.08:
            signed = raw_client.sign("POST", "/", "", headers, body, "sqs")
            signed["authorization"] = signed["authorization"][:-4] + "0000"
            response = raw_client.send("POST", "/", signed, body)
            why = f"bad signature {why}"
        elif roll < 0.14:
            signed, query, what = mangle_signature(
                raw_client.sign("POST", "/", "", headers, body, "sqs"), rng
            )
            response = raw_client.send("POST", "/", signed, body, query=query)
            why = f"{what}: {why}"
        else:
            response = raw_client.send("POST", "/", headers, body, service="sqs")
        check_response(raw_client, *response, door, why)


def test_malformed_json_requests_get_a_json_4xx_and_change_nothing(
    roost_server, fuzz_queues, raw_client
):
    snapshot = Snapshot(roost_server)
    before = snapshot.take()
    templates_by_op = templates(fuzz_queues)

    sent = raw_client.sent

    @settings(FUZZ_SETTINGS, max_examples=JSON_EXAMPLES)
    @given(seed=st.integers(0, 2**32 - 1))
    def fuzz(seed):
        _send_batch(raw_client, json_request, templates_by_op, seed)

    fuzz()
    assert_unchanged(before, snapshot.take())
    # Counted, so that the fuzz cannot shrink unnoticed.
    assert raw_client.sent - sent >= MINIMUM_JSON_REQUESTS


def test_malformed_query_requests_get_an_xml_4xx_and_change_nothing(
    roost_server, fuzz_queues, raw_client
):
    snapshot = Snapshot(roost_server)
    before = snapshot.take()
    templates_by_op = templates(fuzz_queues)

    sent = raw_client.sent

    @settings(FUZZ_SETTINGS, max_examples=QUERY_EXAMPLES)
    @given(seed=st.integers(0, 2**32 - 1))
    def fuzz(seed):
        _send_batch(raw_client, query_request, templates_by_op, seed)

    fuzz()
    assert_unchanged(before, snapshot.take())
    # Counted, so that the fuzz cannot shrink unnoticed.
    assert raw_client.sent - sent >= MINIMUM_QUERY_REQUESTS
