"""The REST API's queue, message, peek and redrive endpoints: parse, fetch, one service call.

Every rule lives in queues.service (and queues.peek for browsing); these handlers translate JSON
to its arguments and its results to JSON. Receive is async so a long poll waits on the notifier,
not on a thread.

Each endpoint asks `aws_protocol.authorization` for the IAM action of the SQS operation it stands
for, on the queue's ARN, through `_queue` (or `_allow`): a denied caller gets 403 AccessDenied,
before the queue is looked up, so it learns nothing of whether the queue exists, as in SQS.
"""

import base64
import binascii
import json

from asgiref.sync import sync_to_async
from ninja import Query, Router, Status

from aws_protocol import authorization
from queues import (
    consumer_health,
    history,
    lineage,
    long_poll,
    peek,
    queue_attributes,
    schemas,
    service,
)
from queues.errors import InvalidParameterValue, ResourceNotFoundException
from queues.models import Queue
from queues.wire import permissions as sqs_permissions

router = Router()

QUEUES = ["queues"]
MESSAGES = ["messages"]
REDRIVE = ["redrive"]
ERRORS = {frozenset({400, 401, 403, 404, 409}): schemas.Error}


# Access-checked fetching


def _allow(request, resource, *actions):
    """Raise AccessDenied (403) unless the caller may do every one of `actions` on `resource`."""
    for action in actions:
        authorization.authorize(request.auth, action, resource)


def _queue(request, name, *actions):
    """The queue named `name`, once the caller may do every one of `actions` on it."""
    _allow(request, Queue(name=name).arn, *actions)
    return service.get_queue(name)


def _may_see(request, queue):
    """Whether a queue belongs in the caller's list: they may read its attributes."""
    return authorization.decide(request.auth, "sqs:GetQueueAttributes", queue.arn).allowed


def _allow_operation(request, operation, params):
    """Raise AccessDenied unless the caller may run this SQS operation, judged as the SQS door
    judges it (move tasks need several actions on more than one queue)."""
    for action, resource in sqs_permissions.required(operation, params):
        authorization.authorize(request.auth, action, resource)


# Translation helpers


def _base_url(request):
    return request.build_absolute_uri("/").rstrip("/")


def _sender_id(request):
    """Who sent a message: the access key's id, or the console user's name."""
    credential = request.auth
    if hasattr(credential, "access_key_id"):
        return credential.access_key_id
    return credential.get_username()[:128]


def _attribute_text(value):
    """A JSON value as the string SQS expects for a queue attribute."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _summary(request, queue):
    return {
        "name": queue.name,
        "url": queue.url(_base_url(request)),
        "arn": queue.arn,
        "fifo": queue.is_fifo,
    }


def _detail(request, queue):
    attributes = service.get_queue_attributes(queue, ["All"])
    redrive = None
    if attributes.get("RedrivePolicy"):
        arn, count = queue_attributes.parse_redrive_policy(attributes["RedrivePolicy"])
        if arn is not None:
            redrive = {
                "dead_letter_queue": service.queue_name_from_arn(arn),
                "dead_letter_queue_arn": arn,
                "max_receive_count": count,
            }
    sources, _ = service.list_dead_letter_source_queues(queue)
    return {
        **_summary(request, queue),
        "attributes": attributes,
        "depth": {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
        },
        "redrive_policy": redrive,
        "dead_letter_source_queues": [source.name for source in sources],
        "tags": service.list_queue_tags(queue),
    }


def _attributes_in(attributes):
    """Queue attributes as given -> SQS's strings (None when none were given)."""
    if attributes is None:
        return None
    return {
        name: _attribute_text(v) for name, v in attributes.model_dump(exclude_unset=True).items()
    }


