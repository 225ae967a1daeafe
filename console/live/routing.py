from django.urls import path

from console.live.consumers import LiveConsumer

websocket_urlpatterns = [path("live/ws/", LiveConsumer.as_asgi())]
