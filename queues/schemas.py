"""The REST API's request and response shapes (pydantic, via django-ninja).

Envelope fields are snake_case; names SQS defines (queue attribute names such as
VisibilityTimeout, a message attribute's DataType/StringValue/BinaryValue) are kept as SQS spells
them. Times are milliseconds since the epoch, as SQS reports them.

Requests state every rule about a single value that the service enforces (name patterns, ranges,
lengths, allowed characters), so the OpenAPI document tells a client what will be accepted and a
request that breaks one is refused as a ValidationError before anything happens. Rules that tie
values together (FIFO-only fields, a dead-letter queue that must exist) stay the service's.
"""

from typing import Annotated, Literal

from ninja import Field, Path, Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, model_validator

from queues.peek import MAX_LIMIT, STATES

State = Literal[STATES]
AttributeValue = str | int | bool | dict | list

# Characters SQS allows in message bodies and attribute values (XML 1.0's), said as the ones it
# refuses: a negated class is much cheaper for generators to honour than the ranges allowed.
# (Lone surrogates, which JSON can smuggle in as escapes, are refused by the service: a pattern
# naming them is not a valid JSON Schema regex.)
CHARACTER = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
TEXT = rf"^{CHARACTER}*$"
NON_EMPTY_TEXT = TEXT.replace("]*$", "]+$")
QUEUE_NAME = r"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$"
BATCH_ENTRY_ID = "^[A-Za-z0-9_-]{1,80}$"
FIFO_ID = "^[!-~]{1,128}$"
# A message attribute's name: letters, digits, _ - and single inner dots, not AWS./Amazon.
ATTRIBUTE_NAME = (
    r"^(?![Aa][Ww][Ss]\.|[Aa][Mm][Aa][Zz][Oo][Nn]\.)(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$"
)
BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$"
# A Number attribute's value, within SQS's 38 significant digits and -10^128 to 10^126.
NUMBER = r"^[+-]?(?:[0-9]{1,38}|(?:[0-9]{1,19}(?:\.[0-9]{0,19})?|\.[0-9]{1,19})(?:[eE][+-]?[0-9]{1,2})?)$"
TAG_KEY = rf"^(?![Aa][Ww][Ss]:){CHARACTER}{{1,128}}$"
MAX_MOVE_RATE = 500


def _json_number(value):
    """Refuse strings and booleans where the document says integer (JSON's 5.0 is one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be an integer")
    return value


def integer(minimum, maximum, description=None):
    """A JSON integer (not a string or a boolean) from minimum to maximum."""
    return Annotated[
        int,
        Field(ge=minimum, le=maximum, description=description),
        BeforeValidator(_json_number),
    ]


Tags = Annotated[
    dict[
        Annotated[str, Field(pattern=TAG_KEY)], Annotated[str, Field(pattern=TEXT, max_length=256)]
    ],
    Field(max_length=50, json_schema_extra={"additionalProperties": False}),
]
Flag = StrictBool | Literal["true", "false"]
# Free text: whatever a client types, but no control characters (PostgreSQL stores no NUL).
Text = Annotated[str, Field(pattern=TEXT)]
JsonText = Text | dict
# A name or handle in a URL path: any text, but no control characters.
PathText = Annotated[str, Path(pattern=TEXT)]
QueueName = Annotated[str, Field(pattern=QUEUE_NAME, description="A FIFO queue's ends in .fifo.")]


class Strict(Schema):
    """A request shape: unknown fields are refused, patterns may look ahead."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class Changes(Strict):
    """A request shape that asks for a change: at least one of its fields must be given."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _asks_for_something(self):
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class Error(Schema):
    code: str
    message: str


# Queues


class QueueAttributeSet(Strict):
    """SQS's settable queue attributes; leave one out to keep its default (or current value)."""

    DelaySeconds: integer(0, 900) = None
    MaximumMessageSize: integer(1024, 1_048_576) = None
    MessageRetentionPeriod: integer(60, 1_209_600) = None
    ReceiveMessageWaitTimeSeconds: integer(0, 20) = None
    VisibilityTimeout: integer(0, 43_200) = None
    Policy: JsonText = Field(None, description="An IAM policy, as JSON text or an object.")
    RedrivePolicy: JsonText = Field(
        None,
        description='{"deadLetterTargetArn": ..., "maxReceiveCount": ...}, as JSON text or an '
        "object; the dead-letter queue must exist and be of the same type.",
    )
    RedriveAllowPolicy: JsonText = Field(None, description="As JSON text or an object.")
    KmsMasterKeyId: Text = None
    KmsDataKeyReusePeriodSeconds: integer(60, 86_400) = None
    SqsManagedSseEnabled: Flag = None
    ContentBasedDeduplication: Flag = Field(None, description="FIFO queues only.")
    DeduplicationScope: Literal["messageGroup", "queue"] = Field(
        None, description="FIFO queues only."
    )
    FifoThroughputLimit: Literal["perQueue", "perMessageGroupId"] = Field(
        None, description="FIFO queues only."
    )


