"""The loop behind every live connection: render the page's regions, send what changed."""

import json
import logging
import time

from asgiref.sync import sync_to_async
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import DatabaseError, connection

from aws_protocol import database_outage
from aws_protocol.errors import RoostError
from console.live.pages import UnknownPage, fragments_function
from queues import long_poll

logger = logging.getLogger("roost.live")

# A change shows within about this long. Rendering a page's regions takes a few milliseconds
# normally; at a million messages the depth counts take longer, and the interval stretches to
# three times the render time so live pages never take more than a third of a core.
INTERVAL_SECONDS = 0.5
SLOWDOWN = 3
# A message sent through this process ends the wait early, but not before this long after the
# last render: under steady traffic a stream renders at most about four times a second.
SOONEST_SECONDS = 0.25


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
    from console.views.guards import scope_key  # noqa: PLC0415

    function = fragments_function(page)
    try:
        # Viewers with different scopes see different rows: they share no snapshot.
        key = (page, tuple(sorted(args.items())), is_operator(user), scope_key(user))
        fresh_for = min(SOONEST_SECONDS, INTERVAL_SECONDS) * 0.9
        return snapshots.get(key, lambda: function(user, **args), fresh_for)
    except (ObjectDoesNotExist, RoostError) as error:
        raise PageGone(str(error)) from None
    except TypeError as error:  # arguments the page does not take
        raise UnknownPage(f"{page}: {error}") from None
    except DatabaseError as error:
        database_outage.noticed(error, f"live page {page}")
        connection.close()  # a broken connection must go, or every later render fails on it
        raise
    finally:
        # A stream's thread would otherwise hold a pooled PostgreSQL connection for the
        # stream's life: twenty open pages would take the whole pool.
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            connection.close()


render = sync_to_async(_render, thread_sensitive=True)
probe = sync_to_async(database_outage.refusing, thread_sensitive=False)


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
    """Yield the HTML of regions that changed until the server stops; the first yield holds all
    of them.

    Raises UnknownPage or PageGone; the transports close the connection with a reason. A
    transport that stops listening must close the generator (aclose) so its end is counted. When
    the server is stopping the generator ends, so the connection closes and the browser reconnects
    to the next server rather than holding this one up.
    """
    if not user.is_authenticated:
        raise PermissionDenied
    started = time.monotonic()
    open_streams.opened()
    try:
        sent = {}
        while True:
            # During an outage the stream stays open (a browser's EventSource gives up on a 503
            # when it reconnects) and the page shows what it showed until the database is back.
            if database_outage.suspected() and await probe():
                if await long_poll.pause(database_outage.RETRY_SECONDS):
                    return
                continue
            try:
                fragments, cost = await render(user, page, args)
            except DatabaseError:
                if await long_poll.pause(database_outage.RETRY_SECONDS):
                    return
                continue
            changed = [html for region, html in fragments.items() if sent.get(region) != html]
            sent = dict(fragments)
            if changed:
                yield "".join(changed)
            interval = max(INTERVAL_SECONDS, cost * SLOWDOWN)
            soonest = min(max(SOONEST_SECONDS, cost * SLOWDOWN), interval)
            if await long_poll.pause(soonest):
                return
            if await long_poll.pause_until_change(interval - soonest):
                return
    finally:
        open_streams.closed(page, started)
