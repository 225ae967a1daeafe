"""Publishing a test message to a topic, and deleting the topic: the page's two actions on the
topic itself rather than on its settings or subscriptions."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from aws_protocol.errors import RoostError
from console.forms.service_errors import add_service_error
from console.forms.topics import PublishForm
from console.views import responses
from console.views.guards import operator_required
from console.views.topics.page import (
    CONFIRM_TEMPLATE,
    TEMPLATE,
    TOPIC_CHANGED,
    _invalid,
    _page_url,
    _topic_or_404,
)
from notifications import service


@require_POST
@operator_required
def publish(request, name):
    topic = _topic_or_404(name)
    form = PublishForm(request.POST, topic=topic)
    if form.is_valid():
        try:
            result = service.publish(topic, form.entry())
        except RoostError as error:
            add_service_error(form, error, PublishForm.PARAMETERS, default="message")
        else:
            # A fresh form, keeping the group: people often publish several to one group.
            fresh = PublishForm(
                topic=topic, initial={"group_id": form.cleaned_data.get("group_id")}
            )
            response = render(
                request, f"{TEMPLATE}#publish-form", {"topic": topic, "publish_form": fresh}
            )
            message = f"Published message {result['MessageId']}."
            if "SequenceNumber" in result:
                message += f" Sequence number {result['SequenceNumber']}."
            return responses.done(
                request, message, _page_url(topic, "publish"), response, events=[TOPIC_CHANGED]
            )
    context = {"topic": topic, "publish_form": form}
    return _invalid(request, topic, "publish-form", context, {"publish_form": form})


@operator_required
def delete_topic(request, name):
    """Ask (GET: a dialog naming the topic and its subscriptions), then delete it (POST)."""
    topic = _topic_or_404(name)
    if request.method != "POST":
        context = {"topic": topic, "subscription_count": topic.subscriptions.count()}
        if request.htmx:
            return render(request, f"{TEMPLATE}#delete-dialog", context)
        context |= {"nav": "overview", "dialog": f"{TEMPLATE}#delete-dialog"}
        return render(request, CONFIRM_TEMPLATE, context)
    count = topic.subscriptions.count()
    service.delete_topic(topic)
    return responses.go_to(
        request,
        reverse("console:overview"),
        f"Deleted topic {topic.name} and its {count} subscription{'' if count == 1 else 's'}.",
    )
