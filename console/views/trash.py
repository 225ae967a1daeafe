"""A queue's trash on its page: the purges and deletes that can still be undone, and Undo.

Purging or deleting from the console answers with a banner ("Purged 1,234 messages. Undo");
every purge, the SQS API's included, is listed in the queue's Trash section until its window ends.
"""

from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from aws_protocol import authorization
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required, queue_for_user
from queues import service

TEMPLATE = "console/queues/_trash.html"
UNDO = "sqs:PurgeQueue"  # restoring a batch, whichever action filled it
QUEUE_CHANGED = "queue-changed"
MESSAGES_CHANGED = "messages-changed"


def trash_context(user, queue, undo=None):
    """The Trash section's context; `undo` names the batch the banner offers to restore."""
    batches = service.recent_batches(queue)
    return {
        "queue": queue,
        "trash_batches": batches,
        "can_undo": is_operator(user) and authorization.decide(user, UNDO, queue.arn).allowed,
        "undo_batch": next((batch for batch in batches if batch.batch == undo), None),
    }


def page_url(queue, undo=None):
    """The queue's page, showing the Undo banner for trash batch `undo`."""
    url = reverse("console:queue", args=[queue.name])
    return f"{url}?{urlencode({'undo': undo})}" if undo else url


def with_undo(request, queue, batch, message, events=()):
    """Answer a purge or delete: the banner offering Undo and the Trash section (out of band,
    for htmx), or the queue's page with the banner (a plain post)."""
    context = trash_context(request.user, queue, batch)
    response = None
    if request.htmx:
        response = render(request, f"{TEMPLATE}#answer", context)
    return responses.done(request, message, page_url(queue, batch), response, events=events)


def trash_fragment(user, queue):
    """The Trash section as the live stream sends it."""
    return render_to_string(f"{TEMPLATE}#trash", trash_context(user, queue))


@require_POST
@operator_required
def restore(request, name, batch):
    """Undo a purge or delete: put its messages back, each in its old place."""
    queue = queue_for_user(request, name, UNDO)
    back = reverse("console:queue", args=[queue.name]) + "#trash"

    def restored(result):
        count, expired = result
        message = f"Restored {count:,} message{'' if count == 1 else 's'}."
        if expired:
            message += f" {expired:,} had passed the queue's retention period and stay deleted."
        response = None
        if request.htmx:
            response = render(request, f"{TEMPLATE}#answer", trash_context(request.user, queue))
        return responses.done(
            request, message, back, response, events=[QUEUE_CHANGED, MESSAGES_CHANGED]
        )

    return responses.run_action(request, lambda: service.restore(queue, batch), restored, back=back)
