"""The loop behind every live connection: render the page's regions, send what changed."""

import asyncio
import json
import logging
import time

from asgiref.sync import sync_to_async
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from console.errors import RoostError
from console.live.pages import UnknownPage, fragments_function

logger = logging.getLogger("roost.live")

# A change shows within about this long. Rendering a page's regions takes a few milliseconds
# normally; at a million messages the depth counts take longer, and the interval stretches to
# three times the render time so live pages never take more than a third of a core.
INTERVAL_SECONDS = 0.5
SLOWDOWN = 3


class PageGone(Exception):
    """The page's object no longer exists (a deleted queue or topic)."""


def parse_args(text):
    """The page arguments a browser sent: a JSON object of strings, else nothing."""
    try:
        args = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(args, dict):
        return {}
    return {str(key): str(value) for key, value in args.items() if str(key).isidentifier()}


class _Snapshots:
    """Per-process cache: ten people watching the overview cost one render a tick, not ten."""

    def __init__(self):
        self._entries = {}

    def get(self, key, render, max_age):
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and now - entry[0] < max_age:
            return entry[1], entry[2]
        started = time.monotonic()
        fragments = render()
        cost = time.monotonic() - started
        self._entries[key] = (now, fragments, cost)
        if len(self._entries) > 256:
            oldest = min(self._entries, key=lambda name: self._entries[name][0])
            self._entries.pop(oldest, None)
        return fragments, cost


snapshots = _Snapshots()


def _render(user, page, args):
    from console.roles import is_operator  # noqa: PLC0415 (pages import the views lazily too)

    function = fragments_function(page)
    key = (page, tuple(sorted(args.items())), is_operator(user))
    try:
        return snapshots.get(key, lambda: function(user, **args), INTERVAL_SECONDS * 0.9)
    except (ObjectDoesNotExist, RoostError) as error:
        raise PageGone(str(error)) from None
    except TypeError as error:  # arguments the page does not take
        raise UnknownPage(f"{page}: {error}") from None


render = sync_to_async(_render, thread_sensitive=True)


class _OpenStreams:
    """How many live streams this process is serving; each one's end is logged with the count."""

    def __init__(self):
        self.count = 0

    def opened(self):
        self.count += 1

    def closed(self, page, started):
        self.count -= 1
        logger.info(
            "live stream of %s closed after %.1f s (%d open)",
            page or "?",
            time.monotonic() - started,
            self.count,
        )


open_streams = _OpenStreams()


async def changes(user, page, args):
    """Yield the HTML of regions that changed, forever; the first yield holds all of them.

    Raises UnknownPage or PageGone; the transports close the connection with a reason. A
    transport that stops listening must close the generator (aclose) so its end is counted.
    """
    if not user.is_authenticated:
        raise PermissionDenied
    started = time.monotonic()
    open_streams.opened()
    try:
        sent = {}
        while True:
            fragments, cost = await render(user, page, args)
            changed = [html for region, html in fragments.items() if sent.get(region) != html]
            sent = dict(fragments)
            if changed:
                yield "".join(changed)
            await asyncio.sleep(max(INTERVAL_SECONDS, cost * SLOWDOWN))
    finally:
        open_streams.closed(page, started)
