"""The queue page's Consumers card: who received from the queue lately, how long they held
messages, poison candidates and blocked FIFO groups (queues.consumer_health).

The queue page loads it after itself (htmx, on load), so the page never waits for it; without
htmx the link opens it as a page of its own.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.views.guards import queue_for_user
from queues import consumer_health

CARD = "console/queues/_consumers_card.html"
PAGE = "console/queues/consumers.html"


@require_GET
@login_required
def consumers_region(request, name):
    """The card (htmx), or a page holding it."""
    queue = queue_for_user(request, name)
    context = {"queue": queue, "health": consumer_health.consumer_health(queue)}
    if request.htmx and not request.htmx.boosted:
        return render(request, CARD, context)
    return render(request, PAGE, {**context, "nav": "overview"})
