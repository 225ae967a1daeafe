"""The IAM actions each SNS operation needs, and the ARNs they are checked on.

`sns_query.handle` calls `check` after parsing a signed request and before running it, so a
refused call changes nothing (PublishBatch is refused whole: it needs sns:Publish, as in AWS).
The resource comes from the request's parameters, never from a lookup, so a refused key hears
AuthorizationError whether or not the topic exists. Topic ARNs are rebuilt from the topic name in
Roost's own region and account, as the lookups resolve them, so writing another region into an
ARN cannot step around a Deny.

Subscription operations are checked on the subscription's topic, as AWS does (its messages name
the topic ARN). The links a subscriber follows unsigned (SubscribeURL, UnsubscribeURL) carry
their token as the credential and are not checked here; signed, they are.
"""

from functools import lru_cache

from django.conf import settings

from aws_protocol import authorization
from notifications.errors import AuthorizationError
from notifications.models import topic_arn

ACCOUNT_WIDE = "*"  # stands for authorization.account_resource("sns") in the table below

# Operation -> (actions, the parameter naming the resource; ACCOUNT_WIDE for the account).
_REQUIRED = {
    "ConfirmSubscription": (("sns:ConfirmSubscription",), "TopicArn"),
    "DeleteTopic": (("sns:DeleteTopic",), "TopicArn"),
    "GetDataProtectionPolicy": (("sns:GetDataProtectionPolicy",), "ResourceArn"),
    "GetSubscriptionAttributes": (("sns:GetSubscriptionAttributes",), "SubscriptionArn"),
    "GetTopicAttributes": (("sns:GetTopicAttributes",), "TopicArn"),
    "ListSubscriptions": (("sns:ListSubscriptions",), ACCOUNT_WIDE),
    "ListSubscriptionsByTopic": (("sns:ListSubscriptionsByTopic",), "TopicArn"),
    "ListTagsForResource": (("sns:ListTagsForResource",), "ResourceArn"),
    "ListTopics": (("sns:ListTopics",), ACCOUNT_WIDE),
    "PublishBatch": (("sns:Publish",), "TopicArn"),
    "PutDataProtectionPolicy": (("sns:PutDataProtectionPolicy",), "ResourceArn"),
    "SetSubscriptionAttributes": (("sns:SetSubscriptionAttributes",), "SubscriptionArn"),
    "SetTopicAttributes": (("sns:SetTopicAttributes",), "TopicArn"),
    "Subscribe": (("sns:Subscribe",), "TopicArn"),
    "TagResource": (("sns:TagResource",), "ResourceArn"),
    "Unsubscribe": (("sns:Unsubscribe",), "SubscriptionArn"),
    "UntagResource": (("sns:UntagResource",), "ResourceArn"),
    # Operations Roost does not serve still answer a refused key as AWS would.
    "AddPermission": (("sns:AddPermission",), "TopicArn"),
    "RemovePermission": (("sns:RemovePermission",), "TopicArn"),
}


def check(principal, operation, params):
    """Raise AuthorizationError (AWS's message) unless the principal may run this operation."""
    if authorization.has_full_access(principal):
        return  # nothing to work out (a move task's origins take a query)
    for action, resource in required(operation, params):
        decision = authorization.decide(principal, action, resource)
        if not decision.allowed:
            # SNS writes its prefix in capitals in these messages: "SNS:Publish".
            spelled = "SNS:" + action.partition(":")[2]
            raise AuthorizationError(
                authorization.denial_message(principal, spelled, resource, decision)
            )


def required(operation, params):
    """(action, resource ARN) pairs the operation needs, in the order they are checked."""
    if operation == "CreateTopic":
        arn = topic_arn(_text(params, "Name"))
        tags = params.get("Tags")
        if isinstance(tags, dict) and tags.get("member"):
            return [("sns:CreateTopic", arn), ("sns:TagResource", arn)]
        return [("sns:CreateTopic", arn)]
    if operation == "Publish":
        return [("sns:Publish", _publish_target(params))]
    found = _REQUIRED.get(operation)
    if found is None:
        # The SMS and mobile push operations Roost does not serve have no resource in AWS.
        return [(f"sns:{operation}", authorization.account_resource("sns"))]
    actions, parameter = found
    if parameter == ACCOUNT_WIDE:
        resource = authorization.account_resource("sns")
    else:
        resource = _resource_arn(_text(params, parameter))
    return [(action, resource) for action in actions]


def _text(params, name):
    value = params.get(name)
    return value if isinstance(value, str) else ""


@lru_cache(maxsize=4096)
def _resource_arn(arn):
    """The topic ARN an SNS ARN (a topic's or a subscription's) belongs to, rebuilt in this
    region; as given when it is no ARN of this account (the operation then refuses it)."""
    parts = arn.split(":")
    if (
        len(parts) in (6, 7)
        and parts[:3] == ["arn", "aws", "sns"]
        and parts[4] == settings.ROOST_ACCOUNT_ID
        and parts[5]
    ):
        return topic_arn(parts[5])
    return arn


def _publish_target(params):
    """What a Publish is checked on: its topic, its target ARN, or the phone number itself."""
    for name in ("TopicArn", "TargetArn"):
        if value := _text(params, name):
            return _resource_arn(value)
    return _text(params, "PhoneNumber")
