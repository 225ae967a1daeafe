"""Headers for the console's pages: a Content-Security-Policy that lets run only the console's own
scripts and styles, and no caching of what a logged-in user was shown.

The console has no inline script, style or event handler (htmx's indicator styles are turned off
in base.html's htmx-config), so the policy needs no 'unsafe-inline'. Live pages connect back to
the same host over SSE or WebSockets; 'self' covers ws(s) only in CSP level 3 browsers, so the
host's ws:// and wss:// are named too. Django's admin and the REST API's documentation are not
the console's pages and keep their own rules.
"""

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.cache import patch_cache_control
from django.utils.decorators import sync_and_async_middleware

NOT_CONSOLE = ("/admin/", "/api/")

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def content_security_policy(host):
    """The console's policy for a page served to this host (None when the host is unknown)."""
    connect = "connect-src 'self'"
    if host:
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*POLICY, connect))


def _add_headers(request, response):
    # A session cookie is what lets a page show someone's queues; such a page must not be kept
    # by the browser or a shared cache (the back button after logging out, a proxy).
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        patch_cache_control(response, private=True, no_store=True)
    if request.path.startswith(NOT_CONSOLE) or "Content-Security-Policy" in response:
        return response
    if not response.get("Content-Type", "").startswith("text/html"):
        return response
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None
    response["Content-Security-Policy"] = content_security_policy(host)
    return response


@sync_and_async_middleware
def console_headers(get_response):
    """Add the console's Content-Security-Policy and Cache-Control to every page."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _add_headers(request, await get_response(request))

    else:

        def middleware(request):
            return _add_headers(request, get_response(request))

    return middleware
