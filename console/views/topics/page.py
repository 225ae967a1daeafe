"""A topic's page: its settings, subscriptions (with their filter and redrive policies and delivery
logs), publishing a test message and deleting the topic.

Actions answer htmx with the part of the page they changed plus a toast; "topic-changed" in
HX-Trigger refreshes the numbers, the subscription list and an open delivery log. Which
subscription's settings and delivery log are open is in the URL (`?subscription=`, `?log=`,
`&failed=1`), so a reload, a shared link and the live stream all show the same thing.
"""

import json

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from console import charts
from console.forms.topics import (
    EDITABLE,
    RAW_DELIVERY_PROTOCOLS,
    FilterPolicyForm,
    PublishForm,
    RedrivePolicyForm,
    SubscribeForm,
    dead_letter_target,
)
from console.roles import is_operator
from console.views import responses
from console.views.guards import can_see_topic, narrow_choices, topic_for_user
from notifications import delivery, service
from notifications.models import (
    ConfirmationAttempt,
    Delivery,
    PublishedMessage,
    Subscription,
    Topic,
)
from queues.models import now_ms

TEMPLATE = "console/topic.html"
CHART_TEMPLATE = "console/topics/_chart.html"
CONFIRM_TEMPLATE = "console/topics/confirm.html"
TOPIC_CHANGED = "topic-changed"
# Subscriptions whose every attempt is logged; queue deliveries leave a row only when they fail.
LOGGED_PROTOCOLS = ("http", "https", "email", "email-json")
FAILED = (Delivery.Status.FAILED, Delivery.Status.DEAD_LETTERED)
LOG_LENGTH = 20
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


# Fetching


def subscribe_form(user, topic, data=None):
    """The subscribe form, its queues limited to those the user may see."""
    return narrow_choices(user, SubscribeForm(data, topic=topic), "queue")


def redrive_policy_form(user, subscription, data=None):
    """A subscription's dead-letter queue form, offering the queues the user may see."""
    return narrow_choices(user, RedrivePolicyForm(subscription, data), "dead_letter_queue")


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
    last_confirmation = (
        ConfirmationAttempt.objects.filter(subscription=OuterRef("pk"))
        .order_by("-id")
        .values("pk")[:1]
    )
    subscriptions = list(
        topic.subscriptions.annotate(
            latest_delivery_id=Subquery(latest),
            last_confirmation_id=Subquery(last_confirmation),
        ).order_by("id")
    )
    latest_deliveries = Delivery.objects.prefetch_related("attempt_log").in_bulk(
        [item.latest_delivery_id for item in subscriptions if item.latest_delivery_id]
    )
    last_confirmations = ConfirmationAttempt.objects.in_bulk(
        [
            item.last_confirmation_id
            for item in subscriptions
            if item.last_confirmation_id and not item.is_confirmed
        ]
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
                "last_confirmation": last_confirmations.get(subscription.last_confirmation_id),
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
    for found in deliveries:
        # What this subscriber was sent (MessageStructure=json picks by protocol).
        found.body = found.message.body_for(found.protocol)
        found.logged_attempts = list(found.attempt_log.all())
        # The attempt counter runs ahead of the log while an attempt waits on its endpoint.
        pending = found.status == Delivery.Status.PENDING
        found.attempt_under_way = pending and found.attempts > len(found.logged_attempts)
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
    user,
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
    operator = is_operator(user)
    context = {
        "topic": topic,
        "subscription": subscription,
        "is_operator": operator,
        "raw_toggle": subscription.protocol in RAW_DELIVERY_PROTOCOLS,
        "logged": subscription.protocol in LOGGED_PROTOCOLS,
        "confirmation": _confirmation_context(topic, subscription, operator),
        "filter_form": filter_form or FilterPolicyForm(subscription),
        "tested": tested,
        "test_result": test_result,
        "focus": focus,
    }
    if operator:
        context["redrive_form"] = redrive_form or redrive_policy_form(user, subscription)
    return context


def _confirmation_context(topic, subscription, operator):
    """A subscription's confirmation: its latest attempts, and whether one is on its way.

    None for subscriptions that need none (queues).
    """
    if subscription.protocol not in service.CONFIRMED_BY_ENDPOINT:
        return None
    return {
        "topic": topic,
        "subscription": subscription,
        "attempts": service.confirmation_attempts(subscription),
        "on_its_way": not subscription.is_confirmed and not subscription.confirmation_sent_at,
        "is_operator": operator,
        "email": subscription.protocol in ("email", "email-json"),
        "resend_seconds": service.RESEND_INTERVAL_MS // 1000,
    }


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


def _chart_context(topic, range_name=None):
    return {"chart": charts.topic_chart(topic.pk, charts.range_name(range_name)), "topic": topic}


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
        **_chart_context(topic, request.GET.get("range")),
        **_subscriptions_context(topic, operator),
        "log": _log_context(topic, log_subscription, failed_only, operator)
        if log_subscription
        else None,
        "panel": None,
    }
    if operator:
        context["subscribe_form"] = subscribe_form(request.user, topic)
        context["publish_form"] = PublishForm(topic=topic)
    context.update(overrides)
    return context


