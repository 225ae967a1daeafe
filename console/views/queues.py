"""A queue's page: its numbers, settings, tags, messages (peeked, sent, deleted, purged) and
redrive from a dead-letter queue.

Actions answer htmx with the part of the page they changed plus a toast, and name the page
events they cause in HX-Trigger: "queue-changed" refreshes the depth, "messages-changed" the
message explorer, "move-tasks-changed" the move tasks.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from aws_protocol.errors import RoostError
from console import charts
from console.forms.confirm import ConfirmByNameForm
from console.forms.queues import (
    EDITABLE_BY_NAME,
    AttributeForm,
    PeekFilterForm,
    RedriveForm,
    SendMessageForm,
    TagForm,
    editable_attributes,
)
from console.roles import is_operator
from console.views import alarms, responses
from console.views.guards import (
    authorize,
    can_see_queue,
    narrow_choices,
    operator_required,
    queue_for_user,
)
from console.views.trash import trash_context, trash_fragment, with_undo
from queues import peek, service
from queues.depths import EMPTY, queue_rates, queue_stats
from queues.models import MessageMoveTask, Queue

TEMPLATE = "console/queue.html"
CONFIRM_TEMPLATE = "console/queues/confirm.html"
CHART_TEMPLATE = "console/queues/_chart.html"
MOVE_TASKS_SHOWN = 10
# Cursors of the pages before this one, so "Previous" works; the oldest are dropped past this.
TRAIL_LENGTH = 50
FIRST_PAGE = "start"

QUEUE_CHANGED = "queue-changed"
MESSAGES_CHANGED = "messages-changed"
MOVE_TASKS_CHANGED = "move-tasks-changed"


# Fetching and context


def _queue_or_404(name):
    queue = Queue.objects.select_related("dead_letter_queue").filter(name=name).first()
    if queue is None:
        raise Http404(f"There is no queue named {name}.")
    return queue


def _page_url(queue, fragment=""):
    return reverse("console:queue", args=[queue.name]) + (f"#{fragment}" if fragment else "")


def _sources(request, queue):
    """The queues that name this one as their dead-letter queue, those the user may see."""
    sources = Queue.objects.filter(dead_letter_queue=queue).order_by("name")
    return [source for source in sources if can_see_queue(request.user, source.name)]


def _redrive_form(request, queue, data=None):
    """The redrive form, its destinations limited to the queues the user may see."""
    return narrow_choices(request.user, RedriveForm(data, queue=queue), "destination")


def _attribute_form(request, queue, attribute, data=None):
    """An attribute's form; a dead-letter queue is chosen among the queues the user may see."""
    form = AttributeForm(queue, attribute, data)
    return narrow_choices(request.user, form, "dead_letter_queue")


def _is_dead_letter_queue(queue):
    return Queue.objects.filter(dead_letter_queue=queue).exists()


def _stats_context(queue, is_dead_letter_queue):
    return {
        "queue": queue,
        "stats": queue_stats([queue.pk]).get(queue.pk, EMPTY),
        "rates": queue_rates([queue.pk])[queue.pk],
        "is_dead_letter_queue": is_dead_letter_queue,
    }


def _chart_context(queue, stats_context, range_name=None):
    """The chart over `range_name`, its depth line ending at the depth the stats show."""
    chart = charts.queue_chart(queue.id, stats_context["stats"], charts.range_name(range_name))
    return {"chart": chart, "queue": queue}


def _move_tasks_context(queue, operator, is_dead_letter_queue):
    tasks = list(
        MessageMoveTask.objects.filter(source_queue=queue).select_related("destination_queue")[
            :MOVE_TASKS_SHOWN
        ]
    )
    return {
        "queue": queue,
        "tasks": tasks,
        "is_operator": operator,
        "is_dead_letter_queue": is_dead_letter_queue,
    }


def _attribute_rows(queue, editing=None):
    """[(attribute, form or None)]: `editing` is the form of the row being edited."""
    return [
        (attribute, editing if editing and editing.attribute.name == attribute.name else None)
        for attribute in editable_attributes(queue)
    ]


