"""LocalStack's SQS developer endpoint: a queue's messages in ReceiveMessage's shape, unreceived.

`GET /_aws/sqs/messages?QueueUrl=…` or `GET /_aws/sqs/messages/<region>/<account>/<queue>`, so
tests written against LocalStack keep working. Visible messages by default; `ShowInvisible=true`
adds in-flight ones and `ShowDelayed=true` delayed ones (each then carries an `IsVisible` /
`IsDelayed` attribute). Nothing about a message changes; every receipt handle is LocalStack's
placeholder. The answer is query-protocol XML, that XML's JSON rendering when `Accept` asks for
JSON, or the JSON protocol's `{"Messages": [...]}` when an SDK posts a ReceiveMessage call here.

LocalStack answers without credentials; Roost asks for the REST API's (bearer token, SigV4 or a
console session), which the project hands in with `messages_view(authenticate, translate)`, and
the caller needs sqs:ReceiveMessage on the queue: a peek reads bodies as a receive does, so any
weaker action would leak them. A refused caller hears AccessDenied (403) in the shape the request
asked for, whether or not the queue exists, as the SQS doors answer. Like LocalStack's, the
endpoint reads one named queue a call; there is no all-queues form to filter.
"""

import json
import uuid
from types import SimpleNamespace

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aws_protocol import json_input
from aws_protocol.errors import InvalidAction, SerializationException
from queues import peek, service
from queues.models import Queue, queue_arn
from queues.wire import permissions, sqs_json, sqs_query

RECEIPT_HANDLE = "SQS/BACKDOOR/ACCESS"
# LocalStack returns the whole queue; Roost stops here so a huge queue cannot exhaust memory.
MAX_MESSAGES = 10_000


def messages_view(authenticate, translate):
    """The endpoint's Django view, with the REST door's credential check and error translation.

    `authenticate(request)` returns the caller or raises a RoostError; `translate(exc)` turns
    any exception into the RoostError the client is told about.
    """

    @csrf_exempt  # credentials are a bearer token or a signature; a session is CSRF-checked
    @require_http_methods(["GET", "POST"])
    def list_messages(request, region=None, account=None, queue_name=None):
        """Answer with the queue's messages as ReceiveMessage would, without receiving them."""
        protocol = _protocol(request)
        request_id = str(uuid.uuid4())
        try:
            principal = authenticate(request)
            response = _render(
                protocol, _peek(request, principal, protocol, queue_name), request_id
            )
        except Exception as exc:
            response = _render_error(protocol, translate(exc), request_id)
        response["x-amzn-RequestId"] = request_id
        return response

    return list_messages


def _peek(request, principal, protocol, queue_name):
    params = _params(request, protocol)
    if queue_name is None:
        queue_name = service.queue_name_from_url(params.get("QueueUrl"))
    permissions.authorize(principal, "sqs:ReceiveMessage", queue_arn(queue_name))
    queue = service.get_queue(queue_name)
    show_invisible = _flag(params.get("ShowInvisible"))
    show_delayed = _flag(params.get("ShowDelayed"))
    return [
        _message(queue, message, show_invisible, show_delayed)
        for message in _all_messages(queue, show_invisible, show_delayed)
    ]


def _protocol(request):
    if request.content_type.startswith("application/x-amz-json"):
        return "json"
    if "application/json" in request.headers.get("Accept", ""):
        return "query-json"
    return "query"