def _again(request, topic, partial, context=None, **page_overrides):
    """Answer a refused form (e.g. send_form=form): in its `partial`, or on the whole page."""
    context = context or {"topic": topic, "is_operator": True, **page_overrides}
    return responses.form_again(
        request, TEMPLATE, partial, context, lambda: _page_context(request, topic, **page_overrides)
    )


def _done(request, topic, partial, context, message, fragment, events=(), **query):
    """Answer a finished action: `partial` and a toast for htmx, the page at `#fragment` else."""
    response = render(request, f"{TEMPLATE}#{partial}", context)
    url = _page_url(topic, fragment, **query)
    return responses.done(request, message, url, response, events=events)


# The page and its regions


@login_required
def topic_page(request, name):
    topic = topic_for_user(request, name)
    opened = _subscription_or_none(topic, request.GET.get("subscription"))
    logged = _subscription_or_none(topic, request.GET.get("log"))
    context = _page_context(
        request, topic, log=logged, failed_only=request.GET.get("failed") == "1"
    )
    if opened is not None:
        context["panel"] = _panel_context(topic, opened, request.user, focus=True)
    return render(request, TEMPLATE, context)


@require_GET
@login_required
def topic_stats_region(request, name):
    return render(request, f"{TEMPLATE}#topic-stats", _stats_context(topic_for_user(request, name)))


@require_GET
@login_required
def topic_chart_region(request, name):
    """The chart over the range asked for (the range picker's htmx answer)."""
    context = _chart_context(topic_for_user(request, name), request.GET.get("range"))
    return render(request, CHART_TEMPLATE, context)


@require_GET
@login_required
def subscriptions_region(request, name):
    context = _subscriptions_context(
        topic_for_user(request, name, "sns:ListSubscriptionsByTopic"), is_operator(request.user)
    )
    return render(request, f"{TEMPLATE}#subscriptions", context)


@require_GET
@login_required
def delivery_log(request, name, subscription_id):
    """A subscription's latest deliveries; without htmx, the page with the log open."""
    topic = topic_for_user(request, name, "sns:GetSubscriptionAttributes")
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
def confirmation_region(request, name, subscription_id):
    """A subscription's confirmation attempts; without htmx, the page with its settings open."""
    topic = topic_for_user(request, name, "sns:GetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    context = _confirmation_context(topic, subscription, is_operator(request.user))
    if not request.htmx or context is None:
        return redirect(_page_url(topic, "subscription-panel", subscription=subscription.uuid))
    return render(request, f"{TEMPLATE}#confirmation", {"confirmation": context})


@require_GET
@login_required
def subscription_panel(request, name, subscription_id):
    """A subscription's settings, opened below the list; without htmx, the page with them open."""
    topic = topic_for_user(request, name, "sns:GetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    if not request.htmx:
        return redirect(_page_url(topic, "subscription-panel", subscription=subscription.uuid))
    context = _panel_context(topic, subscription, request.user, focus=True)
    return render(request, f"{TEMPLATE}#subscription-panel", {"panel": context})


def live_fragments(user, name, log=None, failed=None, range=None):  # noqa: A002 (query parameter)
    """The topic page's live regions: `topic-stats`, `topic-chart` (over the page's range),
    `subscriptions` and, when a delivery log is open, `delivery-log-<subscription id>`."""
    if not can_see_topic(user, name):
        raise Topic.DoesNotExist(f"There is no topic named {name}.")
    topic = Topic.objects.get(name=name)
    operator = is_operator(user)
    regions = {
        "topic-stats": render_to_string(f"{TEMPLATE}#topic-stats", _stats_context(topic)),
        "topic-chart": render_to_string(CHART_TEMPLATE, _chart_context(topic, range)),
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
