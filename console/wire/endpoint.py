"""The AWS front door: one lean ASGI app for every SDK request (SQS JSON, SQS query, SNS query).

It bypasses Django's request machinery on purpose: the hot path (send, receive, delete) must cost
well under a millisecond of server CPU, and a bare Django view alone costs 1.3-2 ms (DESIGN.md).
All database work runs on one dedicated thread per process (console.database_thread), which keeps
a long-lived connection; a long poll waits on the event loop (queues.notifier), never on a
thread.
"""

import asyncio
import logging
import re
import uuid
from urllib.parse import parse_qsl, quote

from django.db import DatabaseError, connection

from console import database_outage, database_thread, rate_limit
from console.errors import (
    InternalFailure,
    RequestEntityTooLarge,
    RoostError,
    ServiceUnavailable,
)
from console.wire import sigv4
from console.wire.responses import Continue, Pending
from notifications.errors import Throttling
from notifications.wire import sns_query
from queues import long_poll
from queues.errors import RequestThrottled
from queues.wire import sqs_json, sqs_query

logger = logging.getLogger("roost.wire")

QUEUE_PATH = re.compile(r"^/[0-9]{12}/[^/]+/?$")
# A 1 MiB message can triple on the wire: JSON escapes non-ASCII as \uXXXX, the query protocol
# percent-encodes every byte.
MAX_BODY = 8 * 1024 * 1024


class AwsRequest:
    __slots__ = (
        "method",
        "path",
        "raw_path",
        "query_string",
        "headers",
        "body",
        "request_id",
        "base_url",
        "access_key",
        "service",
        "adapter",
        "_form",
    )

    def __init__(self, scope, body):
        self.method = scope["method"]
        self.path = scope["path"]
        raw = scope.get("raw_path")
        self.raw_path = raw.decode("latin-1") if raw else quote(self.path)
        self.query_string = scope.get("query_string", b"").decode("latin-1")
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        self.body = body
        self.request_id = str(uuid.uuid4())
        host = self.headers.get("host") or "localhost"
        self.base_url = f"{scope.get('scheme', 'http')}://{host}"
        self.access_key = None
        self.service = None
        self.adapter = sqs_json if "x-amz-target" in self.headers else sqs_query
        self._form = None

    @property
    def form(self):
        """Query-protocol parameters: the query string, then the form body."""
        if self._form is None:
            pairs = parse_qsl(self.query_string, keep_blank_values=True)
            if self.body and self.method == "POST":
                pairs += parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            self._form = dict(pairs)
        return self._form

    @property
    def queue_path(self):
        return self.path.rstrip("/") if QUEUE_PATH.match(self.path) else None

    @property
    def sender_id(self):
        return self.access_key.access_key_id if self.access_key is not None else ""


def is_aws_request(scope):
    """Whether an HTTP request belongs to the AWS endpoint rather than Django's pages and API."""
    path = scope["path"]
    if scope["method"] == "POST":
        return path == "/" or bool(QUEUE_PATH.match(path))
    if scope["method"] == "GET" and (path == "/" or QUEUE_PATH.match(path)):
        return b"Action=" in scope.get("query_string", b"")
    return False


def _query_adapter(request, service_name):
    if service_name == "sns" or (
        service_name is None and request.form.get("Version") == "2010-03-31"
    ):
        return sns_query
    return sqs_query


def _claimed_service(request):
    """The service a request's SigV4 credential scope names, before checking the signature:
    so an SNS request that fails authentication hears about it in SNS's own error shape."""
    credential = request.headers.get("authorization", "") or request.form.get(
        "X-Amz-Credential", ""
    )
    return "sns" if "/sns/aws4_request" in credential else None


def _is_unsigned_link(request):
    """Whether this is SNS's SubscribeURL or UnsubscribeURL, followed with a plain GET.

    Subscribers (an HTTP endpoint's code, a person's browser) follow these links unsigned; the
    token they carry is the credential. Anything else unsigned still has to pass SigV4.
    """
    if request.method != "GET" or "authorization" in request.headers:
        return False
    form = request.form
    if any(name.startswith("X-Amz-") for name in form):
        return False
    return form.get("Action") in ("ConfirmSubscription", "Unsubscribe") and bool(form.get("Token"))


