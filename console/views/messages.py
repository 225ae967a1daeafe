"""One message's page (its body, attributes and state, a download of the body) and deleting
messages: one from its page, those ticked in the explorer, or all that match its filters.

Looking changes nothing: these pages peek (queues.peek), as the explorer does.
"""

import functools
import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from console import timeline
from console.forms.message_selection import DeleteMessagesForm
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required, queue_for_user
from console.views.queues import MESSAGES_CHANGED, QUEUE_CHANGED, _page_url
from console.views.trash import page_url, with_undo
from queues import peek, service

TEMPLATE = "console/queues/message.html"
DELETE_TEMPLATE = "console/queues/delete_messages.html"


def _message_or_gone(request, queue, message_id):
    """The message, peeked; a 404 page saying it is gone (with a way back) when it is."""
    pk = request.GET.get("pk", "")
    message = peek.find_message(queue, message_id, int(pk) if pk.isdigit() else None)
    if message is None:
        raise MessageGone(queue, message_id)
    return message


class MessageGone(Http404):
    """A message no longer in its queue: answered by `gone`, a page that says so."""

    def __init__(self, queue, message_id):
        super().__init__(f"Message {message_id} is no longer in {queue.name}.")
        self.queue, self.message_id = queue, message_id


def _answer_gone(view):
    """Answer MessageGone with a page that names the message and links back to its queue: its
    timeline, if its lineage is still kept (how it left), else a 404."""

    @functools.wraps(view)
    def wrapped(request, name, message_id, *args, **kwargs):
        try:
            return view(request, name, message_id, *args, **kwargs)
        except MessageGone as gone:
            events, ended = timeline.described(request.user, gone.message_id)
            if not any(event["queue"] == gone.queue.name for event in events):
                # Never in this queue: a message of another queue is not shown through this one.
                events, ended = [], None
            context = {
                "nav": "overview",
                "queue": gone.queue,
                "message_id": gone.message_id,
                "events": events,
                "ended": ended,
            }
            status = 200 if events else 404
            return render(request, "console/queues/message_gone.html", context, status=status)

    return wrapped


def _is_json(body):
    try:
        json.loads(body)
    except ValueError:
        return False
    return body.strip()[:1] in ("{", "[")


@require_GET
@login_required
@_answer_gone
def message_page(request, name, message_id):
    """One message as it stands: body, attributes, system attributes, state."""
    queue = queue_for_user(request, name, "sqs:ReceiveMessage")
    message = _message_or_gone(request, queue, message_id)
    events, _ended = timeline.described(request.user, message.message_id)
    context = {
        "nav": "overview",
        "queue": queue,
        "message": message,
        "is_json": _is_json(message.body),
        "is_operator": is_operator(request.user),
        "events": events,
    }
    return render(request, TEMPLATE, context)


@require_GET
@login_required
@_answer_gone
def message_body(request, name, message_id):
    """The body as a file: JSON bodies as application/json, others as text."""
    queue = queue_for_user(request, name, "sqs:ReceiveMessage")
    message = _message_or_gone(request, queue, message_id)
    is_json = _is_json(message.body)
    content_type = "application/json" if is_json else "text/plain; charset=utf-8"
    response = HttpResponse(message.body.encode(), content_type=content_type)
    filename = f"{message.message_id}.{'json' if is_json else 'txt'}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@operator_required
@_answer_gone
def delete_one(request, name, message_id):
    """Ask (GET: a dialog naming the message), then delete it (POST) and go back to its queue."""
    queue = queue_for_user(request, name, "sqs:DeleteMessage")
    message = _message_or_gone(request, queue, message_id)
    if request.method != "POST":
        context = {"queue": queue, "message": message, "dialog": "delete-message-dialog"}
        return _confirmation(request, context)
    batch = service.new_batch_id()
    if not service.delete_message_by_id(queue, message.pk, batch):
        return responses.go_to(
            request, _page_url(queue, "messages"), "That message was already gone."
        )
    # Back on the queue's page, its banner offers Undo.
    text = f"Deleted message {message.message_id}."
    return responses.go_to(request, page_url(queue, batch), text)


@operator_required
def delete_messages(request, name):
    """Ask (GET: a dialog naming how many), then delete the ticked messages, or all that match
    the explorer's filters (POST); the explorer and the depth refresh."""
    queue = queue_for_user(request, name, "sqs:DeleteMessage")
    form = DeleteMessagesForm(request.POST if request.method == "POST" else request.GET)
    if request.method != "POST" or not form.is_valid():
        context = {"queue": queue, "form": form, "dialog": "delete-messages-dialog"}
        if form.is_valid():
            context |= {
                "count": form.count(queue),
                "up_to": service.newest_message_id(),
            }
        return _confirmation(request, context, status=200 if request.method != "POST" else 422)

    batch = service.new_batch_id()

    def deleted(count):
        message = f"Deleted {count:,} message{'' if count == 1 else 's'}."
        return with_undo(request, queue, batch, message, events=[QUEUE_CHANGED, MESSAGES_CHANGED])

    return responses.run_action(
        request, lambda: form.delete(queue, batch), deleted, back=_page_url(queue, "messages")
    )


def _confirmation(request, context, status=200):
    """The `dialog` partial for htmx (into #dialog), a page of its own else."""
    if request.htmx:
        return render(request, f"{DELETE_TEMPLATE}#{context['dialog']}", context, status=status)
    context |= {"nav": "overview", "back": reverse("console:queue", args=[context["queue"].name])}
    return render(request, DELETE_TEMPLATE, context, status=status)