class QueueAttributeChanges(Changes, QueueAttributeSet):
    """Queue attributes to change: at least one."""


class QueueAttributes(QueueAttributeSet):
    FifoQueue: Flag = Field(None, description="The name must end in .fifo; it cannot change.")


class QueueCreate(Strict):
    name: QueueName
    attributes: QueueAttributes = Field(
        default_factory=QueueAttributes,
        description='e.g. {"VisibilityTimeout": 60}. A name ending in .fifo makes a FIFO queue.',
    )
    tags: Tags = Field(default_factory=dict)


class QueueUpdate(Changes):
    attributes: QueueAttributeChanges = None
    tags: Annotated[Tags, Field(min_length=1)] = Field(
        None, description="Merged into the queue's tags."
    )
    remove_tags: Annotated[list[Text], Field(min_length=1)] = None


class QueueSummary(Schema):
    name: str
    url: str
    arn: str
    fifo: bool


class QueueList(Schema):
    queues: list[QueueSummary]
    next_cursor: str | None


class Depth(Schema):
    visible: int
    in_flight: int
    delayed: int


class RedrivePolicy(Schema):
    dead_letter_queue: str | None
    dead_letter_queue_arn: str
    max_receive_count: int


class QueueDetail(QueueSummary):
    attributes: dict[str, str] = Field(description="Every attribute GetQueueAttributes reports.")
    depth: Depth
    redrive_policy: RedrivePolicy | None
    dead_letter_source_queues: list[str]
    tags: dict[str, str]


# Messages


def data_type(base):
    """A message attribute's DataType: the base type, optionally with a .suffix."""
    return Annotated[
        str,
        Field(
            pattern=rf"^{base}(?:\.{CHARACTER}+)?$",
            max_length=256,
        ),
    ]


class StringAttribute(Strict):
    DataType: data_type("String") = Field(description="String, or String.<suffix>.")
    StringValue: Annotated[str, Field(pattern=NON_EMPTY_TEXT)]


class NumberAttribute(Strict):
    DataType: data_type("Number") = Field(description="Number, or Number.<suffix>.")
    StringValue: Annotated[str, Field(pattern=NUMBER)] = Field(
        description="Up to 38 significant digits, from -10^128 to 10^126."
    )


class BinaryAttribute(Strict):
    DataType: data_type("Binary") = Field(description="Binary, or Binary.<suffix>.")
    BinaryValue: Annotated[str, Field(pattern=BASE64)] = Field(description="Base64.")


MessageAttribute = StringAttribute | NumberAttribute | BinaryAttribute
MessageAttributes = Annotated[
    dict[Annotated[str, Field(pattern=ATTRIBUTE_NAME)], MessageAttribute],
    Field(max_length=10, json_schema_extra={"additionalProperties": False}),
]


class SendMessage(Strict):
    body: Annotated[str, Field(pattern=NON_EMPTY_TEXT)] = Field(
        description="Up to 1 MiB of UTF-8 with the message attributes."
    )
    message_attributes: MessageAttributes = Field(default_factory=dict)
    delay_seconds: integer(0, 900) | None = Field(None, description="Default: the queue's.")
    group_id: Annotated[str, Field(pattern=FIFO_ID)] | None = Field(
        None, description="FIFO queues only, and required there."
    )
    deduplication_id: Annotated[str, Field(pattern=FIFO_ID)] | None = Field(
        None, description="FIFO queues only."
    )
    trace_header: Annotated[str, Field(pattern=NON_EMPTY_TEXT)] | None = Field(
        None, description="The AWSTraceHeader system attribute."
    )


class SendBatchEntry(SendMessage):
    id: Annotated[str, Field(pattern=BATCH_ENTRY_ID)] = Field(description="Unique in the batch.")


