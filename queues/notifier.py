"""Wake long-polling receivers in this process when a queue gains visible messages.

Waiters are asyncio futures on the server's event loop; the service signals from the database
thread after commit, so signalling goes through call_soon_threadsafe.

When the server stops (`stop()`), every waiter wakes and later waits return at once, so long
polls answer and the server can exit; `pause()` gives other long-lived loops (the console's live
streams) a sleep that `stop()` ends too, and `pause_until_signal()` one that any queue's signal
ends as well, so a live page shows a message sent through this process at once.
"""

import asyncio
import threading

_waiters = {}  # queue id -> set of (loop, future)
_sleepers = set()  # (loop, future) of pause()
_watchers = set()  # (loop, future) of pause_until_signal()
_lock = threading.Lock()
_stopping = False


def signal(queue_id):
    """Wake every receiver waiting on this queue (safe from any thread)."""
    with _lock:
        waiting = list(_waiters.pop(queue_id, ()))
        if _watchers:
            waiting.extend(_watchers)
            _watchers.clear()
    for loop, future in waiting:
        loop.call_soon_threadsafe(_wake, future)


def signal_all():
    """Wake every waiter: something changed that this process did not see happen."""
    with _lock:
        queue_ids = list(_waiters)
    for queue_id in queue_ids:
        signal(queue_id)


def stop():
    """Wake every waiter and sleeper for good: the server is stopping (safe from any thread,
    not from a signal handler, which may interrupt a holder of the lock)."""
    global _stopping
    with _lock:
        _stopping = True
        waiting = [entry for entries in _waiters.values() for entry in entries]
        waiting.extend(_sleepers)
        waiting.extend(_watchers)
        _waiters.clear()
        _sleepers.clear()
        _watchers.clear()
    for loop, future in waiting:
        loop.call_soon_threadsafe(_wake, future)


def stopping():
    """Whether the server is stopping: long polls answer at once, live streams end."""
    return _stopping


def has_waiters():
    return bool(_waiters)


def _wake(future):
    if not future.done():
        future.set_result(True)


async def _wait(register, unregister, timeout):
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    entry = (loop, future)
    with _lock:
        if _stopping:
            return True
        register(entry)
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        return False
    finally:
        with _lock:
            unregister(entry)


async def wait(queue_id, timeout):
    """Wait until the queue is signalled, the server stops or `timeout` seconds pass; True unless
    the time ran out."""

    def register(entry):
        _waiters.setdefault(queue_id, set()).add(entry)

    def unregister(entry):
        waiting = _waiters.get(queue_id)
        if waiting is not None:
            waiting.discard(entry)
            if not waiting:
                del _waiters[queue_id]

    return await _wait(register, unregister, timeout)


async def pause(seconds):
    """Sleep `seconds`, less if the server starts stopping; True if it did."""
    await _wait(_sleepers.add, _sleepers.discard, seconds)
    return _stopping


async def pause_until_signal(seconds):
    """Sleep `seconds`, less if any queue is signalled or the server starts stopping; True if it
    is stopping."""
    await _wait(_watchers.add, _watchers.discard, seconds)
    return _stopping
