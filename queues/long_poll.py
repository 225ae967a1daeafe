"""Wait for messages without holding a thread: the one loop every front door's long poll uses.

A long poll must not keep a stopping server waiting: after `stop()` every wait ends at once and
the long poll answers as if its time were up, with no messages.
"""

import asyncio
import logging

from queues import cross_process, notifier

logger = logging.getLogger("roost.long_poll")

# Even unsignalled, a waiter looks again this often: the safety net for a missed wake-up.
RECHECK_SECONDS = 1.0

_polling = set()  # the tasks of the long polls waiting in this process


async def wait_for_messages(queue_id, wait_seconds, attempt, gone=None):
    """Await `attempt()` each time the queue is signalled until it returns something.

    `attempt` is an async callable returning a result, or None while there is nothing yet.
    Returns that result, or None when `wait_seconds` pass, the server is stopping, or the `gone`
    future completes (the client went away: claiming messages for it would only hide them for a
    visibility timeout).
    """
    loop = asyncio.get_running_loop()
    cross_process.ensure_watching()
    deadline = loop.time() + wait_seconds
    task = asyncio.current_task()
    _polling.add(task)
    logger.debug("long poll on queue %s waits up to %g s", queue_id, wait_seconds)
    try:
        while not notifier.stopping() and (remaining := deadline - loop.time()) > 0:
            woken = asyncio.ensure_future(notifier.wait(queue_id, min(remaining, RECHECK_SECONDS)))
            if gone is None:
                await woken
            else:
                await asyncio.wait({woken, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone.done():
                    woken.cancel()
                    return None
            if notifier.stopping():
                return None
            result = await attempt()
            if result is not None:
                return result
        return None
    finally:
        _polling.discard(task)


async def pause(seconds):
    """Sleep `seconds` between two rounds of a long-lived request (a live console stream);
    True, at once, when the server is stopping and the request should end."""
    return await notifier.pause(seconds)


async def pause_until_change(seconds):
    """Like `pause`, but a message arriving in any queue through this process ends it early."""
    return await notifier.pause_until_signal(seconds)


def stop():
    """The server is stopping: end every long poll and pause now, and those that start later.

    Call on the event loop's thread (not from a signal handler: it takes locks).
    """
    if not notifier.stopping():
        logger.info("Stopping: %d long poll(s) answer now, with no messages", len(_polling))
    notifier.stop()
