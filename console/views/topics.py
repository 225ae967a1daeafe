"""A topic's page: its settings, subscriptions (with their filter and redrive policies and delivery
logs), publishing a test message and deleting the topic.

Actions answer htmx with the part of the page they changed plus a toast; "topic-changed" in
HX-Trigger refreshes the numbers, the subscription list and an open delivery log. Which
subscription's settings and delivery log are open is in the URL (`?subscription=`, `?log=`,
`&failed=1`), so a reload, a shared link and the live stream all show the same thing.
"""

import json

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from console.errors import RoostError
from console.forms.service_errors import add_service_error
from console.forms.topics import (
    EDITABLE,
    EDITABLE_BY_NAME,
    RAW_DELIVERY_PROTOCOLS,
    FilterPolicyForm,
    PublishForm,
    RedrivePolicyForm,
    SubscribeForm,
    TopicAttributeForm,
    dead_letter_target,
)
from console.roles import is_operator, operator_required
from console.views import responses
from notifications import delivery, dispatch, service
from notifications.models import Delivery, PublishedMessage, Subscription, Topic
from queues.models import now_ms

TEMPLATE = "console/topic.html"
CONFIRM_TEMPLATE = "console/topics/confirm.html"
TOPIC_CHANGED = "topic-changed"
# Subscriptions whose every attempt is logged; queue deliveries leave a row only when they fail.
LOGGED_PROTOCOLS = ("http", "https", "email", "email-json")
FAILED = (Delivery.Status.FAILED, Delivery.Status.DEAD_LETTERED)
LOG_LENGTH = 20
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


# Fetching


def _topic_or_404(name):
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        raise Http404(f"There is no topic named {name}.")
    return topic


def _subscription_or_none(topic, subscription_id):
    """The topic's subscription with this id (the last part of its ARN), or None."""
    if not subscription_id:
        return None
    return (
        Subscription.objects.select_related("topic")
        .filter(topic=topic, uuid=subscription_id)
        .first()
    )


def _subscription_or_404(topic, subscription_id):
    subscription = _subscription_or_none(topic, subscription_id)
    if subscription is None:
        raise Http404("This topic has no such subscription.")
    return subscription


def _page_url(topic, fragment="", **query):
    url = reverse("console:topic", args=[topic.name])
    query = {key: value for key, value in query.items() if value}
    return url + (f"?{urlencode(query)}" if query else "") + (f"#{fragment}" if fragment else "")


def _attribute_or_404(attribute_name):
    attribute = EDITABLE_BY_NAME.get(attribute_name)
    if attribute is None:
        raise Http404(f"{attribute_name} is not an attribute you can change here.")
    return attribute


# Context


def _stats_context(topic):
    now = now_ms()
    counts = topic.subscriptions.aggregate(
        confirmed=Count("id", filter=Q(status=Subscription.Status.CONFIRMED)),
        pending=Count("id", filter=Q(status=Subscription.Status.PENDING)),
    )
    # The (topic, published_at) index makes these cheap; messages are kept an hour at least.
    counts |= PublishedMessage.objects.filter(
        topic=topic, published_at__gt=now - HOUR_MS
    ).aggregate(
        last_hour=Count("id"),
        last_minute=Count("id", filter=Q(published_at__gt=now - MINUTE_MS)),
    )
    return {"topic": topic, "stats": counts}


def _subscription_rows(topic):
    """Each subscription with what its row shows, and its latest delivery with its attempts.

    Only the latest: it is one index lookup a subscription, where counting failures would read
    the whole week of log on every live tick (~90 ms at 100k deliveries on SQLite).
    """
    latest = Delivery.objects.filter(subscription=OuterRef("pk")).order_by("-id").values("pk")[:1]
    subscriptions = list(
        topic.subscriptions.annotate(latest_delivery_id=Subquery(latest)).order_by("id")
    )
    latest_deliveries = Delivery.objects.prefetch_related("attempt_log").in_bulk(
        [item.latest_delivery_id for item in subscriptions if item.latest_delivery_id]
    )
    rows = []
    for subscription in subscriptions:
        subscription.topic = topic
        latest_delivery = latest_deliveries.get(subscription.latest_delivery_id)
        attempts = list(latest_delivery.attempt_log.all()) if latest_delivery else []
        target = dead_letter_target(subscription.redrive_policy)
        rows.append(
            {
                "subscription": subscription,
                "logged": subscription.protocol in LOGGED_PROTOCOLS,
                "raw_toggle": subscription.protocol in RAW_DELIVERY_PROTOCOLS,
                "latest": latest_delivery,
                "latest_failed": latest_delivery is not None and latest_delivery.status in FAILED,
                "last_attempt": attempts[-1] if attempts else None,
                "dead_letter_queue": target.rsplit(":", 1)[-1] if target else "",
            }
        )
    return rows