def _message_attributes_in(attributes):
    """REST message attributes -> the service's form (binary values as bytes)."""
    result = {}
    for name, attribute in attributes.items():
        value = {"DataType": attribute.DataType}
        if getattr(attribute, "StringValue", None) is not None:
            value["StringValue"] = attribute.StringValue
        if getattr(attribute, "BinaryValue", None) is not None:
            try:
                value["BinaryValue"] = base64.b64decode(attribute.BinaryValue, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidParameterValue(
                    f"Message (user) attribute '{name}' has an invalid binary value."
                ) from None
        result[name] = value
    return result


def _message_attributes_out(attributes):
    """Stored or received message attributes -> JSON (binary values in base64)."""
    result = {}
    for name, attribute in (attributes or {}).items():
        value = {"DataType": attribute["DataType"]}
        if attribute.get("StringValue") is not None:
            value["StringValue"] = attribute["StringValue"]
        if attribute.get("BinaryValue") is not None:
            value["BinaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode("ascii")
        result[name] = value
    return result


def _send_entry(payload, entry_id=""):
    system = {}
    if payload.trace_header is not None:
        system["AWSTraceHeader"] = {"DataType": "String", "StringValue": payload.trace_header}
    return service.SendEntry(
        id=entry_id,
        body=payload.body,
        delay_seconds=payload.delay_seconds,
        message_attributes=_message_attributes_in(payload.message_attributes),
        system_attributes=system,
        group_id=payload.group_id,
        deduplication_id=payload.deduplication_id,
    )


def _sent(result):
    return {
        "message_id": result["MessageId"],
        "md5_of_body": result["MD5OfMessageBody"],
        "md5_of_message_attributes": result.get("MD5OfMessageAttributes"),
        "sequence_number": result.get("SequenceNumber"),
    }


def _received(message):
    return {
        "message_id": message["MessageId"],
        "receipt_handle": message["ReceiptHandle"],
        "body": message["Body"],
        "md5_of_body": message["MD5OfBody"],
        "attributes": message.get("Attributes", {}),
        "message_attributes": _message_attributes_out(message.get("MessageAttributes")),
        "md5_of_message_attributes": message.get("MD5OfMessageAttributes"),
    }


def _peeked(message):
    return {
        "message_id": message.message_id,
        "body": message.body,
        "md5_of_body": message.md5_of_body,
        "message_attributes": _message_attributes_out(message.attributes),
        "state": message.state,
        "sent_at": message.sent_at,
        "visible_at": message.visible_at,
        "receive_count": message.receive_count,
        "first_received_at": message.first_received_at,
        "sender_id": message.sender_id,
        "group_id": message.group_id or None,
        "deduplication_id": message.deduplication_id or None,
        "sequence_number": message.sequence_number or None,
        "trace_header": message.trace_header or None,
        "dead_letter_source_queue": message.dead_letter_source_queue,
    }


def _move_task(task):
    return {
        "task_handle": task.task_handle,
        "status": task.status,
        "source_queue": task.source_queue.name,
        "destination_queue": task.destination_queue.name if task.destination_queue_id else None,
        "approximate_number_of_messages_moved": task.approximate_number_of_messages_moved,
        "approximate_number_of_messages_to_move": task.approximate_number_of_messages_to_move,
        "max_messages_per_second": task.max_messages_per_second,
        "failure_reason": task.failure_reason or None,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
    }


def _failed(failures):
    return [
        {
            "id": entry_id,
            "code": error.code,
            "message": error.message,
            "sender_fault": error.sender_fault,
        }
        for entry_id, error in failures
    ]


# Queues


@router.get("/queues", response={200: schemas.QueueList, **ERRORS}, tags=QUEUES)
def list_queues(
    request,
    prefix: str = Query("", pattern=schemas.TEXT),
    limit: int = Query(1000, ge=1, le=1000),
    cursor: str | None = Query(
        None, pattern=schemas.TEXT, description="next_cursor from the previous page."
    ),
):
    """List queues by name, optionally only those whose name starts with `prefix`.

    Needs sqs:ListQueues; the list holds only the queues the caller may sqs:GetQueueAttributes
    on. That filter runs on each page after it is cut, so a page may hold fewer than `limit`
    queues, even none, while `next_cursor` still leads on.
    """
    _allow(request, authorization.account_resource("sqs"), "sqs:ListQueues")
    queues, next_cursor = service.list_queues(prefix, limit, cursor)
    return {
        "queues": [_summary(request, queue) for queue in queues if _may_see(request, queue)],
        "next_cursor": next_cursor,
    }


@router.post("/queues", response={201: schemas.QueueDetail, **ERRORS}, tags=QUEUES)
def create_queue(request, payload: schemas.QueueCreate):
    """Create a queue; an existing queue with the same attributes is returned as it is.

    A name ending in .fifo makes a FIFO queue (FifoQueue may be left out).
    """
    tagging = ["sqs:TagQueue"] if payload.tags else []
    _allow(request, Queue(name=payload.name).arn, "sqs:CreateQueue", *tagging)
    attributes = _attributes_in(payload.attributes)
    if payload.name.endswith(".fifo"):
        attributes.setdefault("FifoQueue", "true")
    queue = service.create_queue(payload.name, attributes, payload.tags)
    return Status(201, _detail(request, queue))


@router.get("/queues/{name}", response={200: schemas.QueueDetail, **ERRORS}, tags=QUEUES)
def get_queue(request, name: schemas.PathText):
    """A queue's attributes, depth (visible, in flight, delayed), redrive policy and tags."""
    return _detail(request, _queue(request, name, "sqs:GetQueueAttributes"))


@router.patch("/queues/{name}", response={200: schemas.QueueDetail, **ERRORS}, tags=QUEUES)
def update_queue(request, name: schemas.PathText, payload: schemas.QueueUpdate):
    """Change attributes, add or replace tags, remove tags: all of it, or nothing when one fails.

    Needs sqs:SetQueueAttributes for attributes, sqs:TagQueue for tags, sqs:UntagQueue for
    remove_tags.
    """
    actions = [
        action
        for action, given in (
            ("sqs:SetQueueAttributes", payload.attributes is not None),
            ("sqs:TagQueue", bool(payload.tags)),
            ("sqs:UntagQueue", bool(payload.remove_tags)),
        )
        if given
    ]
    queue = service.update_queue(
        _queue(request, name, *(actions or ["sqs:SetQueueAttributes"])),
        _attributes_in(payload.attributes),
        payload.tags,
        payload.remove_tags,
    )
    return _detail(request, queue)


@router.delete("/queues/{name}", response={204: None, **ERRORS}, tags=QUEUES)
def delete_queue(request, name: schemas.PathText):
    """Delete a queue and every message in it."""
    service.delete_queue(_queue(request, name, "sqs:DeleteQueue"))
    return Status(204, None)


@router.post("/queues/{name}/purge", response={200: schemas.PurgeResult, **ERRORS}, tags=QUEUES)
def purge_queue(request, name: schemas.PathText):
    """Delete every message in the queue (once a minute per queue, as in SQS).

    The messages go to the queue's trash for ROOST_TRASH_SECONDS: restore `trash_batch` to undo.
    """
    queue = _queue(request, name, "sqs:PurgeQueue")
    batch = service.new_batch_id()
    deleted = service.purge_queue(queue, batch)
    return {"deleted": deleted, "trash_batch": batch if service.trash_enabled() else None}


def _trash_batch(batch):
    return {
        "batch": batch.batch,
        "reason": batch.reason,
        "trashed_at": batch.trashed_at,
        "expires_at": batch.expires_at,
        "count": batch.count,
        "finished": batch.finished_at is not None,
        "door": batch.door,
        "actor": batch.actor,
        "key_id": batch.key_id,
        "username": batch.username,
    }


@router.get("/queues/{name}/trash", response={200: schemas.TrashList, **ERRORS}, tags=QUEUES)
def list_trash(request, name: schemas.PathText):
    """The queue's purges and console deletes that can still be undone, newest first.

    Needs sqs:PurgeQueue, as restoring does.
    """
    queue = _queue(request, name, "sqs:PurgeQueue")
    return {"batches": [_trash_batch(batch) for batch in service.recent_batches(queue)]}


@router.post(
    "/queues/{name}/trash/{batch}/restore",
    response={200: schemas.RestoreResult, frozenset({410}): schemas.Error, **ERRORS},
    tags=QUEUES,
)
def restore_trash(request, name: schemas.PathText, batch: schemas.PathText):
    """Undo a purge or delete: its messages go back with their ids, attributes, receive counts
    and order, visible now unless still delayed; those past retention stay out.

    Needs sqs:PurgeQueue. 410 TrashEmptied once the trash window has passed; 409
    TrashBatchInProgress while the purge is still moving messages to the trash.
    """
    restored, expired = service.restore(_queue(request, name, "sqs:PurgeQueue"), batch)
    return {"restored": restored, "expired": expired}


# Messages (literal paths before /messages/{receipt_handle}: Django matches in order)


@router.get("/queues/{name}/messages", response={200: schemas.PeekPage, **ERRORS}, tags=MESSAGES)
def peek_messages(request, name: schemas.PathText, filters: Query[schemas.PeekFilters]):
    """Browse messages without receiving them: nothing about them changes.

    Needs sqs:ReceiveMessage: peeking reads bodies, which is what that permission guards.
    """
    messages, next_cursor = peek.peek_messages(
        _queue(request, name, "sqs:ReceiveMessage"),
        cursor=filters.cursor,
        limit=filters.limit,
        states=filters.state,
        body_contains=filters.body_contains,
        attribute=filters.attribute,
        min_receive_count=filters.min_receive_count,
        older_than_seconds=filters.older_than_seconds,
        group_id=filters.group_id,
    )
    return {"messages": [_peeked(message) for message in messages], "next_cursor": next_cursor}


@router.post(
    "/queues/{name}/messages", response={201: schemas.SentMessage, **ERRORS}, tags=MESSAGES
)
def send_message(request, name: schemas.PathText, payload: schemas.SendMessage):
    """Send one message."""
    queue = _queue(request, name, "sqs:SendMessage")
    result = service.send_message(queue, _send_entry(payload), sender_id=_sender_id(request))
    return Status(201, _sent(result))


@router.post(
    "/queues/{name}/messages/batch",
    response={200: schemas.SendBatchResult, **ERRORS},
    tags=MESSAGES,
)
def send_message_batch(request, name: schemas.PathText, payload: schemas.SendBatch):
    """Send up to ten messages; each entry succeeds or fails on its own.

    Needs sqs:SendMessage, as SendMessageBatch does: the whole batch is refused without it.
    """
    queue = _queue(request, name, "sqs:SendMessage")
    entries = [_send_entry(entry, entry.id) for entry in payload.entries]
    successful, failures = service.send_messages(queue, entries, sender_id=_sender_id(request))
    return {
        "successful": [{"id": result["Id"], **_sent(result)} for result in successful],
        "failed": _failed(failures),
    }


_database = sync_to_async  # thread-sensitive: all ORM work on the one sync thread


@router.post(
    "/queues/{name}/messages/receive",
    response={200: schemas.ReceiveResult, **ERRORS},
    tags=MESSAGES,
)
async def receive_messages(request, name: schemas.PathText, payload: schemas.Receive | None = None):
    """Receive up to ten messages, long-polling up to `wait_seconds` when none are visible."""
    payload = payload or schemas.Receive()
    queue = await _database(_queue)(request, name, "sqs:ReceiveMessage")
    wait = service.long_poll_seconds(queue, payload.wait_seconds)

    def attempt():
        return service.receive_messages(
            service.get_queue(name),
            max_number=payload.max_messages,
            visibility_timeout=payload.visibility_timeout,
            system_attribute_names=["All"],
            message_attribute_names=["All"],
        )

    async def attempt_again():
        return await _database(attempt)() or None

    messages = await _database(attempt)()
    if not messages and wait > 0:
        messages = await long_poll.wait_for_messages(queue.id, wait, attempt_again) or []
    return {"messages": [_received(message) for message in messages]}


@router.delete(
    "/queues/{name}/messages/{receipt_handle}", response={204: None, **ERRORS}, tags=MESSAGES
)
def delete_message(request, name: schemas.PathText, receipt_handle: schemas.PathText):
    """Delete a received message; a handle from an earlier receive deletes nothing, as in SQS."""
    service.delete_message(_queue(request, name, "sqs:DeleteMessage"), receipt_handle)
    return Status(204, None)


@router.post(
    "/queues/{name}/messages/{receipt_handle}/visibility",
    response={204: None, **ERRORS},
    tags=MESSAGES,
)
def change_visibility(
    request,
    name: schemas.PathText,
    receipt_handle: schemas.PathText,
    payload: schemas.ChangeVisibility,
):
    """Make a received message visible again `visibility_timeout` seconds from now."""
    service.change_message_visibility(
        _queue(request, name, "sqs:ChangeMessageVisibility"),
        receipt_handle,
        payload.visibility_timeout,
    )
    return Status(204, None)


# Lineage and consumers


@router.get(
    "/queues/{name}/messages/{message_id}/events",
    response={200: schemas.MessageTimeline, **ERRORS},
    tags=MESSAGES,
)
def message_events(request, name: schemas.PathText, message_id: schemas.PathText):
    """A message's life, oldest first: published, sent, each receive, visibility changes, moves
    to and from a dead-letter queue, and its end (deleted, expired, purged).

    Needs sqs:ReceiveMessage on the queue, as reading its messages does; events from other queues
    the message went through are shown only where the caller may do the same.
    """
    queue = _queue(request, name, "sqs:ReceiveMessage")
    events = [
        event
        for event in lineage.timeline(message_id)
        if event["queue"] == queue.name
        or (event["queue"] and _may_read(request, Queue(name=event["queue"]).arn))
    ]
    if not events:
        raise ResourceNotFoundException(f"No events for message {message_id} in {queue.name}.")
    return {"message_id": message_id, "queue": queue.name, "events": events}


def _may_read(request, arn):
    return authorization.decide(request.auth, "sqs:ReceiveMessage", arn).allowed


@router.get(
    "/queues/{name}/consumers", response={200: schemas.ConsumerHealth, **ERRORS}, tags=QUEUES
)
def queue_consumers(request, name: schemas.PathText):
    """Who consumed the queue in the last five minutes (per access key: received, deleted,
    receive-to-delete latency), messages received many times, and blocked FIFO groups.

    Needs sqs:GetQueueAttributes, as reading its other figures does.
    """
    return consumer_health.consumer_health(_queue(request, name, "sqs:GetQueueAttributes"))


# Redrive


@router.post("/queues/{name}/move-tasks", response={201: schemas.MoveTask, **ERRORS}, tags=REDRIVE)
def start_move_task(request, name: schemas.PathText, payload: schemas.StartMoveTask):
    """Move a dead-letter queue's messages back to their source queues (or to `destination`).

    Needs, as StartMessageMoveTask does, sqs:StartMessageMoveTask, sqs:ReceiveMessage,
    sqs:DeleteMessage and sqs:GetQueueAttributes on the dead-letter queue, and sqs:SendMessage
    on the destination (without one, on each queue its messages came from).
    """
    params = {"SourceArn": Queue(name=name).arn}
    if payload.destination:
        params["DestinationArn"] = Queue(name=payload.destination).arn
    _allow_operation(request, "StartMessageMoveTask", params)
    source = service.get_queue(name)
    destination = service.get_queue(payload.destination) if payload.destination else None
    task = service.start_message_move_task(
        source.arn, destination.arn if destination else None, payload.max_messages_per_second
    )
    return Status(201, _move_task(task))


def _redrive_queues(request, name, payload):
    """The dead-letter queue and destination of a selective redrive, once the caller may start a
    message move task between them (the selection may only narrow what that allows)."""
    params = {"SourceArn": Queue(name=name).arn}
    if payload.destination:
        params["DestinationArn"] = Queue(name=payload.destination).arn
    _allow_operation(request, "StartMessageMoveTask", params)
    dlq = service.get_queue(name)
    destination = service.get_queue(payload.destination) if payload.destination else None
    return dlq, destination


def _plan(plan):
    return {
        "matched": plan.matched,
        "movable": plan.movable,
        "scanned": plan.scanned,
        "scan_limit": service.selective_redrive.SCAN_LIMIT,
        "truncated": plan.truncated,
        "destinations": plan.destinations,
        "groups": plan.groups,
        "group_count": plan.group_count,
        "unmovable": plan.unmovable,
        "unmovable_count": plan.unmovable_count,
        "sample": plan.sample,
    }


@router.post(
    "/queues/{name}/redrive/plan", response={200: schemas.RedrivePlan, **ERRORS}, tags=REDRIVE
)
def plan_redrive(request, name: schemas.PathText, payload: schemas.RedrivePlanRequest):
    """Preview redriving the selected messages of a dead-letter queue; nothing changes.

    Counts per destination queue, FIFO groups, messages that cannot move and why, and a sample.
    Needs what starting a move task between the queues needs.
    """
    dlq, destination = _redrive_queues(request, name, payload)
    selection = payload.selection.model_dump(exclude_none=True)
    return _plan(service.plan_redrive(dlq, selection, destination, payload.edits))


@router.post(
    "/queues/{name}/redrive", response={201: schemas.RedriveStarted, **ERRORS}, tags=REDRIVE
)
def start_redrive(request, name: schemas.PathText, payload: schemas.StartRedrive):
    """Redrive the selected messages (with `edits` applied) as a message move task.

    Follow it with the move-task endpoints: it is listed with the queue's tasks and cancelled
    like any other. Needs what starting a move task between the queues needs.
    """
    dlq, destination = _redrive_queues(request, name, payload)
    task, plan = service.start_selective_redrive(
        dlq,
        payload.selection.model_dump(exclude_none=True),
        destination,
        payload.edits,
        payload.max_messages_per_second,
    )
    return Status(201, {"task": _move_task(task), "plan": _plan(plan)})


@router.get(
    "/queues/{name}/move-tasks", response={200: schemas.MoveTaskList, **ERRORS}, tags=REDRIVE
)
def list_move_tasks(request, name: schemas.PathText, limit: int = Query(10, ge=1, le=10)):
    """The queue's most recent move tasks, newest first (at most 10)."""
    _allow_operation(request, "ListMessageMoveTasks", {"SourceArn": Queue(name=name).arn})
    tasks = service.list_message_move_tasks(service.get_queue(name).arn, limit)
    return {"tasks": [_move_task(task) for task in tasks]}


@router.post(
    "/move-tasks/{task_handle}/cancel", response={200: schemas.MoveTask, **ERRORS}, tags=REDRIVE
)
def cancel_move_task(request, task_handle: schemas.PathText):
    """Stop a running move task; messages already moved stay moved.

    Needs what starting it needed on its dead-letter queue, with sqs:CancelMessageMoveTask.
    """
    _allow_operation(request, "CancelMessageMoveTask", {"TaskHandle": task_handle})
    return _move_task(service.cancel_message_move_task(task_handle))


# History


@router.get("/queues/{name}/history", response={200: schemas.History, **ERRORS}, tags=QUEUES)
def queue_history(
    request,
    name: schemas.PathText,
    range: str = Query(
        history.DEFAULT_RANGE,
        pattern=schemas.HISTORY_RANGE,
        description="1h, 6h or 24h (a point a minute), 7d or 30d (a point an hour).",
    ),
):
    """The queue's series over a range: counts per minute or hour, depths and the oldest
    message's age as sampled (docs/history.md). Needs sqs:GetQueueAttributes."""
    queue = _queue(request, name, "sqs:GetQueueAttributes")
    return history.series(history.QUEUES, queue.pk, range).as_json()
