"""Putting one rendered message on the wire: an HTTP(S) POST or an email. No SNS rules here."""

import contextlib
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.mail import EmailMessage

# SNS gives an HTTP(S) endpoint 15 s; Roost gives an SMTP server the same (EMAIL_TIMEOUT).
TIMEOUT_SECONDS = 15
# Enough of a failing endpoint's answer to explain it in the delivery log.
ERROR_BODY_BYTES = 300
INTERRUPTED = "Interrupted: the worker stopped before the endpoint answered"

_open = set()  # the connections post() is using, for interrupt() to cut off
_interrupted = False


@dataclass
class Outcome:
    """How one attempt went. `permanent` failures are not retried (SNS: 4xx, bad endpoints)."""

    ok: bool
    status_code: int | None = None
    latency_ms: int = 0
    error: str = ""
    permanent: bool = False


def post(url, body, headers):
    """POST body to url without following redirects; 2xx is success, as SNS counts it."""
    started = time.monotonic()
    parts = urlsplit(url)
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=TIMEOUT_SECONDS
            )
        else:
            return Outcome(False, error=f"Unsupported URL scheme {parts.scheme!r}", permanent=True)
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        _open.add(connection)
        try:
            if _interrupted:
                raise ConnectionAbortedError(INTERRUPTED)
            connection.request("POST", path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            answer = response.read(ERROR_BODY_BYTES)
        finally:
            _open.discard(connection)
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        error = INTERRUPTED if _interrupted else _describe(error)
        return Outcome(False, latency_ms=_since(started), error=error)
    latency = _since(started)
    if 200 <= response.status < 300:
        return Outcome(True, response.status, latency)
    reason = f"HTTP {response.status} {response.reason}".strip()
    detail = answer.decode(errors="replace").strip()
    return Outcome(
        False,
        response.status,
        latency,
        f"{reason}: {detail}" if detail else reason,
        permanent=400 <= response.status < 500 and response.status != 429,
    )


def interrupt():
    """Cut off every HTTP(S) POST in progress and fail those that follow: the worker is stopping.

    Each ends as a failed attempt, retried as its delivery policy says, so a warm shutdown does
    not wait up to TIMEOUT_SECONDS for slow endpoints. Safe from a signal handler (no lock).
    """
    global _interrupted
    _interrupted = True
    for connection in list(_open):
        if connection.sock is not None:
            # The plain socket's shutdown, under TLS too: SSLSocket's would drop its TLS state
            # while the sending thread reads it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)


def send_email(to, subject, body, sender, headers=None):
    """Send one email through Django's configured backend (SMTP from the environment)."""
    started = time.monotonic()
    try:
        EmailMessage(subject, body, sender, [to], headers=headers or {}).send()
    except (OSError, ValueError) as error:
        return Outcome(False, latency_ms=_since(started), error=_describe(error))
    return Outcome(True, latency_ms=_since(started))


def _since(started):
    return int((time.monotonic() - started) * 1000)


def _describe(error):
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if text != type(error).__name__ else text
