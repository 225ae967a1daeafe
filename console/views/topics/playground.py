"""The filter-policy playground of a subscription's settings panel: a policy, as it is typed,
tried on the topic's latest published messages; saved through the panel's filter-policy form."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.forms.topics import SCOPES, pretty_json
from console.roles import is_operator
from console.views.guards import topic_for_user
from console.views.topics.page import _subscription_or_404
from notifications import service
from notifications.filter_policy import MESSAGE_ATTRIBUTES

TEMPLATE = "console/topics/_filter_playground.html"
PAGE_TEMPLATE = "console/topics/filter_playground.html"


@require_GET
@login_required
def filter_playground(request, name, subscription_id):
    """Open the playground (its form and the current policy's results), or, given `policy`,
    answer with the results of that policy alone (htmx, as it is typed)."""
    topic = topic_for_user(request, name, "sns:GetSubscriptionAttributes")
    subscription = _subscription_or_404(topic, subscription_id)
    trying = "policy" in request.GET
    policy = request.GET["policy"] if trying else pretty_json(subscription.filter_policy)
    scope = request.GET.get("scope") or subscription.filter_policy_scope or MESSAGE_ATTRIBUTES
    if scope not in dict(SCOPES):
        scope = MESSAGE_ATTRIBUTES
    context = {
        "topic": topic,
        "subscription": subscription,
        "is_operator": is_operator(request.user),
        "playground": {
            "policy": policy,
            "scope": scope,
            "scopes": SCOPES,
            "result": service.try_filter_policy(topic, policy, scope),
            "limit": service.PLAYGROUND_MESSAGES,
        },
    }
    if request.htmx:
        partial = "playground-results" if trying else "playground-body"
        return render(request, f"{TEMPLATE}#{partial}", context)
    return render(request, PAGE_TEMPLATE, context | {"nav": "overview"})