def _params(request, protocol):
    if protocol == "json":
        target = request.headers.get("X-Amz-Target", "")
        if target and target != "AmazonSQS.ReceiveMessage":
            raise InvalidAction("This endpoint only accepts ReceiveMessage calls.")
        try:
            params = json_input.loads(request.body) if request.body else {}
        except ValueError:
            raise SerializationException("The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise SerializationException("The request body must be a JSON object.")
        if not isinstance(params.get("QueueUrl", ""), str):
            raise SerializationException("Unexpected value for QueueUrl: expected a string.")
        return {**request.GET.dict(), **params}
    params = {**request.GET.dict(), **request.POST.dict()}
    if params.get("Action", "ReceiveMessage") != "ReceiveMessage":
        raise InvalidAction("This endpoint only accepts ReceiveMessage calls.")
    return params


def _flag(value):
    return str(value).lower() in ("true", "1")


def _all_messages(queue, show_invisible, show_delayed):
    states = ["visible"]
    if show_invisible:
        states.append("in_flight")
    if show_delayed:
        states.append("delayed")
    found, cursor = [], None
    while len(found) < MAX_MESSAGES:
        page, cursor = peek.peek_messages(
            queue,
            cursor=cursor,
            limit=min(peek.MAX_LIMIT, MAX_MESSAGES - len(found)),
            states=states,
        )
        found.extend(page)
        if cursor is None:
            break
    return found


def _message(queue, message, show_invisible, show_delayed):
    """One peeked message as the JSON protocol's ReceiveMessage Message structure."""
    attributes = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_at),
        "ApproximateReceiveCount": str(message.receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.first_received_at or 0),
    }
    if message.group_id:
        attributes["MessageGroupId"] = message.group_id
    if queue.is_fifo:
        attributes["MessageDeduplicationId"] = message.deduplication_id
        attributes["SequenceNumber"] = message.sequence_number
    if message.trace_header:
        attributes["AWSTraceHeader"] = message.trace_header
    if message.dead_letter_source_queue:
        attributes["DeadLetterQueueSourceArn"] = Queue(name=message.dead_letter_source_queue).arn
    if show_invisible:
        attributes["IsVisible"] = "true" if message.state == "visible" else "false"
    if show_delayed:
        attributes["IsDelayed"] = "true" if message.state == "delayed" else "false"
    result = {
        "MessageId": message.message_id,
        "ReceiptHandle": RECEIPT_HANDLE,
        "MD5OfBody": message.md5_of_body,
        "Body": message.body,
        "Attributes": attributes,
    }
    if message.attributes:
        result["MD5OfMessageAttributes"] = message.md5_of_attributes
        result["MessageAttributes"] = message.attributes
    return result


def _render(protocol, messages, request_id):
    if protocol == "json":
        return _http(sqs_json.render({"Messages": messages}))
    if protocol == "query-json":
        body = {
            "ReceiveMessageResponse": {
                "ReceiveMessageResult": {"Message": [_query_json(m) for m in messages]},
                "ResponseMetadata": {"RequestId": request_id},
            }
        }
        return HttpResponse(json.dumps(body), content_type="application/json")
    shaped = {"Messages": messages} if messages else {}
    return _http(sqs_query.render("ReceiveMessage", shaped, SimpleNamespace(request_id=request_id)))


def _query_json(message):
    """A message as LocalStack renders the query protocol's XML in JSON: Name/Value lists."""
    result = {
        "MessageId": message["MessageId"],
        "MD5OfBody": message["MD5OfBody"],
        "Body": message["Body"],
        "Attribute": [{"Name": k, "Value": v} for k, v in message["Attributes"].items()],
    }
    if "MessageAttributes" in message:
        result["MD5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        result["MessageAttribute"] = [
            {"Name": name, "Value": _attribute_value(value)}
            for name, value in message["MessageAttributes"].items()
        ]
    result["ReceiptHandle"] = message["ReceiptHandle"]
    return result


def _attribute_value(value):
    shaped = dict(value)
    if isinstance(shaped.get("BinaryValue"), bytes):
        shaped["BinaryValue"] = sqs_json.encode_binary(shaped["BinaryValue"])
    return shaped


def _render_error(protocol, error, request_id):
    if protocol == "query-json":
        body = {
            "ErrorResponse": {
                "Error": {
                    "Type": "Sender" if error.sender_fault else "Receiver",
                    "Code": error.legacy_code,
                    "Message": error.message,
                },
                "RequestId": request_id,
            }
        }
        return HttpResponse(json.dumps(body), status=error.status, content_type="application/json")
    adapter = sqs_json if protocol == "json" else sqs_query
    return _http(adapter.error_response(error, SimpleNamespace(request_id=request_id)))


def _http(response):
    """A wire adapter's Response as a Django response."""
    http = HttpResponse(response.body, status=response.status, content_type=response.content_type)
    for name, value in response.headers:
        http[name] = value
    return http
