"""The access keys pages: create a key (from a starter policy; the secret shown once), list,
disable, enable, delete; a key's page edits its policy and runs the policy simulator.

Every view is guarded by `key_manager_required` with the IAM action it stands for, so only
users whose policy allows managing keys get in (a scoped user's does not).
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from aws_protocol import authorization, iam_policy
from console import access_keys
from console.forms.access_keys import CreateAccessKeyForm, PolicyForm, SimulatorForm
from console.models import AccessKey
from console.roles import is_operator
from console.views import responses
from console.views.guards import key_manager_required, operator_required
from notifications.models import Topic
from queues.models import Queue

TEMPLATE = "console/access_keys.html"
KEY_TEMPLATE = "console/access_key.html"
# Resource suggestions offered at once, and for each name typed: a datalist, not the 2,000.
SUGGESTIONS = 25
VERDICTS = {
    iam_policy.ALLOWED: "Allowed",
    iam_policy.EXPLICIT_DENY: "Denied explicitly",
    iam_policy.IMPLICIT_DENY: "Denied implicitly",
}


def policy_summary(key):
    """What the key may do, in the list's words: "Full access" or "Policy: N statements"."""
    if key.has_full_access:
        return "Full access"
    try:
        count = len(iam_policy.compiled(key.policy).statements)
    except iam_policy.MalformedPolicyDocument:
        return "Policy: not valid (refuses everything)"
    return f"Policy: {count} statement{'' if count == 1 else 's'}"


def _summarised(keys):
    keys = list(keys)
    for key in keys:
        key.summary = policy_summary(key)
    return keys


def _context(request, **overrides):
    operator = is_operator(request.user)
    return {
        "nav": "access-keys",
        "is_operator": operator,
        "keys": _summarised(AccessKey.objects.select_related("user")),
        "form": CreateAccessKeyForm() if operator else None,
        "endpoint": request.build_absolute_uri("/").rstrip("/"),
        **overrides,
    }


def _key_or_404(key_id):
    key = AccessKey.objects.select_related("user").filter(access_key_id=key_id).first()
    if key is None:
        raise Http404(f"There is no access key {key_id}.")
    key.summary = policy_summary(key)
    return key


@key_manager_required("iam:ListAccessKeys")
def access_key_list(request):
    return render(request, TEMPLATE, _context(request))


@require_POST
@operator_required
@key_manager_required("iam:CreateAccessKey")
def create_access_key(request):
    """Create a key and show its secret in this answer only: it is not kept anywhere readable."""
    form = CreateAccessKeyForm(request.POST)
    return responses.run_action(
        request,
        lambda: access_keys.create_access_key(
            name=form.cleaned_data["name"], user=request.user, policy=form.policy_text()
        ),
        lambda created: _created_answer(request, *created),
        form=form,
        again=lambda: responses.form_again(
            request,
            TEMPLATE,
            "created-answer",
            {"form": form},
            lambda: _context(request, form=form),
        ),
    )


def _created_answer(request, key, secret):
    """The new key with its secret: the created-answer part for htmx (the list comes along out
    of band, with the key in it), the whole page else; never cached."""
    key.summary = policy_summary(key)
    context = _context(request, created=key, secret=secret)
    if request.htmx:
        context["oob_rows"] = True
        response = render(request, f"{TEMPLATE}#created-answer", context)
        message = f"Created access key {key.access_key_id}. Copy its secret now."
        response = responses.with_toast(response, message)
    else:
        response = render(request, TEMPLATE, context)
    add_never_cache_headers(response)
    return response


def _row_answer(request, key, message):
    key.summary = policy_summary(key)
    context = {"key": key, "is_operator": True}
    response = render(request, f"{TEMPLATE}#key-row", context)
    return responses.done(request, message, reverse("console:access-keys"), response)


@require_POST
@operator_required
@key_manager_required("iam:UpdateAccessKey")
def disable_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.disable_access_key(key)
    return _row_answer(
        request, key, f"Disabled {key.access_key_id}: requests signed with it now fail."
    )


@require_POST
@operator_required
@key_manager_required("iam:UpdateAccessKey")
def enable_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.enable_access_key(key)
    return _row_answer(request, key, f"Enabled {key.access_key_id}.")


@require_POST
@operator_required
@key_manager_required("iam:DeleteAccessKey")
def delete_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.delete_access_key(key)
    return responses.done(request, f"Deleted {key_id}.", reverse("console:access-keys"))


# A key's page: its policy and the simulator


def _key_url(key, fragment=""):
    return reverse("console:access-key", args=[key.access_key_id]) + (
        f"#{fragment}" if fragment else ""
    )


