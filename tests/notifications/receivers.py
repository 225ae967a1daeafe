"""Real endpoints for live delivery tests: an HTTP receiver and an SMTP server, both recording.

Both listen on a free local port in a thread of the test process, so the live worker reaches them
over real sockets, and both wait with deadlines rather than sleeps.
"""

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from tests.servers import WAIT_SECONDS, free_port, wait_until  # the tests import wait_until here


@dataclass
class ReceivedRequest:
    """One request the HTTP receiver got, and the status it answered."""

    method: str
    path: str
    query: dict
    # Lower-cased names; the receiver never gets one header twice.
    headers: dict
    body: str
    status: int

    def json(self):
        return json.loads(self.body)


@dataclass
class _Plan:
    failures: int | None = 0  # None: fail every time
    status: int = 500


class HttpReceiver:
    """An HTTP endpoint that records every request and fails on command, path by path.

    `fail(path, times=2)` answers the next two requests to path with 500, `fail(path)` every one;
    `hold(path)` leaves requests to path unanswered until `release(path)`; anything else gets 200.
    """

    # Held requests are answered after this long anyway: less than Roost's 15 s send timeout.
    HOLD_SECONDS = 14

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = []
        self._plans = {}
        self._holds = {}
        self._held = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                receiver._handle(self)

            do_GET = do_PUT = do_POST

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def endpoint(self, path):
        return f"{self.url}/{path.lstrip('/')}"

    def fail(self, path, times=None, status=500):
        """Answer the next `times` requests to path (all, when None) with status."""
        with self._lock:
            self._plans[self._path(path)] = _Plan(times, status)

    def hold(self, path):
        """Leave the requests to path that arrive from now on unanswered until release(path)."""
        with self._lock:
            self._holds[self._path(path)] = threading.Event()

    def release(self, path):
        with self._lock:
            hold = self._holds.pop(self._path(path), None)
        if hold is not None:
            hold.set()

    def held(self, path):
        """How many requests to path are waiting for their answer."""
        with self._lock:
            return self._held.get(self._path(path), 0)

    def requests(self, path=None):
        with self._lock:
            return [
                request
                for request in self._requests
                if path is None or request.path == self._path(path)
            ]

    def wait_for(self, path, count=1, timeout=WAIT_SECONDS):
        """Wait until path got at least count requests; return them all."""
        return wait_until(
            lambda: (found := self.requests(path)) and len(found) >= count and found,
            timeout,
            what=f"{count} request(s) to {path}",
        )

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @staticmethod
    def _path(path):
        return "/" + path.lstrip("/")

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8", errors="replace")
        parts = urlsplit(handler.path)
        with self._lock:
            plan = self._plans.get(parts.path)
            status = 200
            if plan is not None and (plan.failures is None or plan.failures > 0):
                status = plan.status
                if plan.failures is not None:
                    plan.failures -= 1
            self._requests.append(
                ReceivedRequest(
                    method=handler.command,
                    path=parts.path,
                    query={key: values[0] for key, values in parse_qs(parts.query).items()},
                    headers={name.lower(): value for name, value in handler.headers.items()},
                    body=body,
                    status=status,
                )
            )
            hold = self._holds.get(parts.path)
            if hold is not None:
                self._held[parts.path] = self._held.get(parts.path, 0) + 1
        if hold is not None:
            hold.wait(self.HOLD_SECONDS)
            with self._lock:
                self._held[parts.path] -= 1
        answer = b"ok" if status < 300 else b"receiver told to fail"
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


@dataclass
class ReceivedEmail:
    sender: str
    recipients: list
    message: object = field(repr=False)  # email.message.EmailMessage

    @property
    def subject(self):
        return self.message["Subject"]

    @property
    def body(self):
        return self.message.get_body(preferencelist=("plain",)).get_content()


class SmtpServer:
    """An SMTP server (aiosmtpd) on a free local port that keeps every email it is sent."""

    def __init__(self):
        self._lock = threading.Lock()
        self._emails = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self._emails.append(ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def emails(self, to=None):
        with self._lock:
            return [email for email in self._emails if to is None or to in email.recipients]

    def wait_for(self, to, count=1, timeout=WAIT_SECONDS):
        """Wait until `to` got at least count emails; return them all."""
        return wait_until(
            lambda: (found := self.emails(to)) and len(found) >= count and found,
            timeout,
            what=f"{count} email(s) to {to}",
        )

    def close(self):
        self._controller.stop()