def _subscriptions_context(topic, operator):
    return {"topic": topic, "rows": _subscription_rows(topic), "is_operator": operator}


def _log_context(topic, subscription, failed_only, operator):
    deliveries = list(
        delivery.delivery_log(subscription, failed_only=failed_only).select_related("message")[
            : LOG_LENGTH + 1
        ]
    )
    return {
        "topic": topic,
        "subscription": subscription,
        "log_id": subscription.uuid,
        "deliveries": deliveries[:LOG_LENGTH],
        "more": len(deliveries) > LOG_LENGTH,
        "failed_only": failed_only,
        "is_operator": operator,
    }


def _panel_context(
    topic,
    subscription,
    operator,
    filter_form=None,
    redrive_form=None,
    tested=False,
    test_result=None,
    focus=False,
):
    """A subscription's settings panel: its filter policy (with the test box) and redrive.

    Forms not given are fresh; `tested` and `test_result` are what the test box says, `focus`
    moves the keyboard focus to the panel as it opens.
    """
    context = {
        "topic": topic,
        "subscription": subscription,
        "is_operator": operator,
        "raw_toggle": subscription.protocol in RAW_DELIVERY_PROTOCOLS,
        "logged": subscription.protocol in LOGGED_PROTOCOLS,
        "filter_form": filter_form or FilterPolicyForm(subscription),
        "tested": tested,
        "test_result": test_result,
        "focus": focus,
    }
    if operator:
        context["redrive_form"] = redrive_form or RedrivePolicyForm(subscription)
    return context


def _attribute_context(topic, attribute, operator, form=None):
    """One attribute's row: its current value, and its edit form while it is edited."""
    return {
        "topic": topic,
        "attribute": attribute,
        "value": attribute.current(topic),
        "form": form,
        "is_operator": operator,
    }


def _attribute_rows(topic, operator, editing=None):
    """Every attribute's row; `editing` is the form of the row being edited."""
    return [
        _attribute_context(
            topic,
            attribute,
            operator,
            editing if editing and editing.attribute.name == attribute.name else None,
        )
        for attribute in EDITABLE
    ]


def _page_context(request, topic, **overrides):
    """The whole page; `log`, `failed_only` and `panel` say what is open."""
    operator = is_operator(request.user)
    log_subscription = overrides.pop("log", None)
    failed_only = overrides.pop("failed_only", False)
    live_args = {"name": topic.name}
    if log_subscription:
        live_args["log"] = log_subscription.uuid
        if failed_only:
            live_args["failed"] = "1"
    context = {
        "nav": "overview",
        "live_args": json.dumps(live_args),
        "topic": topic,
        "is_operator": operator,
        "attribute_rows": _attribute_rows(topic, operator, overrides.pop("editing", None)),
        **_stats_context(topic),
        **_subscriptions_context(topic, operator),
        "log": _log_context(topic, log_subscription, failed_only, operator)
        if log_subscription
        else None,
        "panel": None,
    }
    if operator:
        context["subscribe_form"] = SubscribeForm(topic=topic)
        context["publish_form"] = PublishForm(topic=topic)
    context.update(overrides)
    return context


def _invalid(request, topic, partial, context, full_page_overrides=None):
    """Answer a form the service or the form refused: the form again, errors beside fields."""
    if request.htmx:
        return render(request, f"{TEMPLATE}#{partial}", context, status=422)
    page = _page_context(request, topic, **(full_page_overrides or {}))
    return render(request, TEMPLATE, page, status=422)


# The page and its regions


@login_required
def topic_page(request, name):
    topic = _topic_or_404(name)
    operator = is_operator(request.user)
    opened = _subscription_or_none(topic, request.GET.get("subscription"))
    logged = _subscription_or_none(topic, request.GET.get("log"))
    context = _page_context(
        request, topic, log=logged, failed_only=request.GET.get("failed") == "1"
    )
    if opened is not None:
        context["panel"] = _panel_context(topic, opened, operator, focus=True)
    return render(request, TEMPLATE, context)


