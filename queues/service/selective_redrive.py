"""Selective redrive: choose some of a dead-letter queue's messages, preview where they would go
(`plan_redrive`, which changes nothing), then move them as a message move task
(`start_selective_redrive`), with new bodies for some if wanted.

A selection narrows in SQL where it can (body text, receive count, age, source queue, group,
message ids) and in Python where it cannot (attribute values, JSON paths), over the dead-letter
queue's (queue, sent_at, id) index a batch at a time. A plan reads at most SCAN_LIMIT rows: a
larger backlog is planned (and moved) in parts, oldest first. The task moves exactly the messages
its plan found movable, in id order, so a FIFO group keeps its order and its group id.
"""

import uuid
from dataclasses import dataclass, field

from django.db import transaction

from audit import log as audit_log
from queues import json_path, peek
from queues.errors import InvalidParameterValue, ResourceNotFoundException, UnsupportedOperation
from queues.message_attributes import decode_attributes, validate_body, validate_message_attributes
from queues.models import Message, MessageMoveTask, Queue, now_ms
from queues.service.redrive import _check_redrive_queues, _task_handle
from queues.service.sending import _max_message_size

# Rows of the dead-letter queue one plan reads at most (after the SQL filters).
SCAN_LIMIT = 10_000
# Rows read per query while scanning.
SCAN_BATCH = 500
# How many matching messages, groups and unmovable messages a plan lists (its counts are whole).
SAMPLE_SIZE = 20
LIST_LIMIT = 50
MAX_CHOSEN_IDS = 1000
BODY_EXCERPT = 200

_INTEGER_FILTERS = (
    "min_receive_count",
    "max_receive_count",
    "older_than_seconds",
    "newer_than_seconds",
)
_TEXT_FILTERS = ("body_contains", "json_path", "attribute", "source_queue", "group_id")
FILTERS = (*_TEXT_FILTERS, *_INTEGER_FILTERS, "message_ids")


