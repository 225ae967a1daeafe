"""The REST API's request and response shapes for topics (pydantic, via django-ninja).

Envelope fields are snake_case; names SNS defines (topic and subscription attributes such as
DisplayName or FilterPolicy, a message attribute's DataType/StringValue/BinaryValue) are kept as
SNS spells them. Times are milliseconds since the epoch. Message attributes and batch failures
have the queues API's shapes, so a client handles both with the same code.
"""

from typing import Annotated, Literal

from ninja import Field, Schema

from queues.schemas import (
    ATTRIBUTE_NAME,
    BASE64,
    BATCH_ENTRY_ID,
    FIFO_ID,
    NON_EMPTY_TEXT,
    BatchFailure,
    Changes,
    Flag,
    JsonText,
    Strict,
    Tags,
    Text,
    data_type,
)

SubscriptionStatus = Literal["pending", "confirmed"]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead_lettered"]
MAX_DELIVERY_PAGE = 100
TOPIC_NAME = r"^(?:[A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo)$"
# SNS's Number attributes lie between -10^9 and 10^9.
SNS_NUMBER = r"^[+-]?(?:[0-9]{1,9}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})$"


# Topics


class TopicAttributeSet(Strict):
    """SNS's settable topic attributes (Policy and DeliveryPolicy as JSON text or objects)."""

    DisplayName: Annotated[str, Field(pattern=r"^[\x20-\x7e]{0,100}$")] = None
    Policy: JsonText = None
    DeliveryPolicy: JsonText = None
    SignatureVersion: Literal[1, 2, "1", "2"] = None
    ContentBasedDeduplication: Flag = Field(None, description="FIFO topics only.")
    KmsMasterKeyId: Text = None
    TracingConfig: Text = None
    ArchivePolicy: JsonText = None
    FifoThroughputScope: Text = None
    DataProtectionPolicy: JsonText = None
    ApplicationSuccessFeedbackRoleArn: Text = None
    ApplicationSuccessFeedbackSampleRate: Text = None
    ApplicationFailureFeedbackRoleArn: Text = None
    FirehoseSuccessFeedbackRoleArn: Text = None
    FirehoseSuccessFeedbackSampleRate: Text = None
    FirehoseFailureFeedbackRoleArn: Text = None
    HTTPSuccessFeedbackRoleArn: Text = None
    HTTPSuccessFeedbackSampleRate: Text = None
    HTTPFailureFeedbackRoleArn: Text = None
    LambdaSuccessFeedbackRoleArn: Text = None
    LambdaSuccessFeedbackSampleRate: Text = None
    LambdaFailureFeedbackRoleArn: Text = None
    SQSSuccessFeedbackRoleArn: Text = None
    SQSSuccessFeedbackSampleRate: Text = None
    SQSFailureFeedbackRoleArn: Text = None


class TopicAttributeChanges(Changes, TopicAttributeSet):
    """Topic attributes to change: at least one."""


class TopicAttributes(TopicAttributeSet):
    FifoTopic: Flag = Field(None, description="Only when creating; the name must end in .fifo.")


class TopicCreate(Strict):
    name: Annotated[str, Field(pattern=TOPIC_NAME)] = Field(
        description="A name ending in .fifo makes a FIFO topic."
    )
    attributes: TopicAttributes = Field(
        default_factory=TopicAttributes,
        description='e.g. {"DisplayName": "Orders"}; Policy and DeliveryPolicy may be objects.',
    )
    tags: Tags = Field(default_factory=dict)


class TopicUpdate(Changes):
    attributes: TopicAttributeChanges = None
    tags: Annotated[Tags, Field(min_length=1)] = Field(
        None, description="Merged into the topic's tags."
    )
    remove_tags: Annotated[list[Text], Field(min_length=1)] = None


class TopicSummary(Schema):
    name: str
    arn: str
    fifo: bool


class TopicList(Schema):
    topics: list[TopicSummary]
    next_cursor: str | None


class SubscriptionCounts(Schema):
    confirmed: int
    pending: int
    deleted: int


class TopicDetail(TopicSummary):
    attributes: dict[str, str] = Field(description="Every attribute GetTopicAttributes reports.")
    subscriptions: SubscriptionCounts
    tags: dict[str, str]


