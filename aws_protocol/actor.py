"""Who is acting in the current request or task, and through which door.

Each door says so once, where a request comes in (the AWS endpoint, the Django middleware), and
the services read it where they record what happened (message lineage, the audit log) instead of
every call passing a principal along. Work nobody asked for (beat's sweeps, a worker's delivery)
is the `system` actor.
"""

from contextlib import contextmanager
from contextvars import ContextVar

DOORS = ("sqs", "sns", "rest", "console", "system")


class Actor:
    """A fixed actor: a door, and the access key id or console user acting through it."""

    __slots__ = ("door", "key_id", "username")

    def __init__(self, door, key_id="", username=""):
        self.door = door
        self.key_id = key_id
        self.username = username

    @property
    def label(self):
        """How people read who it was: the user, else the key id, else the door."""
        return self.username or self.key_id or self.door

    def __repr__(self):
        return f"Actor({self.door!r}, key_id={self.key_id!r}, username={self.username!r})"


SYSTEM = Actor("system")

_current = ContextVar("roost_actor", default=SYSTEM)


def current():
    """The actor of the request or task running now (SYSTEM when no door said)."""
    return _current.get()


@contextmanager
def acting(actor):
    """Run the block as `actor`. Doors may pass any object with door, key_id and username.

    A door whose credentials are known only part-way through (SigV4 is checked inside the
    block) passes an object that reads them from its request when asked.
    """
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
