"""Alarms on queues: create, list, delete, and beat's evaluation of every alarm once a minute.

An alarm watches one queue's minute rows (queues.activity) and publishes to a topic when its state
changes to or from ALARM, in the JSON shape CloudWatch's alarm notifications have, so a consumer
written for CloudWatch (an autoscaler reading NewStateValue) reads Roost's as it is. Each change of
state is written to the audit log as AlarmStateChange, by the "system" door.

- depth: the queue's visible messages (ApproximateNumberOfMessagesVisible) were above `threshold`
  in each of the last `minutes` one-minute samples beat took.
- oldest_age: the oldest message's age in seconds (ApproximateAgeOfOldestMessage) was above
  `threshold` in each of the last `minutes` samples.
- dlq_receives: more than `threshold` messages were dead-lettered in the last `minutes` minutes:
  moved from this queue to its dead-letter queue, or, when this queue is a dead-letter queue,
  moved into it from its source queues.

Too few samples (beat not running, a queue created a minute ago) is INSUFFICIENT_DATA, the state
every alarm starts in, as CloudWatch's do.
"""

import json
import logging
import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import log as audit_log
from aws_protocol.errors import RoostError
from notifications.errors import InvalidParameter, NotFound
from notifications.models import Alarm
from notifications.service.publishing import PublishEntry, publish
from queues import activity
from queues.models import Queue, QueueActivity

logger = logging.getLogger("roost.alarms")

MAX_MINUTES = 24 * 60  # the minute rows kept
MAX_THRESHOLD = 10**12
ALARM_NAME = re.compile(r"^[\x20-\x7e]{1,255}$")  # printable ASCII, as CloudWatch allows
EVALUATE_BATCH = 500
# What each kind watches, as CloudWatch names it (the last has no CloudWatch metric: Roost's own).
METRICS = {
    Alarm.Kind.DEPTH: ("ApproximateNumberOfMessagesVisible", "Maximum", "Count"),
    Alarm.Kind.OLDEST_AGE: ("ApproximateAgeOfOldestMessage", "Maximum", "Seconds"),
    Alarm.Kind.DLQ_RECEIVES: ("NumberOfMessagesDeadLettered", "Sum", "Count"),
}
SAMPLED = {Alarm.Kind.DEPTH: "visible", Alarm.Kind.OLDEST_AGE: "oldest_age"}


# Managing alarms -------------------------------------------------------------------------------


