"""The REST API's topic, subscription, publish and delivery-log endpoints: parse, fetch, one call.

Every rule lives in notifications.service (and notifications.delivery for replays); these handlers
translate JSON to its arguments and its results to JSON. Topics are named by their name in URLs,
as queues are; subscriptions by their id, the last part of their ARN.

Each endpoint asks `aws_protocol.authorization` for the IAM action of the SNS operation it stands
for, on the topic's ARN, through the fetching helpers: before the topic is looked up (a denied
caller learns nothing of whether it exists). Subscription operations are checked on the
subscription's topic, as on the SNS door and in AWS, once the subscription is found: its id alone
does not say which topic it belongs to.
"""

import base64
import binascii
import json

from ninja import Query, Router, Status

from aws_protocol import authorization
from notifications import activity, delivery, schemas, service
from notifications.errors import InvalidParameter, NotFound
from notifications.models import Delivery, Topic
from queues import history
from queues import service as queue_service
from queues.models import Queue
from queues.schemas import HISTORY_RANGE, TEXT, Error, History, PathText

router = Router()

TOPICS = ["topics"]
SUBSCRIPTIONS = ["subscriptions"]
PUBLISH = ["publish"]
DELIVERIES = ["deliveries"]
ALARMS = ["alarms"]
ERRORS = {frozenset({400, 401, 403, 404}): Error}
# What `?status=` means: "failed" is every delivery whose retries are over.
DELIVERY_STATUSES = {
    "pending": [Delivery.Status.PENDING],
    "delivered": [Delivery.Status.DELIVERED],
    "failed": [Delivery.Status.FAILED, Delivery.Status.DEAD_LETTERED],
    "dead_lettered": [Delivery.Status.DEAD_LETTERED],
}


# Access-checked fetching


def _allow(request, resource, *actions):
    """Raise AccessDenied (403) unless the caller may do every one of `actions` on `resource`."""
    for action in actions:
        authorization.authorize(request.auth, action, resource)


def _topic(request, name, *actions):
    """The topic named `name`, once the caller may do every one of `actions` on it."""
    _allow(request, Topic(name=name).arn, *actions)
    return service.get_topic_by_name(name)


def _subscription(request, subscription_id, *actions):
    """The subscription with this id, once the caller may do every one of `actions` on its
    topic."""
    subscription = service.get_subscription_by_uuid(subscription_id)
    _allow(request, subscription.topic.arn, *actions)
    return subscription


def _may_see(request, topic):
    """Whether a topic belongs in the caller's list: they may read its attributes."""
    return authorization.decide(request.auth, "sns:GetTopicAttributes", topic.arn).allowed


def _delivery(subscription, delivery_id):
    found = (
        Delivery.objects.select_related("message")
        .filter(pk=delivery_id, subscription=subscription)
        .first()
    )
    if found is None:
        raise NotFound("Delivery does not exist")
    return found


# Translation helpers


def _attribute_text(value):
    """A JSON value as the string SNS expects for an attribute."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _attributes_in(attributes):
    """Attributes as given -> SNS's strings ({} when none were given)."""
    if attributes is None:
        return {}
    given = attributes.model_dump(exclude_unset=True)
    return {name: _attribute_text(value) for name, value in given.items()}


def _ms(moment):
    return int(moment.timestamp() * 1000) if moment else None


def _topic_summary(topic):
    return {"name": topic.name, "arn": topic.arn, "fifo": topic.fifo_topic}


def _topic_detail(topic):
    attributes = service.get_topic_attributes(topic)
    return {
        **_topic_summary(topic),
        "attributes": attributes,
        "subscriptions": {
            "confirmed": int(attributes["SubscriptionsConfirmed"]),
            "pending": int(attributes["SubscriptionsPending"]),
            "deleted": int(attributes["SubscriptionsDeleted"]),
        },
        "tags": dict(topic.tags),
    }


def _subscription_summary(subscription):
    return {
        "id": subscription.uuid,
        "arn": subscription.arn,
        "topic": subscription.topic.name,
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "status": subscription.status,
    }


