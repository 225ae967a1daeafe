"""SNS's query protocol (the only one SNS speaks): form parameters in, namespaced XML out.

Translation only: every rule is notifications.service's. Parameters arrive flattened as botocore's
SNS model serializes them (`Attributes.entry.N.key`, `Tags.member.N.Key`,
`MessageAttributes.entry.N.Value.DataType`); results leave as that model parses them (`<member>`
list items, `<entry><key/><value/></entry>` map entries, inside an `<XResult>` wrapper).
"""

import base64
import binascii

from aws_protocol import shapes, xml
from aws_protocol.errors import InvalidAction, MissingAction, MissingAuthenticationToken
from aws_protocol.query import numbered, unflatten
from aws_protocol.responses import Response
from notifications import service
from notifications.errors import InvalidParameter, NotFound, Throttling
from notifications.wire import permissions
from notifications.wire.sns_shapes import INPUTS

DOOR = "sns"  # what the audit log and message lineage say a request came through

NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
CONTENT_TYPE = "text/xml"
SIGNING_NAME = "sns"  # the service a SigV4 credential scope names
API_VERSION = "2010-03-31"

# The links a subscriber follows with a plain GET, no signature: SubscribeURL and UnsubscribeURL.
UNSIGNED_LINKS = ("ConfirmSubscription", "Unsubscribe")

# Each operation's required members, as botocore's SNS model lists them.
REQUIRED = {
    "CreateTopic": ("Name",),
    "DeleteTopic": ("TopicArn",),
    "GetTopicAttributes": ("TopicArn",),
    "SetTopicAttributes": ("TopicArn", "AttributeName"),
    "Subscribe": ("TopicArn", "Protocol"),
    "ConfirmSubscription": ("TopicArn", "Token"),
    "Unsubscribe": ("SubscriptionArn",),
    "ListSubscriptionsByTopic": ("TopicArn",),
    "GetSubscriptionAttributes": ("SubscriptionArn",),
    "SetSubscriptionAttributes": ("SubscriptionArn", "AttributeName"),
    "Publish": ("Message",),
    "PublishBatch": ("TopicArn", "PublishBatchRequestEntries"),
    "TagResource": ("ResourceArn", "Tags"),
    "UntagResource": ("ResourceArn", "TagKeys"),
    "ListTagsForResource": ("ResourceArn",),
    "GetDataProtectionPolicy": ("ResourceArn",),
    "PutDataProtectionPolicy": ("ResourceArn", "DataProtectionPolicy"),
}

_MOBILE_PUSH = "mobile push (platform applications and endpoints)"
# Operations in SNS's model that Roost answers with an error, and what they belong to.
UNSUPPORTED = {
    **dict.fromkeys(
        (
            "CreatePlatformApplication",
            "CreatePlatformEndpoint",
            "DeleteEndpoint",
            "DeletePlatformApplication",
            "GetEndpointAttributes",
            "GetPlatformApplicationAttributes",
            "ListEndpointsByPlatformApplication",
            "ListPlatformApplications",
            "SetEndpointAttributes",
            "SetPlatformApplicationAttributes",
        ),
        _MOBILE_PUSH,
    ),
    **dict.fromkeys(
        (
            "CheckIfPhoneNumberIsOptedOut",
            "CreateSMSSandboxPhoneNumber",
            "DeleteSMSSandboxPhoneNumber",
            "GetSMSAttributes",
            "GetSMSSandboxAccountStatus",
            "ListOriginationNumbers",
            "ListPhoneNumbersOptedOut",
            "ListSMSSandboxPhoneNumbers",
            "OptInPhoneNumber",
            "SetSMSAttributes",
            "VerifySMSSandboxPhoneNumber",
        ),
        "SMS",
    ),
    **dict.fromkeys(
        ("AddPermission", "RemovePermission"),
        "permission labels (Roost does not enforce topic policies; set the Policy attribute)",
    ),
}


# Reading parameters ------------------------------------------------------------------------


