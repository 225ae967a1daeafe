"""What a protocol adapter hands back to the AWS endpoint: a response, a wait for messages, or
more work to run on the database thread."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list = field(default_factory=list)  # extra (name, value) str pairs


@dataclass
class Pending:
    """A long poll: `wait(retry, gone)` awaits `retry()` each time there may be something, until it
    answers a Response, the wait ends or `gone` completes (then None, and `empty` is sent).
    `attempt` (-> Response or None) is what `retry` runs on the database thread."""

    wait: Callable[[Callable[[], Awaitable], Awaitable], Awaitable["Response | None"]]
    attempt: Callable[[], "Response | None"]
    empty: Response


@dataclass
class Continue:
    """More work: run `attempt` (-> Response or this Continue again) on the database thread,
    behind the work of the requests that came meanwhile, until it returns a Response."""

    attempt: Callable[[], "Response | Continue"]
