"""Console pages. The full console arrives with issue #4; this is its overview of queues."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from queues import service
from queues.models import Queue


@login_required
def overview(request):
    queues = list(Queue.objects.select_related("dead_letter_queue"))
    rows = [(queue, *service.queue_depth(queue)) for queue in queues]
    return render(
        request,
        "console/overview.html",
        {
            "rows": rows,
            "endpoint": request.build_absolute_uri("/").rstrip("/"),
            "region": settings.ROOST_REGION,
        },
    )
