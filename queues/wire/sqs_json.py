"""SQS's AWS JSON 1.0 protocol (what current SDKs speak): X-Amz-Target names the operation."""

import base64
import json

from console.errors import SerializationException, UnknownOperation
from console.wire.responses import Pending, Response
from queues.wire.operations import OPERATIONS, WaitForMessages

CONTENT_TYPE = "application/x-amz-json-1.0"


def encode_binary(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")


def render(result):
    return Response(200, json.dumps(result, default=encode_binary).encode(), CONTENT_TYPE)


def handle(request):
    operation = OPERATIONS.get(request.headers.get("x-amz-target", "").partition(".")[2])
    if operation is None:
        raise UnknownOperation()
    try:
        params = json.loads(request.body) if request.body else {}
    except ValueError:
        raise SerializationException(
            "Start of structure or map found where not expected."
        ) from None
    if not isinstance(params, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    result = operation(params, request)
    if isinstance(result, WaitForMessages):

        def attempt():
            found = result.attempt()
            return render(found) if found is not None else None

        return Pending(result.queue_id, result.wait_seconds, attempt, render(result.empty))
    return render(result)


def error_response(error, request):
    body = json.dumps({"__type": f"com.amazonaws.sqs#{error.code}", "message": error.message})
    fault = "Sender" if error.sender_fault else "Receiver"
    return Response(
        error.status,
        body.encode(),
        CONTENT_TYPE,
        [("x-amzn-query-error", f"{error.legacy_code};{fault}")],
    )
