"""Who may read which audit log entries: one rule for the REST API and the console's page.

Reading an entry is the IAM action `roost:GetAuditLog` on the entry's resource: the queue's or
topic's ARN (a subscription's entries are judged on its topic's ARN, as its actions are), an
access key's IAM user ARN. Keys without a policy, unscoped console users and superusers read
every entry; a scoped user's policy allows it on their queues and topics (console.roles); a key
with a policy needs an Allow on it.
"""

from django.conf import settings

from aws_protocol import authorization
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
