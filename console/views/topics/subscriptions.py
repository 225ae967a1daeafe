"""Changing a topic's subscriptions: subscribing and unsubscribing, raw delivery, the filter
and redrive policies of the settings panel, and replaying a failed delivery."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from aws_protocol.errors import RoostError
from console.forms.service_errors import add_service_error
from console.forms.topics import FilterPolicyForm, RedrivePolicyForm, SubscribeForm
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required
from console.views.topics.page import (
    CONFIRM_TEMPLATE,
    TEMPLATE,
    TOPIC_CHANGED,
    _invalid,
    _page_context,
    _page_url,
    _panel_context,
    _subscription_or_404,
    _subscriptions_context,
    _topic_or_404,
)
from notifications import delivery, service
from notifications.models import Delivery


@require_POST
@operator_required
def subscribe(request, name):
    topic = _topic_or_404(name)
    form = SubscribeForm(request.POST, topic=topic)
    if form.is_valid():
        data = form.cleaned_data
        try:
            subscription, _answer = service.subscribe(
                topic, data["protocol"], data["endpoint"], form.attributes()
            )
        except RoostError as error:
            add_service_error(form, error, form.parameters, default="endpoint")
        else:
            if subscription.is_confirmed:
                message = f"Subscribed {subscription.endpoint}."
            else:
                message = f"Subscribed {subscription.endpoint}; it stays pending until it confirms."
            context = {"topic": topic, "subscribe_form": SubscribeForm(topic=topic)}
            response = render(request, f"{TEMPLATE}#subscribe-form", context)
            return responses.done(
                request,
                message,
                _page_url(topic, "subscriptions"),
                response,
                events=[TOPIC_CHANGED],
            )
    context = {"topic": topic, "subscribe_form": form}
    return _invalid(request, topic, "subscribe-form", context, {"subscribe_form": form})


@operator_required
def unsubscribe(request, name, subscription_id):
    """Ask (GET: a dialog naming the endpoint), then remove the subscription (POST)."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    if request.method != "POST":
        context = {"topic": topic, "subscription": subscription}
        if request.htmx:
            return render(request, f"{TEMPLATE}#unsubscribe-dialog", context)
        context |= {"nav": "overview", "dialog": f"{TEMPLATE}#unsubscribe-dialog"}
        return render(request, CONFIRM_TEMPLATE, context)
    service.unsubscribe(subscription)
    return responses.done(
        request,
        f"Removed the subscription of {subscription.endpoint}.",
        _page_url(topic, "subscriptions"),
        events=[TOPIC_CHANGED],
    )


@require_POST
@operator_required
def set_raw_delivery(request, name, subscription_id):
    """Turn raw message delivery on or off; answers with the subscription list."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    enabled = request.POST.get("enabled") == "true"
    try:
        service.set_subscription_attributes(
            subscription, {"RawMessageDelivery": "true" if enabled else "false"}
        )
    except RoostError as error:
        return responses.refused(request, error, _page_url(topic, "subscriptions"))
    response = render(request, f"{TEMPLATE}#subscriptions", _subscriptions_context(topic, True))
    return responses.done(
        request,
        f"Raw message delivery {'on' if enabled else 'off'} for {subscription.endpoint}.",
        _page_url(topic, "subscriptions"),
        response,
    )


def _panel_answer(request, topic, subscription, message, sample=None):
    """The settings panel after a save, with fresh forms (keeping the test box's `sample`); a
    toast; the list refreshed."""
    subscription = _subscription_or_404(topic, subscription.uuid)
    filter_form = FilterPolicyForm(subscription, initial=sample) if sample else None
    context = {"panel": _panel_context(topic, subscription, True, filter_form=filter_form)}
    response = render(request, f"{TEMPLATE}#subscription-panel", context)
    fallback = _page_url(topic, "subscription-panel", subscription=subscription.uuid)
    return responses.done(request, message, fallback, response, events=[TOPIC_CHANGED])


def _panel_invalid(request, topic, subscription, **forms):
    """The settings panel again with the refused form (`filter_form=` or `redrive_form=`)."""
    panel = _panel_context(topic, subscription, True, **forms)
    if request.htmx:
        return render(request, f"{TEMPLATE}#subscription-panel", {"panel": panel}, status=422)
    return render(request, TEMPLATE, _page_context(request, topic, panel=panel), status=422)


@require_POST
@operator_required
def save_filter_policy(request, name, subscription_id):
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    form = FilterPolicyForm(subscription, request.POST)
    if form.is_valid():
        try:
            service.set_subscription_attributes(subscription, form.attributes())
        except RoostError as error:
            add_service_error(form, error, FilterPolicyForm.PARAMETERS, default="policy")
        else:
            cleared = not form.cleaned_data["policy"]
            message = (
                f"{subscription.endpoint} gets every message now."
                if cleared
                else f"Saved the filter policy of {subscription.endpoint}."
            )
            sample = {name: request.POST.get(name, "") for name in FilterPolicyForm.SAMPLE}
            return _panel_answer(request, topic, subscription, message, sample)
    return _panel_invalid(request, topic, subscription, filter_form=form)


@require_GET
@login_required
def test_filter_policy(request, name, subscription_id):
    """Whether a sample message passes the policy in the editor; changes nothing, so anyone may."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    form = FilterPolicyForm(subscription, request.GET, testing=True)
    result = None
    if form.is_valid():
        policy, scope = form.cleaned_data["policy"], form.cleaned_data["scope"]
        try:
            result = service.filter_policy_matches(policy, scope, *form.sample())
        except RoostError as error:
            add_service_error(form, error, FilterPolicyForm.PARAMETERS, default="policy")
    operator = is_operator(request.user)
    panel = _panel_context(
        topic, subscription, operator, filter_form=form, tested=True, test_result=result
    )
    if request.htmx:
        return render(request, f"{TEMPLATE}#policy-test-result", {"panel": panel})
    return render(request, TEMPLATE, _page_context(request, topic, panel=panel))


@require_POST
@operator_required
def save_redrive_policy(request, name, subscription_id):
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    form = RedrivePolicyForm(subscription, request.POST)
    if form.is_valid():
        try:
            service.set_subscription_attributes(subscription, form.attributes())
        except RoostError as error:
            add_service_error(form, error, RedrivePolicyForm.PARAMETERS, "dead_letter_queue")
        else:
            chosen = form.cleaned_data["dead_letter_queue"]
            message = (
                f"Failed deliveries to {subscription.endpoint} go to "
                f"{chosen.rsplit(':', 1)[-1]} now."
                if chosen
                else f"Failed deliveries to {subscription.endpoint} are only logged now."
            )
            return _panel_answer(request, topic, subscription, message)
    return _panel_invalid(request, topic, subscription, redrive_form=form)


@require_POST
@operator_required
def replay_delivery(request, name, subscription_id, delivery_id):
    """Deliver a failed or dead-lettered message again, with a fresh round of retries."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    found = Delivery.objects.filter(pk=delivery_id, subscription=subscription).first()
    if found is None:
        raise Http404("This subscription has no such delivery.")
    fallback = _page_url(topic, f"delivery-log-{subscription.uuid}", log=subscription.uuid)
    try:
        delivery.replay(found)
    except RoostError as error:
        return responses.refused(request, error, fallback)
    return responses.done(
        request,
        f"Replaying the delivery to {subscription.endpoint}.",
        fallback,
        events=[TOPIC_CHANGED],
    )
