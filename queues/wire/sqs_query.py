"""SQS's query protocol (older SDKs, AWS CLI v1): form parameters in, namespaced XML out."""

from console.errors import InvalidAction, MissingAction
from console.wire import xml
from console.wire.query import numbered, unflatten
from console.wire.responses import Pending, Response
from queues.errors import InvalidParameterValue
from queues.wire.operations import OPERATIONS, WaitForMessages

NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"
CONTENT_TYPE = "text/xml"

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
            name, key_field, value_field = MAPS[key]
            entries = {}
            for item in numbered(value):
                if isinstance(item, dict) and key_field in item:
                    entry_value = item.get(value_field)
                    entries[item[key_field]] = (
                        _to_json_shape(entry_value)
                        if isinstance(entry_value, dict)
                        else entry_value
                    )
            params[name] = entries
        elif key in INTEGERS and isinstance(value, str):
            try:
                params[key] = int(value)
            except ValueError:
                raise InvalidParameterValue(
                    f"Value {value} for parameter {key} is invalid. Reason: Must be an integer."
                ) from None
        elif isinstance(value, dict):
            params[key] = _to_json_shape(value)
        else:
            params[key] = value
    return params


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
        unflatten((key, value) for key, value in params.items() if key != "Action")
    )
    if "Tags" in shaped and action == "CreateQueue":
        shaped["tags"] = shaped.pop("Tags")
    if not shaped.get("QueueUrl") and request.queue_path:
        # Older SDKs post to the queue's URL and leave QueueUrl out.
        shaped["QueueUrl"] = request.base_url + request.queue_path
    result = operation(shaped, request)
    if isinstance(result, WaitForMessages):

        def attempt():
            found = result.attempt()
            return render(action, found, request) if found is not None else None

        return Pending(
            result.queue_id, result.wait_seconds, attempt, render(action, result.empty, request)
        )
    return render(action, result, request)


def error_response(error, request):
    return Response(
        error.status, xml.error_document(NAMESPACE, error, request.request_id), CONTENT_TYPE
    )
