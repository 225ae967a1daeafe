"""Server-Sent Events: the live stream as an async streaming response (`/live/sse/`)."""

import asyncio

from django.http import HttpResponse, StreamingHttpResponse

from console import metrics
from console.live import stream
from console.live.pages import UnknownPage

# Comments keep idle connections open through proxies that time out quiet ones.
HEARTBEAT_SECONDS = 15
# EventSource waits this long before reconnecting after the server goes away.
RETRY_MS = 1000


def _event(name, data):
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


async def live_events(request):
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Log in to follow live updates.", status=401, content_type="text/plain")
    page = request.GET.get("page", "")
    args = stream.parse_args(request.GET.get("args"))

    async def events():
        yield f"retry: {RETRY_MS}\n\n"
        updates = stream.changes(user, page, args)
        pending = None
        metrics.LIVE_CONNECTIONS.inc()
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(updates))
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
                if not done:
                    yield ": heartbeat\n\n"
                    continue
                try:
                    html, pending = pending.result(), None
                except StopAsyncIteration:  # the server is stopping: the browser reconnects
                    return
                yield _event("live", html)
        except (UnknownPage, stream.PageGone) as error:
            yield _event("gone", str(error))
        finally:
            # A client that goes away cancels this generator while `pending` may be running
            # `updates` in a task of its own: closing it then would fail ("asynchronous generator
            # is already running"), so the task is cancelled and waited for first. The wait does
            # not raise for the task's own cancellation.
            metrics.LIVE_CONNECTIONS.dec()
            if pending is not None:
                pending.cancel()
                await asyncio.wait({pending})
            await updates.aclose()

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
