"""Publishing a test message to a topic, and deleting the topic: the page's two actions on the
topic itself rather than on its settings or subscriptions."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.forms.topics import PublishForm
from console.views import responses
from console.views.guards import operator_required, topic_for_user
from console.views.topics.page import (
    CONFIRM_TEMPLATE,
    TEMPLATE,
    TOPIC_CHANGED,
    _again,
    _done,
)
from notifications import service


@require_POST
@operator_required
def publish(request, name):
    topic = topic_for_user(request, name, "sns:Publish")
    form = PublishForm(request.POST, topic=topic)

    def published(result):
        # A fresh form, keeping the group: people often publish several to one group.
        fresh = PublishForm(topic=topic, initial={"group_id": form.cleaned_data.get("group_id")})
        message = f"Published message {result['MessageId']}."
        if "SequenceNumber" in result:
            message += f" Sequence number {result['SequenceNumber']}."
        context = {"topic": topic, "publish_form": fresh}
        return _done(request, topic, "publish-form", context, message, "publish", [TOPIC_CHANGED])

    return responses.run_action(
        request,
        lambda: service.publish(topic, form.entry()),
        published,
        form=form,
        again=lambda: _again(request, topic, "publish-form", publish_form=form),
    )


@operator_required
def delete_topic(request, name):
    """Ask (GET: a dialog naming the topic and its subscriptions), then delete it (POST)."""
    topic = topic_for_user(request, name, "sns:DeleteTopic")
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
