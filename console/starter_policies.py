"""The starter policies offered when creating an access key, as IAM policy documents.

ARNs name the region and account as `*:*`, like the console's user scopes: a policy then means
the same in every Roost, whatever ROOST_REGION and ROOST_ACCOUNT_ID say.
"""

import json
from dataclasses import dataclass

VERSION = "2012-10-17"

# What AWS's AmazonSQSReadOnlyAccess and AmazonSNSReadOnlyAccess managed policies allow.
READ_ONLY_ACTIONS = [
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueues",
    "sqs:ListQueueTags",
    "sqs:ListDeadLetterSourceQueues",
    "sqs:ListMessageMoveTasks",
    "sns:Get*",
    "sns:List*",
]
PRODUCER_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
CONSUMER_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
]
PUBLISHER_ACTIONS = ["sns:Publish", "sns:GetTopicAttributes"]


def queue_resource(pattern):
    return f"arn:aws:sqs:*:*:{pattern}"


def topic_resource(name):
    return f"arn:aws:sns:*:*:{name}"


def _policy(sid, actions, resource):
    return {
        "Version": VERSION,
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}],
    }


def full_access():
    """No policy at all: the key may do everything, as keys made before policies existed."""
    return None


def read_only():
    return _policy("ReadOnly", READ_ONLY_ACTIONS, "*")


def producer(pattern):
    """Send to the queues whose names match `pattern` (e.g. orders-*)."""
    return _policy("SendToQueues", PRODUCER_ACTIONS, queue_resource(pattern))


def consumer(pattern):
    """Receive and delete from the queues whose names match `pattern`."""
    return _policy("ConsumeFromQueues", CONSUMER_ACTIONS, queue_resource(pattern))


def publisher(topic):
    """Publish to one topic, by name."""
    return _policy("PublishToTopic", PUBLISHER_ACTIONS, topic_resource(topic))


@dataclass(frozen=True)
class Starter:
    """A starter policy as the create form offers it: `needs` names the field it asks for
    ("pattern" for queues, "topic"), or is blank."""

    key: str
    label: str
    build: object
    needs: str = ""

    def document(self, argument=""):
        return self.build(argument) if self.needs else self.build()


STARTERS = [
    Starter("full", "Full access (no policy)", full_access),
    Starter("read-only", "Read-only: SQS and SNS, no messages", read_only),
    Starter("producer", "Producer: send to queues matching a pattern", producer, "pattern"),
    Starter("consumer", "Consumer: receive from queues matching a pattern", consumer, "pattern"),
    Starter("publisher", "Publisher: publish to one topic", publisher, "topic"),
]
BY_KEY = {starter.key: starter for starter in STARTERS}


def render(document):
    """The document as the console shows and stores it: indented JSON, blank for none."""
    return "" if document is None else json.dumps(document, indent=2)
