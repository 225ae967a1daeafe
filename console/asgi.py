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

from aws_protocol.endpoint import Endpoint  # noqa: E402
from console import access_keys, health, metrics, shutdown  # noqa: E402
from console.live.routing import websocket_urlpatterns  # noqa: E402
from notifications.wire import sns_query  # noqa: E402
from queues.wire import sqs_json, sqs_query  # noqa: E402

# SQS over JSON and query, SNS over query, all at one endpoint; keys checked against the console's.
aws_endpoint = Endpoint(
    json_protocol=sqs_json,
    query_protocols=[sqs_query, sns_query],
    keys=access_keys,
    observe=metrics.observe_aws_request,
)

# The health probes (/healthz, /readyz) stay out of uvicorn's and Daphne's access logs.
health.quiet_access_logs()

# Static files (the console's CSS and htmx, the admin's) are served asynchronously from the apps'
# static folders, so `make run` needs no collectstatic and no sync middleware: a sync middleware
# would make Django run async views (long polls) in a thread each.
# Live console pages connect over WebSockets with their login session.
application = ProtocolTypeRouter(
    {
        # /metrics (console/metrics.py) is answered before Django, as SDK requests are.
        "http": metrics.router(aws_endpoint.router(ASGIStaticFilesHandler(django_application))),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
# On SIGTERM or SIGINT, long polls answer and live streams end before the server stops.
application = shutdown.graceful(application)