def handle(request):
    """Authenticate and run one request on the database thread; return a Response or Pending."""

    def authenticate_and_run():
        if _is_unsigned_link(request):
            request.adapter = sns_query
            request.access_key = None
            return sns_query.handle(request)
        if request.adapter is sqs_query:
            request.adapter = _query_adapter(request, _claimed_service(request))
        request.access_key, request.service = sigv4.verify_request(
            request.method, request.raw_path, request.query_string, request.headers, request.body
        )
        if request.adapter is sqs_query:
            request.adapter = _query_adapter(request, request.service)
        if rate_limit.retry_after(request.access_key.access_key_id):
            raise Throttling() if request.adapter is sns_query else RequestThrottled("Rate exceeded")
        return request.adapter.handle(request)

    return _answer(request, authenticate_and_run)


def _attempt(pending, request):
    return _answer(request, pending.attempt)


def _answer(request, call):
    """Run `call`, turning any failure into the adapter's error response (never a bare 500).

    The adapter is read after the call: authentication may have switched it (SQS query to SNS).
    """
    if database_outage.refusing():
        return request.adapter.error_response(ServiceUnavailable(), request)
    try:
        return call()
    except RoostError as error:
        return request.adapter.error_response(error, request)
    except DatabaseError as error:
        # Out of reach (logged once per outage), or refusing one statement (SQLite locked past
        # its busy timeout): a temporary failure either way.
        if not database_outage.noticed(error, f"request {request.request_id}"):
            logger.exception("database error on %s", request.request_id)
        _reset_connection()
        return request.adapter.error_response(ServiceUnavailable(), request)
    except Exception:
        logger.exception("unexpected error on %s", request.request_id)
        return request.adapter.error_response(InternalFailure(), request)


def _reset_connection():
    """Drop a broken connection so the next request on this thread opens a fresh one."""
    try:
        if connection.in_atomic_block:
            return
        connection.close()
    except DatabaseError:
        pass


async def _run(request):
    return await database_thread.run(handle, request)


async def _run_attempt(pending, request):
    return await database_thread.run(_attempt, pending, request)


async def _read_body(receive):
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return False
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _long_poll(pending, request, receive):
    """Wait for messages until they come (a response), the wait ends, or the client goes away."""
    disconnected = asyncio.ensure_future(receive())
    try:
        response = await long_poll.wait_for_messages(
            pending.queue_id,
            pending.wait_seconds,
            lambda: _run_attempt(pending, request),
            gone=disconnected,
        )
    finally:
        if not disconnected.done():
            disconnected.cancel()
    if response is None and not disconnected.done():
        return pending.empty
    return response


async def _send(send, response, request_id):
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        (b"x-amzn-requestid", request_id.encode()),
    ]
    headers.extend((name.encode(), value.encode()) for name, value in response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def application(scope, receive, send):
    body = await _read_body(receive)
    if body is None:
        return
    if body is False:
        # Answer in the request's own protocol so the SDK can parse the error.
        request = AwsRequest(scope, b"")
        error = RequestEntityTooLarge(f"Requests may be at most {MAX_BODY} bytes.")
        await _send(send, request.adapter.error_response(error, request), request.request_id)
        return
    request = AwsRequest(scope, body)
    response = await _run(request)
    while isinstance(response, Continue):  # each step queues behind other requests' work
        response = await _run_attempt(response, request)
    if isinstance(response, Pending):
        response = await _long_poll(response, request, receive)
        if response is None:
            return
    await _send(send, response, request.request_id)


def router(django_app):
    """Send SDK requests to the AWS endpoint and everything else to Django."""

    async def route(scope, receive, send):
        if scope["type"] == "http" and is_aws_request(scope):
            return await application(scope, receive, send)
        return await django_app(scope, receive, send)

    return route
