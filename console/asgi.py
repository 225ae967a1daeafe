"""ASGI entry point: SDK requests to the AWS endpoint, pages and the REST API to Django.

Served by uvicorn (`make run`) or Daphne (`manage.py runserver`, one CI leg).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Django must be set up before anything imports models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from console.wire.endpoint import router  # noqa: E402

application = ProtocolTypeRouter({"http": router(django_application)})
