"""Topic tags: TagResource, UntagResource, ListTagsForResource (the checks are in topics)."""

from django.db import transaction

from audit import log as audit_log
from notifications.errors import InvalidParameter, NotFound, ResourceNotFound
from notifications.service.lookups import get_topic, topic_cache
from notifications.service.topics import _locked_topic, _validate_tags


def _tagged_topic(arn):
    try:
        return get_topic(arn, parameter="ResourceArn")
    except NotFound:
        raise ResourceNotFound() from None


def tag_resource(arn, tags):
    topic = _tagged_topic(arn)
    if not tags:
        raise InvalidParameter("Invalid parameter: Tags Reason: no tags given")
    with transaction.atomic():
        topic = _locked_topic(topic, missing=ResourceNotFound())
        topic.tags = _validate_tags(tags, topic.tags)
        topic.save(update_fields=["tags"])
        audit_log.record("TagResource", "topic", topic.name, tags=tags)
    topic_cache.forget(topic.name)


def untag_resource(arn, keys):
    topic = _tagged_topic(arn)
    with transaction.atomic():
        topic = _locked_topic(topic, missing=ResourceNotFound())
        topic.tags = {key: value for key, value in topic.tags.items() if key not in set(keys)}
        topic.save(update_fields=["tags"])
        audit_log.record("UntagResource", "topic", topic.name, tag_keys=list(keys))
    topic_cache.forget(topic.name)


def list_tags(arn):
    return dict(_tagged_topic(arn).tags)
