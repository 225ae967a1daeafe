"""Django middleware of the console's own: refuse page and REST requests during a database outage."""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware

from aws_protocol import database_outage
from console import health
from console.views.errors import unavailable


@sync_and_async_middleware
def refuse_while_unreachable(get_response):
    """Django middleware: while the database is known to be out of reach, answer 503 at once.

    Outermost, so not even the session is looked up. Costs one attribute read otherwise. The
    health probes pass: /healthz answers regardless, /readyz reports the outage itself.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request):
            # The probe connects (blocking), so off the event loop; only during an outage.
            if (
                database_outage.suspected()
                and request.path not in health.PATHS
                and await sync_to_async(database_outage.refusing, thread_sensitive=False)()
            ):
                return unavailable_response(request)
            return await get_response(request)

    else:

        def middleware(request):
            if request.path not in health.PATHS and database_outage.refusing():
                return unavailable_response(request)
            return get_response(request)

    return middleware


def unavailable_response(request):
    """503 in the shape of the door asked: the REST API's JSON error, else the console's page."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "ServiceUnavailable", "message": database_outage.MESSAGE}, status=503
        )
        response["Retry-After"] = "1"
        return response
    return unavailable(request)
