"""The IAM actions each SQS operation needs, and the queue ARNs they are checked on.

Both SQS wire protocols call `check` after parsing a request and before running it, so a
refused call changes nothing and a batch is refused whole (SQS has no per-entry permission:
SendMessageBatch needs sqs:SendMessage, as in AWS). The resource comes from the request's own
parameters (the queue URL's last segment, QueueName, SourceArn), never from a lookup: a key
refused on a queue hears AccessDenied whether or not the queue exists, as AWS answers. ARNs are
rebuilt from the queue name in Roost's own region and account, so a client cannot step around a
Deny by writing another region into an ARN that Roost would still resolve by name.

A key with no policy costs a dict lookup here; a policy's decisions are memoized per (action,
resource), so the check stays a dict hit on the hot path.
"""

import base64
import binascii
import json
from functools import lru_cache

from aws_protocol import authorization
from aws_protocol.errors import AccessDenied
from queues import service
from queues.models import Message, queue_arn
from queues.wire.operations import _string

# Operations that need the action of their own name on the queue the QueueUrl names.
_ON_QUEUE_URL = {
    "AddPermission": ("sqs:AddPermission",),
    "ChangeMessageVisibility": ("sqs:ChangeMessageVisibility",),
    "ChangeMessageVisibilityBatch": ("sqs:ChangeMessageVisibility",),
    "DeleteMessage": ("sqs:DeleteMessage",),
    "DeleteMessageBatch": ("sqs:DeleteMessage",),
    "DeleteQueue": ("sqs:DeleteQueue",),
    "GetQueueAttributes": ("sqs:GetQueueAttributes",),
    "ListDeadLetterSourceQueues": ("sqs:ListDeadLetterSourceQueues",),
    "ListQueueTags": ("sqs:ListQueueTags",),
    "PurgeQueue": ("sqs:PurgeQueue",),
    "ReceiveMessage": ("sqs:ReceiveMessage",),
    "RemovePermission": ("sqs:RemovePermission",),
    "SendMessage": ("sqs:SendMessage",),
    "SendMessageBatch": ("sqs:SendMessage",),
    "SetQueueAttributes": ("sqs:SetQueueAttributes",),
    "TagQueue": ("sqs:TagQueue",),
    "UntagQueue": ("sqs:UntagQueue",),
}
# What AWS asks of a message move task's source, the dead-letter queue.
_ON_MOVE_SOURCE = (
    "sqs:StartMessageMoveTask",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)
_ON_CANCEL = (
    "sqs:CancelMessageMoveTask",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)
_ON_LIST_MOVES = ("sqs:ListMessageMoveTasks", "sqs:GetQueueAttributes")


def check(principal, operation, params):
    """Raise AccessDenied (AWS's message) unless the principal may run this operation."""
    if authorization.has_full_access(principal):
        return  # nothing to work out (a move task's origins take a query)
    for action, resource in required(operation, params):
        authorize(principal, action, resource)


def authorize(principal, action, resource):
    """Raise AccessDenied unless the principal may do `action` on `resource`."""
    decision = authorization.decide(principal, action, resource)
    if not decision.allowed:
        # SQS writes the action in lower case in its messages ("sqs:sendmessage").
        spelled = action.lower()
        raise AccessDenied(authorization.denial_message(principal, spelled, resource, decision))


def required(operation, params):
    """(action, resource ARN) pairs the operation needs, in the order AWS checks them."""
    actions = _ON_QUEUE_URL.get(operation)
    if actions is not None:
        arn = queue_arn_from_url(_string(params, "QueueUrl", required=True))
        return [(action, arn) for action in actions]
    return _SPECIAL[operation](params)


@lru_cache(maxsize=4096)
def queue_arn_from_url(url):
    """The ARN of the queue a URL names (whatever host or account it shows)."""
    return queue_arn(service.queue_name_from_url(url))


def _arn_param(params, name):
    """The queue ARN a parameter gives, rebuilt in this region; as given if it names no queue of
    this account (the operation then answers that it does not exist)."""
    arn = _string(params, name, required=True)
    queue_name = service.queue_name_from_arn(arn)
    return arn if queue_name is None else queue_arn(queue_name)


def _create_queue(params):
    arn = queue_arn(_string(params, "QueueName", required=True))
    needs = [("sqs:CreateQueue", arn)]
    if params.get("tags"):
        needs.append(("sqs:TagQueue", arn))
    return needs


def _get_queue_url(params):
    # The owner account a caller may name is ignored, as by the lookup: Roost has one account.
    return [("sqs:GetQueueUrl", queue_arn(_string(params, "QueueName", required=True)))]


def _list_queues(params):
    return [("sqs:ListQueues", authorization.account_resource("sqs"))]


def _start_message_move_task(params):
    source = _arn_param(params, "SourceArn")
    needs = [(action, source) for action in _ON_MOVE_SOURCE]
    if _string(params, "DestinationArn"):
        needs.append(("sqs:SendMessage", _arn_param(params, "DestinationArn")))
    else:
        # Back to where each message came from: sending to each of those queues.
        needs.extend(("sqs:SendMessage", queue_arn(name)) for name in _origins(source))
    return needs


def _origins(source_arn):
    """Names of the queues the dead-lettered messages of this queue came from."""
    name = service.queue_name_from_arn(source_arn)
    if name is None:
        return []
    return sorted(
        Message.objects.filter(queue__name=name, dead_letter_source__isnull=False)
        .values_list("dead_letter_source__name", flat=True)
        .distinct()
    )


def _list_message_move_tasks(params):
    source = _arn_param(params, "SourceArn")
    return [(action, source) for action in _ON_LIST_MOVES]


def _cancel_message_move_task(params):
    source = _task_source(_string(params, "TaskHandle", required=True))
    return [(action, source) for action in _ON_CANCEL]


def _task_source(handle):
    """The source queue's ARN a task handle names (Roost's handles carry it, as AWS's do).

    A handle that is not one of Roost's is checked against the whole account: only a key allowed
    everywhere hears that no such task exists. A forged handle naming another source finds no
    task, since the task is looked up by the handle as issued.
    """
    try:
        source = json.loads(base64.urlsafe_b64decode(handle.encode()))["sourceArn"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        return authorization.account_resource("sqs")
    if not isinstance(source, str):
        return authorization.account_resource("sqs")
    name = service.queue_name_from_arn(source)
    return authorization.account_resource("sqs") if name is None else queue_arn(name)


_SPECIAL = {
    "CreateQueue": _create_queue,
    "GetQueueUrl": _get_queue_url,
    "ListQueues": _list_queues,
    "StartMessageMoveTask": _start_message_move_task,
    "ListMessageMoveTasks": _list_message_move_tasks,
    "CancelMessageMoveTask": _cancel_message_move_task,
}