# Subscriptions


class SubscriptionAttributes(Strict):
    """SNS's subscription attributes (the policies as JSON text or objects)."""

    DeliveryPolicy: JsonText = Field(None, description="HTTP(S) subscriptions only.")
    FilterPolicy: JsonText = None
    FilterPolicyScope: Literal["MessageAttributes", "MessageBody"] = None
    RawMessageDelivery: Flag = Field(None, description="SQS and HTTP(S) subscriptions only.")
    RedrivePolicy: JsonText = Field(None, description='{"deadLetterTargetArn": <queue ARN>}')
    SubscriptionRoleArn: Text = None
    ReplayPolicy: JsonText = None


class SubscriptionAttributeChanges(Changes, SubscriptionAttributes):
    """Subscription attributes to change: at least one."""


class SubscriptionCreate(Strict):
    protocol: Literal["sqs", "http", "https", "email", "email-json"]
    endpoint: Annotated[str, Field(pattern=NON_EMPTY_TEXT, max_length=2048)] = Field(
        description="A queue ARN, an http(s) URL or an email address, as the protocol needs."
    )
    attributes: SubscriptionAttributes = Field(
        default_factory=SubscriptionAttributes,
        description='e.g. {"RawMessageDelivery": true}.',
    )


class SubscriptionUpdate(Strict):
    attributes: SubscriptionAttributeChanges


class FilterPolicyTest(Strict):
    policy: JsonText = Field(
        None, description="The policy to try (JSON text or an object); empty matches everything."
    )
    scope: Literal["MessageAttributes", "MessageBody"] = Field(
        None, description="Default: the subscription's FilterPolicyScope."
    )


class FilterPolicyVerdict(Schema):
    message_id: str
    published_at: int
    subject: str | None
    excerpt: str = Field(description="The message's first characters.")
    attributes: dict[str, str]
    matched: bool
    reason: str | None = Field(description="For a non-match, the clause that failed and why.")


class FilterPolicyTestResult(Schema):
    valid: bool
    error: str | None
    matched: int
    total: int = Field(description="How many of the topic's latest messages were tried (≤ 100).")
    results: list[FilterPolicyVerdict] = Field(description="Newest first.")


class SubscriptionSummary(Schema):
    id: str = Field(description="The last part of the subscription ARN; names it in URLs.")
    arn: str
    topic: str = Field(description="The topic's name.")
    protocol: str
    endpoint: str
    status: SubscriptionStatus = Field(
        description="HTTP(S) and email subscriptions stay pending until the endpoint confirms."
    )


class SubscriptionList(Schema):
    subscriptions: list[SubscriptionSummary]
    next_cursor: str | None


class ConfirmationAttempt(Schema):
    number: int = Field(description="1 for the first confirmation sent, counting every one since.")
    attempted_at: int
    status_code: int | None = Field(description="The endpoint's HTTP status, if it answered.")
    latency_ms: int
    error: str | None
    succeeded: bool = Field(
        description="The endpoint answered 2xx or the mail server accepted the email; "
        "confirming is then up to the endpoint or the recipient."
    )
    requested_by: str | None = Field(description="Who asked for it to be sent again, if anyone.")


class SubscriptionDetail(SubscriptionSummary):
    attributes: dict[str, str] = Field(
        description="Every attribute GetSubscriptionAttributes reports."
    )
    created_at: int
    confirmed_at: int | None
    confirmation_attempts: list[ConfirmationAttempt] = Field(
        description="The latest confirmations sent to an HTTP(S) or email endpoint, newest first."
    )


# Publishing


class StringAttribute(Strict):
    DataType: data_type("String") = Field(
        description="String, String.<suffix>, or String.Array (a JSON array as text)."
    )
    StringValue: Annotated[str, Field(pattern=NON_EMPTY_TEXT)]


class NumberAttribute(Strict):
    DataType: data_type("Number") = Field(description="Number, or Number.<suffix>.")
    StringValue: Annotated[str, Field(pattern=SNS_NUMBER)] = Field(
        description="From -10^9 to 10^9."
    )


class BinaryAttribute(Strict):
    DataType: data_type("Binary") = Field(description="Binary, or Binary.<suffix>.")
    BinaryValue: Annotated[str, Field(pattern=BASE64)] = Field(description="Base64.")


