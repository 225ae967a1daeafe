"""The overview: queues and topics a page at a time, with live numbers, sorting, a name filter
and the create forms."""

import hashlib
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.forms.overview import CreateQueueForm, CreateTopicForm
from console.roles import is_operator
from console.views import responses
from console.views.guards import (
    authorize,
    can_see_queue,
    operator_required,
    queue_arn,
    queue_scope,
    topic_arn,
    topic_scope,
)
from notifications import service as topics_service
from notifications.models import Alarm, Subscription, Topic
from queues import listing
from queues import service as queues_service
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


def _topics(name_filter="", scope=None):
    topics = Topic.objects.annotate(
        subscription_count=Count("subscriptions"),
        pending_count=Count(
            "subscriptions", filter=Q(subscriptions__status=Subscription.Status.PENDING)
        ),
    )
    if scope is not None:
        topics = topics.filter(listing.names_matching(scope))
    if name_filter:
        topics = topics.filter(name__icontains=name_filter)
    return topics.order_by("name")


def _topic_page(name_filter="", page=1, scope=None):
    chosen = Paginator(_topics(name_filter, scope), listing.PAGE_SIZE).get_page(page)
    chosen.object_list = list(chosen.object_list)  # read once: the rows and the digest use it
    return chosen


@dataclass(frozen=True)
class View:
    """What the overview shows, as its URL says: `?q=ord&sort=-visible&page=3&tpage=2`."""

    q: str = ""
    sort: str = listing.DEFAULT_SORT
    page: str = "1"
    tpage: str = "1"

    @classmethod
    def of(cls, q="", sort="", page="", tpage=""):
        """The view these query parameters ask for; unknown sorts sort by name."""
        column, descending = listing.parse_sort(sort)
        return cls(
            q=q.replace("\x00", "").strip()[:256],  # no name is longer; NUL fails in SQL
            sort=f"{'-' if descending else ''}{column}",
            page=page or "1",
            tpage=tpage or "1",
        )

    def url(self, **changes):
        """The overview's URL for this view with `changes`; defaults are left out."""
        values = {**vars(self), **changes}
        defaults = vars(View())
        query = urlencode({key: value for key, value in values.items() if value != defaults[key]})
        return f"{reverse('console:overview')}?{query}" if query else reverse("console:overview")


def _listings(view, user):
    """The overview's lists: one page of queues and one of topics, with what the page shows of
    them (sort links, page links, the digest that tells the browser when to reload them); of
    those in the user's scope."""
    queue_page = listing.queue_page(view.q, view.sort, view.page, queue_scope(user))
    topic_page = _topic_page(view.q, view.tpage, topic_scope(user))
    in_alarm = _queues_in_alarm(user)
    # The page numbers actually shown (a bad or out-of-range number gives the nearest page).
    view = replace(view, page=str(queue_page.number), tpage=str(topic_page.number))
    return {
        "view": view,
        "queue_page": queue_page,
        "queue_rows": queue_page.object_list,
        "queue_columns": _columns(view),
        "queue_pager": _pager(view, queue_page, "page"),
        "topic_page": topic_page,
        "topics": topic_page.object_list,
        "topic_pager": _pager(view, topic_page, "tpage"),
        "queues_in_alarm": in_alarm,
        "alarm_count": len(in_alarm),
        "queue_set": _digest([row.queue.pk for row in queue_page], queue_page.paginator.count),
        "topic_set": _digest([topic.pk for topic in topic_page], topic_page.paginator.count),
    }


def _queues_in_alarm(user):
    """{queue id: alarms in ALARM} of the queues in the user's scope: one query for the page,
    whatever its rows (few alarms are ever in ALARM at once)."""
    counts = {}
    for queue_id, name in Alarm.objects.filter(state=Alarm.State.ALARM).values_list(
        "queue_id", "queue__name"
    ):
        if can_see_queue(user, name):
            counts[queue_id] = counts.get(queue_id, 0) + 1
    return counts


# The queue table's columns: (heading, sort key, numeric, title).
COLUMNS = [
    ("Queue", "name", False, ""),
    ("Visible", "visible", True, ""),
    ("In flight", "in_flight", True, ""),
    ("Delayed", "delayed", True, ""),
    ("Oldest", "oldest", True, "Age of the oldest message"),
    ("Sent/min", "sent", True, "Messages sent in the last minute"),
    ("Received/min", "received", True, "Messages received in the last minute"),
    ("Dead-letter queue", "dead_lettered", False, "Sorts by the number of dead-lettered messages"),
]


def _columns(view):
    """Each column heading with its sort link: a first click sorts names A-Z and numbers largest
    first; a click on the sorted column turns it around. Sorting goes back to page 1."""
    column, descending = listing.parse_sort(view.sort)
    headings = []
    for label, key, numeric, title in COLUMNS:
        current = key == column
        first_descending = key != "name"
        next_descending = not descending if current else first_descending
        headings.append(
            {
                "label": label,
                "numeric": numeric,
                "title": title,
                "aria_sort": ("descending" if descending else "ascending") if current else "",
                "key": key,
                "url": view.url(sort=f"{'-' if next_descending else ''}{key}", page="1"),
            }
        )
    return headings


