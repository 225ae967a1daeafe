"""Benchmark worker processes, forked from the bench process."""

import signal


def as_worker():
    """Leave Ctrl-C to the parent, and let its `terminate()` end this process quietly.

    A forked worker inherits the parent's SIGTERM handler, which raises SystemExit so the
    parent can clean up; in a worker that only prints a traceback from wherever it was.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