def _subscription_detail(subscription):
    return {
        **_subscription_summary(subscription),
        "attributes": service.get_subscription_attributes(subscription),
        "created_at": _ms(subscription.created_at),
        "confirmed_at": _ms(subscription.confirmed_at),
        "confirmation_attempts": [
            _confirmation_attempt(attempt)
            for attempt in service.confirmation_attempts(subscription)
        ],
    }


def _confirmation_attempt(attempt):
    return {
        "number": attempt.number,
        "attempted_at": attempt.attempted_at,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error or None,
        "succeeded": attempt.succeeded,
        "requested_by": attempt.requested_by or None,
    }


def _requested_by(request):
    """Who made this request, as the log names them: a user's name or an access key's id."""
    key_id = getattr(request.auth, "access_key_id", None)
    if key_id:
        return f"access key {key_id}"
    return request.auth.get_username()


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
                raise InvalidParameter(
                    f"Invalid parameter: MessageAttributes Reason: The message attribute "
                    f"'{name}' has an invalid base64 binary value."
                ) from None
        result[name] = value
    return result


def _publish_entry(payload, entry_id=""):
    return service.PublishEntry(
        id=entry_id,
        message=payload.message,
        subject=payload.subject,
        message_structure=payload.message_structure,
        message_attributes=_message_attributes_in(payload.message_attributes),
        group_id=payload.group_id,
        deduplication_id=payload.deduplication_id,
    )


def _published(result):
    return {"message_id": result["MessageId"], "sequence_number": result.get("SequenceNumber")}


def _attempt(attempt):
    return {
        "attempted_at": attempt.attempted_at,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error or None,
        "succeeded": attempt.succeeded,
    }


def _delivery_out(found):
    pending = found.status == Delivery.Status.PENDING
    return {
        "id": found.pk,
        "message_id": found.message.message_id,
        "subject": found.message.subject or None,
        "protocol": found.protocol,
        "status": found.status,
        "attempts": found.attempts,
        "created_at": found.created_at,
        "next_attempt_at": found.next_attempt_at if pending else None,
        "finished_at": found.finished_at,
        "last_error": found.last_error or None,
        "replay_of": found.replay_of_id,
        "replayed_by": found.replayed_by or None,
        "attempt_log": [_attempt(attempt) for attempt in found.attempt_log.all()],
    }


def _encode_cursor(delivery_id):
    return base64.urlsafe_b64encode(str(delivery_id).encode()).decode()


def _decode_cursor(cursor):
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeError):
        raise InvalidParameter("Invalid parameter: cursor") from None


def _delivery_log(subscription, status, cursor, limit):
    """One page of a subscription's deliveries, newest first, and the cursor for the next."""
    deliveries = delivery.delivery_log(subscription).select_related("message")
    if status:
        deliveries = deliveries.filter(status__in=DELIVERY_STATUSES[status])
    if cursor:
        deliveries = deliveries.filter(id__lt=_decode_cursor(cursor))
    page = list(deliveries[: limit + 1])
    if len(page) > limit:
        return page[:limit], _encode_cursor(page[limit - 1].pk)
    return page, None


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


# Topics


@router.get("/topics", response={200: schemas.TopicList, **ERRORS}, tags=TOPICS)
def list_topics(request, cursor: str | None = Query(None, pattern=TEXT)):
    """List topics by name, a hundred at a time.

    Needs sns:ListTopics; the list holds only the topics the caller may sns:GetTopicAttributes
    on. That filter runs on each page after it is cut, so a page may hold fewer than a hundred
    topics, even none, while `next_cursor` still leads on.
    """
    _allow(request, authorization.account_resource("sns"), "sns:ListTopics")
    topics, next_cursor = service.list_topics(cursor)
    return {
        "topics": [_topic_summary(topic) for topic in topics if _may_see(request, topic)],
        "next_cursor": next_cursor,
    }


