"""The access keys page: create (the secret shown once), list, disable, enable, delete."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from console import access_keys
from console.forms.access_keys import CreateAccessKeyForm
from console.models import AccessKey
from console.roles import is_operator
from console.views import responses
from console.views.guards import operator_required

TEMPLATE = "console/access_keys.html"


def _context(request, **overrides):
    operator = is_operator(request.user)
    return {
        "nav": "access-keys",
        "is_operator": operator,
        "keys": AccessKey.objects.select_related("user"),
        "form": CreateAccessKeyForm() if operator else None,
        "endpoint": request.build_absolute_uri("/").rstrip("/"),
        **overrides,
    }


def _key_or_404(key_id):
    key = AccessKey.objects.select_related("user").filter(access_key_id=key_id).first()
    if key is None:
        raise Http404(f"There is no access key {key_id}.")
    return key


@login_required
def access_key_list(request):
    return render(request, TEMPLATE, _context(request))


@require_POST
@operator_required
def create_access_key(request):
    """Create a key and show its secret in this answer only: it is not kept anywhere readable."""
    form = CreateAccessKeyForm(request.POST)
    return responses.run_action(
        request,
        lambda: access_keys.create_access_key(name=form.cleaned_data["name"], user=request.user),
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
    context = {"key": key, "is_operator": True}
    response = render(request, f"{TEMPLATE}#key-row", context)
    return responses.done(request, message, reverse("console:access-keys"), response)


@require_POST
@operator_required
def disable_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.disable_access_key(key)
    return _row_answer(
        request, key, f"Disabled {key.access_key_id}: requests signed with it now fail."
    )


@require_POST
@operator_required
def enable_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.enable_access_key(key)
    return _row_answer(request, key, f"Enabled {key.access_key_id}.")


@require_POST
@operator_required
def delete_access_key(request, key_id):
    key = _key_or_404(key_id)
    access_keys.delete_access_key(key)
    return responses.done(request, f"Deleted {key_id}.", reverse("console:access-keys"))