def _key_context(request, key, **overrides):
    operator = is_operator(request.user)
    return {
        "nav": "access-keys",
        "key": key,
        "is_operator": operator,
        "policy_form": PolicyForm(initial={"policy": iam_policy.pretty(key.policy)})
        if operator
        else None,
        "pretty_policy": iam_policy.pretty(key.policy),
        "simulator_form": SimulatorForm(),
        "suggestions": _suggestions(""),
        "principal_arn": authorization.principal_arn(key),
        **overrides,
    }


@require_GET
@key_manager_required("iam:GetUserPolicy")
def access_key_page(request, key_id):
    key = _key_or_404(key_id)
    return render(request, KEY_TEMPLATE, _key_context(request, key))


def _policy_saved(request, key, message):
    """Answer a policy change: the policy section afresh with a toast, or the page."""
    key = _key_or_404(key.access_key_id)
    context = _key_context(request, key)
    response = render(request, f"{KEY_TEMPLATE}#policy-section", context)
    return responses.done(request, message, _key_url(key, "policy"), response)


@require_POST
@operator_required
@key_manager_required("iam:PutUserPolicy")
def set_key_policy(request, key_id):
    """Save the edited policy; a malformed one shows IAM's message beside it, nothing saved."""
    key = _key_or_404(key_id)
    form = PolicyForm(request.POST)

    def saved(_):
        fresh = AccessKey.objects.get(pk=key.pk)
        if fresh.has_full_access:
            return _policy_saved(request, key, f"{key.access_key_id} has full access now.")
        return _policy_saved(request, key, f"Saved the policy of {key.access_key_id}.")

    return responses.run_action(
        request,
        lambda: access_keys.set_policy(key, form.cleaned_data["policy"]),
        saved,
        form=form,
        again=lambda: responses.form_again(
            request,
            KEY_TEMPLATE,
            "policy-section",
            _key_context(request, _key_or_404(key_id), policy_form=form),
            lambda: _key_context(request, _key_or_404(key_id), policy_form=form),
        ),
    )


@require_POST
@operator_required
@key_manager_required("iam:DeleteUserPolicy")
def remove_key_policy(request, key_id):
    """Remove the policy: the key may do everything again."""
    key = _key_or_404(key_id)
    access_keys.set_policy(key, "")
    return _policy_saved(
        request, key, f"Removed the policy: {key.access_key_id} has full access now."
    )


def simulate(key, action, resource):
    """What the simulator answers: the verdict in words and the statement that decided it."""
    decision = access_keys.simulate(key, action, resource)
    statement = decision.statement
    return {
        "action": action,
        "resource": resource,
        "verdict": decision.verdict,
        "allowed": decision.allowed,
        "verdict_label": VERDICTS[decision.verdict],
        "full_access": key.has_full_access,
        "statement": statement,
        "statement_position": statement.index + 1 if statement else None,
        "statement_json": json.dumps(statement.document, indent=2) if statement else "",
    }


@require_GET
@key_manager_required("iam:SimulatePrincipalPolicy")
def simulate_policy(request, key_id):
    """The policy simulator: may this key do the action on the resource, and which statement
    says so. Changes nothing, so read-only users may ask too."""
    key = _key_or_404(key_id)
    form = SimulatorForm(request.GET)
    result = simulate(key, **form.cleaned_data) if form.is_valid() else None
    context = {"simulator_form": form, "simulation": result}
    status = 200 if result else 422
    if request.htmx:
        return render(request, f"{KEY_TEMPLATE}#simulator", {"key": key, **context}, status=status)
    return render(request, KEY_TEMPLATE, _key_context(request, key, **context), status=status)


def _suggestions(typed):
    """Queue and topic ARNs to offer for a resource: those whose names contain the last part
    of what was typed (the first ones by name when nothing is), a few of each."""
    name = typed.rsplit(":", 1)[-1].strip()
    queues = Queue.objects.order_by("name")
    topics = Topic.objects.order_by("name")
    if name:
        queues = queues.filter(name__icontains=name)
        topics = topics.filter(name__icontains=name)
    return [queue.arn for queue in queues.only("name")[:SUGGESTIONS]] + [
        topic.arn for topic in topics.only("name")[:SUGGESTIONS]
    ]


@require_GET
@login_required
@key_manager_required("iam:SimulatePrincipalPolicy")
def resource_suggestions(request, key_id):
    """The simulator's resource suggestions for what has been typed (a <datalist>)."""
    context = {"suggestions": _suggestions(request.GET.get("resource", "")[:256])}
    return render(request, f"{KEY_TEMPLATE}#suggestions", context)