def _explore(request, queue, stats=None):
    """One page of the message explorer for the request's filters and cursor, with the count of
    messages matching and where this page stands among them (from `stats`, the queue's depth,
    when given and unfiltered)."""
    form = PeekFilterForm(_filter_data(request))
    cursor = request.GET.get("cursor", "")
    trail = [part for part in request.GET.get("trail", "").split(",") if part]
    page_number = _page_number(request, trail)
    messages, next_cursor, error, count = [], None, None, None
    if not form.is_bound or form.is_valid():
        try:
            messages, next_cursor = peek.peek_messages(
                queue, cursor=cursor or None, **form.peek_arguments()
            )
            depth = (stats.visible, stats.in_flight, stats.delayed) if stats else None
            count = peek.count_messages(queue, depth, **form.filters())
        except RoostError as refusal:
            error = refusal.message
    limit = form.peek_arguments()["limit"] if not form.is_bound or form.is_valid() else 25

    def url(cursor, trail, page):
        query = _query(request, cursor, trail, page)
        return f"{_page_url(queue)}?{query}" if query else _page_url(queue)

    first = (page_number - 1) * limit + 1
    explorer = {
        "form": form,
        "messages": messages,
        "error": error,
        "count": count,
        "first": first,
        "last": first + len(messages) - 1,
        "page_number": page_number,
        "url": url(cursor, trail, page_number),
        "first_url": url("", [], 1) if cursor else None,
        "previous_url": None,
        "next_url": None,
        # The filters as query pairs, for the "delete all matching" form to carry.
        "filter_params": [
            (name, value)
            for name in PeekFilterForm.base_fields
            if name != "limit"
            for value in request.GET.getlist(name)
        ],
        # The table's columns, so an expanded row spans them all.
        "columns": 7 + is_operator(request.user) + queue.is_fifo,
    }
    if trail:
        previous = "" if trail[-1] == FIRST_PAGE else trail[-1]
        explorer["previous_url"] = url(previous, trail[:-1], page_number - 1)
    if next_cursor:
        explorer["next_url"] = url(
            next_cursor, [*trail, cursor or FIRST_PAGE][-TRAIL_LENGTH:], page_number + 1
        )
    return explorer


def _page_number(request, trail):
    """The page's number: the URL's `page`, else counted from the trail (which forgets pages
    past TRAIL_LENGTH)."""
    page = request.GET.get("page", "")
    return int(page) if page.isdigit() and 0 < int(page) < 10**9 else len(trail) + 1


def _filter_data(request):
    """The explorer's filter fields from the query string, or None when none were given."""
    names = set(PeekFilterForm.base_fields)
    return request.GET if names & set(request.GET) else None


def _query(request, cursor, trail, page):
    params = request.GET.copy()
    for name in ("cursor", "trail", "page"):
        params.pop(name, None)
    if cursor:
        params["cursor"] = cursor
    if trail:
        params["trail"] = ",".join(trail)
    if page > 1:
        params["page"] = str(page)
    return params.urlencode()


def _selection_form(operator, is_dead_letter_queue):
    """The form the explorer's checkboxes belong to: the redrive form on a dead-letter queue
    (so "Redrive selected" works without JavaScript), else the delete-selected form."""
    if not operator:
        return None
    return "redrive-form" if is_dead_letter_queue else "message-selection"


def _page_context(request, queue, **overrides):
    operator = is_operator(request.user)
    is_dead_letter_queue = _is_dead_letter_queue(queue)
    context = {
        "nav": "overview",
        "live_args": json.dumps({"name": queue.name}),
        "queue": queue,
        "is_operator": operator,
        "is_dead_letter_queue": is_dead_letter_queue,
        "queue_url": queue.url(request.build_absolute_uri("/").rstrip("/")),
        "sources": _sources(request, queue),
        "attribute_rows": _attribute_rows(queue, overrides.pop("editing", None)),
        "selection_form": _selection_form(operator, is_dead_letter_queue),
        **_move_tasks_context(queue, operator, is_dead_letter_queue),
    }
    stats = _stats_context(queue, is_dead_letter_queue)
    context.update(stats)
    context.update(_chart_context(queue, stats, request.GET.get("range")))
    context.update(alarms.alarms_context(request.user, queue, operator))
    context.update(trash_context(request.user, queue, request.GET.get("undo")))
    # After the depth: an unfiltered explorer counts with it instead of reading it again.
    context["explorer"] = _explore(request, queue, context["stats"])
    if operator:
        context["tag_form"] = TagForm()
        context["send_form"] = SendMessageForm(queue=queue)
        if is_dead_letter_queue:
            context["redrive_form"] = _redrive_form(request, queue)
    context.update(overrides)
    return context


