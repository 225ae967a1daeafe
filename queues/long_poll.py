"""Wait for messages without holding a thread: the one loop every front door's long poll uses."""

import asyncio

from queues import cross_process, notifier

# Even unsignalled, a waiter looks again this often: the safety net for a missed wake-up.
RECHECK_SECONDS = 1.0


async def wait_for_messages(queue_id, wait_seconds, attempt, gone=None):
    """Await `attempt()` each time the queue is signalled until it returns something.

    `attempt` is an async callable returning a result, or None while there is nothing yet.
    Returns that result, or None when `wait_seconds` pass or the `gone` future completes (the
    client went away: claiming messages for it would only hide them for a visibility timeout).
    """
    loop = asyncio.get_running_loop()
    cross_process.ensure_watching()
    deadline = loop.time() + wait_seconds
    while (remaining := deadline - loop.time()) > 0:
        woken = asyncio.ensure_future(notifier.wait(queue_id, min(remaining, RECHECK_SECONDS)))
        if gone is None:
            await woken
        else:
            await asyncio.wait({woken, gone}, return_when=asyncio.FIRST_COMPLETED)
            if gone.done():
                woken.cancel()
                return None
        result = await attempt()
        if result is not None:
            return result
    return None