@require_GET
@login_required
def topic_stats_region(request, name):
    return render(request, f"{TEMPLATE}#topic-stats", _stats_context(_topic_or_404(name)))


@require_GET
@login_required
def subscriptions_region(request, name):
    context = _subscriptions_context(_topic_or_404(name), is_operator(request.user))
    return render(request, f"{TEMPLATE}#subscriptions", context)


@require_GET
@login_required
def delivery_log(request, name, subscription_id):
    """A subscription's latest deliveries; without htmx, the page with the log open."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    failed_only = request.GET.get("failed") == "1"
    if not request.htmx:
        fragment = f"delivery-log-{subscription.uuid}"
        return redirect(
            _page_url(topic, fragment, log=subscription.uuid, failed="1" if failed_only else "")
        )
    context = _log_context(topic, subscription, failed_only, is_operator(request.user))
    return render(request, f"{TEMPLATE}#delivery-log", {"log": context})


@require_GET
@login_required
def subscription_panel(request, name, subscription_id):
    """A subscription's settings, opened below the list; without htmx, the page with them open."""
    topic = _topic_or_404(name)
    subscription = _subscription_or_404(topic, subscription_id)
    if not request.htmx:
        return redirect(_page_url(topic, "subscription-panel", subscription=subscription.uuid))
    context = _panel_context(topic, subscription, is_operator(request.user), focus=True)
    return render(request, f"{TEMPLATE}#subscription-panel", {"panel": context})


def live_fragments(user, name, log=None, failed=None):
    """The topic page's live regions: `topic-stats`, `subscriptions` and, when a delivery log is
    open, `delivery-log-<subscription id>`."""
    topic = Topic.objects.get(name=name)
    operator = is_operator(user)
    regions = {
        "topic-stats": render_to_string(f"{TEMPLATE}#topic-stats", _stats_context(topic)),
        "subscriptions": render_to_string(
            f"{TEMPLATE}#subscriptions", _subscriptions_context(topic, operator)
        ),
    }
    if log:
        subscription = Subscription.objects.filter(topic=topic, uuid=log).first()
        if subscription is None:
            context = {"topic": topic, "subscription": None, "log_id": log}
        else:
            context = _log_context(topic, subscription, failed == "1", operator)
        regions[f"delivery-log-{log}"] = render_to_string(
            f"{TEMPLATE}#delivery-log", {"log": context}
        )
    return regions


# Attributes


@require_GET
@login_required
def attribute_row(request, name, attribute_name):
    """One attribute shown (the edit form's Cancel)."""
    topic = _topic_or_404(name)
    attribute = _attribute_or_404(attribute_name)
    context = _attribute_context(topic, attribute, is_operator(request.user))
    return render(request, f"{TEMPLATE}#attribute-row", context)


@operator_required
def edit_attribute(request, name, attribute_name):
    """The attribute's edit form (GET) and its change (POST), in place."""
    topic = _topic_or_404(name)
    attribute = _attribute_or_404(attribute_name)
    if request.method == "POST":
        form = TopicAttributeForm(topic, attribute, request.POST)
        if form.is_valid():
            try:
                topic = service.set_topic_attribute(topic, attribute.name, form.attribute_value())
            except RoostError as error:
                add_service_error(form, error, {}, default="value")
            else:
                context = _attribute_context(topic, attribute, True)
                response = render(request, f"{TEMPLATE}#attribute-row", context)
                return responses.done(
                    request,
                    f"Saved {attribute.label.lower()}.",
                    _page_url(topic, "settings"),
                    response,
                )
        context = _attribute_context(topic, attribute, True, form)
        return _invalid(request, topic, "attribute-row", context, {"editing": form})
    form = TopicAttributeForm(topic, attribute)
    if request.htmx:
        context = _attribute_context(topic, attribute, True, form)
        return render(request, f"{TEMPLATE}#attribute-row", context)
    return render(request, TEMPLATE, _page_context(request, topic, editing=form))


# Subscriptions


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
        replayed = delivery.replay(found)
    except RoostError as error:
        return responses.refused(request, error, fallback)
    if replayed.protocol == "sqs":
        transaction.on_commit(dispatch.queue_deliveries)
    else:
        transaction.on_commit(lambda: dispatch.attempt([replayed.pk]))
    return responses.done(
        request,
        f"Replaying the delivery to {subscription.endpoint}.",
        fallback,
        events=[TOPIC_CHANGED],
    )


# Publishing and deleting


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