def _pager(view, page, parameter):
    """Previous, next and numbered links to a list's pages ("…" where some are left out), or
    None when everything fits on one."""
    paginator = page.paginator
    if paginator.num_pages <= 1:
        return None

    def url(number):
        return view.url(**{parameter: str(number)})

    numbers = paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return {
        "previous": url(page.previous_page_number()) if page.has_previous() else None,
        "next": url(page.next_page_number()) if page.has_next() else None,
        "links": [
            {"number": number, "url": url(number), "current": number == page.number}
            if number != paginator.ELLIPSIS
            else {"number": None}
            for number in numbers
        ],
    }


def _digest(row_ids, count):
    """What one list shows, short: which rows in which order, and of how many. When the live
    stream's copy differs from the page's, the browser reloads the list (rows pushed live can
    only update rows the page already has)."""
    return hashlib.sha1(repr((row_ids, count)).encode()).hexdigest()[:16]


def _context(request, view, queue_form=None, topic_form=None):
    operator = is_operator(request.user)
    endpoint = request.build_absolute_uri("/").rstrip("/")
    return {
        **_listings(view, request.user),
        "name_filter": view.q,
        "is_operator": operator,
        "queue_form": queue_form or (CreateQueueForm() if operator else None),
        # Suggestions for the create form's dead-letter queue, read only if the form is shown.
        "queue_names": Queue.objects.filter(_in_scope(request.user))
        .order_by("name")
        .values_list("name", flat=True),
        "topic_form": topic_form or (CreateTopicForm() if operator else None),
        "sqs_snippet": SQS_SNIPPET.format(endpoint=endpoint, region=settings.ROOST_REGION),
        "sns_snippet": SNS_SNIPPET.format(endpoint=endpoint, region=settings.ROOST_REGION),
        "nav": "overview",
    }


def _view(request):
    return View.of(**{key: request.GET.get(key, "") for key in ("q", "sort", "page", "tpage")})


# Which part of the page an htmx request (not boosted, not a history restore) gets, by the id
# of the element it swaps: sorting and paging swap one list, the filter and refreshes both
# lists and their counts ("listings"), never the create forms; the create form its suggestions.
PARTIALS = {"queue-list": "queue-list", "topic-list": "topic-list", "queue-names": "queue-names"}


@login_required
def overview(request):
    """A page of queues and one of topics; htmx requests get the list(s) they swap."""
    context = _context(request, _view(request))
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        partial = PARTIALS.get(request.htmx.target, "listings")
        return render(request, f"{TEMPLATE}#{partial}", context)
    return render(request, TEMPLATE, context)


def _again(request, partial, context=None, **page_overrides):
    """Answer a refused create form (e.g. queue_form=form): in its `partial`, or on the page."""
    context = context or {"is_operator": True, **page_overrides}
    return responses.form_again(
        request, TEMPLATE, partial, context, lambda: _context(request, View(), **page_overrides)
    )


def _in_scope(user):
    scope = queue_scope(user)
    return Q() if scope is None else listing.names_matching(scope)


def _topics_context(request, topic_form):
    return {**_listings(View(), request.user), "topic_form": topic_form, "is_operator": True}


@require_POST
@operator_required
def create_queue(request):
    """Create a queue from the form and go to its page; errors show beside their fields."""
    form = CreateQueueForm(request.POST)

    def create():
        authorize(request.user, "sqs:CreateQueue", queue_arn(form.queue_name()))
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
        authorize(request.user, "sns:CreateTopic", topic_arn(form.topic_name()))
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
        again=lambda: _again(request, "topics", _topics_context(request, form), topic_form=form),
    )


def live_fragments(user, q="", sort="", page="", tpage=""):
    """The overview's live regions for the rows one view shows: one per queue row
    (`queue-<pk>`) and topic row (`topic-<pk>`), the counts, and each list's digest
    (`queue-set`, `topic-set`), which changes when rows come, go or move."""
    context = _listings(View.of(q, sort, page, tpage), user)
    regions = {}
    for row in context["queue_rows"]:
        html = render_to_string(
            f"{TEMPLATE}#queue-row",
            {"row": row, "live": True, "queues_in_alarm": context["queues_in_alarm"]},
        )
        regions[f"queue-{row.queue.pk}"] = html
    for topic in context["topics"]:
        html = render_to_string(f"{TEMPLATE}#topic-row", {"topic": topic, "live": True})
        regions[f"topic-{topic.pk}"] = html
    # Last: htmx parses a pushed frame inside a <template>, where a <tr> after a <span> is
    # dropped (only its text survives), so rows must come before any non-table element.
    for name in ("queue-count", "alarm-count", "topic-count", "queue-set", "topic-set"):
        regions[name] = render_to_string(f"{TEMPLATE}#{name}", context)
    return regions
