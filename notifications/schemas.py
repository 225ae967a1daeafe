"""The REST API's request and response shapes for topics (pydantic, via django-ninja).

Envelope fields are snake_case; names SNS defines (topic and subscription attributes such as
DisplayName or FilterPolicy, a message attribute's DataType/StringValue/BinaryValue) are kept as
SNS spells them. Times are milliseconds since the epoch. Message attributes and batch failures
have the queues API's shapes, so a client handles both with the same code.
"""

from typing import Literal

from ninja import Field, Schema

from queues.schemas import AttributeValue, BatchFailure, MessageAttribute

SubscriptionStatus = Literal["pending", "confirmed"]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead_lettered"]
MAX_DELIVERY_PAGE = 100


# Topics


class TopicCreate(Schema):
    name: str = Field(description="A FIFO topic's name ends in .fifo.")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description='SNS topic attributes, e.g. {"DisplayName": "Orders", "FifoTopic": true}; '
        "Policy and DeliveryPolicy may be given as objects.",
    )
    tags: dict[str, str] = Field(default_factory=dict)


class TopicUpdate(Schema):
    attributes: dict[str, AttributeValue] | None = None
    tags: dict[str, str] | None = Field(None, description="Merged into the topic's tags.")
    remove_tags: list[str] | None = None


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


class SubscriptionCreate(Schema):
    protocol: str = Field(description="sqs, http, https, email or email-json.")
    endpoint: str = Field(description="A queue ARN, a URL or an email address.")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description='SNS subscription attributes, e.g. {"RawMessageDelivery": true}; '
        "FilterPolicy, DeliveryPolicy and RedrivePolicy may be given as objects.",
    )


class SubscriptionUpdate(Schema):
    attributes: dict[str, AttributeValue]


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


class SubscriptionDetail(SubscriptionSummary):
    attributes: dict[str, str] = Field(
        description="Every attribute GetSubscriptionAttributes reports."
    )
    created_at: int
    confirmed_at: int | None


# Publishing


class Publish(Schema):
    message: str
    subject: str | None = Field(None, description="Used as the email subject; up to 100 ASCII.")
    message_structure: str | None = Field(
        None,
        description='"json" to give each protocol its own text: message is then an object of '
        'strings with a "default" entry.',
    )
    message_attributes: dict[str, MessageAttribute] = Field(default_factory=dict)
    group_id: str | None = Field(None, description="Required on FIFO topics.")
    deduplication_id: str | None = None


class PublishBatchEntry(Publish):
    id: str


class PublishBatch(Schema):
    entries: list[PublishBatchEntry]


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
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
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
    attempts: int = Field(description="Attempts since the delivery (or its last replay) began.")
    created_at: int
    next_attempt_at: int | None = Field(description="When a pending delivery is tried next.")
    finished_at: int | None
    last_error: str | None
    attempt_log: list[DeliveryAttempt] = Field(
        description="Every HTTP(S) or email attempt, oldest first. Queue deliveries keep none: "
        "a delivered one leaves no row, its message in the queue is the record."
    )


class DeliveryPage(Schema):
    deliveries: list[Delivery]
    next_cursor: str | None