@router.post("/topics", response={201: schemas.TopicDetail, **ERRORS}, tags=TOPICS)
def create_topic(request, payload: schemas.TopicCreate):
    """Create a topic; an existing topic with the same attributes is returned as it is.

    A name ending in .fifo makes a FIFO topic (FifoTopic may be left out).
    """
    tagging = ["sns:TagResource"] if payload.tags else []
    _allow(request, Topic(name=payload.name).arn, "sns:CreateTopic", *tagging)
    attributes = _attributes_in(payload.attributes)
    if payload.name.endswith(".fifo"):
        attributes.setdefault("FifoTopic", "true")
    topic = service.create_topic(payload.name, attributes, payload.tags)
    return Status(201, _topic_detail(topic))


@router.get("/topics/{name}", response={200: schemas.TopicDetail, **ERRORS}, tags=TOPICS)
def get_topic(request, name: PathText):
    """A topic's attributes, subscription counts and tags."""
    return _topic_detail(_topic(request, name, "sns:GetTopicAttributes"))


@router.patch("/topics/{name}", response={200: schemas.TopicDetail, **ERRORS}, tags=TOPICS)
def update_topic(request, name: PathText, payload: schemas.TopicUpdate):
    """Change attributes, add or replace tags, remove tags: all of it, or nothing when one fails.

    Needs sns:SetTopicAttributes for attributes, sns:TagResource for tags, sns:UntagResource for
    remove_tags.
    """
    actions = [
        action
        for action, given in (
            ("sns:SetTopicAttributes", payload.attributes is not None),
            ("sns:TagResource", bool(payload.tags)),
            ("sns:UntagResource", bool(payload.remove_tags)),
        )
        if given
    ]
    topic = service.update_topic(
        _topic(request, name, *(actions or ["sns:SetTopicAttributes"])),
        _attributes_in(payload.attributes),
        payload.tags,
        payload.remove_tags,
    )
    return _topic_detail(topic)


@router.delete("/topics/{name}", response={204: None, **ERRORS}, tags=TOPICS)
def delete_topic(request, name: PathText):
    """Delete a topic with its subscriptions and the deliveries it still owes."""
    service.delete_topic(_topic(request, name, "sns:DeleteTopic"))
    return Status(204, None)


# Subscriptions


