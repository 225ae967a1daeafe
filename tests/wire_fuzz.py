"""What the wire fuzz tests share: a fast signed HTTP client, error-shape checks, state snapshots.

A boto3 call costs ~2 ms of client CPU and validates its input; the fuzz tests send tens of
thousands of malformed requests, so they sign their own (SigV4, as botocore does) and send them
over one keep-alive connection.
"""

import hashlib
import hmac
import http.client
import json
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import dj_database_url

REGION = "us-east-1"
SQS_XMLNS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
SNS_XMLNS = "{http://sns.amazonaws.com/doc/2010-03-31/}"


class RawClient:
    """Send raw requests to a live server over one connection; count what was sent."""

    def __init__(self, server):
        parts = urlsplit(server.url)
        self.host = parts.netloc
        self.hostname, self.port = parts.hostname, parts.port
        self.key_id = server.access_key_id
        self.secret = server.secret
        self.sent = 0
        self._keys = {}
        self._connection = None

    def close(self):
        if self._connection is not None:
            self._connection.close()

    def _signing_key(self, date, service):
        key = self._keys.get((date, service))
        if key is None:
            key = hmac.digest(f"AWS4{self.secret}".encode(), date.encode(), "sha256")
            for part in (REGION, service, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._keys[(date, service)] = key
        return key

    def sign(self, method, path, query, headers, body, service):
        """Add X-Amz-Date and an Authorization header signing every header given."""
        moment = datetime.now(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        headers = {name.lower(): value for name, value in headers.items()}
        headers["host"] = self.host
        headers["x-amz-date"] = amz_date
        names = sorted(headers)
        canonical_query = "&".join(
            sorted(
                f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}"
                for name, _, value in (pair.partition("=") for pair in query.split("&") if pair)
            )
        )
        canonical = "\n".join(
            [
                method,
                quote(path, safe="/~"),
                canonical_query,
                "".join(f"{name}:{' '.join(str(headers[name]).split())}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{REGION}/{service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n" + (
            hashlib.sha256(canonical.encode()).hexdigest()
        )
        signature = hmac.digest(self._signing_key(date, service), to_sign.encode(), "sha256").hex()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return headers

    def send(self, method, path, headers, body=b"", query="", service=None):
        """Send one request (signed for `service` unless None); return (status, headers, body)."""
        if service is not None:
            headers = self.sign(method, path, query, headers, body, service)
        target = path + (f"?{query}" if query else "")
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.hostname, self.port, timeout=30)
            try:
                self._connection.request(method, target, body=body, headers=headers)
                response = self._connection.getresponse()
                content = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server may close a kept-alive connection; retry once on a fresh one.
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        self.sent += 1
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content


def json_error(status, headers, body):
    """The (code, legacy code) of an SQS JSON error response, asserting its shape."""
    assert headers["content-type"] == "application/x-amz-json-1.0"
    document = json.loads(body)
    # SQS's own errors say "message"; AWS's shared authorizer (AccessDeniedException), "Message".
    assert isinstance(document.get("message", document.get("Message")), str)
    legacy, _, fault = headers["x-amzn-query-error"].partition(";")
    assert fault in ("Sender", "Receiver")
    return document["__type"].rpartition("#")[2], legacy


def xml_error(status, headers, body, namespace):
    """The code of a query-protocol ErrorResponse, asserting its shape."""
    assert headers["content-type"].startswith("text/xml")
    root = ET.fromstring(body)
    assert root.tag == f"{namespace}ErrorResponse"
    error = root.find(f"{namespace}Error")
    assert root.find(f"{namespace}RequestId").text
    assert error.find(f"{namespace}Type").text in ("Sender", "Receiver")
    assert error.find(f"{namespace}Message") is not None
    return error.find(f"{namespace}Code").text


class Snapshot:
    """Read the live server's database directly: queues, messages, topics, subscriptions."""

    QUERIES = {
        "queues": "SELECT * FROM queues_queue ORDER BY name",
        # Only the fuzzed queues' messages: earlier tests' deliveries and sweeps may still run.
        "messages": (
            "SELECT q.name, COUNT(*), SUM(m.receive_count), MAX(m.visible_at) "
            "FROM queues_message m JOIN queues_queue q ON q.id = m.queue_id "
            "WHERE q.name LIKE 'fuzz-%' GROUP BY q.name ORDER BY q.name"
        ),
        # Every topic's settings; the counts and subscriptions that background tasks may still
        # change for earlier tests' topics only for the fuzzed ones.
        "topics": (
            "SELECT name, fifo_topic, content_based_deduplication, display_name, policy, "
            "delivery_policy, signature_version, extra_attributes, tags "
            "FROM notifications_topic ORDER BY name"
        ),
        "subscriptions": (
            "SELECT s.uuid, s.protocol, s.endpoint, s.status, s.raw_message_delivery, "
            "s.filter_policy, s.filter_policy_scope, s.redrive_policy, s.delivery_policy, "
            "s.extra_attributes FROM notifications_subscription s "
            "JOIN notifications_topic t ON t.id = s.topic_id WHERE t.name LIKE 'fuzz-%' "
            "ORDER BY s.uuid"
        ),
        "published": (
            "SELECT COUNT(*) FROM notifications_publishedmessage m "
            "JOIN notifications_topic t ON t.id = m.topic_id WHERE t.name LIKE 'fuzz-%'"
        ),
    }

    def __init__(self, server):
        self.url = server.env["DATABASE_URL"]

    def _connect(self):
        config = dj_database_url.parse(self.url)
        if "sqlite" in config["ENGINE"]:
            return sqlite3.connect(f"file:{config['NAME']}?mode=ro", uri=True, timeout=30)
        import psycopg  # noqa: PLC0415 (only on the PostgreSQL leg)

        return psycopg.connect(self.url.replace("postgres://", "postgresql://", 1))

    def take(self):
        connection = self._connect()
        try:
            state = {}
            for name, sql in self.QUERIES.items():
                cursor = connection.cursor()
                cursor.execute(sql)
                state[name] = [tuple(map(str, row)) for row in cursor.fetchall()]
            return state
        finally:
            connection.close()


def assert_unchanged(before, after):
    for name in before:
        assert after[name] == before[name], f"{name} changed"
