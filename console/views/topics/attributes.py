"""Changing a topic's attributes: each row of its settings table turns into its edit form and
back in place."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.forms.topics import EDITABLE_BY_NAME, TopicAttributeForm
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required, topic_for_user
from console.views.topics.page import (
    TEMPLATE,
    _again,
    _attribute_context,
    _done,
    _page_context,
)
from notifications import service


def _attribute_or_404(attribute_name):
    attribute = EDITABLE_BY_NAME.get(attribute_name)
    if attribute is None:
        raise Http404(f"{attribute_name} is not an attribute you can change here.")
    return attribute


@require_GET
@login_required
def attribute_row(request, name, attribute_name):
    """One attribute shown (the edit form's Cancel)."""
    topic = topic_for_user(request, name)
    attribute = _attribute_or_404(attribute_name)
    context = _attribute_context(topic, attribute, is_operator(request.user))
    return render(request, f"{TEMPLATE}#attribute-row", context)


@operator_required
def edit_attribute(request, name, attribute_name):
    """The attribute's edit form (GET) and its change (POST), in place."""
    topic = topic_for_user(request, name, "sns:SetTopicAttributes")
    attribute = _attribute_or_404(attribute_name)
    if request.method == "POST":
        return _save_attribute(request, topic, attribute)
    form = TopicAttributeForm(topic, attribute)
    if request.htmx:
        context = _attribute_context(topic, attribute, True, form)
        return render(request, f"{TEMPLATE}#attribute-row", context)
    return render(request, TEMPLATE, _page_context(request, topic, editing=form))


def _save_attribute(request, topic, attribute):
    form = TopicAttributeForm(topic, attribute, request.POST)
    form_context = _attribute_context(topic, attribute, True, form)

    def saved(topic):
        context = _attribute_context(topic, attribute, True)
        message = f"Saved {attribute.label.lower()}."
        return _done(request, topic, "attribute-row", context, message, "settings")

    return responses.run_action(
        request,
        lambda: service.set_topic_attribute(topic, attribute.name, form.attribute_value()),
        saved,
        form=form,
        again=lambda: _again(request, topic, "attribute-row", form_context, editing=form),
    )
