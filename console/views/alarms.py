"""The queue page's alarms: the list with each alarm's state, the form that creates one, delete.

Seeing them takes seeing the queue; creating one takes sqs:SetQueueAttributes on the queue and
sns:Publish on the topic it publishes to (an alarm publishes as the system), deleting one
sqs:SetQueueAttributes, as in the REST API (docs/access.md).
"""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.forms.alarms import AlarmForm
from console.views import responses
from console.views.guards import authorize, in_scope_choices, operator_required, queue_for_user
from notifications import service
from notifications.models import Alarm, Topic

TEMPLATE = "console/queues/_alarms.html"


def _form(user, data=None):
    form = AlarmForm(data)
    form.fields["topic"].choices = in_scope_choices(user, form.fields["topic"].choices, "topic")
    return form


def alarms_context(user, queue, operator, form=None):
    """What templates/console/queues/_alarms.html shows."""
    return {
        "queue": queue,
        "alarms": service.alarms_of(queue),
        "is_operator": operator,
        "alarm_form": (form or _form(user)) if operator else None,
    }


def _answer(request, queue, message, form=None, status=200):
    response = render(
        request, TEMPLATE, alarms_context(request.user, queue, True, form), status=status
    )
    if status != 200:
        return response
    url = reverse("console:queue", args=[queue.name]) + "#alarms"
    return responses.done(request, message, url, response)


def _create(user, queue, form):
    topic = Topic.objects.filter(name=form.cleaned_data["topic"]).first()
    if topic is None:
        raise Http404("There is no such topic.")
    authorize(user, "sns:Publish", topic.arn)
    data = form.cleaned_data
    return service.create_alarm(
        queue,
        name=data["name"],
        kind=data["kind"],
        threshold=data["threshold"],
        minutes=data["minutes"],
        topic=topic,
    )


@require_POST
@operator_required
def create_alarm(request, name):
    queue = queue_for_user(request, name, "sqs:SetQueueAttributes")
    form = _form(request.user, request.POST)
    back = reverse("console:queue", args=[queue.name]) + "#alarms"

    def again():
        if not request.htmx:
            return responses.refused(request, _first_error(form), back)
        return _answer(request, queue, "", form=form, status=422)

    return responses.run_action(
        request,
        lambda: _create(request.user, queue, form),
        lambda alarm: _answer(request, queue, f"Created alarm {alarm.name}."),
        form=form,
        again=again,
    )


@require_POST
@operator_required
def delete_alarm(request, name, alarm_id):
    queue = queue_for_user(request, name, "sqs:SetQueueAttributes")
    alarm = Alarm.objects.filter(pk=alarm_id, queue=queue).select_related("queue").first()
    if alarm is None:
        raise Http404("The queue has no such alarm.")
    service.delete_alarm(alarm)
    return _answer(request, queue, f"Deleted alarm {alarm.name}.")


class _Refusal:
    """A form's first error, shaped as responses.refused wants a service error."""

    def __init__(self, message):
        self.message = message
        self.status = 400


def _first_error(form):
    return _Refusal(next(iter(form.errors.values()), ["The alarm was refused."])[0])
