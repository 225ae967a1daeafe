"""How console actions answer: a toast and a partial for htmx, a redirect with a message else.

Every action that calls the service goes through `run_action`, so a refusal (RoostError) shows
the same way everywhere: beside the field it is about when the action has a form, as a toast
when it has none.
"""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

from aws_protocol.errors import RoostError
from console.forms.service_errors import add_service_error

LEVELS = {"success": messages.SUCCESS, "info": messages.INFO, "error": messages.ERROR}


def with_toast(response, message, level="success", events=()):
    """Add a toast (and any page events, e.g. "messages-changed") to the HX-Trigger header.

    Set the header whatever the request: a plain browser ignores it, and htmx reads it on error
    statuses too, so a refused action still says why.
    """
    triggers = json.loads(response.headers.get("HX-Trigger", "{}"))
    triggers["toast"] = {"level": level, "message": str(message)}
    for event in events:
        triggers[event] = True
    response["HX-Trigger"] = json.dumps(triggers)
    return response


def done(request, message, fallback_url, response=None, level="success", events=()):
    """Answer a finished action: htmx gets `response` (or nothing to swap) and a toast; a plain
    form post is redirected to `fallback_url`, the message shown there as a toast."""
    if request.htmx:
        response = response if response is not None else HttpResponse("")
        return with_toast(response, message, level, events)
    messages.add_message(request, LEVELS[level], message)
    return redirect(fallback_url)


def refused(request, error, fallback_url, status=None):
    """Answer an action the service refused with a toast saying why (no field to show it by)."""
    if request.htmx:
        response = HttpResponse(status=status or error.status)
        return with_toast(response, error.message, level="error")
    messages.error(request, error.message)
    return redirect(fallback_url)


def go_to(request, url, message):
    """Send the browser to a new page and toast there (htmx: a full load, not a swap)."""
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def run_action(request, call, done, *, form=None, again=None, back=None):
    """Make an action's one service call, `call()`, and answer with `done(result)`.

    With a `form`, the call is made only if the form is valid, and a refusal is shown beside the
    field it is about (add_service_error): either way `again()` answers with the form and its
    errors. Without one, a refusal is a toast, and a plain post goes `back` to that URL.
    """
    if form is not None and not form.is_valid():
        return again()
    try:
        result = call()
    except RoostError as error:
        if form is None:
            return refused(request, error, back)
        add_service_error(form, error)
        return again()
    return done(result)


def form_again(request, template, partial, context, page_context):
    """Answer a refused form (422) with it again, errors and all: htmx gets its `partial` with
    `context`, a plain post the whole page, with `page_context()`."""
    if request.htmx:
        return render(request, f"{template}#{partial}", context, status=422)
    return render(request, template, page_context(), status=422)
