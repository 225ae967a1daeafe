"""SQS's query protocol (older SDKs, AWS CLI v1): form parameters in, namespaced XML out."""

import re
from functools import partial

from aws_protocol import shapes, xml
from aws_protocol.errors import InvalidAction, MalformedQueryString, MissingAction
from aws_protocol.query import numbered, unflatten
from aws_protocol.responses import Continue, Pending, Response
from queues import long_poll
from queues.errors import InvalidParameterValue, MissingParameter, RequestThrottled
from queues.wire import permissions
from queues.wire.operations import OPERATIONS, Continuation, WaitForMessages
from queues.wire.sqs_json import SERVICE_CHECKED_TEXT
from queues.wire.sqs_shapes import INPUTS

DOOR = "sqs"  # what the audit log and message lineage say a request came through

NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"
CONTENT_TYPE = "text/xml"
SIGNING_NAME = "sqs"  # the service a SigV4 credential scope names
API_VERSION = "2012-11-05"

_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
INTEGERS = {
    "DelaySeconds",
    "MaxNumberOfMessages",
    "VisibilityTimeout",
    "WaitTimeSeconds",
    "MaxResults",
    "MaxNumberOfMessagesPerSecond",
}
# Flattened query lists and the JSON protocol's names for them.
LISTS = {
    "AttributeName": "AttributeNames",
    "MessageAttributeName": "MessageAttributeNames",
    "MessageSystemAttributeName": "MessageSystemAttributeNames",
    "TagKey": "TagKeys",
    "AWSAccountId": "AWSAccountIds",
    "ActionName": "Actions",
    "SendMessageBatchRequestEntry": "Entries",
    "DeleteMessageBatchRequestEntry": "Entries",
    "ChangeMessageVisibilityBatchRequestEntry": "Entries",
}
# Flattened query maps: JSON name, key element, value element.
MAPS = {
    "Attribute": ("Attributes", "Name", "Value"),
    "MessageAttribute": ("MessageAttributes", "Name", "Value"),
    "MessageSystemAttribute": ("MessageSystemAttributes", "Name", "Value"),
    "Tag": ("Tags", "Key", "Value"),
}
# Result lists and the element each item is written as.
RESULT_ITEMS = {
    "QueueUrls": "QueueUrl",
    "queueUrls": "QueueUrl",
    "Messages": "Message",
    "Failed": "BatchResultErrorEntry",
    "Results": "ListMessageMoveTasksResultEntry",
}
RESULT_MAPS = {
    "Attributes": ("Attribute", "Name", "Value"),
    "Tags": ("Tag", "Key", "Value"),
    "MessageAttributes": ("MessageAttribute", "Name", "Value"),
    "MessageSystemAttributes": ("MessageSystemAttribute", "Name", "Value"),
}


def _to_json_shape(node):
    """Translate an unflattened query structure into the JSON protocol's parameter shape."""
    params = {}
    for key, value in node.items():
        if key in LISTS:
            items = numbered(value)
            params[LISTS[key]] = [
                _to_json_shape(item) if isinstance(item, dict) else item for item in items
            ]
        elif key in MAPS:
            params[MAPS[key][0]] = _map(key, value)
        elif key in INTEGERS and isinstance(value, str):
            if not _INTEGER.fullmatch(value):
                raise InvalidParameterValue(
                    f"Value {value} for parameter {key} is invalid. Reason: Must be an integer."
                )
            params[key] = int(value)
        elif isinstance(value, dict):
            params[key] = _to_json_shape(value)
        else:
            params[key] = value
    return params


def _map(key, node):
    """`Key.N.Name` / `Key.N.Value` pairs as a dict; each entry needs both, its name a value."""
    _, key_field, value_field = MAPS[key]
    entries = {}
    if not isinstance(node, dict):
        return entries
    for index, item in sorted(
        ((int(n), item) for n, item in node.items() if n.isdigit()), key=lambda pair: pair[0]
    ):
        if not isinstance(item, dict) or key_field not in item:
            raise MissingParameter(
                f"The request must contain the parameter {key}.{index}.{key_field}."
            )
        if not isinstance(item[key_field], str):
            raise InvalidParameterValue(
                f"Value for parameter {key}.{index}.{key_field} is invalid. Reason: Must be a "
                "value, not a structure."
            )
        if value_field not in item:
            raise MissingParameter(
                f"The request must contain the parameter {key}.{index}.{value_field}."
            )
        name, entry_value = item[key_field], item[value_field]
        entries[name] = (
            _to_json_shape(entry_value) if isinstance(entry_value, dict) else entry_value
        )
    return entries