def _again(request, queue, partial, context=None, **page_overrides):
    """Answer a refused form (e.g. send_form=form): in its `partial`, or on the whole page."""
    context = context or {"queue": queue, "is_operator": True, **page_overrides}
    return responses.form_again(
        request, TEMPLATE, partial, context, lambda: _page_context(request, queue, **page_overrides)
    )


def _done(request, queue, partial, context, message, fragment, events=()):
    """Answer a finished action: `partial` and a toast for htmx, the page at `#fragment` else."""
    response = render(request, f"{TEMPLATE}#{partial}", context)
    return responses.done(request, message, _page_url(queue, fragment), response, events=events)


# The page and its regions


@login_required
def queue_page(request, name):
    """The queue's page; htmx requests (explorer filters and paging) get the explorer alone."""
    queue = queue_for_user(request, name)
    if request.htmx and not request.htmx.boosted:
        operator = is_operator(request.user)
        context = {
            "queue": queue,
            "explorer": _explore(request, queue),
            "is_operator": operator,
            "selection_form": _selection_form(operator, _is_dead_letter_queue(queue)),
        }
        return render(request, f"{TEMPLATE}#message-page", context)
    return render(request, TEMPLATE, _page_context(request, queue))


@require_GET
@login_required
def queue_stats_region(request, name):
    queue = queue_for_user(request, name)
    context = _stats_context(queue, _is_dead_letter_queue(queue))
    return render(request, f"{TEMPLATE}#queue-stats", context)


@require_GET
@login_required
def queue_chart_region(request, name):
    """The chart over the range asked for (the range picker's htmx answer, or a page of its own
    without JavaScript)."""
    queue = queue_for_user(request, name)
    context = _chart_context(queue, _stats_context(queue, False), request.GET.get("range"))
    return render(request, CHART_TEMPLATE, context)


@require_GET
@login_required
def move_tasks_region(request, name):
    queue = queue_for_user(request, name, "sqs:ListMessageMoveTasks")
    context = _move_tasks_context(queue, is_operator(request.user), _is_dead_letter_queue(queue))
    return render(request, f"{TEMPLATE}#move-tasks", context)


def live_fragments(user, name, range=None):  # noqa: A002 (the page's query parameter)
    """The queue page's live regions: `queue-stats`, `queue-chart` (over the page's range) and
    `move-tasks`."""
    if not can_see_queue(user, name):
        raise Queue.DoesNotExist(f"There is no queue named {name}.")
    queue = Queue.objects.select_related("dead_letter_queue").get(name=name)
    is_dead_letter_queue = _is_dead_letter_queue(queue)
    stats = _stats_context(queue, is_dead_letter_queue)
    return {
        "queue-stats": render_to_string(f"{TEMPLATE}#queue-stats", stats),
        "queue-chart": render_to_string(CHART_TEMPLATE, _chart_context(queue, stats, range)),
        "move-tasks": render_to_string(
            f"{TEMPLATE}#move-tasks",
            _move_tasks_context(queue, is_operator(user), is_dead_letter_queue),
        ),
        "trash": trash_fragment(user, queue),
    }


# Attributes and tags


def _attribute_or_404(queue, attribute_name):
    attribute = EDITABLE_BY_NAME.get(attribute_name)
    if attribute is None or not attribute.applies_to(queue):
        raise Http404(f"{attribute_name} is not an attribute you can change here.")
    return attribute


@require_GET
@login_required
def attribute_row(request, name, attribute_name):
    """One attribute shown (the edit form's Cancel)."""
    queue = queue_for_user(request, name)
    attribute = _attribute_or_404(queue, attribute_name)
    context = {"queue": queue, "attribute": attribute, "is_operator": is_operator(request.user)}
    return render(request, f"{TEMPLATE}#attribute-row", context)


@operator_required
def edit_attribute(request, name, attribute_name):
    """The attribute's edit form (GET) and its change (POST), in place."""
    queue = queue_for_user(request, name, "sqs:SetQueueAttributes")
    attribute = _attribute_or_404(queue, attribute_name)
    if request.method == "POST":
        return _save_attribute(request, queue, attribute)
    form = _attribute_form(request, queue, attribute)
    if request.htmx:
        context = {"queue": queue, "attribute": attribute, "form": form, "is_operator": True}
        return render(request, f"{TEMPLATE}#attribute-row", context)
    return render(request, TEMPLATE, _page_context(request, queue, editing=form))