@router.get(
    "/topics/{name}/subscriptions",
    response={200: schemas.SubscriptionList, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def list_subscriptions(request, name: PathText, cursor: str | None = Query(None, pattern=TEXT)):
    """A topic's subscriptions in the order they were made, a hundred at a time."""
    topic = _topic(request, name, "sns:ListSubscriptionsByTopic")
    subscriptions, next_cursor = service.list_subscriptions(topic, cursor)
    return {
        "subscriptions": [_subscription_summary(item) for item in subscriptions],
        "next_cursor": next_cursor,
    }


@router.post(
    "/topics/{name}/subscriptions",
    response={201: schemas.SubscriptionDetail, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def subscribe(request, name: PathText, payload: schemas.SubscriptionCreate):
    """Subscribe an endpoint; subscribing it again returns the existing subscription.

    HTTP(S) and email endpoints are sent a confirmation and stay pending until they confirm;
    queues are confirmed at once.
    """
    subscription, _answer = service.subscribe(
        _topic(request, name, "sns:Subscribe"),
        payload.protocol,
        payload.endpoint,
        _attributes_in(payload.attributes),
        return_subscription_arn=True,
    )
    return Status(201, _subscription_detail(subscription))


@router.get(
    "/subscriptions/{subscription_id}",
    response={200: schemas.SubscriptionDetail, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def get_subscription(request, subscription_id: PathText):
    """A subscription's status (pending or confirmed) and attributes."""
    subscription = _subscription(request, subscription_id, "sns:GetSubscriptionAttributes")
    return _subscription_detail(subscription)


@router.patch(
    "/subscriptions/{subscription_id}",
    response={200: schemas.SubscriptionDetail, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def update_subscription(request, subscription_id: PathText, payload: schemas.SubscriptionUpdate):
    """Change attributes: all of them, or none when one is refused."""
    subscription = _subscription(request, subscription_id, "sns:SetSubscriptionAttributes")
    attributes = _attributes_in(payload.attributes)
    return _subscription_detail(service.set_subscription_attributes(subscription, attributes))


@router.post(
    "/subscriptions/{subscription_id}/filter-policy/test",
    response={200: schemas.FilterPolicyTestResult, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def test_filter_policy(request, subscription_id: PathText, payload: schemas.FilterPolicyTest):
    """Try a filter policy on the topic's latest 100 published messages; nothing changes.

    Each message is marked matched or not, with the clause that failed. An invalid policy is
    refused (400 InvalidParameter) with the message SetSubscriptionAttributes would give. Needs
    sns:GetSubscriptionAttributes; saving the policy is a PATCH of the subscription.
    """
    subscription = _subscription(request, subscription_id, "sns:GetSubscriptionAttributes")
    policy = payload.policy
    if isinstance(policy, dict):
        policy = json.dumps(policy)
    scope = payload.scope or subscription.filter_policy_scope
    result = service.try_filter_policy(subscription.topic, policy, scope)
    if not result.valid:
        raise InvalidParameter(result.error)
    return vars(result)


@router.delete(
    "/subscriptions/{subscription_id}", response={204: None, **ERRORS}, tags=SUBSCRIPTIONS
)
def unsubscribe(request, subscription_id: PathText):
    """Delete a subscription; deliveries it still owes are dropped."""
    service.unsubscribe(_subscription(request, subscription_id, "sns:Unsubscribe"))
    return Status(204, None)


@router.post(
    "/subscriptions/{subscription_id}/resend-confirmation",
    response={200: schemas.SubscriptionDetail, **ERRORS},
    tags=SUBSCRIPTIONS,
)
def resend_confirmation(request, subscription_id: PathText):
    """Send a pending HTTP(S) or email subscription a fresh confirmation.

    Refused (Throttling) while one is still on its way, and for 30 s after the last one anyone
    asked for; the attempt shows in `confirmation_attempts` once a worker has sent it. Needs
    sns:Subscribe on the topic: subscribing a pending endpoint again is how SNS resends one.
    """
    subscription = _subscription(request, subscription_id, "sns:Subscribe")
    subscription = service.resend_confirmation(subscription, _requested_by(request))
    return _subscription_detail(subscription)


# Publishing


@router.post("/topics/{name}/publish", response={201: schemas.Published, **ERRORS}, tags=PUBLISH)
def publish(request, name: PathText, payload: schemas.Publish):
    """Publish one message to every confirmed subscription whose filter policy it passes."""
    result = service.publish(_topic(request, name, "sns:Publish"), _publish_entry(payload))
    return Status(201, _published(result))


@router.post(
    "/topics/{name}/publish/batch",
    response={200: schemas.PublishBatchResult, **ERRORS},
    tags=PUBLISH,
)
def publish_batch(request, name: PathText, payload: schemas.PublishBatch):
    """Publish up to ten messages; each entry succeeds or fails on its own.

    Needs sns:Publish, as PublishBatch does: the whole batch is refused without it.
    """
    topic = _topic(request, name, "sns:Publish")
    entries = [_publish_entry(entry, entry.id) for entry in payload.entries]
    successful, failures = service.publish_messages(topic, entries)
    return {
        "successful": [{"id": result["Id"], **_published(result)} for result in successful],
        "failed": _failed(failures),
    }


# The delivery log


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response={200: schemas.DeliveryPage, **ERRORS},
    tags=DELIVERIES,
)
def list_deliveries(request, subscription_id: PathText, filters: Query[schemas.DeliveryFilters]):
    """List a subscription's deliveries, newest first, each with its attempts.

    Every attempt records its time, HTTP status, latency and error; finished deliveries are kept
    for a week. Needs sns:GetSubscriptionAttributes.
    """
    subscription = _subscription(request, subscription_id, "sns:GetSubscriptionAttributes")
    deliveries, next_cursor = _delivery_log(
        subscription, filters.status, filters.cursor, filters.limit
    )
    return {
        "deliveries": [_delivery_out(found) for found in deliveries],
        "next_cursor": next_cursor,
    }


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay",
    response={200: schemas.Delivery, **ERRORS},
    tags=DELIVERIES,
)
def replay_delivery(request, subscription_id: PathText, delivery_id: int):
    """Deliver a failed or dead-lettered message again, with a fresh round of retries.

    The replay is a delivery of its own (returned, `replay_of` naming this one); a delivery is
    replayed once, and a replay that fails can be replayed in turn. Needs sns:Publish on the
    topic: a replay publishes the message again, to this one subscription.
    """
    subscription = _subscription(request, subscription_id, "sns:Publish")
    found = _delivery(subscription, delivery_id)
    replayed = delivery.replay(found, _requested_by(request))
    return _delivery_out(replayed)


# History and alarms


@router.get("/topics/{name}/history", response={200: History, **ERRORS}, tags=TOPICS)
def topic_history(
    request,
    name: PathText,
    range: str = Query(
        history.DEFAULT_RANGE,
        pattern=HISTORY_RANGE,
        description="1h, 6h or 24h (a point a minute), 7d or 30d (a point an hour).",
    ),
):
    """The topic's series over a range: messages published, deliveries delivered, failed and
    filtered out, per minute or hour (docs/history.md). Needs sns:GetTopicAttributes."""
    topic = _topic(request, name, "sns:GetTopicAttributes")
    return history.series(activity.TOPICS, topic.pk, range).as_json()


def _alarm_queue(request, name, action):
    """The queue named `name`, once the caller may do `action` on it."""
    _allow(request, Queue(name=name).arn, action)
    return queue_service.get_queue(name)


def _alarm_out(alarm):
    return {
        "name": alarm.name,
        "queue": alarm.queue.name,
        "kind": alarm.kind,
        "threshold": alarm.threshold,
        "minutes": alarm.minutes,
        "topic": alarm.topic.name,
        "topic_arn": alarm.topic.arn,
        "state": alarm.state,
        "state_changed_at": alarm.state_changed_at.isoformat(),
        "reason": alarm.reason,
    }


@router.get("/queues/{name}/alarms", response={200: schemas.AlarmList, **ERRORS}, tags=ALARMS)
def list_alarms(request, name: PathText):
    """The queue's alarms with their state. Needs sqs:GetQueueAttributes on the queue."""
    queue = _alarm_queue(request, name, "sqs:GetQueueAttributes")
    return {"alarms": [_alarm_out(alarm) for alarm in service.alarms_of(queue)]}


@router.post("/queues/{name}/alarms", response={201: schemas.Alarm, **ERRORS}, tags=ALARMS)
def create_alarm(request, name: PathText, payload: schemas.AlarmCreate):
    """Create an alarm on the queue, publishing to a topic when its state changes.

    Needs sqs:SetQueueAttributes on the queue and sns:Publish on the topic.
    """
    queue = _alarm_queue(request, name, "sqs:SetQueueAttributes")
    topic = _topic(request, payload.topic, "sns:Publish")
    alarm = service.create_alarm(
        queue,
        name=payload.name,
        kind=payload.kind,
        threshold=payload.threshold,
        minutes=payload.minutes,
        topic=topic,
    )
    return Status(201, _alarm_out(alarm))


@router.get("/queues/{name}/alarms/{alarm}", response={200: schemas.Alarm, **ERRORS}, tags=ALARMS)
def get_alarm(request, name: PathText, alarm: PathText):
    """One of the queue's alarms. Needs sqs:GetQueueAttributes on the queue."""
    queue = _alarm_queue(request, name, "sqs:GetQueueAttributes")
    return _alarm_out(service.get_alarm(queue, alarm))


@router.delete("/queues/{name}/alarms/{alarm}", response={204: None, **ERRORS}, tags=ALARMS)
def delete_alarm(request, name: PathText, alarm: PathText):
    """Delete one of the queue's alarms. Needs sqs:SetQueueAttributes on the queue."""
    queue = _alarm_queue(request, name, "sqs:SetQueueAttributes")
    service.delete_alarm(service.get_alarm(queue, alarm))
    return Status(204, None)
