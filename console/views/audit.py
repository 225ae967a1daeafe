"""The audit log's page: every destructive or administrative action, newest first, filtered by
queue, topic, actor, action and door, a page at a time (htmx swaps the list)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from aws_protocol.actor import DOORS
from aws_protocol.errors import RoostError
from console import audit_access

TEMPLATE = "console/audit.html"
PAGE = 50


class AuditFilterForm(forms.Form):
    queue = forms.CharField(required=False, max_length=80)
    topic = forms.CharField(required=False, max_length=256)
    actor = forms.CharField(
        required=False, max_length=150, help_text="An access key id or a user name."
    )
    action = forms.CharField(
        required=False, max_length=64, help_text="e.g. PurgeQueue, DeleteMessages."
    )
    door = forms.ChoiceField(
        required=False, choices=[("", "Any")] + [(door, door) for door in DOORS]
    )


@require_GET
@login_required
def audit_log(request):
    """The log, filtered by the query string; htmx (filters, paging) gets the list alone."""
    form = AuditFilterForm(request.GET)
    entries, next_url, error, filters = [], None, None, {}
    if form.is_valid():
        filters = {name: value for name, value in form.cleaned_data.items() if value}
        try:
            entries, cursor = audit_access.read(
                request.user, {**filters, "cursor": request.GET.get("cursor"), "limit": PAGE}
            )
        except RoostError as refusal:
            error = refusal.message
        else:
            if cursor:
                next_url = _url(request, {**filters, "cursor": cursor})
    context = {
        "nav": "audit",
        "form": form,
        "entries": entries,
        "next_url": next_url,
        "first_url": _url(request, filters) if request.GET.get("cursor") else None,
        "error": error,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{TEMPLATE}#audit-entries", context)
    return render(request, TEMPLATE, context)


def _url(request, params):
    return f"{request.path}?{urlencode(params)}" if params else request.path
