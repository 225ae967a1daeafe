"""ASGI entry point: SDK requests to the AWS endpoint, pages and the REST API to Django.

Served by uvicorn (`make run`) or Daphne (`manage.py runserver`, one CI leg).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Django must be set up before anything imports models.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from console.live.routing import websocket_urlpatterns  # noqa: E402
from console.wire.endpoint import router  # noqa: E402

# Static files (the console's CSS and htmx, the admin's) are served asynchronously from the apps'
# static folders, so `make run` needs no collectstatic and no sync middleware: a sync middleware
# would make Django run async views (long polls) in a thread each.
# Live console pages connect over WebSockets with their login session.
application = ProtocolTypeRouter(
    {
        "http": router(ASGIStaticFilesHandler(django_application)),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
