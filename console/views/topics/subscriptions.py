"""Changing a topic's subscriptions: subscribing and unsubscribing, raw delivery, the filter
and redrive policies of the settings panel, resending a confirmation and replaying a failed
delivery."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console.forms.topics import FilterPolicyForm
from console.views import responses
from console.views.guards import authorize, operator_required, topic_for_user
from console.views.topics.page import (
    CONFIRM_TEMPLATE,
    TEMPLATE,
    TOPIC_CHANGED,
    _again,
    _done,
    _page_context,
    _page_url,
    _panel_context,
    _subscription_or_404,
    _subscriptions_context,
    redrive_policy_form,
    subscribe_form,
)
from notifications import delivery, service
from notifications.models import Delivery


def _endpoint_allowed(request, arguments):
    """The subscribe arguments, once the user may send to the queue an sqs endpoint names (a
    scope's queues only); raises AccessDenied, shown beside the form, when not."""
    protocol, endpoint, _attributes = arguments
    if protocol == "sqs" and endpoint.startswith("arn:aws:sqs:"):
        authorize(request.user, "sqs:SendMessage", endpoint)
    return arguments


@require_POST
@operator_required
def subscribe(request, name):
    topic = topic_for_user(request, name, "sns:Subscribe")
    form = subscribe_form(request.user, topic, request.POST)

    def subscribed(result):
        subscription = result[0]
        pending = "" if subscription.is_confirmed else "; it stays pending until it confirms"
        message = f"Subscribed {subscription.endpoint}{pending}."
        context = {"topic": topic, "subscribe_form": subscribe_form(request.user, topic)}
        events = [TOPIC_CHANGED]
        return _done(request, topic, "subscribe-form", context, message, "subscriptions", events)

    return responses.run_action(
        request,
        lambda: service.subscribe(topic, *_endpoint_allowed(request, form.subscribe_arguments())),
        subscribed,
        form=form,
        again=lambda: _again(request, topic, "subscribe-form", subscribe_form=form),
    )


@operator_required
def unsubscribe(request, name, subscription_id):
    """Ask (GET: a dialog naming the endpoint), then remove the subscription (POST)."""
    topic = topic_for_user(request, name, "sns:Unsubscribe")
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
    topic = topic_for_user(request, name, "sns:SetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    enabled = request.POST.get("enabled") == "true"
    attributes = {"RawMessageDelivery": "true" if enabled else "false"}
    message = f"Raw message delivery {'on' if enabled else 'off'} for {subscription.endpoint}."

    def saved(_subscription):
        context = _subscriptions_context(topic, True)
        return _done(request, topic, "subscriptions", context, message, "subscriptions")

    return responses.run_action(
        request,
        lambda: service.set_subscription_attributes(subscription, attributes),
        saved,
        back=_page_url(topic, "subscriptions"),
    )


def _panel_answer(request, topic, subscription, message, sample=None):
    """The settings panel after a save, with fresh forms (keeping the test box's `sample`); a
    toast; the list refreshed."""
    subscription = _subscription_or_404(topic, subscription.uuid)
    filter_form = FilterPolicyForm(subscription, initial=sample) if sample else None
    panel = _panel_context(topic, subscription, request.user, filter_form=filter_form)
    context = {"panel": panel}
    partial = fragment = "subscription-panel"
    events = [TOPIC_CHANGED]
    query = {"subscription": subscription.uuid}
    return _done(request, topic, partial, context, message, fragment, events, **query)


def _panel_again(request, topic, subscription, **forms):
    """The settings panel again with the refused form (`filter_form=` or `redrive_form=`)."""
    panel = _panel_context(topic, subscription, request.user, **forms)
    return _again(request, topic, "subscription-panel", panel=panel)


def _save_panel_form(request, topic, subscription, saved, sample=None, **forms):
    """Save the attributes a settings panel form asks for (`filter_form=` or `redrive_form=`),
    and answer with the panel and a toast saying `saved()`."""
    [form] = forms.values()
    return responses.run_action(
        request,
        lambda: service.set_subscription_attributes(subscription, form.attributes()),
        lambda _: _panel_answer(request, topic, subscription, saved(), sample),
        form=form,
        again=lambda: _panel_again(request, topic, subscription, **forms),
    )


@require_POST
@operator_required
def save_filter_policy(request, name, subscription_id):
    topic = topic_for_user(request, name, "sns:SetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    form = FilterPolicyForm(subscription, request.POST)
    sample = {name: request.POST.get(name, "") for name in FilterPolicyForm.SAMPLE}

    def saved():
        if not form.cleaned_data["policy"]:
            return f"{subscription.endpoint} gets every message now."
        return f"Saved the filter policy of {subscription.endpoint}."

    return _save_panel_form(request, topic, subscription, saved, sample, filter_form=form)


@require_GET
@login_required
def test_filter_policy(request, name, subscription_id):
    """Whether a sample message passes the policy in the editor; changes nothing, so anyone may."""
    topic = topic_for_user(request, name, "sns:GetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    form = FilterPolicyForm(subscription, request.GET, testing=True)

    def tested(result=None):
        test = {"filter_form": form, "tested": True, "test_result": result}
        panel = _panel_context(topic, subscription, request.user, **test)
        if request.htmx:
            return render(request, f"{TEMPLATE}#policy-test-result", {"panel": panel})
        return render(request, TEMPLATE, _page_context(request, topic, panel=panel))

    return responses.run_action(
        request,
        lambda: service.filter_policy_matches(*form.test_arguments()),
        tested,
        form=form,
        again=tested,
    )


@require_POST
@operator_required
def save_redrive_policy(request, name, subscription_id):
    topic = topic_for_user(request, name, "sns:SetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    form = redrive_policy_form(request.user, subscription, request.POST)

    def saved():
        chosen = form.cleaned_data["dead_letter_queue"]
        if not chosen:
            return f"Failed deliveries to {subscription.endpoint} are only logged now."
        return (
            f"Failed deliveries to {subscription.endpoint} go to {chosen.rsplit(':', 1)[-1]} now."
        )

    return _save_panel_form(request, topic, subscription, saved, redrive_form=form)


@require_POST
@operator_required
def replay_delivery(request, name, subscription_id, delivery_id):
    """Deliver a failed or dead-lettered message again, as a new delivery with its own retries."""
    topic = topic_for_user(request, name, "sns:Publish")
    subscription = _subscription_or_404(topic, subscription_id)
    found = Delivery.objects.filter(pk=delivery_id, subscription=subscription).first()
    if found is None:
        raise Http404("This subscription has no such delivery.")
    fallback = _page_url(topic, f"delivery-log-{subscription.uuid}", log=subscription.uuid)

    def replaying(replay):
        message = (
            f"Replaying delivery {found.pk} to {subscription.endpoint} as delivery {replay.pk}."
        )
        return responses.done(request, message, fallback, events=[TOPIC_CHANGED])

    return responses.run_action(
        request,
        lambda: delivery.replay(found, request.user.get_username()),
        replaying,
        back=fallback,
    )


@require_POST
@operator_required
def resend_confirmation(request, name, subscription_id):
    """Send a pending subscription a fresh confirmation; its attempt shows once it is sent."""
    topic = topic_for_user(request, name, "sns:Subscribe")
    subscription = _subscription_or_404(topic, subscription_id)
    fallback = _page_url(topic, "subscription-panel", subscription=subscription.uuid)
    message = f"Sending a new confirmation to {subscription.endpoint}."
    return responses.run_action(
        request,
        lambda: service.resend_confirmation(subscription, request.user.get_username()),
        lambda _: responses.done(request, message, fallback, events=[TOPIC_CHANGED]),
        back=fallback,
    )