def _structure(result, successful_item=None):
    parts = []
    for key, value in result.items():
        if key in RESULT_MAPS:
            item, key_field, value_field = RESULT_MAPS[key]
            for name, entry in value.items():
                inner = _structure(entry) if isinstance(entry, dict) else xml.text(entry)
                parts.append(
                    f"<{item}>{xml.element(key_field, name)}<{value_field}>{inner}"
                    f"</{value_field}></{item}>"
                )
        elif isinstance(value, list):
            item = successful_item if key == "Successful" else RESULT_ITEMS.get(key, key)
            for entry in value:
                inner = _structure(entry) if isinstance(entry, dict) else xml.text(entry)
                parts.append(f"<{item}>{inner}</{item}>")
        elif isinstance(value, dict):
            parts.append(f"<{key}>{_structure(value)}</{key}>")
        else:
            parts.append(xml.element(key, value))
    return "".join(parts)


def render(action, result, request):
    if result:
        body = xml.document(
            f"{action}Response",
            NAMESPACE,
            _structure(result, f"{action}ResultEntry"),
            request.request_id,
            f"{action}Result",
        )
    else:
        body = xml.document(
            f"{action}Response", NAMESPACE, "", request.request_id, _result_name(action)
        )
    return Response(200, body, CONTENT_TYPE)


# Operations whose output shape exists (botocore expects an empty <XResult/> for them).
_WITH_RESULT = {
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "GetQueueAttributes",
    "ListQueueTags",
    "ListDeadLetterSourceQueues",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch",
    "StartMessageMoveTask",
    "ListMessageMoveTasks",
    "CancelMessageMoveTask",
}


def _result_name(action):
    return f"{action}Result" if action in _WITH_RESULT else None


def handle(request):
    params = request.form
    action = params.get("Action")
    if not action:
        raise MissingAction("The request must contain the parameter Action.")
    operation = OPERATIONS.get(action)
    if operation is None:
        raise InvalidAction(f"The action {action} is not valid for this web service.")
    shaped = _to_json_shape(
        unflatten(
            ((key, value) for key, value in params.items() if key != "Action"),
            MalformedQueryString,
        )
    )
    if "Tags" in shaped and action == "CreateQueue":
        shaped["tags"] = shaped.pop("Tags")
    if not shaped.get("QueueUrl") and request.queue_path:
        # Older SDKs post to the queue's URL and leave QueueUrl out.
        shaped["QueueUrl"] = request.base_url + request.queue_path
    members = INPUTS[action]
    for name, spec in members.items():
        if shaped.get(name) == "" and isinstance(spec, list):
            # An empty list or map is sent as `Name=`.
            shaped[name] = [] if spec[0] == "list" else {}
    try:
        shapes.check_json(shaped, members, SERVICE_CHECKED_TEXT)
    except shapes.ShapeError as error:
        reason = "Must be " + error.expected if error.reason == "type" else "Invalid characters"
        raise InvalidParameterValue(
            f"Value for parameter {error.path} is invalid. Reason: {reason}."
        ) from None
    permissions.check(request.access_key, action, shaped)
    result = operation(shaped, request)
    if isinstance(result, Continuation):

        def go_on():
            found = result.attempt()
            return continuing if found is None else render(action, found, request)

        continuing = Continue(go_on)
        return continuing
    if isinstance(result, WaitForMessages):

        def attempt():
            found = result.attempt()
            return render(action, found, request) if found is not None else None

        wait = partial(long_poll.wait_for_messages, result.queue_id, result.wait_seconds)
        return Pending(wait, attempt, render(action, result.empty, request))
    return render(action, result, request)


def throttled():
    return RequestThrottled("Rate exceeded")


def error_response(error, request):
    return Response(
        error.status, xml.error_document(NAMESPACE, error, request.request_id), CONTENT_TYPE
    )
