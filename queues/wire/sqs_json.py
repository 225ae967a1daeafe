"""SQS's AWS JSON 1.0 protocol (what current SDKs speak): X-Amz-Target names the operation."""

import base64
import json
from functools import partial

from aws_protocol import json_input, shapes
from aws_protocol.errors import AccessDenied, SerializationException, UnknownOperation
from aws_protocol.responses import Continue, Pending, Response
from queues import long_poll
from queues.errors import InvalidParameterValue, RequestThrottled
from queues.wire import permissions
from queues.wire.operations import OPERATIONS, Continuation, WaitForMessages
from queues.wire.sqs_shapes import INPUTS

DOOR = "sqs"  # what the audit log and message lineage say a request came through

# Strings the service checks itself, answering with SQS's own error for them.
SERVICE_CHECKED_TEXT = frozenset({"MessageBody", "StringValue", "DataType"})

CONTENT_TYPE = "application/x-amz-json-1.0"


def encode_binary(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")


def render(result):
    return Response(200, json.dumps(result, default=encode_binary).encode(), CONTENT_TYPE)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse(request):
    """The operation's name and its parameters, checked against its input shape."""
    service, _, name = request.headers.get("x-amz-target", "").partition(".")
    if service != "AmazonSQS" or name not in OPERATIONS:
        raise UnknownOperation()
    try:
        params = (
            json_input.loads(request.body, parse_constant=_refuse_constant) if request.body else {}
        )
    except ValueError:
        raise SerializationException(
            "Start of structure or map found where not expected."
        ) from None
    if not isinstance(params, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    try:
        shapes.check_json(params, INPUTS[name], SERVICE_CHECKED_TEXT)
    except shapes.ShapeError as error:
        if error.reason == "text":
            raise InvalidParameterValue(
                f"Value for parameter {error.path} is invalid. Reason: it contains characters "
                "outside #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
            ) from None
        raise SerializationException(
            f"Unexpected value for {error.path}: expected {error.expected}."
        ) from None
    return name, params


def handle(request):
    name, params = parse(request)
    permissions.check(request.access_key, name, params)
    result = OPERATIONS[name](params, request)
    if isinstance(result, Continuation):

        def go_on():
            found = result.attempt()
            return continuing if found is None else render(found)

        continuing = Continue(go_on)
        return continuing
    if isinstance(result, WaitForMessages):

        def attempt():
            found = result.attempt()
            return render(found) if found is not None else None

        wait = partial(long_poll.wait_for_messages, result.queue_id, result.wait_seconds)
        return Pending(wait, attempt, render(result.empty))
    return render(result)


def throttled():
    return RequestThrottled("Rate exceeded")


def error_response(error, request):
    fault = "Sender" if error.sender_fault else "Receiver"
    if isinstance(error, AccessDenied):
        # AWS's shared authorizer answers, not SQS: its own type and "Message"; the header
        # makes botocore report the query code, AccessDenied, as SQS's query protocol does.
        body = json.dumps(
            {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": error.message}
        )
    else:
        body = json.dumps({"__type": f"com.amazonaws.sqs#{error.code}", "message": error.message})
    return Response(
        error.status,
        body.encode(),
        CONTENT_TYPE,
        [("x-amzn-query-error", f"{error.legacy_code};{fault}")],
    )
