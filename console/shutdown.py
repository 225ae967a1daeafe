"""Stop the web process gracefully: on SIGTERM or SIGINT, long polls and live streams end first.

uvicorn and Daphne both catch SIGTERM and SIGINT; the ASGI lifespan's shutdown comes only once
every connection has closed, too late to end the requests that hold them open. So `graceful`
wraps the application and, at its first request (the server's handlers are installed by then),
wraps the server's signal handlers: a stop signal first makes every long poll answer with no
messages and every live stream end (`queues.long_poll.stop`), then reaches the server.

- uvicorn hears of the signal at once: it stops accepting connections and waits for the requests
  in flight, which now finish within moments.
- Twisted (Daphne) cancels every request as soon as its reactor stops, which would cut long polls
  off unanswered; it hears of the signal once the requests in flight have finished, at most
  ANSWER_SECONDS later.

Once the requests have finished, the queue activity this process counted is written: at uvicorn's
lifespan shutdown (uvicorn then re-raises the signal, which ends the process without atexit
hooks), or by the atexit hook under Daphne, which has no lifespan and exits normally.
"""

import asyncio
import functools
import signal
import threading

from queues import activity, long_poll

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
ANSWER_SECONDS = 1.0

_requests = set()  # the tasks of the requests in flight in this process
_hooked = False
_handing_on = set()  # keeps the tasks of _hand_on referenced until they finish


def graceful(application):
    """Wrap an ASGI application so that stop signals end its long polls and live streams."""

    async def served(scope, receive, send):
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "http":
            # A WebSocket's application ends only when the server closes the socket.
            if scope["type"] == "websocket":
                _hook_signals()
            return await application(scope, receive, send)
        _hook_signals()
        task = asyncio.current_task()
        _requests.add(task)
        try:
            return await application(scope, receive, send)
        finally:
            _requests.discard(task)

    return served


async def _lifespan(receive, send):
    """Answer the server's lifespan events; at shutdown, write the queue activity counted here."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await asyncio.to_thread(activity.stop)
            await send({"type": "lifespan.shutdown.complete"})
            return


def _hook_signals():
    """Wrap the server's SIGTERM and SIGINT handlers; once per process, on its main thread."""
    global _hooked
    if _hooked or threading.current_thread() is not threading.main_thread():
        return
    _hooked = True
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        server_handler = signal.getsignal(signum)
        if callable(server_handler):
            signal.signal(signum, functools.partial(_on_signal, loop, server_handler))


def _on_signal(loop, server_handler, signum, frame):
    # A signal handler may interrupt the loop's thread while it holds a lock the stop takes: the
    # stop runs as a callback on the loop.
    loop.call_soon_threadsafe(long_poll.stop)
    if getattr(server_handler, "__module__", "").startswith("twisted."):
        loop.call_soon_threadsafe(_start_hand_on, loop, server_handler, signum)
    else:
        server_handler(signum, frame)


def _start_hand_on(loop, server_handler, signum):
    task = loop.create_task(_hand_on(loop, server_handler, signum))
    _handing_on.add(task)
    task.add_done_callback(_handing_on.discard)


async def _hand_on(loop, server_handler, signum):
    """Give Twisted the signal once the requests in flight have finished (at most
    ANSWER_SECONDS): woken long polls answer, live streams close, within a few loop turns."""
    deadline = loop.time() + ANSWER_SECONDS
    while _requests and loop.time() < deadline:
        await asyncio.sleep(0.01)
    server_handler(signum, None)