class SendBatch(Strict):
    entries: Annotated[list[SendBatchEntry], Field(min_length=1, max_length=10)]


class SentMessage(Schema):
    message_id: str
    md5_of_body: str
    md5_of_message_attributes: str | None = None
    sequence_number: str | None = None


class SentBatchEntry(SentMessage):
    id: str


class BatchFailure(Schema):
    id: str
    code: str
    message: str
    sender_fault: bool


class SendBatchResult(Schema):
    successful: list[SentBatchEntry]
    failed: list[BatchFailure]


class Receive(Strict):
    max_messages: integer(1, 10) = 1
    visibility_timeout: integer(0, 43_200) | None = Field(None, description="Default: the queue's.")
    wait_seconds: integer(0, 20) | None = Field(
        None, description="Long poll up to 20 s; default: the queue's."
    )


class ReceivedMessage(Schema):
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: dict[str, str] = Field(description="System attributes (SentTimestamp, ...).")
    message_attributes: dict[str, dict[str, str]]
    md5_of_message_attributes: str | None = None


class ReceiveResult(Schema):
    messages: list[ReceivedMessage]


class ChangeVisibility(Strict):
    visibility_timeout: integer(0, 43_200) = Field(
        description="Seconds from now; at most 12 hours after the message was received."
    )


class PurgeResult(Schema):
    deleted: int
    trash_batch: str | None = Field(
        description="The trash batch the messages went to (POST .../trash/{batch}/restore "
        "undoes the purge); null when the trash is off (ROOST_TRASH_SECONDS=0)."
    )


# The trash


class TrashBatch(Schema):
    batch: str
    reason: str = Field(description="purge, or delete (messages deleted from the console).")
    trashed_at: int = Field(description="Milliseconds since the epoch.")
    expires_at: int = Field(description="When the trash is emptied: restore before then.")
    count: int = Field(description="Messages in the batch (so far, while not finished).")
    finished: bool = Field(description="False while a purge is still moving messages here.")
    door: str
    actor: str = Field(description="The console user, else the access key id, else the door.")
    key_id: str
    username: str


class TrashList(Schema):
    batches: list[TrashBatch]


class RestoreResult(Schema):
    restored: int = Field(description="Messages put back in the queue, each in its old place.")
    expired: int = Field(description="Messages left out: past the queue's retention period.")


# Peek


class PeekFilters(Schema):
    cursor: Text | None = Field(None, description="next_cursor from the previous page.")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    state: list[State] | None = Field(None, description="Default: all states.")
    body_contains: Text | None = Field(None, description="Case-sensitive substring.")
    attribute: Text | None = Field(None, description="A message attribute name, or name=value.")
    min_receive_count: int | None = Field(None, ge=0)
    older_than_seconds: int | None = Field(None, ge=0)
    group_id: Text | None = None


class PeekedMessage(Schema):
    message_id: str
    body: str
    md5_of_body: str
    message_attributes: dict[str, dict[str, str]]
    state: State
    sent_at: int
    visible_at: int = Field(description="When an in-flight or delayed message becomes visible.")
    receive_count: int
    first_received_at: int | None
    sender_id: str
    group_id: str | None
    deduplication_id: str | None
    sequence_number: str | None
    trace_header: str | None
    dead_letter_source_queue: str | None


class PeekPage(Schema):
    messages: list[PeekedMessage]
    next_cursor: str | None


# Lineage and consumers


class MessageEvent(BaseModel):
    """One step of a message's life; the fields beyond these depend on `type` (docs/lineage.md)."""

    model_config = ConfigDict(extra="allow")  # a plain model: ninja's Schema drops extra fields

    type: str = Field(
        description="published, sent, received, visibility_changed, dead_lettered, redriven, "
        "deleted, expired, purged or restored."
    )
    at: str = Field(description="When, in ISO 8601 UTC.")
    at_ms: int = Field(description="When, in milliseconds since the epoch.")
    key_id: str = Field(description="The access key that acted (empty: the system or a user).")
    queue: str = Field(description="The queue the message was in (or moved into).")


class MessageTimeline(Schema):
    message_id: str
    queue: str
    events: list[MessageEvent]


class ConsumerKey(Schema):
    key_id: str
    received: int
    deleted: int
    latency_p50_ms: int | None
    latency_p90_ms: int | None
    last_received_at: str | None


