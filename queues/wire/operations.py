"""SQS operations over the JSON protocol's parameter shapes, shared by both SQS wire protocols.

Each operation takes the request's parameters (as AWS's JSON protocol names and nests them; the
query adapter translates its flattened form into the same shape) and returns the result structure
the same way. Binary values are bytes here; each protocol encodes them.
"""

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_protocol.errors import SerializationException
from queues import service
from queues.errors import InvalidParameterValue, MissingParameter, entry_failure
from queues.models import MessageMoveTask


@dataclass
class WaitForMessages:
    """ReceiveMessage found nothing and may wait: the endpoint retries `attempt` when woken."""

    queue_id: int
    wait_seconds: int
    attempt: Callable[[], Any]  # returns a result dict, or None while there is still nothing
    empty: dict


@dataclass
class Continuation:
    """Work that goes on in steps (a purge of millions): the endpoint runs `attempt` again, after
    the other requests waiting for the database thread, until it returns a result."""

    attempt: Callable[[], Any]  # returns a result dict, or None while there is more to do


def _string(params, name, required=False):
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise MissingParameter(f"The request must contain the parameter {name}.")
        return None
    if not isinstance(value, str):
        raise SerializationException(f"Value for {name} must be a string.")
    return value


def _integer(params, name, required=False):
    value = params.get(name)
    if value is None:
        if required:
            raise MissingParameter(f"The request must contain the parameter {name}.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerializationException(f"Value for {name} must be an integer.")
    return value


def _list(params, name):
    value = params.get(name) or []
    if not isinstance(value, list):
        raise SerializationException(f"Value for {name} must be a list.")
    return value


def _map(params, name):
    value = params.get(name) or {}
    if not isinstance(value, dict):
        raise SerializationException(f"Value for {name} must be a map.")
    return value


def _queue(params):
    return service.get_queue_by_url(_string(params, "QueueUrl", required=True))


def _message_attributes(raw):
    """JSON-shaped message attributes -> the service's form (binary values as bytes)."""
    if not isinstance(raw, dict):
        raise SerializationException("MessageAttributes must be a map.")
    attributes = {}
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise SerializationException(f"Message attribute {name} must be a structure.")
        data_type = value.get("DataType")
        attribute = {"DataType": data_type}
        if "StringValue" in value and value["StringValue"] is not None:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            binary = value["BinaryValue"]
            if isinstance(binary, str):
                try:
                    binary = base64.b64decode(binary, validate=True)
                except (binascii.Error, ValueError):
                    raise InvalidParameterValue(
                        f"Message (user) attribute '{name}' has an invalid binary value."
                    ) from None
            attribute["BinaryValue"] = binary
        attributes[name] = attribute
    return attributes


def _send_entry(params, entry_id=""):
    return service.SendEntry(
        id=entry_id,
        body=params.get("MessageBody"),
        delay_seconds=_integer(params, "DelaySeconds"),
        message_attributes=_message_attributes(params.get("MessageAttributes") or {}),
        system_attributes=_message_attributes(params.get("MessageSystemAttributes") or {}),
        group_id=_string(params, "MessageGroupId"),
        deduplication_id=_string(params, "MessageDeduplicationId"),
    )


def _failed(failures):
    return [entry_failure(entry_id, error) for entry_id, error in failures]


# Queues


def create_queue(params, request):
    queue = service.create_queue(
        _string(params, "QueueName", required=True),
        {name: str(value) for name, value in _map(params, "Attributes").items()},
        _map(params, "tags"),
    )
    return {"QueueUrl": queue.url(request.base_url)}


def get_queue_url(params, request):
    queue = service.get_queue(_string(params, "QueueName", required=True))
    return {"QueueUrl": queue.url(request.base_url)}


def list_queues(params, request):
    queues, next_token = service.list_queues(
        _string(params, "QueueNamePrefix") or "",
        _integer(params, "MaxResults"),
        _string(params, "NextToken"),
    )
    result = {}
    if queues:
        result["QueueUrls"] = [queue.url(request.base_url) for queue in queues]
    if next_token:
        result["NextToken"] = next_token
    return result


def delete_queue(params, request):
    queue = _queue(params)
    # Its messages first, in steps other requests run between (as PurgeQueue's), then the rest.
    emptying = service.start_emptying(queue)

    def attempt():
        if not emptying.step():
            return None
        service.delete_queue(queue)
        return {}

    return Continuation(attempt)


def get_queue_attributes(params, request):
    attributes = service.get_queue_attributes(_queue(params), _list(params, "AttributeNames"))
    return {"Attributes": attributes} if attributes else {}


def set_queue_attributes(params, request):
    attributes = {name: str(value) for name, value in _map(params, "Attributes").items()}
    service.set_queue_attributes(_queue(params), attributes)
    return {}


def tag_queue(params, request):
    service.tag_queue(_queue(params), _map(params, "Tags"))
    return {}


def untag_queue(params, request):
    service.untag_queue(_queue(params), _list(params, "TagKeys"))
    return {}


def list_queue_tags(params, request):
    tags = service.list_queue_tags(_queue(params))
    return {"Tags": tags} if tags else {}


def purge_queue(params, request):
    purge = service.start_purge(_queue(params))
    return Continuation(attempt=lambda: {} if purge.step() else None)


def list_dead_letter_source_queues(params, request):
    queues, next_token = service.list_dead_letter_source_queues(
        _queue(params), _integer(params, "MaxResults"), _string(params, "NextToken")
    )
    result = {"queueUrls": [queue.url(request.base_url) for queue in queues]}
    if next_token:
        result["NextToken"] = next_token
    return result


def add_permission(params, request):
    _queue(params)
    raise service.UnsupportedOperation(
        "Roost authorises with its own access keys; queue permissions are not supported."
    )


remove_permission = add_permission


# Messages


def send_message(params, request):
    queue = _queue(params)
    return service.send_message(queue, _send_entry(params), sender_id=request.sender_id)


def send_message_batch(params, request):
    queue = _queue(params)
    entries = [_send_entry(entry, entry.get("Id") or "") for entry in _list(params, "Entries")]
    successful, failures = service.send_messages(queue, entries, sender_id=request.sender_id)
    return {"Successful": successful, "Failed": _failed(failures)}


def receive_message(params, request):
    queue = _queue(params)
    wait = service.long_poll_seconds(queue, _integer(params, "WaitTimeSeconds"))
    arguments = {
        "max_number": _integer(params, "MaxNumberOfMessages"),
        "visibility_timeout": _integer(params, "VisibilityTimeout"),
        "system_attribute_names": _list(params, "AttributeNames")
        + _list(params, "MessageSystemAttributeNames"),
        "message_attribute_names": _list(params, "MessageAttributeNames"),
        "attempt_id": _string(params, "ReceiveRequestAttemptId"),
    }

    def attempt():
        messages = service.receive_messages(service.get_queue(queue.name), **arguments)
        return {"Messages": messages} if messages else None

    result = attempt()
    if result is not None or wait == 0:
        return result or {}
    return WaitForMessages(queue_id=queue.id, wait_seconds=wait, attempt=attempt, empty={})


def delete_message(params, request):
    service.delete_message(_queue(params), _string(params, "ReceiptHandle", required=True))
    return {}


def delete_message_batch(params, request):
    queue = _queue(params)
    entries = [
        (entry.get("Id") or "", entry.get("ReceiptHandle")) for entry in _list(params, "Entries")
    ]
    done, failures = service.delete_messages(queue, entries)
    return {"Successful": [{"Id": entry_id} for entry_id in done], "Failed": _failed(failures)}


def change_message_visibility(params, request):
    service.change_message_visibility(
        _queue(params),
        _string(params, "ReceiptHandle", required=True),
        _integer(params, "VisibilityTimeout", required=True),
    )
    return {}


def change_message_visibility_batch(params, request):
    queue = _queue(params)
    entries = [
        (entry.get("Id") or "", entry.get("ReceiptHandle"), _integer(entry, "VisibilityTimeout"))
        for entry in _list(params, "Entries")
    ]
    done, failures = service.change_message_visibilities(queue, entries)
    return {"Successful": [{"Id": entry_id} for entry_id in done], "Failed": _failed(failures)}


# Redrive


def _describe_task(task):
    entry = {
        "Status": task.status,
        "SourceArn": task.source_queue.arn,
        "ApproximateNumberOfMessagesMoved": task.approximate_number_of_messages_moved,
        "ApproximateNumberOfMessagesToMove": task.approximate_number_of_messages_to_move,
        "StartedTimestamp": task.started_at,
    }
    if task.status == MessageMoveTask.Status.RUNNING:
        entry["TaskHandle"] = task.task_handle
    if task.destination_queue_id:
        entry["DestinationArn"] = task.destination_queue.arn
    if task.max_messages_per_second:
        entry["MaxNumberOfMessagesPerSecond"] = task.max_messages_per_second
    if task.failure_reason:
        entry["FailureReason"] = task.failure_reason
    return entry


def start_message_move_task(params, request):
    task = service.start_message_move_task(
        _string(params, "SourceArn", required=True),
        _string(params, "DestinationArn"),
        _integer(params, "MaxNumberOfMessagesPerSecond"),
    )
    return {"TaskHandle": task.task_handle}


def list_message_move_tasks(params, request):
    tasks = service.list_message_move_tasks(
        _string(params, "SourceArn", required=True), _integer(params, "MaxResults")
    )
    return {"Results": [_describe_task(task) for task in tasks]}


def cancel_message_move_task(params, request):
    task = service.cancel_message_move_task(_string(params, "TaskHandle", required=True))
    return {"ApproximateNumberOfMessagesMoved": task.approximate_number_of_messages_moved}


OPERATIONS = {
    "AddPermission": add_permission,
    "CancelMessageMoveTask": cancel_message_move_task,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "CreateQueue": create_queue,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "GetQueueUrl": get_queue_url,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "ListMessageMoveTasks": list_message_move_tasks,
    "ListQueueTags": list_queue_tags,
    "ListQueues": list_queues,
    "PurgeQueue": purge_queue,
    "ReceiveMessage": receive_message,
    "RemovePermission": remove_permission,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "SetQueueAttributes": set_queue_attributes,
    "StartMessageMoveTask": start_message_move_task,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
}
