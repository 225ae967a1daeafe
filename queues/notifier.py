"""Wake long-polling receivers in this process when a queue gains visible messages.

Waiters are asyncio futures on the server's event loop; the service signals from the database
thread after commit, so signalling goes through call_soon_threadsafe.
"""

import asyncio
import threading

_waiters = {}  # queue id -> set of (loop, future)
_lock = threading.Lock()


def signal(queue_id):
    """Wake every receiver waiting on this queue (safe from any thread)."""
    with _lock:
        waiting = _waiters.pop(queue_id, None)
    if waiting:
        for loop, future in waiting:
            loop.call_soon_threadsafe(_wake, future)


def signal_all():
    """Wake every waiter: something changed that this process did not see happen."""
    with _lock:
        queue_ids = list(_waiters)
    for queue_id in queue_ids:
        signal(queue_id)


def has_waiters():
    return bool(_waiters)


def _wake(future):
    if not future.done():
        future.set_result(True)


async def wait(queue_id, timeout):
    """Wait until the queue is signalled or `timeout` seconds pass; True if signalled."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    entry = (loop, future)
    with _lock:
        _waiters.setdefault(queue_id, set()).add(entry)
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        return False
    finally:
        with _lock:
            waiting = _waiters.get(queue_id)
            if waiting is not None:
                waiting.discard(entry)
                if not waiting:
                    del _waiters[queue_id]
