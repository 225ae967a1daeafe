"""Django middleware of the console's own: refuse page and REST requests during a database outage."""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware

from aws_protocol import actor, database_outage
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


class RequestActor:
    """The actor of a page or REST request, read when asked (REST authenticates in the view)."""

    __slots__ = ("request",)

    def __init__(self, request):
        self.request = request

    @property
    def door(self):
        return "rest" if self.request.path.startswith("/api/") else "console"

    @property
    def key_id(self):
        # The REST API's `request.auth`: an AccessKey, or the logged-in user.
        return getattr(getattr(self.request, "auth", None), "access_key_id", "")

    @property
    def username(self):
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated or self.key_id:
            return ""
        return user.get_username()

    @property
    def label(self):
        return self.username or self.key_id or self.door


@sync_and_async_middleware
def record_actor(get_response):
    """Django middleware: the services record console and REST work as done by this request."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            with actor.acting(RequestActor(request)):
                return await get_response(request)

    else:

        def middleware(request):
            with actor.acting(RequestActor(request)):
                return get_response(request)

    return middleware
