"""Selective redrive on a dead-letter queue's page: filter, preview the plan, edit bodies, start
the move task (its progress and Cancel are the page's move-task table)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console.forms.selective_redrive import SelectiveRedriveForm, body_digest
from console.views import responses
from console.views.guards import authorize, narrow_choices, operator_required, queue_for_user
from console.views.queues import MOVE_TASKS_CHANGED, QUEUE_CHANGED, _page_url, _sources
from queues import service
from queues.service.selective_redrive import SCAN_LIMIT

TEMPLATE = "console/queues/_selective_redrive.html"
PAGE_TEMPLATE = "console/queues/selective_redrive.html"


def _form(request, queue, data=None):
    form = SelectiveRedriveForm(data, queue=queue, sources=_sources(request, queue))
    return narrow_choices(request.user, form, "destination", "source_queue")


def _destination(request, form):
    """The chosen destination (None: each message's source), once the user may send to it."""
    destination = form.destination_queue()
    if destination is not None:
        authorize(request.user, "sqs:SendMessage", destination.arn)
    return destination


def _answer(request, queue, form, plan=None, edits=None, status=200, started=None):
    context = {
        "queue": queue,
        "selective_form": form,
        "plan": _shown(plan, edits or {}) if plan is not None else None,
        "scan_limit": SCAN_LIMIT,
        "started": started,
    }
    if request.htmx:
        return render(request, f"{TEMPLATE}#selective-body", context, status=status)
    context |= {"nav": "overview"}
    return render(request, PAGE_TEMPLATE, context, status=status)


def _shown(plan, edits):
    """The plan for the template: each sample message with its editor's text and digest."""
    sample = [
        {
            **message,
            "editor": edits.get(message["message_id"], message["full_body"]),
            "digest": body_digest(message["full_body"]),
        }
        for message in plan.sample
    ]
    return {**vars(plan), "sample": sample}


@require_GET
@operator_required
def selective_redrive(request, name):
    """The empty form (opened from the queue page, or on a page of its own without htmx)."""
    queue = queue_for_user(request, name, "sqs:StartMessageMoveTask")
    return _answer(request, queue, _form(request, queue))


@require_POST
@operator_required
def plan_redrive(request, name):
    """Preview what redriving the filtered messages would do; nothing changes (a POST only
    because edited bodies ride along)."""
    queue = queue_for_user(request, name, "sqs:StartMessageMoveTask")
    form = _form(request, queue, request.POST)
    edits = form.edits()

    def planned(plan):
        return _answer(request, queue, form, plan, edits)

    return responses.run_action(
        request,
        lambda: service.plan_redrive(queue, form.selection(), _destination(request, form), edits),
        planned,
        form=form,
        again=lambda: _answer(request, queue, form, status=422),
    )


@require_POST
@operator_required
def start_redrive(request, name):
    """Start the move task for the filtered messages, with the edited bodies."""
    queue = queue_for_user(request, name, "sqs:StartMessageMoveTask")
    form = _form(request, queue, request.POST)
    edits = form.edits()

    def started(result):
        task, plan = result
        count = task.approximate_number_of_messages_to_move
        message = f"Started redriving {count:,} message{'' if count == 1 else 's'} of {queue.name}."
        response = _answer(request, queue, _form(request, queue), started=count)
        return responses.done(
            request,
            message,
            _page_url(queue, "move-tasks"),
            response,
            events=[MOVE_TASKS_CHANGED, QUEUE_CHANGED],
        )

    return responses.run_action(
        request,
        lambda: service.start_selective_redrive(
            queue,
            form.selection(),
            _destination(request, form),
            edits,
            form.cleaned_data.get("rate"),
        ),
        started,
        form=form,
        again=lambda: _answer(request, queue, form, status=422),
    )
