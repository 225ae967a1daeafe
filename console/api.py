"""The REST API front door (/api/, django-ninja): authentication and the one error translation.

Every call needs credentials: an access key as `Authorization: Bearer <key id>:<secret>`, a
request SigV4-signed with an access key (any service name in the scope), or a logged-in console
session (with Django's CSRF check on unsafe methods, which change things and so are for operators
only, as in the console). Then each endpoint asks for the IAM action it stands for (the key's
policy, or the console user's scope), and a denied call answers 403 AccessDenied with AWS's
message. Errors leave as `{"code", "message"}` with the error's HTTP status, whatever raised
them.
"""

import logging
import math
from http import HTTPStatus
from urllib.parse import quote

from django.db import DatabaseError
from django.http import Http404
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth
from ninja.security.base import AuthBase

from aws_protocol import database_outage, rate_limit, sigv4
from aws_protocol.errors import ClientError, InternalFailure, RoostError, ServiceUnavailable
from console import access_keys, roles
from console.api_access import router as access_keys_router
from console.api_audit import router as audit_router
from notifications.api import router as notifications_router
from queues.api import router as queues_router

logger = logging.getLogger("roost.api")


class Unauthorized(ClientError):
    code = "Unauthorized"
    status = 401
    default_message = (
        "Authentication required: send `Authorization: Bearer <access key id>:<secret>`, "
        "sign the request with SigV4, or log in to the console."
    )


class InvalidRequest(ClientError):
    code = "ValidationError"
    default_message = "The request is not valid."


class Forbidden(ClientError):
    code = "Forbidden"
    status = 403
    default_message = roles.REFUSED


class NotFound(ClientError):
    code = "NotFound"
    status = 404
    default_message = "Not found."


class TooManyRequests(ClientError):
    code = "TooManyRequests"
    status = 429
    default_message = "Rate exceeded: this access key is making more requests than allowed."

    def __init__(self, message=None, retry_after=1.0):
        super().__init__(message)
        self.retry_after = retry_after


# Methods that change nothing (RFC 9110's safe methods, as Django's CSRF check counts them).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# SQS answers 400 for these; a REST client expects the HTTP meaning.
REST_STATUS = {
    "QueueDoesNotExist": 404,
    "ResourceNotFoundException": 404,
    "QueueNameExists": 409,
}


class AccessKeyBearer(HttpBearer):
    """An access key as a bearer token: `Authorization: Bearer <access key id>:<secret>`."""

    def __call__(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, token)

    def authenticate(self, request, token):
        key = access_keys.authenticate_bearer(token)
        if key is None:
            # Wrong credentials are refused outright, never passed on to the session check.
            raise Unauthorized("The access key id or secret in the bearer token is not valid.")
        return _within_rate(key)


class SigV4(AuthBase):
    """A request signed with AWS Signature Version 4 (header or presigned URL)."""

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "Authorization"
    openapi_description = "AWS4-HMAC-SHA256 signature made with a Roost access key."

    def __call__(self, request):
        authorization = request.headers.get("Authorization", "")
        query_string = request.META.get("QUERY_STRING", "")
        if not authorization.startswith("AWS4-") and "X-Amz-Signature" not in query_string:
            return None
        headers = {name.lower(): value for name, value in request.headers.items()}
        key, _service = sigv4.verify_request(
            request.method, raw_path(request), query_string, headers, request.body, access_keys
        )
        return _within_rate(key)


def _within_rate(key):
    """The access key, unless it is over its request rate (ROOST_RATE_LIMIT_PER_KEY)."""
    wait = rate_limit.retry_after(key.access_key_id)
    if wait:
        raise TooManyRequests(retry_after=wait)
    return key


class ConsoleSession(SessionAuth):
    """A logged-in console user; unsafe methods must carry Django's CSRF token.

    Unsafe methods change things, so they are also refused (403) to users who are not operators,
    unless `read_only_door` says the door changes nothing whatever the method.
    """

    def __init__(self, read_only_door=False):
        super().__init__()
        self.read_only_door = read_only_door

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # no CSRF verdict for requests that are not session-authenticated
        user = super().__call__(request)
        if (
            user
            and not self.read_only_door
            and request.method not in SAFE_METHODS
            and not roles.is_operator(user)
        ):
            raise Forbidden()
        return user


