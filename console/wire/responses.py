"""What a protocol adapter hands back to the AWS endpoint: a response, or a wait for messages."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list = field(default_factory=list)  # extra (name, value) str pairs


@dataclass
class Pending:
    """A long poll: retry `attempt` (-> Response or None) when the queue is signalled."""

    queue_id: int
    wait_seconds: float
    attempt: Callable[[], "Response | None"]
    empty: Response