MessageAttributes = Annotated[
    dict[
        Annotated[str, Field(pattern=ATTRIBUTE_NAME)],
        StringAttribute | NumberAttribute | BinaryAttribute,
    ],
    Field(max_length=10, json_schema_extra={"additionalProperties": False}),
]


class Publish(Strict):
    message: Annotated[str, Field(pattern=NON_EMPTY_TEXT)] = Field(
        description="Up to 256 KiB of UTF-8 with the message attributes."
    )
    subject: Annotated[str, Field(pattern=r"^[\x20-\x7e]{1,100}$")] | None = Field(
        None, description="Used as the email subject; up to 100 printable ASCII characters."
    )
    message_structure: Literal["json"] | None = Field(
        None,
        description='"json" to give each protocol its own text: message is then an object of '
        'strings with a "default" entry.',
    )
    message_attributes: MessageAttributes = Field(default_factory=dict)
    group_id: Annotated[str, Field(pattern=FIFO_ID)] | None = Field(
        None, description="FIFO topics only, and required there."
    )
    deduplication_id: Annotated[str, Field(pattern=FIFO_ID)] | None = Field(
        None, description="FIFO topics only."
    )


class PublishBatchEntry(Publish):
    id: Annotated[str, Field(pattern=BATCH_ENTRY_ID)] = Field(description="Unique in the batch.")


class PublishBatch(Strict):
    entries: Annotated[list[PublishBatchEntry], Field(min_length=1, max_length=10)]


class Published(Schema):
    message_id: str
    sequence_number: str | None = Field(None, description="FIFO topics only.")


class PublishedBatchEntry(Published):
    id: str


class PublishBatchResult(Schema):
    successful: list[PublishedBatchEntry]
    failed: list[BatchFailure]


# The delivery log


class DeliveryFilters(Schema):
    status: DeliveryStatus | None = Field(
        None,
        description='Only deliveries in this state; "failed" includes dead-lettered ones. '
        "Default: all.",
    )
    cursor: Text | None = Field(None, description="next_cursor from the previous page.")
    limit: int = Field(20, ge=1, le=MAX_DELIVERY_PAGE)


class DeliveryAttempt(Schema):
    attempted_at: int
    status_code: int | None = Field(description="The endpoint's HTTP status, if it answered.")
    latency_ms: int
    error: str | None
    succeeded: bool


class Delivery(Schema):
    id: int
    message_id: str = Field(description="The published message's MessageId.")
    subject: str | None
    protocol: str
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made so far, the one under way included.")
    created_at: int
    next_attempt_at: int | None = Field(description="When a pending delivery is tried next.")
    finished_at: int | None
    last_error: str | None
    replay_of: int | None = Field(description="The delivery this one replays, if it is a replay.")
    replayed_by: str | None = Field(description="Who asked for the replay.")
    attempt_log: list[DeliveryAttempt] = Field(
        description="Every HTTP(S) or email attempt, oldest first. Queue deliveries keep none: "
        "a delivered one leaves no row, its message in the queue is the record."
    )


class DeliveryPage(Schema):
    deliveries: list[Delivery]
    next_cursor: str | None


# Alarms


class AlarmCreate(Strict):
    name: str = Field(
        pattern=r"^[\x20-\x7e]{1,255}$",
        description="Unique among alarms: 1 to 255 printable ASCII characters.",
    )
    kind: Literal["depth", "oldest_age", "dlq_receives"] = Field(
        description="What the alarm watches (docs/history.md)."
    )
    threshold: int = Field(
        ge=0,
        le=10**12,
        description="Visible messages (depth), seconds (oldest_age) or messages dead-lettered "
        "(dlq_receives) above which the alarm fires.",
    )
    minutes: int = Field(1, ge=1, le=1440, description="For how many one-minute samples.")
    topic: Text = Field(description="The name of the standard topic it publishes to.")


class Alarm(Schema):
    name: str
    queue: str
    kind: str
    threshold: int
    minutes: int
    topic: str
    topic_arn: str
    state: str = Field(description="OK, ALARM or INSUFFICIENT_DATA.")
    state_changed_at: str
    reason: str


class AlarmList(Schema):
    alarms: list[Alarm]