@dataclass
class Selection:
    """Which messages of a dead-letter queue to redrive; every filter given must hold."""

    body_contains: str | None = None
    json_path: str | None = None
    attribute: str | None = None  # "name", or "name=value"
    min_receive_count: int | None = None
    max_receive_count: int | None = None
    older_than_seconds: int | None = None
    newer_than_seconds: int | None = None
    source_queue: str | None = None
    group_id: str | None = None
    message_ids: list | None = None  # MessageIds, chosen by hand

    @classmethod
    def from_dict(cls, data):
        """Check a selection as the REST API and the console pass it; raise InvalidParameterValue."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidParameterValue("The selection must be an object of filters.")
        unknown = sorted(set(data) - set(FILTERS))
        if unknown:
            raise InvalidParameterValue(
                f"Unknown filter {unknown[0]}. Filters: {', '.join(FILTERS)}."
            )
        values = {}
        for name in _TEXT_FILTERS:
            value = data.get(name)
            if value in (None, ""):
                continue
            if not isinstance(value, str):
                raise InvalidParameterValue(f"Filter {name} must be a string.")
            values[name] = value
        for name in _INTEGER_FILTERS:
            value = data.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidParameterValue(f"Filter {name} must be a whole number, 0 or more.")
            values[name] = value
        ids = data.get("message_ids")
        if ids not in (None, []):
            if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
                raise InvalidParameterValue("Filter message_ids must be a list of MessageIds.")
            if len(ids) > MAX_CHOSEN_IDS:
                raise InvalidParameterValue(
                    f"Choose at most {MAX_CHOSEN_IDS} messages by id; use filters for more."
                )
            values["message_ids"] = list(dict.fromkeys(ids))
        if "json_path" in values:
            json_path.parse(values["json_path"])
        return cls(**values)

    def as_dict(self):
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not None}


@dataclass
class RedrivePlan:
    """What a redrive would do. `pks` (movable messages, ascending) and `edits` are for the run."""

    matched: int = 0
    movable: int = 0
    scanned: int = 0
    truncated: bool = False  # SCAN_LIMIT rows were read: older messages only were planned
    destinations: list = field(default_factory=list)  # {"queue", "fifo", "count"}
    groups: list = field(default_factory=list)  # {"group_id", "destination", "count"}
    group_count: int = 0
    unmovable: list = field(default_factory=list)  # {"message_id", "reason"}
    unmovable_count: int = 0
    sample: list = field(default_factory=list)  # {"message_id", "body", ...}
    pks: list = field(default_factory=list)
    edits: dict = field(default_factory=dict)  # {pk: new body}


def plan_redrive(dlq, selection, destination=None, edits=None):
    """Preview redriving the selected messages of `dlq` (to `destination`, or each message's own
    source queue); change nothing.

    `edits` maps MessageIds of selected messages to new bodies.
    """
    if not isinstance(selection, Selection):
        selection = Selection.from_dict(selection)
    _check_plannable(dlq, destination)
    edits = _checked_edits(edits)
    now = now_ms()
    messages, checks = _matching(dlq, selection, now, edits)
    plan = RedrivePlan()
    queues = {destination.pk: destination} if destination is not None else {}
    by_destination = {}
    by_group = {}
    edited = {}
    position = None
    oldest = peek.oldest_kept(dlq, now)
    while plan.scanned < SCAN_LIMIT:
        rows = list(
            peek.after(messages, oldest, position)[: min(SCAN_BATCH, SCAN_LIMIT - plan.scanned)]
        )
        plan.scanned += len(rows)
        _load_queues(queues, rows)
        for row in rows:
            if all(check(row) for check in checks):
                _plan_row(plan, row, dlq, destination, queues, edits, by_destination, by_group)
                if row["message_id"] in edits:
                    edited[row["message_id"]] = row["id"]
        if len(rows) < SCAN_BATCH:
            break
        position = rows[-1]["sent_at"], rows[-1]["id"]
    else:
        plan.truncated = True
    missing = sorted(set(edits) - set(edited))
    if missing:
        raise InvalidParameterValue(
            f"Message {missing[0]} is not among the selected messages; only those can be edited."
        )
    plan.edits = {edited[message_id]: body for message_id, body in edits.items()}
    plan.pks.sort()
    _add_bodies(plan.sample)
    plan.destinations = [
        {"queue": queues[pk].name, "fifo": queues[pk].is_fifo, "count": count}
        for pk, count in by_destination.items()
    ]
    plan.group_count = len(by_group)
    plan.groups = [
        {"group_id": group_id, "destination": queues[pk].name, "count": count}
        for (group_id, pk), count in list(by_group.items())[:LIST_LIMIT]
    ]
    return plan


def start_selective_redrive(dlq, selection, destination=None, edits=None, max_per_second=None):
    """Plan the redrive and start a move task for the movable messages; return (task, plan)."""
    if not isinstance(selection, Selection):
        selection = Selection.from_dict(selection)
    if max_per_second is not None and not 1 <= max_per_second <= 500:
        raise InvalidParameterValue(
            f"Value {max_per_second} for parameter max_messages_per_second is invalid. "
            "Reason: Must be between 1 and 500."
        )
    plan = plan_redrive(dlq, selection, destination, edits)
    if not plan.pks:
        raise InvalidParameterValue(
            "No message to move: none matches the selection"
            if not plan.matched
            else f"No message to move: {plan.unmovable[0]['reason']}"
        )
    now = now_ms()
    with transaction.atomic():
        wanted = [dlq.pk] if destination is None else sorted({dlq.pk, destination.pk})
        present = set(
            Queue.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if set(wanted) - present:
            raise ResourceNotFoundException("The queue no longer exists.")
        if MessageMoveTask.objects.filter(
            source_queue=dlq,
            status__in=[MessageMoveTask.Status.RUNNING, MessageMoveTask.Status.CANCELLING],
        ).exists():
            raise UnsupportedOperation(
                "There is already a task running. Only one active task is allowed for a source "
                "queue arn at a given time."
            )
        task = MessageMoveTask.objects.create(
            task_handle=uuid.uuid4().hex,
            source_queue=dlq,
            destination_queue=destination,
            max_messages_per_second=max_per_second,
            approximate_number_of_messages_to_move=len(plan.pks),
            last_message_pk=plan.pks[-1],
            started_at=now,
            heartbeat_at=now,
            selection={"filters": selection.as_dict(), "pks": plan.pks},
            edits={str(pk): body for pk, body in plan.edits.items()},
        )
        task.task_handle = _task_handle(task)
        task.save(update_fields=["task_handle"])
        audit_log.record(
            "RedriveMessages",
            "queue",
            dlq.name,
            selection=selection.as_dict(),
            count=len(plan.pks),
            destination=destination.name if destination is not None else None,
            edited=len(plan.edits),
            task_handle=task.task_handle,
        )
        from queues.tasks import run_message_move_task

        transaction.on_commit(lambda: run_message_move_task.delay(task.pk))
    return task, plan


def _check_plannable(dlq, destination):
    # A destination of the other type is planned (every message unmovable, with the reason);
    # the rest of StartMessageMoveTask's checks apply as they are.
    if destination is not None and destination.is_fifo != dlq.is_fifo:
        _check_redrive_queues(dlq, None)
        if destination.pk == dlq.pk:
            raise InvalidParameterValue("Destination queue must not be the source queue.")
        return
    _check_redrive_queues(dlq, destination)


def _checked_edits(edits):
    if not edits:
        return {}
    if not isinstance(edits, dict):
        raise InvalidParameterValue("Edits must map MessageIds to new bodies.")
    for message_id, body in edits.items():
        if not isinstance(body, str) or not body:
            raise InvalidParameterValue(f"The new body of message {message_id} must not be empty.")
        validate_body(body)
    return dict(edits)


def _matching(dlq, selection, now, edits):
    """(queryset of rows to scan, Python checks each must pass) for the selection.

    Bodies and attributes (up to 1 MiB each) are read only where a check or an edit needs them;
    the sample's bodies are read afterwards.
    """
    attribute = selection.attribute
    messages, checks = peek.matching(
        dlq,
        now,
        body_contains=selection.body_contains,
        attribute=attribute,
        min_receive_count=selection.min_receive_count,
        older_than_seconds=selection.older_than_seconds,
        group_id=selection.group_id,
    )
    if selection.max_receive_count is not None:
        messages = messages.filter(receive_count__lte=selection.max_receive_count)
    if selection.newer_than_seconds is not None:
        messages = messages.filter(sent_at__gte=now - selection.newer_than_seconds * 1000)
    if selection.source_queue:
        source = Queue.objects.filter(name=selection.source_queue).first()
        if source is None:
            raise InvalidParameterValue(
                f"Value {selection.source_queue} for filter source_queue is invalid. "
                "Reason: No such queue."
            )
        messages = messages.filter(dead_letter_source_id=source.pk)
    if selection.message_ids:
        messages = messages.filter(message_id__in=selection.message_ids)
    if selection.json_path:
        test = json_path.parse(selection.json_path)
        checks.append(lambda row: test.matches(row["body"]))
    messages = messages.order_by("sent_at", "id")
    columns = ["id", "message_id", "sent_at", "receive_count", "group_id", "dead_letter_source_id"]
    if selection.attribute or edits:
        columns.append("attributes")
    if selection.json_path:
        columns.append("body")
    return messages.values(*columns), checks


def _load_queues(queues, rows):
    wanted = {row["dead_letter_source_id"] for row in rows} - set(queues) - {None}
    if wanted:
        queues.update(Queue.objects.in_bulk(wanted))


def _plan_row(plan, row, dlq, destination, queues, edits, by_destination, by_group):
    plan.matched += 1
    target = destination if destination is not None else queues.get(row["dead_letter_source_id"])
    reason = _unmovable_reason(row, dlq, target, edits.get(row["message_id"]))
    if len(plan.sample) < SAMPLE_SIZE:
        source = queues.get(row["dead_letter_source_id"])
        plan.sample.append(
            {
                "pk": row["id"],
                "message_id": row["message_id"],
                "group_id": row["group_id"] or None,
                "source_queue": source.name if source is not None else None,
                "receive_count": row["receive_count"],
                "sent_at": row["sent_at"],
                "destination": target.name if target is not None else None,
                "edited": row["message_id"] in edits,
                "unmovable_reason": reason,
            }
        )
    if reason:
        plan.unmovable_count += 1
        if len(plan.unmovable) < LIST_LIMIT:
            plan.unmovable.append({"message_id": row["message_id"], "reason": reason})
        return
    plan.movable += 1
    plan.pks.append(row["id"])
    by_destination[target.pk] = by_destination.get(target.pk, 0) + 1
    if row["group_id"]:
        key = (row["group_id"], target.pk)
        by_group[key] = by_group.get(key, 0) + 1


def _add_bodies(sample):
    """Give the sample's messages their bodies: an excerpt, and the whole for an editor (the
    REST API leaves that out). A message gone since it was read shows an empty body."""
    bodies = dict(
        Message.objects.filter(pk__in=[message["pk"] for message in sample]).values_list(
            "pk", "body"
        )
    )
    for message in sample:
        body = bodies.get(message.pop("pk"), "")
        message["body"] = body[:BODY_EXCERPT]
        message["body_truncated"] = len(body) > BODY_EXCERPT
        message["full_body"] = body


def _unmovable_reason(row, dlq, target, new_body):
    if target is None:
        return "Its source queue no longer exists; choose a destination queue."
    if target.is_fifo != dlq.is_fifo:
        if dlq.is_fifo:
            return f"A FIFO queue's message cannot move to the standard queue {target.name}."
        return f"A standard queue's message cannot move to the FIFO queue {target.name}."
    if target.is_fifo and not row["group_id"]:
        return f"It has no message group id, which the FIFO queue {target.name} needs."
    if new_body is not None:
        size = len(new_body.encode())
        if row["attributes"]:
            size += validate_message_attributes(decode_attributes(row["attributes"]))
        limit = _max_message_size(target)
        if size > limit:
            return f"Too large after the edit: {size} bytes, and {target.name} takes {limit}."
    return None