def _string(params, name):
    """A scalar parameter, or None; a flattened structure where a string belongs is refused."""
    value = params.get(name)
    if isinstance(value, dict):
        raise InvalidParameter(f"Invalid parameter: {name}")
    return value


def _boolean(params, name):
    value = _string(params, name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false"):
        raise InvalidParameter(f"Invalid parameter: {name}")
    return value.lower() == "true"


def _members(params, name):
    """A list's items: `Name.member.N`; an empty list arrives as `Name=`."""
    node = params.get(name)
    return numbered(node.get("member")) if isinstance(node, dict) else []


def _map(params, name, key_field="key", value_field="value"):
    """A map's entries: `Name.entry.N.key` and `Name.entry.N.value`."""
    node = params.get(name)
    entries = {}
    if not isinstance(node, dict):
        return entries
    for item in numbered(node.get("entry")):
        if not isinstance(item, dict) or not isinstance(item.get(key_field), str):
            raise InvalidParameter(f"Invalid parameter: {name}")
        value = item.get(value_field)
        entries[item[key_field]] = "" if value is None else value
    return entries


def _tags(params, name="Tags"):
    tags = {}
    for item in _members(params, name):
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise InvalidParameter(f"Invalid parameter: {name}")
        value = item.get("Value")
        tags[item["Key"]] = value if isinstance(value, str) else ""
    return tags


def _message_attributes(node):
    """`MessageAttributes.entry.N.Name` / `.Value.DataType|StringValue|BinaryValue` (base64)."""
    attributes = {}
    for name, value in _map(node, "MessageAttributes", "Name", "Value").items():
        value = value if isinstance(value, dict) else {}
        attribute = {"DataType": value.get("DataType")}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            try:
                attribute["BinaryValue"] = base64.b64decode(value["BinaryValue"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise InvalidParameter(
                    f"Invalid parameter: MessageAttributes Reason: The message attribute "
                    f"'{name}' has an invalid base64 BinaryValue."
                ) from None
        attributes[name] = attribute
    return attributes


def _entry(params, entry_id=""):
    return service.PublishEntry(
        message=_string(params, "Message"),
        id=entry_id,
        subject=_string(params, "Subject"),
        message_structure=_string(params, "MessageStructure"),
        message_attributes=_message_attributes(params),
        group_id=_string(params, "MessageGroupId"),
        deduplication_id=_string(params, "MessageDeduplicationId"),
    )


# Writing results ---------------------------------------------------------------------------


def _fields(item):
    return "".join(xml.element(name, value) for name, value in item.items() if value is not None)


def _list_xml(name, items):
    return (
        f"<{name}>" + "".join(f"<member>{_fields(item)}</member>" for item in items) + f"</{name}>"
    )


def _map_xml(name, mapping):
    entries = "".join(
        f"<entry>{xml.element('key', key)}{xml.element('value', value)}</entry>"
        for key, value in mapping.items()
    )
    return f"<{name}>{entries}</{name}>"


def _next_token(token):
    return xml.element("NextToken", token) if token else ""


# Operations: each returns its result's XML, or None when the operation has no result ----------


def create_topic(params, request):
    attributes = _map(params, "Attributes")
    policy = _string(params, "DataProtectionPolicy")
    if policy is not None:
        attributes["DataProtectionPolicy"] = policy
    topic = service.create_topic(_string(params, "Name"), attributes, _tags(params))
    return xml.element("TopicArn", topic.arn)


def delete_topic(params, request):
    try:
        topic = service.get_topic(_string(params, "TopicArn"))
    except NotFound:
        return None  # SNS: deleting a topic that does not exist is not an error
    service.delete_topic(topic)
    return None


def list_topics(params, request):
    topics, token = service.list_topics(_string(params, "NextToken"))
    return _list_xml("Topics", [{"TopicArn": topic.arn} for topic in topics]) + _next_token(token)


def get_topic_attributes(params, request):
    topic = service.get_topic(_string(params, "TopicArn"))
    return _map_xml("Attributes", service.get_topic_attributes(topic))


def set_topic_attributes(params, request):
    topic = service.get_topic(_string(params, "TopicArn"))
    service.set_topic_attribute(
        topic, _string(params, "AttributeName"), _string(params, "AttributeValue")
    )
    return None


def subscribe(params, request):
    topic = service.get_topic(_string(params, "TopicArn"))
    _subscription, answer = service.subscribe(
        topic,
        _string(params, "Protocol"),
        _string(params, "Endpoint"),
        _map(params, "Attributes"),
        return_subscription_arn=_boolean(params, "ReturnSubscriptionArn"),
    )
    return xml.element("SubscriptionArn", answer)


def confirm_subscription(params, request):
    subscription = service.confirm_subscription(
        _string(params, "TopicArn"),
        _string(params, "Token"),
        authenticated=request.access_key is not None,
        authenticate_on_unsubscribe=_boolean(params, "AuthenticateOnUnsubscribe"),
    )
    return xml.element("SubscriptionArn", subscription.arn)


def unsubscribe(params, request):
    arn = _string(params, "SubscriptionArn")
    if request.access_key is None:
        service.unsubscribe_with_token(arn, _string(params, "Token"))
    else:
        service.unsubscribe(service.get_subscription(arn))
    return None


def list_subscriptions(params, request, topic=None):
    subscriptions, token = service.list_subscriptions(topic, _string(params, "NextToken"))
    listing = [service.subscription_listing(subscription) for subscription in subscriptions]
    return _list_xml("Subscriptions", listing) + _next_token(token)


def list_subscriptions_by_topic(params, request):
    return list_subscriptions(params, request, service.get_topic(_string(params, "TopicArn")))


def get_subscription_attributes(params, request):
    subscription = service.get_subscription(_string(params, "SubscriptionArn"))
    return _map_xml("Attributes", service.get_subscription_attributes(subscription))


def set_subscription_attributes(params, request):
    subscription = service.get_subscription(_string(params, "SubscriptionArn"))
    service.set_subscription_attribute(
        subscription, _string(params, "AttributeName"), _string(params, "AttributeValue")
    )
    return None


def _publish_target(params):
    """The topic a Publish names by TopicArn or TargetArn; phone numbers and endpoints refused."""
    given = [name for name in ("TopicArn", "TargetArn", "PhoneNumber") if _string(params, name)]
    if not given:
        raise InvalidParameter(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
        )
    if len(given) > 1:
        raise InvalidParameter(
            "Invalid parameter: TopicArn, TargetArn, PhoneNumber Reason: only one of them may "
            "be given"
        )
    name = given[0]
    if name == "PhoneNumber":
        raise InvalidParameter(
            "Invalid parameter: PhoneNumber Reason: SMS is not supported by Roost"
        )
    arn = _string(params, name)
    if name == "TargetArn" and "/" in arn.rpartition(":")[2]:
        raise InvalidParameter(
            f"Invalid parameter: TargetArn Reason: {_MOBILE_PUSH} is not supported by Roost"
        )
    return service.get_topic_to_publish(arn, parameter=name)


def publish(params, request):
    topic = _publish_target(params)
    return "".join(
        xml.element(name, value) for name, value in service.publish(topic, _entry(params)).items()
    )


def publish_batch(params, request):
    topic = service.get_topic_to_publish(_string(params, "TopicArn"))
    entries = []
    for item in _members(params, "PublishBatchRequestEntries"):
        item = item if isinstance(item, dict) else {}
        entries.append(_entry(item, _string(item, "Id") or ""))
    results, failures = service.publish_messages(topic, entries)
    failed = [
        {
            "Id": entry_id,
            "Code": error.legacy_code,
            "Message": error.message,
            "SenderFault": error.sender_fault,
        }
        for entry_id, error in failures
    ]
    return _list_xml("Successful", results) + _list_xml("Failed", failed)


def tag_resource(params, request):
    service.tag_resource(_string(params, "ResourceArn"), _tags(params))
    return ""


def untag_resource(params, request):
    keys = [key for key in _members(params, "TagKeys") if isinstance(key, str)]
    service.untag_resource(_string(params, "ResourceArn"), keys)
    return ""


def list_tags_for_resource(params, request):
    tags = service.list_tags(_string(params, "ResourceArn"))
    return _list_xml("Tags", [{"Key": key, "Value": value} for key, value in tags.items()])


def get_data_protection_policy(params, request):
    topic = service.get_topic(_string(params, "ResourceArn"), parameter="ResourceArn")
    policy = service.get_topic_attributes(topic, counts=False).get("DataProtectionPolicy", "")
    return xml.element("DataProtectionPolicy", policy)


def put_data_protection_policy(params, request):
    topic = service.get_topic(_string(params, "ResourceArn"), parameter="ResourceArn")
    service.set_topic_attribute(
        topic, "DataProtectionPolicy", _string(params, "DataProtectionPolicy")
    )
    return None


OPERATIONS = {
    "CreateTopic": create_topic,
    "DeleteTopic": delete_topic,
    "ListTopics": list_topics,
    "GetTopicAttributes": get_topic_attributes,
    "SetTopicAttributes": set_topic_attributes,
    "Subscribe": subscribe,
    "ConfirmSubscription": confirm_subscription,
    "Unsubscribe": unsubscribe,
    "ListSubscriptions": list_subscriptions,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic,
    "GetSubscriptionAttributes": get_subscription_attributes,
    "SetSubscriptionAttributes": set_subscription_attributes,
    "Publish": publish,
    "PublishBatch": publish_batch,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "GetDataProtectionPolicy": get_data_protection_policy,
    "PutDataProtectionPolicy": put_data_protection_policy,
}


# The front door ------------------------------------------------------------------------------


def _malformed(message):
    return InvalidParameter(f"Invalid parameter: {message}")


def handle(request):
    """Run one SNS query request; `request.access_key` is None only for an unsigned link."""
    params = unflatten(request.form.items(), _malformed)
    action = _string(params, "Action")
    if not action:
        raise MissingAction("The request must contain the parameter Action.")
    if request.access_key is None and action not in UNSIGNED_LINKS:
        raise MissingAuthenticationToken()
    operation = OPERATIONS.get(action)
    # A subscriber's unsigned link carries its token as the credential; everything else is
    # checked against the key's policy before it runs.
    signed = request.access_key is not None
    if operation is None:
        if action in UNSUPPORTED:
            if signed:
                permissions.check(request.access_key, action, params)
            raise InvalidParameter(
                f"Invalid parameter: Action Reason: {action} belongs to {UNSUPPORTED[action]}, "
                "which is not supported by Roost"
            )
        raise InvalidAction(f"The action {action} is not valid for this web service.")
    for name in REQUIRED.get(action, ()):
        if params.get(name) is None:
            raise InvalidParameter(f"Invalid parameter: {name}")
    try:
        shapes.check_query(params, INPUTS[action])
    except shapes.ShapeError as error:
        reason = "Invalid characters" if error.reason == "text" else f"Must be {error.expected}"
        raise InvalidParameter(f"Invalid parameter: {error.path} Reason: {reason}") from None
    if signed:
        permissions.check(request.access_key, action, params)
    result = operation(params, request)
    body = xml.document(
        f"{action}Response",
        NAMESPACE,
        result or "",
        request.request_id,
        None if result is None else f"{action}Result",
    )
    return Response(200, body, CONTENT_TYPE)


def is_unsigned_link(request):
    """Whether a plain, unsigned GET is SNS's SubscribeURL or UnsubscribeURL.

    Subscribers (an HTTP endpoint's code, a person's browser) follow these links unsigned; the
    token they carry is the credential.
    """
    form = request.form
    return form.get("Action") in UNSIGNED_LINKS and bool(form.get("Token"))


def throttled():
    return Throttling()


def error_response(error, request):
    return Response(
        error.status, xml.error_document(NAMESPACE, error, request.request_id), CONTENT_TYPE
    )