class PoisonCandidate(Schema):
    message_id: str
    receive_count: int
    sent_at: int
    state: str


class BlockedGroup(Schema):
    group_id: str
    message_id: str
    since: str | None
    blocked_seconds: int | None


class ConsumerHealth(Schema):
    queue: str
    window_seconds: int
    events_sampled: int
    sample_capped: bool
    lineage_enabled: bool
    consumers: list[ConsumerKey]
    poison_threshold: int
    poison_candidates: list[PoisonCandidate]
    blocked_groups: list[BlockedGroup] | None


# Redrive (message move tasks)


class StartMoveTask(Strict):
    destination: QueueName | None = Field(
        None, description="A queue name; default: each message's original source queue."
    )
    max_messages_per_second: integer(1, MAX_MOVE_RATE) | None = None


class MoveTask(Schema):
    task_handle: str
    status: str
    source_queue: str
    destination_queue: str | None
    approximate_number_of_messages_moved: int
    approximate_number_of_messages_to_move: int
    max_messages_per_second: int | None
    failure_reason: str | None
    started_at: int
    finished_at: int | None


class MoveTaskList(Schema):
    tasks: list[MoveTask]


# Selective redrive


class RedriveSelection(Strict):
    """Which of a dead-letter queue's messages to redrive: every filter given must hold."""

    body_contains: str | None = Field(None, description="Text the body holds (case-sensitive).")
    json_path: str | None = Field(
        None,
        description='A JSON path test on the body: `$.order.status == "failed"`, '
        '`$.items[0].sku contains "AB"`, or a bare path (something is there).',
    )
    attribute: str | None = Field(
        None, description="A message attribute's name, or name=value to match its value."
    )
    min_receive_count: integer(0, 1_000_000) | None = None
    max_receive_count: integer(0, 1_000_000) | None = None
    older_than_seconds: integer(0, 100_000_000) | None = None
    newer_than_seconds: integer(0, 100_000_000) | None = None
    source_queue: QueueName | None = Field(
        None, description="Only messages dead-lettered from this queue."
    )
    group_id: str | None = Field(None, description="Only this FIFO message group.")
    message_ids: list[str] | None = Field(
        None, max_length=1000, description="Only these messages (MessageIds), chosen by hand."
    )


class RedrivePlanRequest(Strict):
    selection: RedriveSelection = Field(default_factory=RedriveSelection)
    destination: QueueName | None = Field(
        None, description="A queue name; default: each message's original source queue."
    )
    edits: dict[str, Annotated[str, Field(pattern=NON_EMPTY_TEXT)]] | None = Field(
        None, description="New bodies for some selected messages: {MessageId: body}."
    )


class StartRedrive(RedrivePlanRequest):
    max_messages_per_second: integer(1, MAX_MOVE_RATE) | None = None


class RedriveDestination(Schema):
    queue: str
    fifo: bool
    count: int


class RedriveGroup(Schema):
    group_id: str
    destination: str
    count: int


class UnmovableMessage(Schema):
    message_id: str
    reason: str


class RedriveSample(Schema):
    message_id: str
    body: str
    body_truncated: bool
    group_id: str | None
    source_queue: str | None
    receive_count: int
    sent_at: int
    destination: str | None
    edited: bool
    unmovable_reason: str | None


class RedrivePlan(Schema):
    """A dry run: nothing has changed. At most `scan_limit` messages are read per plan."""

    matched: int
    movable: int
    scanned: int
    scan_limit: int
    truncated: bool
    destinations: list[RedriveDestination]
    groups: list[RedriveGroup]
    group_count: int
    unmovable: list[UnmovableMessage]
    unmovable_count: int
    sample: list[RedriveSample]


class RedriveStarted(Schema):
    task: MoveTask
    plan: RedrivePlan


HISTORY_RANGE = r"^(1h|6h|24h|7d|30d)$"


class History(Schema):
    range: str = Field(description="The range asked for: 1h, 6h, 24h, 7d or 30d.")
    resolution: str = Field(description="1m (a point a minute) or 1h (a point an hour).")
    series: dict[str, list[list[str | int | None]]] = Field(
        description="{name: [[ISO 8601 start of the minute or hour, value], ...]}, oldest first. "
        "Counts are 0 where nothing happened; sampled values are null where no sample was taken."
    )
