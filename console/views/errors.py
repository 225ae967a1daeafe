"""The console's answer to a failure it did not expect: 503 while the database is unreachable."""

import sys

from django.db import DatabaseError
from django.http import HttpResponse
from django.views.defaults import server_error as django_server_error

from aws_protocol import database_outage
from console.views.responses import with_toast

UNAVAILABLE_PAGE = (
    "<!doctype html><title>Roost is unavailable</title>"
    "<h1>Service unavailable</h1><p>{message} Try again in a moment.</p>"
)


def server_error(request):
    """Django's handler500: a database outage is temporary (503, retry soon); anything else 500.

    Django calls it while handling the exception, so sys.exc_info() names what went wrong.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, DatabaseError):
        return django_server_error(request)
    database_outage.noticed(error, f"console {request.path}")
    return unavailable(request)


def unavailable(request):
    """503 with a page saying to try again (and a toast, for htmx requests)."""
    message = database_outage.MESSAGE
    response = HttpResponse(UNAVAILABLE_PAGE.format(message=message), status=503)
    response["Retry-After"] = "1"
    if request.headers.get("HX-Request") == "true":  # also before HtmxMiddleware ran
        with_toast(response, message, level="error")
    return response
