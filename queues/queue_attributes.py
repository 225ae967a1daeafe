"""Queue attributes as SQS defines them: names, ranges, which are settable, and how they read back."""

from dataclasses import dataclass

from aws_protocol import json_input
from queues.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue


@dataclass(frozen=True)
class IntegerAttribute:
    field: str
    minimum: int
    maximum: int

    def parse(self, name, value):
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.") from None
        if not self.minimum <= number <= self.maximum:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return number

    def render(self, queue):
        return str(getattr(queue, self.field))


@dataclass(frozen=True)
class BooleanAttribute:
    field: str

    def parse(self, name, value):
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return text == "true"

    def render(self, queue):
        return "true" if getattr(queue, self.field) else "false"


@dataclass(frozen=True)
class ChoiceAttribute:
    field: str
    choices: tuple

    def parse(self, name, value):
        if value not in self.choices:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return value

    def render(self, queue):
        return getattr(queue, self.field)


@dataclass(frozen=True)
class TextAttribute:
    field: str

    def parse(self, name, value):
        return str(value)

    def render(self, queue):
        return getattr(queue, self.field)


SETTABLE = {
    "DelaySeconds": IntegerAttribute("delay_seconds", 0, 900),
    "MaximumMessageSize": IntegerAttribute("maximum_message_size", 1024, 1_048_576),
    "MessageRetentionPeriod": IntegerAttribute("message_retention_period", 60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": IntegerAttribute("receive_message_wait_time_seconds", 0, 20),
    "VisibilityTimeout": IntegerAttribute("visibility_timeout", 0, 43_200),
    "Policy": TextAttribute("policy"),
    "RedrivePolicy": TextAttribute("redrive_policy"),
    "RedriveAllowPolicy": TextAttribute("redrive_allow_policy"),
    "KmsMasterKeyId": TextAttribute("kms_master_key_id"),
    "KmsDataKeyReusePeriodSeconds": IntegerAttribute(
        "kms_data_key_reuse_period_seconds", 60, 86_400
    ),
    "SqsManagedSseEnabled": BooleanAttribute("sqs_managed_sse_enabled"),
    "FifoQueue": BooleanAttribute("fifo_queue"),
    "ContentBasedDeduplication": BooleanAttribute("content_based_deduplication"),
    "DeduplicationScope": ChoiceAttribute("deduplication_scope", ("messageGroup", "queue")),
    "FifoThroughputLimit": ChoiceAttribute(
        "fifo_throughput_limit", ("perQueue", "perMessageGroupId")
    ),
}

FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
CREATE_ONLY = {"FifoQueue"}

READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)

# The order GetQueueAttributes(All) lists them in.
ALL_NAMES = (
    *READ_ONLY,
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def parse(attributes, *, fifo, creating):
    """Validate attributes given to CreateQueue/SetQueueAttributes; return {field: value}."""
    values = {}
    for name, value in attributes.items():
        spec = SETTABLE.get(name)
        if spec is None:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name in CREATE_ONLY and not creating:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name in FIFO_ONLY and not fifo:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        values[spec.field] = spec.parse(name, value)
    return values


def parse_redrive_policy(text):
    """Return (dead-letter queue ARN, maxReceiveCount) from a RedrivePolicy, or (None, None)."""
    if text == "":
        return None, None
    try:
        policy = json_input.loads(text)
    except ValueError:
        raise InvalidParameterValue(
            "Value " + text + " for parameter RedrivePolicy is invalid. Reason: Invalid JSON."
        ) from None
    if not isinstance(policy, dict):
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid JSON."
        )
    unknown = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Only following "
            "attributes are supported: [deadLetterTargetArn, maxReceiveCount]."
        )
    arn = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not arn or count is None:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Redrive policy does "
            "not contain mandatory attribute: "
            f"{'deadLetterTargetArn' if not arn else 'maxReceiveCount'}."
        )
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1000:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            "maxReceiveCount: must be an integer from 1 to 1000."
        )
    return str(arn), count


def parse_redrive_allow_policy(text):
    """Return (permission, source queue ARNs) from a RedriveAllowPolicy."""
    if text == "":
        return "allowAll", []
    try:
        policy = json_input.loads(text)
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: Invalid JSON."
        )
    permission = policy.get("redrivePermission")
    sources = policy.get("sourceQueueArns", [])
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: Invalid value "
            "for redrivePermission. Valid values are allowAll, denyAll and byQueue."
        )
    if not isinstance(sources, list) or not all(isinstance(arn, str) for arn in sources):
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: "
            "sourceQueueArns must be a list of queue ARNs."
        )
    if permission == "byQueue" and not 1 <= len(sources) <= 10:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: byQueue needs "
            "between 1 and 10 sourceQueueArns."
        )
    if permission != "byQueue" and sources:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: "
            "sourceQueueArns is only allowed with redrivePermission byQueue."
        )
    return permission, sources


def render(queue, name):
    """Read back one settable attribute as SQS returns it (strings; FIFO-only ones on FIFO)."""
    spec = SETTABLE[name]
    return spec.render(queue)


def applies_to(queue, name):
    """Whether GetQueueAttributes reports this attribute for this queue."""
    if name in FIFO_ONLY or name == "FifoQueue":
        return queue.is_fifo
    if name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"):
        return getattr(queue, SETTABLE[name].field) != ""
    if name == "KmsDataKeyReusePeriodSeconds":
        return queue.kms_master_key_id != ""
    return True
