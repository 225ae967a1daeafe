"""Who may read which audit log entries: one rule for the REST API and the console's page.

Reading an entry is the IAM action `roost:GetAuditLog` on the entry's resource: the queue's or
topic's ARN (a subscription's entries are judged on its topic's ARN, as its actions are), an
access key's IAM user ARN. Keys without a policy, unscoped console users and superusers read
every entry; a scoped user's policy allows it on their queues and topics (console.roles); a key
with a policy needs an Allow on it.
"""

from django.conf import settings

from audit import log
from aws_protocol import authorization
from aws_protocol.actor import DOORS
from aws_protocol.errors import ClientError
from notifications.models import topic_arn
from queues.models import queue_arn

ACTION = "roost:GetAuditLog"


def resource_arn(resource_type, resource):
    """The ARN an entry about this resource is judged on."""
    if resource_type == "queue":
        return queue_arn(resource)
    if resource_type == "topic":
        return topic_arn(resource)
    if resource_type == "subscription":
        return resource.rsplit(":", 1)[0]  # the subscription's ARN, less its id: the topic's
    if resource_type == "access-key":
        return authorization.user_arn(resource)
    return f"arn:aws:roost:{settings.ROOST_REGION}:{settings.ROOST_ACCOUNT_ID}:{resource_type}/{resource}"


def authorize_filter(principal, queue=None, topic=None):
    """Refuse (AccessDenied) a read filtered to a queue or topic the principal may not read."""
    if queue:
        authorization.authorize(principal, ACTION, queue_arn(queue))
    if topic:
        authorization.authorize(principal, ACTION, topic_arn(topic))


def readable(principal, entries):
    """The entries the principal may read, in order."""
    if authorization.has_full_access(principal):
        return list(entries)
    verdicts = {}
    kept = []
    for entry in entries:
        arn = resource_arn(entry.resource_type, entry.resource)
        if arn not in verdicts:
            verdicts[arn] = authorization.decide(principal, ACTION, arn).allowed
        if verdicts[arn]:
            kept.append(entry)
    return kept


def as_json(entry):
    """An entry as the REST API answers it."""
    return {
        "id": entry.pk,
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "door": entry.door,
        "actor": entry.actor,
        "key_id": entry.key_id,
        "username": entry.username,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource": entry.resource,
        "details": entry.details,
    }


class InvalidFilter(ClientError):
    code = "InvalidParameterValue"


def read(principal, filters):
    """A page of the entries `principal` may read, filtered: (entries, next cursor).

    `filters`: queue, topic, actor, action, door, since and until (ISO 8601 text), cursor and
    limit. Raises AccessDenied for a filter to a queue or topic out of reach, InvalidFilter for
    a malformed one.
    """
    door = filters.get("door")
    if door and door not in DOORS:
        raise InvalidFilter(f"door: one of {', '.join(DOORS)}.")
    authorize_filter(principal, filters.get("queue"), filters.get("topic"))
    try:
        entries, cursor = log.search(
            queue=filters.get("queue"),
            topic=filters.get("topic"),
            actor=filters.get("actor"),
            action=filters.get("action"),
            door=door,
            since=log.parse_time("since", filters.get("since")),
            until=log.parse_time("until", filters.get("until")),
            cursor=filters.get("cursor"),
            limit=filters.get("limit") or log.DEFAULT_PAGE,
        )
    except log.BadFilter as error:
        raise InvalidFilter(str(error)) from None
    return readable(principal, entries), cursor
