"""The AWS front door: one lean ASGI app for every SDK request (SQS JSON, SQS query, SNS query).

It bypasses Django's request machinery on purpose: the hot path (send, receive, delete) must cost
well under a millisecond of server CPU, and a bare Django view alone costs 1.3-2 ms. All database
work runs on one dedicated thread per process (`database_thread`), which keeps a long-lived
connection; a long poll waits on the event loop, never on a thread.

The endpoint knows no service. The project plugs protocol adapters in (`Endpoint(...)`); an
adapter is a module with:

- `handle(request)` -> `responses.Response`, `Pending` or `Continue`, raising `RoostError`;
- `error_response(error, request)` -> the error in the adapter's own shape;
- `throttled()` -> the error this service answers when a key is over its rate;
- `DOOR`, the door its requests are recorded as coming through (`aws_protocol.actor`);
- query adapters also `SIGNING_NAME` (the SigV4 scope's service, e.g. "sqs"), `API_VERSION`
  (the query `Version` it speaks) and optionally `is_unsigned_link(request)` for the few GETs a
  service serves without a signature (SNS's confirm and unsubscribe links).

The project may also pass `observe(request, status, seconds)`, called once each request is
answered (the project's metrics); a client that leaves during a long poll is not observed.
"""

import asyncio
import logging
import re
import time
import uuid
from urllib.parse import parse_qsl, quote

from django.db import DatabaseError, connection

from aws_protocol import actor, database_outage, database_thread, rate_limit, sigv4
from aws_protocol.errors import (
    InternalFailure,
    RequestEntityTooLarge,
    RoostError,
    ServiceUnavailable,
)
from aws_protocol.responses import Continue, Pending

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
        self.adapter = None  # the protocol adapter, chosen by the endpoint
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


class Endpoint:
    """The ASGI app answering every SDK request with the protocol adapters it was given.

    `json_protocol` serves requests carrying `X-Amz-Target`; the query protocols share the rest,
    told apart by the service the SigV4 credential scope names or, unsigned, by `Version`. The
    first query protocol is the default. `keys` is the access-key store SigV4 checks against;
    `observe`, if given, hears of every answered request (see the module's docstring).
    """

    def __init__(self, *, json_protocol, query_protocols, keys, observe=None):
        self.json_protocol = json_protocol
        self.query_protocols = tuple(query_protocols)
        self.default_query = self.query_protocols[0]
        self.by_signing_name = {adapter.SIGNING_NAME: adapter for adapter in self.query_protocols}
        self.by_version = {adapter.API_VERSION: adapter for adapter in self.query_protocols}
        self.keys = keys
        self.observe = observe

    def adapter_for(self, headers):
        return self.json_protocol if "x-amz-target" in headers else self.default_query

    def _query_adapter(self, request, service_name):
        if service_name is None:
            return self.by_version.get(request.form.get("Version"), self.default_query)
        return self.by_signing_name.get(service_name, self.default_query)

    def _claimed_service(self, request):
        """The service a request's SigV4 credential scope names, before checking the signature:
        so an SNS request that fails authentication hears about it in SNS's own error shape."""
        credential = request.headers.get("authorization", "") or request.form.get(
            "X-Amz-Credential", ""
        )
        for name in self.by_signing_name:
            if f"/{name}/aws4_request" in credential:
                return name
        return None

    def _unsigned_link_adapter(self, request):
        """The adapter that serves this request without a signature, if any does.

        Only a plain GET with no trace of SigV4 qualifies; anything else unsigned still has to
        pass SigV4.
        """
        if request.method != "GET" or "authorization" in request.headers:
            return None
        if any(name.startswith("X-Amz-") for name in request.form):
            return None
        for adapter in self.query_protocols:
            is_unsigned_link = getattr(adapter, "is_unsigned_link", None)
            if is_unsigned_link is not None and is_unsigned_link(request):
                return adapter
        return None

    def handle(self, request):
        """Authenticate and run one request on the database thread; a Response or Pending."""

        def authenticate_and_run():
            if (adapter := self._unsigned_link_adapter(request)) is not None:
                request.adapter = adapter
                request.access_key = None
                return adapter.handle(request)
            is_query = request.adapter is not self.json_protocol
            if is_query:
                request.adapter = self._query_adapter(request, self._claimed_service(request))
            request.access_key, request.service = sigv4.verify_request(
                request.method,
                request.raw_path,
                request.query_string,
                request.headers,
                request.body,
                self.keys,
            )
            if is_query:
                request.adapter = self._query_adapter(request, request.service)
            if rate_limit.retry_after(request.access_key.access_key_id):
                raise request.adapter.throttled()
            return request.adapter.handle(request)

        return _answer(request, authenticate_and_run)

    async def __call__(self, scope, receive, send):
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is None:
            return
        if body is False:
            # Answer in the request's own protocol so the SDK can parse the error.
            request = AwsRequest(scope, b"")
            request.adapter = self.adapter_for(request.headers)
            error = RequestEntityTooLarge(f"Requests may be at most {MAX_BODY} bytes.")
            response = request.adapter.error_response(error, request)
            await _send(send, response, request.request_id)
            self._observed(request, response, started)
            return
        request = AwsRequest(scope, body)
        request.adapter = self.adapter_for(request.headers)
        response = await database_thread.run(self.handle, request)
        while isinstance(response, Continue):  # each step queues behind other requests' work
            response = await _run_attempt(response, request)
        if isinstance(response, Pending):
            response = await _long_poll(response, request, receive)
            if response is None:
                return
        await _send(send, response, request.request_id)
        self._observed(request, response, started)

    def _observed(self, request, response, started):
        if self.observe is None:
            return
        try:
            self.observe(request, response.status, time.perf_counter() - started)
        except Exception:
            logger.exception("observing %s failed", request.request_id)

    def router(self, django_app):
        """Send SDK requests to this endpoint and everything else to Django."""

        async def route(scope, receive, send):
            if scope["type"] == "http" and is_aws_request(scope):
                return await self(scope, receive, send)
            return await django_app(scope, receive, send)

        return route


def _attempt(pending, request):
    return _answer(request, pending.attempt)


def _answer(request, call):
    """Run `call`, turning any failure into the adapter's error response (never a bare 500).

    The adapter is read after the call: authentication may have switched it (SQS query to SNS).
    """
    if database_outage.refusing():
        return request.adapter.error_response(ServiceUnavailable(), request)
    try:
        with actor.acting(RequestActor(request)):
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


class RequestActor:
    """The actor of an SDK request: read when asked, since SigV4 names the key mid-request."""

    __slots__ = ("request",)
    username = ""

    def __init__(self, request):
        self.request = request

    @property
    def door(self):
        return getattr(self.request.adapter, "DOOR", "")

    @property
    def key_id(self):
        return self.request.sender_id

    @property
    def label(self):
        return self.key_id or self.door


def _reset_connection():
    """Drop a broken connection so the next request on this thread opens a fresh one."""
    try:
        if connection.in_atomic_block:
            return
        connection.close()
    except DatabaseError:
        pass


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
        response = await pending.wait(lambda: _run_attempt(pending, request), disconnected)
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
