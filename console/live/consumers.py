"""WebSockets: the live stream as a Channels consumer (`/live/ws/`)."""

import asyncio
from contextlib import aclosing
from urllib.parse import parse_qs, urlsplit

from channels.generic.websocket import AsyncWebsocketConsumer

from console import metrics
from console.live import stream
from console.live.pages import UnknownPage

# Close codes in the application range (4000-4999), so the browser knows not to retry in vain.
UNAUTHENTICATED = 4401
GONE = 4404


def same_origin(scope):
    """Whether the page that opened the socket is ours: WebSockets ignore the same-origin policy,
    so another site's page could otherwise read a logged-in user's console."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    return bool(origin) and urlsplit(origin).netloc == host


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if not same_origin(self.scope) or user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        page = (query.get("page") or [""])[0]
        args = stream.parse_args((query.get("args") or ["{}"])[0])
        await self.accept()
        metrics.LIVE_CONNECTIONS.inc()
        self._counted = True
        self._pump = asyncio.ensure_future(self._send_changes(user, page, args))

    async def _send_changes(self, user, page, args):
        # aclosing: a disconnect cancels this task while it waits to send, and the stream must
        # end then, not whenever the garbage collector finds it.
        try:
            async with aclosing(stream.changes(user, page, args)) as changes:
                async for html in changes:
                    await self.send(text_data=html)
        except (UnknownPage, stream.PageGone):
            await self.close(code=GONE)
        # The stream also ends when the server stops, which then closes the socket itself, with a
        # code the page reconnects after (uvicorn: 1012; Daphne drops it: 1006).

    async def disconnect(self, code):
        if getattr(self, "_counted", False):
            self._counted = False
            metrics.LIVE_CONNECTIONS.dec()
        pump = getattr(self, "_pump", None)
        if pump is not None:
            pump.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        """The page only listens; anything it sends is ignored."""