def _save_attribute(request, queue, attribute):
    form = _attribute_form(request, queue, attribute, request.POST)
    row = {"attribute": attribute, "is_operator": True}
    form_context = {**row, "queue": queue, "form": form}

    def saved(queue):
        context = {**row, "queue": _queue_or_404(queue.name)}
        message = f"Saved {attribute.label.lower()}."
        return _done(request, queue, "attribute-row", context, message, "settings", [QUEUE_CHANGED])

    return responses.run_action(
        request,
        lambda: service.set_queue_attributes(queue, {attribute.name: form.attribute_value()}),
        saved,
        form=form,
        again=lambda: _again(request, queue, "attribute-row", form_context, editing=form),
    )


def _tags_answer(request, queue, message, form=None):
    queue = _queue_or_404(queue.name)
    context = {"queue": queue, "tag_form": form or TagForm(), "is_operator": True}
    response = render(request, f"{TEMPLATE}#tags", context)
    return responses.done(request, message, _page_url(queue, "tags"), response)


@require_POST
@operator_required
def add_tag(request, name):
    queue = queue_for_user(request, name, "sqs:TagQueue")
    form = TagForm(request.POST)
    return responses.run_action(
        request,
        lambda: service.tag_queue(queue, form.tags()),
        lambda _: _tags_answer(request, queue, f"Tagged {form.cleaned_data['key']}."),
        form=form,
        again=lambda: _again(request, queue, "tags", tag_form=form),
    )


@require_POST
@operator_required
def remove_tag(request, name):
    queue = queue_for_user(request, name, "sqs:UntagQueue")
    key = request.POST.get("key", "")
    if key not in queue.tags:
        raise Http404(f"The queue has no tag {key}.")
    service.untag_queue(queue, [key])
    return _tags_answer(request, queue, f"Removed tag {key}.")


# Messages


@require_POST
@operator_required
def send_message(request, name):
    queue = queue_for_user(request, name, "sqs:SendMessage")
    form = SendMessageForm(request.POST, queue=queue)
    sender_id = request.user.get_username()[:128]

    def sent(result):
        # A fresh form, keeping the group: people often send several to one group.
        group_id = form.cleaned_data.get("group_id")  # FIFO queues only
        fresh = SendMessageForm(queue=queue, initial={"group_id": group_id})
        message = f"Sent message {result['MessageId']}."
        events = [QUEUE_CHANGED, MESSAGES_CHANGED]
        context = {"queue": queue, "send_form": fresh}
        return _done(request, queue, "send-form", context, message, "messages", events)

    return responses.run_action(
        request,
        lambda: service.send_message(queue, form.entry(), sender_id=sender_id),
        sent,
        form=form,
        again=lambda: _again(request, queue, "send-form", send_form=form),
    )


@require_POST
@operator_required
def delete_message(request, name, message_id):
    """Delete a message the explorer showed (to the trash, with Undo); htmx swaps its row for
    nothing."""
    queue = queue_for_user(request, name, "sqs:DeleteMessage")
    batch = service.new_batch_id()
    if service.delete_message_by_id(queue, message_id, batch):
        return with_undo(request, queue, batch, "Deleted the message.", events=[QUEUE_CHANGED])
    return responses.done(
        request,
        "That message was already gone.",
        _page_url(queue, "messages"),
        level="info",
        events=[QUEUE_CHANGED],
    )


def _confirmation(request, queue, dialog, form, **context):
    """Ask before destroying (GET), or again when the typed name was refused (POST, 422): the
    `dialog` partial for htmx, a page of its own else."""
    context = {"queue": queue, "stats": form.stats, "confirm_form": form, **context}
    status = 422 if form.is_bound else 200
    if request.htmx:
        return render(request, f"{TEMPLATE}#{dialog}", context, status=status)
    context |= {"nav": "overview", "dialog": f"{TEMPLATE}#{dialog}"}
    return render(request, CONFIRM_TEMPLATE, context, status=status)


def _confirm_form(request, queue):
    """The typed-name check for the queue's depth now, bound to the answer on a POST; the
    depth rides along as `form.stats`."""
    stats = queue_stats([queue.pk]).get(queue.pk, EMPTY)
    form = ConfirmByNameForm(queue, stats.total, request.POST if request.method == "POST" else None)
    form.stats = stats
    return form