AUTH = [AccessKeyBearer(), SigV4(), ConsoleSession()]
READ_ONLY_AUTH = [AccessKeyBearer(), SigV4(), ConsoleSession(read_only_door=True)]


def authenticate(request):
    """Authenticate a read-only door outside ninja: the key or user, or raise Unauthorized."""
    for method in READ_ONLY_AUTH:
        try:
            credential = method(request)
        except HttpError as error:  # the session's CSRF refusal
            raise translate(error) from None
        if credential:
            return credential
    raise Unauthorized()


def raw_path(request):
    """The path as the client sent it (still percent-encoded), as SigV4 signs it."""
    scope = getattr(request, "scope", None)
    raw = scope.get("raw_path") if scope else None
    return raw.decode("latin-1") if raw else quote(request.path)


def translate(exc):
    """Any exception as the RoostError the client is told about."""
    if isinstance(exc, RoostError):
        return exc
    if isinstance(exc, ValidationError):
        first = exc.errors[0] if exc.errors else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return InvalidRequest(f"{where}: {first.get('msg', 'invalid')}" if where else None)
    if isinstance(exc, AuthenticationError):
        return Unauthorized()
    if isinstance(exc, HttpError) and exc.status_code == 400:
        return InvalidRequest(exc.message)  # e.g. a body that is not JSON
    if isinstance(exc, HttpError):
        error = ClientError(exc.message) if exc.status_code < 500 else RoostError(exc.message)
        error.status = exc.status_code
        error.code = HTTPStatus(exc.status_code).phrase.replace(" ", "")
        return error
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DatabaseError):
        if not database_outage.noticed(exc, "REST API"):  # an outage is logged once
            logger.error("database error in the REST API", exc_info=exc)
        return ServiceUnavailable()
    logger.error("unexpected error in the REST API", exc_info=exc)
    return InternalFailure()


class StrictQueryParser(Parser):
    """Ninja's parser, refusing a single-valued query parameter given twice.

    Django would quietly keep the last value (`?cursor=abc&cursor=` would list from the start);
    a client sending two values meant something the API cannot do, so it hears so.
    """

    def parse_querydict(self, data, list_fields, request):
        for key, values in data.lists():
            if len(values) > 1 and key not in list_fields:
                raise InvalidRequest(
                    f"{key}: give this query parameter once, not {len(values)} times."
                )
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(
    parser=StrictQueryParser(),
    title="Roost",
    version="1",
    description=(
        "Roost's native REST API: queues, messages, peeking and redrive; topics, subscriptions, "
        "publishing and delivery logs; access keys, their policies and the policy simulator; "
        "the audit log and the trash of purged and deleted messages. "
        "Authenticate with "
        "`Authorization: Bearer <access key id>:<secret>`, SigV4, or a console session. Times "
        "are milliseconds since the epoch; errors are `{code, message}`."
    ),
    auth=AUTH,
    urls_namespace="api",
)
api.add_router("/", queues_router)
api.add_router("/", notifications_router)
api.add_router("/access-keys", access_keys_router)
api.add_router("/", audit_router)

fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:path}", auth=None, include_in_schema=False
)
def unknown_endpoint(request, path: str):
    """Answer unknown /api/ paths in the API's error shape (registered last, so matched last)."""
    raise NotFound(f"There is no API endpoint at /api/{path}.")


api.add_router("/", fallback)


def _error_response(request, exc):
    error = translate(exc)
    status = REST_STATUS.get(error.code, error.status)
    body = {"code": error.code, "message": error.message}
    if isinstance(exc, ValidationError):
        body["errors"] = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
            for item in exc.errors
        ]
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="roost"'
    if isinstance(error, TooManyRequests):
        response["Retry-After"] = str(math.ceil(error.retry_after))
    return response


for _exception_class in (Exception, RoostError, ValidationError, HttpError, Http404):
    api.add_exception_handler(_exception_class, _error_response)