def _whole_number(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise InvalidParameter(f"{name} must be a whole number, not {value!r}.") from None
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be between {low} and {high}, not {value}.")
    return value


def create_alarm(queue, *, name, kind, threshold, topic, minutes=1):
    """Create an alarm on `queue` publishing to `topic`; refuse bad values with their reason."""
    name = name or ""
    if not ALARM_NAME.match(name):
        raise InvalidParameter(
            "An alarm's name must be 1 to 255 printable ASCII characters (letters, digits, "
            "spaces and punctuation)."
        )
    if kind not in Alarm.Kind.values:
        raise InvalidParameter(
            f"An alarm's kind must be one of {', '.join(Alarm.Kind.values)}, not {kind!r}."
        )
    threshold = _whole_number("threshold", threshold, 0, MAX_THRESHOLD)
    minutes = _whole_number("minutes", minutes, 1, MAX_MINUTES)
    if topic.fifo_topic:
        raise InvalidParameter(
            f"An alarm publishes to a standard topic; {topic.name} is a FIFO topic."
        )
    if kind == Alarm.Kind.DLQ_RECEIVES and not (
        queue.dead_letter_queue_id or Queue.objects.filter(dead_letter_queue_id=queue.pk).exists()
    ):
        raise InvalidParameter(
            f"{queue.name} has no dead-letter queue and is no queue's dead-letter queue: "
            "nothing would ever be dead-lettered."
        )
    with transaction.atomic():
        if Alarm.objects.filter(name=name).exists():
            raise InvalidParameter(f"An alarm named {name} exists already.")
        alarm = Alarm.objects.create(
            name=name, queue=queue, kind=kind, threshold=threshold, minutes=minutes, topic=topic
        )
        audit_log.record(
            "CreateAlarm",
            "queue",
            queue.name,
            alarm=name,
            kind=kind,
            threshold=threshold,
            minutes=minutes,
            topic=topic.name,
        )
    return alarm


def delete_alarm(alarm):
    """Delete an alarm; it publishes nothing more."""
    with transaction.atomic():
        Alarm.objects.filter(pk=alarm.pk).delete()
        audit_log.record("DeleteAlarm", "queue", alarm.queue.name, alarm=alarm.name)


def alarms_of(queue):
    """A queue's alarms, by name, with their topics."""
    return list(Alarm.objects.filter(queue=queue).select_related("topic", "queue"))


def get_alarm(queue, name):
    """The queue's alarm called `name`, or NotFound."""
    alarm = Alarm.objects.filter(queue=queue, name=name).select_related("topic", "queue").first()
    if alarm is None:
        raise NotFound(f"Queue {queue.name} has no alarm named {name}.")
    return alarm


def queues_in_alarm(queue_ids=None):
    """{queue id: how many of its alarms are in ALARM}: one query, by the (state, queue) index."""
    rows = Alarm.objects.filter(state=Alarm.State.ALARM)
    if queue_ids is not None:
        rows = rows.filter(queue_id__in=list(queue_ids))
    counts = {}
    for queue_id in rows.values_list("queue_id", flat=True):
        counts[queue_id] = counts.get(queue_id, 0) + 1
    return counts


# Evaluating (beat) -----------------------------------------------------------------------------


def evaluate_alarms(minute=None):
    """Evaluate every alarm against its queue's minutes; return the alarms whose state changed.

    A batch of alarms costs two queries (their queues' recent minutes, the dead-letter sources),
    whatever the number of queues; a change of state costs its own transaction and publish.
    """
    minute = minute or activity.current_minute()
    changed = []
    after = 0
    while True:
        batch = list(
            Alarm.objects.filter(pk__gt=after)
            .select_related("queue", "topic")
            .order_by("pk")[:EVALUATE_BATCH]
        )
        if not batch:
            return changed
        after = batch[-1].pk
        sources = _dead_letter_sources(batch)
        minutes = _recent_minutes(batch, minute, sources)
        for alarm in batch:
            state, reason = _judge(alarm, minute, minutes, sources)
            if state != alarm.state and _change_state(alarm, state, reason):
                changed.append(alarm)
        if len(batch) < EVALUATE_BATCH:
            return changed


def _recent_minutes(alarms, minute, sources):
    """{queue id: {minute: QueueActivity}} of the alarms' queues (and dead-letter sources) over
    the longest window these alarms look at: one query."""
    queue_ids = {alarm.queue_id for alarm in alarms}
    queue_ids.update(source for ids in sources.values() for source in ids)
    longest = max(alarm.minutes for alarm in alarms)
    rows = QueueActivity.objects.filter(queue_id__in=queue_ids, minute__gte=minute - longest).only(
        "queue_id", "minute", "visible", "oldest_age", "dead_lettered"
    )
    by_queue = {}
    for row in rows:
        by_queue.setdefault(row.queue_id, {})[row.minute] = row
    return by_queue


def _dead_letter_sources(alarms):
    """{dead-letter queue id: [source queue ids]} for the DLQ alarms' queues."""
    watched = [alarm.queue_id for alarm in alarms if alarm.kind == Alarm.Kind.DLQ_RECEIVES]
    sources = {}
    if watched:
        for source, target in Queue.objects.filter(dead_letter_queue_id__in=watched).values_list(
            "id", "dead_letter_queue_id"
        ):
            sources.setdefault(target, []).append(source)
    return sources


def _judge(alarm, minute, minutes, sources):
    """(state, reason) of an alarm now."""
    if alarm.kind == Alarm.Kind.DLQ_RECEIVES:
        first = minute - alarm.minutes + 1
        total = 0
        for queue_id in [alarm.queue_id, *sources.get(alarm.queue_id, [])]:
            rows = minutes.get(queue_id, {})
            total += sum(row.dead_lettered for at, row in rows.items() if at >= first)
        span = "minute" if alarm.minutes == 1 else f"{alarm.minutes} minutes"
        if total > alarm.threshold:
            return Alarm.State.ALARM, (
                f"Threshold Crossed: {total} messages dead-lettered in the last {span}, "
                f"more than the threshold ({alarm.threshold})."
            )
        return Alarm.State.OK, (
            f"{total} messages dead-lettered in the last {span}, not more than the threshold "
            f"({alarm.threshold})."
        )
    column = SAMPLED[alarm.kind]
    rows = minutes.get(alarm.queue_id, {})
    # The last M samples within the last M+1 minutes: this minute's may not be taken yet.
    samples = sorted(
        (at, getattr(row, column))
        for at, row in rows.items()
        if at >= minute - alarm.minutes and getattr(row, column) is not None
    )[-alarm.minutes :]
    if len(samples) < alarm.minutes:
        return Alarm.State.INSUFFICIENT_DATA, (
            f"Insufficient Data: {len(samples)} of the {alarm.minutes} one-minute samples needed."
        )
    shown = ", ".join(f"{value} ({_stamp(at)})" for at, value in samples[-5:])
    over = [value for _at, value in samples if value > alarm.threshold]
    count = f"{len(samples)} datapoint{'s' if len(samples) > 1 else ''}"
    if len(over) == len(samples):
        return Alarm.State.ALARM, (
            f"Threshold Crossed: {count} [{shown}] "
            f"{'was' if len(samples) == 1 else 'were'} greater than the threshold "
            f"({alarm.threshold})."
        )
    return Alarm.State.OK, (
        f"Threshold Crossed: {len(samples) - len(over)} of the last {count} [{shown}] "
        f"{'was' if len(samples) == 1 else 'were'} not greater than the threshold "
        f"({alarm.threshold})."
    )


def _stamp(minute):
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%d/%m/%y %H:%M:%S")


def _change_state(alarm, state, reason):
    """Move an alarm to `state` if no other evaluation did meanwhile; log it, and publish a
    change to or from ALARM to the alarm's topic. Return whether this call changed it."""
    old = alarm.state
    now = timezone.now()
    with transaction.atomic():
        # Two beats evaluating at once (a restart): only the one whose update lands notifies.
        if not Alarm.objects.filter(pk=alarm.pk, state=old).update(
            state=state, state_changed_at=now, reason=reason
        ):
            return False
        alarm.state, alarm.state_changed_at, alarm.reason = state, now, reason
        audit_log.record(
            "AlarmStateChange",
            "queue",
            alarm.queue.name,
            alarm=alarm.name,
            old=old,
            new=state,
            reason=reason,
        )
        if Alarm.State.ALARM in (old, state):
            _notify(alarm, old)
    return True


def _notify(alarm, old):
    try:
        with transaction.atomic():
            publish(
                alarm.topic,
                PublishEntry(
                    message=json.dumps(notification(alarm, old)),
                    subject=f'{alarm.state}: "{alarm.name}" in {settings.ROOST_REGION}'[:99],
                ),
            )
    except RoostError as error:  # the topic refuses it: the state change stands, and is logged
        logger.warning("alarm %s could not publish to %s: %s", alarm.name, alarm.topic.name, error)


def notification(alarm, old):
    """The message an alarm publishes, in CloudWatch's alarm-notification shape."""
    metric, statistic, unit = METRICS[alarm.kind]
    region, account = settings.ROOST_REGION, settings.ROOST_ACCOUNT_ID
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": None,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.created_at),
        "NewStateValue": alarm.state,
        "NewStateReason": alarm.reason,
        "StateChangeTime": _iso(alarm.state_changed_at),
        "Region": region,
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm.name}",
        "OldStateValue": old,
        "OKActions": [],
        "AlarmActions": [alarm.topic.arn],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": metric,
            "Namespace": "AWS/SQS",
            "StatisticType": "Statistic",
            "Statistic": statistic.upper(),
            "Unit": unit,
            "Dimensions": [{"value": alarm.queue.name, "name": "QueueName"}],
            "Period": 60,
            "EvaluationPeriods": alarm.minutes,
            "DatapointsToAlarm": alarm.minutes,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": float(alarm.threshold),
            "TreatMissingData": "missing",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def _iso(moment):
    """CloudWatch's timestamp: 2026-12-03T17:20:00.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )
