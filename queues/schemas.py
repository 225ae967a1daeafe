"""The REST API's request and response shapes (pydantic, via django-ninja).

Envelope fields are snake_case; names SQS defines (queue attribute names such as
VisibilityTimeout, a message attribute's DataType/StringValue/BinaryValue) are kept as SQS spells
them. Times are milliseconds since the epoch, as SQS reports them.
"""

from typing import Literal

from ninja import Field, Schema

from queues.peek import MAX_LIMIT, STATES

State = Literal[STATES]
AttributeValue = str | int | bool | dict | list


class Error(Schema):
    code: str
    message: str


# Queues


class QueueCreate(Schema):
    name: str
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description='SQS queue attributes, e.g. {"VisibilityTimeout": 60}; RedrivePolicy may '
        "be given as an object.",
    )
    tags: dict[str, str] = Field(default_factory=dict)


class QueueUpdate(Schema):
    attributes: dict[str, AttributeValue] | None = None
    tags: dict[str, str] | None = Field(None, description="Merged into the queue's tags.")
    remove_tags: list[str] | None = None


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


class MessageAttribute(Schema):
    DataType: str = Field(description="String, Number or Binary, optionally with a .suffix.")
    StringValue: str | None = None
    BinaryValue: str | None = Field(None, description="Base64.")


class SendMessage(Schema):
    body: str
    message_attributes: dict[str, MessageAttribute] = Field(default_factory=dict)
    delay_seconds: int | None = None
    group_id: str | None = None
    deduplication_id: str | None = None
    trace_header: str | None = Field(None, description="The AWSTraceHeader system attribute.")


class SendBatchEntry(SendMessage):
    id: str


class SendBatch(Schema):
    entries: list[SendBatchEntry]


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


class Receive(Schema):
    max_messages: int = Field(1, description="1 to 10.")
    visibility_timeout: int | None = Field(None, description="Default: the queue's.")
    wait_seconds: int | None = Field(
        None, ge=0, le=20, description="Long poll up to 20 s; default: the queue's."
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


class ChangeVisibility(Schema):
    visibility_timeout: int = Field(description="Seconds from now, 0 to 43200.")


class PurgeResult(Schema):
    deleted: int


# Peek


class PeekFilters(Schema):
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    state: list[State] | None = Field(None, description="Default: all states.")
    body_contains: str | None = Field(None, description="Case-sensitive substring.")
    attribute: str | None = Field(None, description="A message attribute name, or name=value.")
    min_receive_count: int | None = Field(None, ge=0)
    older_than_seconds: int | None = Field(None, ge=0)
    group_id: str | None = None


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


# Redrive (message move tasks)


class StartMoveTask(Schema):
    destination: str | None = Field(
        None, description="A queue name; default: each message's original source queue."
    )
    max_messages_per_second: int | None = None


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