@operator_required
def purge(request, name):
    """Ask (GET: a dialog naming the queue and its depth), then move every message to the
    trash (POST), answering with Undo."""
    queue = queue_for_user(request, name, "sqs:PurgeQueue")
    form = _confirm_form(request, queue)
    if not (form.is_bound and form.is_valid()):
        return _confirmation(request, queue, "purge-dialog", form)
    url = _page_url(queue)
    batch = service.new_batch_id()

    def purged(deleted):
        message = f"Purged {queue.name}: deleted {deleted:,} message{'' if deleted == 1 else 's'}."
        return with_undo(request, queue, batch, message, events=[QUEUE_CHANGED, MESSAGES_CHANGED])

    return responses.run_action(
        request, lambda: service.purge_queue(queue, batch), purged, back=url
    )


@operator_required
def delete_queue(request, name):
    """Ask (GET: a dialog naming the queue, its depth and the queues it is the dead-letter queue
    of), then delete it with its messages, as DeleteQueue does (POST), and go to the overview."""
    queue = queue_for_user(request, name, "sqs:DeleteQueue")
    form = _confirm_form(request, queue)
    if not (form.is_bound and form.is_valid()):
        sources = _sources(request, queue)
        return _confirmation(request, queue, "delete-dialog", form, sources=sources)
    total = form.stats.total
    message = f"Deleted queue {queue.name} and its {total:,} message{'' if total == 1 else 's'}."

    def deleted(_):
        return responses.go_to(request, reverse("console:overview"), message)

    return responses.run_action(
        request, lambda: service.delete_queue(queue), deleted, back=_page_url(queue)
    )


# Redrive


def _destination(request, form):
    """The chosen destination queue (None: the sources), once the user may send to it; raises
    AccessDenied, shown beside the form, when not."""
    destination = form.destination_queue()
    if destination is not None:
        authorize(request.user, "sqs:SendMessage", destination.arn)
    return destination


def _destination_arn(request, form):
    destination = _destination(request, form)
    return destination.arn if destination else None


def _where(form):
    destination = form.destination_queue()
    return destination.name if destination else "their source queues"


def _redriven(request, queue, message, events):
    """Answer a redrive: a fresh form, and a toast saying what went where."""
    context = {"queue": queue, "redrive_form": _redrive_form(request, queue), "is_operator": True}
    return _done(request, queue, "redrive-form", context, message, "redrive", events)


@require_POST
@operator_required
def start_move_task(request, name):
    """Move all of a dead-letter queue's messages, as a task at the chosen rate."""
    queue = queue_for_user(request, name, "sqs:StartMessageMoveTask")
    form = _redrive_form(request, queue, request.POST)

    def started(_task):
        message = f"Started moving {queue.name}'s messages to {_where(form)}."
        return _redriven(request, queue, message, [MOVE_TASKS_CHANGED])

    return responses.run_action(
        request,
        lambda: service.start_message_move_task(
            queue.arn, _destination_arn(request, form), form.cleaned_data["rate"]
        ),
        started,
        form=form,
        again=lambda: _again(request, queue, "redrive-form", redrive_form=form),
    )


@require_POST
@operator_required
def redrive_selected(request, name):
    """Move the messages ticked in the explorer, now."""
    queue = queue_for_user(request, name, "sqs:StartMessageMoveTask")
    form = _redrive_form(request, queue, request.POST)

    def moved(count):
        message = f"Moved {count} message{'' if count == 1 else 's'} to {_where(form)}."
        return _redriven(request, queue, message, [QUEUE_CHANGED, MESSAGES_CHANGED])

    return responses.run_action(
        request,
        lambda: service.redrive_messages(queue, form.selected_ids(), _destination(request, form)),
        moved,
        form=form,
        again=lambda: _again(request, queue, "redrive-form", redrive_form=form),
    )


@require_POST
@operator_required
def cancel_move_task(request, name):
    queue = queue_for_user(request, name, "sqs:CancelMessageMoveTask")
    handle = request.POST.get("task_handle", "")
    if not MessageMoveTask.objects.filter(task_handle=handle, source_queue=queue).exists():
        raise Http404("This queue has no such move task.")

    def cancelled(task):
        moved = task.approximate_number_of_messages_moved
        message = (
            f"Cancelling the move task; {moved:,} message{'' if moved == 1 else 's'} moved so far."
        )
        context = _move_tasks_context(queue, True, True)
        events = [QUEUE_CHANGED, MESSAGES_CHANGED]
        return _done(request, queue, "move-tasks", context, message, "redrive", events)

    return responses.run_action(
        request,
        lambda: service.cancel_message_move_task(handle),
        cancelled,
        back=_page_url(queue, "redrive"),
    )
