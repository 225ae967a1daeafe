"""The overview: every queue and topic with its live numbers, a name filter, create forms."""

import hashlib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.forms.overview import CreateQueueForm, CreateTopicForm
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required
from notifications import service as topics_service
from notifications.models import Subscription, Topic
from queues import service as queues_service
from queues.depths import EMPTY, queue_rates, queue_stats
from queues.models import Queue

TEMPLATE = "console/overview.html"

SQS_SNIPPET = """import boto3

sqs = boto3.client("sqs", endpoint_url="{endpoint}", region_name="{region}",
                   aws_access_key_id="YOUR_KEY_ID", aws_secret_access_key="YOUR_SECRET")
url = sqs.create_queue(QueueName="orders")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="hello")"""

SNS_SNIPPET = """import boto3

sns = boto3.client("sns", endpoint_url="{endpoint}", region_name="{region}",
                   aws_access_key_id="YOUR_KEY_ID", aws_secret_access_key="YOUR_SECRET")
topic_arn = sns.create_topic(Name="events")["TopicArn"]"""


def _queue_rows(queues, everything=False):
    """What each queue row shows: the queue, its stats and rates, its DLQ's stats."""
    queues = list(queues)
    dead_letter_ids = set(
        Queue.objects.filter(dead_letter_queue__isnull=False).values_list(
            "dead_letter_queue_id", flat=True
        )
    )
    counted = None
    if not everything:
        counted = {queue.pk for queue in queues}
        counted |= {queue.dead_letter_queue_id for queue in queues if queue.dead_letter_queue_id}
    stats = queue_stats(counted)
    rates = queue_rates([queue.pk for queue in queues])
    return [
        {
            "queue": queue,
            "stats": stats.get(queue.pk, EMPTY),
            "rates": rates.get(queue.pk),
            "is_dead_letter_queue": queue.pk in dead_letter_ids,
            "dead_letter_stats": (
                stats.get(queue.dead_letter_queue_id, EMPTY) if queue.dead_letter_queue_id else None
            ),
        }
        for queue in queues
    ]


def _topics(name_filter=""):
    topics = Topic.objects.annotate(
        subscription_count=Count("subscriptions"),
        pending_count=Count(
            "subscriptions", filter=Q(subscriptions__status=Subscription.Status.PENDING)
        ),
    )
    if name_filter:
        topics = topics.filter(name__icontains=name_filter)
    return list(topics.order_by("name"))


def _queues(name_filter=""):
    queues = Queue.objects.select_related("dead_letter_queue").order_by("name")
    if name_filter:
        queues = queues.filter(name__icontains=name_filter)
    return queues


def _context(request, name_filter, queue_form=None, topic_form=None):
    operator = is_operator(request.user)
    endpoint = request.build_absolute_uri("/").rstrip("/")
    return {
        "name_filter": name_filter,
        "queue_rows": _queue_rows(_queues(name_filter), everything=not name_filter),
        "topics": _topics(name_filter),
        "has_any": Queue.objects.exists() or Topic.objects.exists(),
        "is_operator": operator,
        "queue_form": queue_form or (CreateQueueForm() if operator else None),
        "topic_form": topic_form or (CreateTopicForm() if operator else None),
        "sqs_snippet": SQS_SNIPPET.format(endpoint=endpoint, region=settings.ROOST_REGION),
        "sns_snippet": SNS_SNIPPET.format(endpoint=endpoint, region=settings.ROOST_REGION),
        "nav": "overview",
        "live_set": _live_set(),
    }


def _live_set():
    """A digest of which queues and topics exist: when it changes, open overviews reload their
    lists (a row pushed live can only update a row the page already has)."""
    names = list(Queue.objects.order_by("pk").values_list("pk", flat=True))
    names.append("/")
    names += list(Topic.objects.order_by("pk").values_list("pk", flat=True))
    return hashlib.sha1(repr(names).encode()).hexdigest()[:16]


@login_required
def overview(request):
    """All queues and topics; htmx filter requests get the lists alone."""
    name_filter = request.GET.get("q", "").strip()
    context = _context(request, name_filter)
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{TEMPLATE}#lists", context)
    return render(request, TEMPLATE, context)


def _again(request, partial, context=None, **page_overrides):
    """Answer a refused create form (e.g. queue_form=form): in its `partial`, or on the page."""
    context = context or {"is_operator": True, **page_overrides}
    return responses.form_again(
        request, TEMPLATE, partial, context, lambda: _context(request, "", **page_overrides)
    )


def _topics_context(topic_form):
    return {"topics": _topics(), "topic_form": topic_form, "is_operator": True}


@require_POST
@operator_required
def create_queue(request):
    """Create a queue from the form and go to its page; errors show beside their fields."""
    form = CreateQueueForm(request.POST)

    def create():
        existed = Queue.objects.filter(name=form.queue_name()).exists()
        return queues_service.create_queue(form.queue_name(), form.attributes()), existed

    def created(result):
        queue, existed = result
        verb = "already existed with these settings" if existed else "created"
        url = reverse("console:queue", args=[queue.name])
        return responses.go_to(request, url, f"Queue {queue.name} {verb}.")

    return responses.run_action(
        request,
        create,
        created,
        form=form,
        again=lambda: _again(request, "create-queue", queue_form=form),
    )


@require_POST
@operator_required
def create_topic(request):
    """Create a topic from the form and go to its page; errors show beside their fields."""
    form = CreateTopicForm(request.POST)

    def create():
        existed = Topic.objects.filter(name=form.topic_name()).exists()
        return topics_service.create_topic(form.topic_name(), form.attributes()), existed

    def created(result):
        topic, existed = result
        message = (
            f"Topic {topic.name} already existed with these settings."
            if existed
            else f"Created topic {topic.name}."
        )
        return responses.go_to(request, reverse("console:topic", args=[topic.name]), message)

    return responses.run_action(
        request,
        create,
        created,
        form=form,
        again=lambda: _again(request, "topics", _topics_context(form), topic_form=form),
    )


def live_fragments(user):
    """The overview's live regions: one per queue row (`queue-<pk>`) and topic row (`topic-<pk>`),
    and `overview-set`, which changes when a queue or topic is created or deleted anywhere."""
    regions = {}
    for row in _queue_rows(_queues(), everything=True):
        html = render_to_string(f"{TEMPLATE}#queue-row", {"row": row})
        regions[f"queue-{row['queue'].pk}"] = html
    for topic in _topics():
        html = render_to_string(f"{TEMPLATE}#topic-row", {"topic": topic})
        regions[f"topic-{topic.pk}"] = html
    # Last: htmx parses a pushed frame inside a <template>, where a <tr> after a <span> is
    # dropped (only its text survives), so rows must come before any non-table element.
    regions["overview-set"] = render_to_string(
        f"{TEMPLATE}#overview-set", {"live_set": _live_set()}
    )
    return regions
