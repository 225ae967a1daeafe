"""Run Roost's processes (the Procfile, under honcho) and show the first-start secrets last.

What `make run` runs after migrating. It creates the first admin and access key as `bootstrap`
does (their secrets go to a 0600 file in the data directory, not to the output), starts honcho,
waits until the web process answers and only then prints that file, framed, so the secrets are not
buried under the workers' banners (it relays honcho's output, and waits for it to pause
after the web process answers). It then waits for honcho and ends with its exit status.

Honcho runs in a process group of its own, so a Ctrl-C at the terminal reaches this process only,
which passes SIGINT or SIGTERM (and a hangup, as SIGTERM) on to honcho exactly once; honcho then
sends SIGTERM to every Procfile process's group, and SIGKILL to those still running 5 s after the
first one stopped. Each of Roost's processes stops well within that (the web process answers its
long polls and ends its live streams; workers finish the task in hand), so a stop asked for ends
with status 0; one that needed a SIGKILL ends with 1.
"""

import os
import pty
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand
from django.db import connections

from console import metrics
from console.management.commands.bootstrap import bootstrap, endpoint_for

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RULE = "=" * 72
QUIET_SECONDS = 1.0  # how long honcho's output must pause before the secrets are shown
QUIET_TIMEOUT = 20.0  # ... waiting at most this long after the web process answers
KILLED = b"sending SIGKILL"  # what honcho says when a process outlived its grace period


class Relay:
    """Copies a child's output to our stdout and notes when it last wrote.

    honcho writes into a pseudo-terminal when our stdout is one (so it keeps its colours), else
    into a pipe; either way the secrets can be printed once its startup output has settled.
    """

    def __init__(self, read_fd, out_fd):
        self.read_fd = read_fd
        self.out_fd = out_fd
        self.lock = threading.Lock()
        self.last_output = time.monotonic()
        self.killed = False  # whether honcho had to SIGKILL a process
        self._tail = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:  # EIO: the pseudo-terminal's other side is closed
                chunk = b""
            if not chunk:
                break
            seen = self._tail + chunk
            self.killed = self.killed or KILLED in seen
            self._tail = seen[-len(KILLED) :]
            self.write(chunk)
        os.close(self.read_fd)

    def write(self, data):
        with self.lock:
            self.last_output = time.monotonic()
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self.out_fd, view) :]
            except OSError:  # our terminal is gone: keep draining, so honcho never blocks
                pass

    def wait_until_quiet(self, process, quiet=QUIET_SECONDS, timeout=QUIET_TIMEOUT):
        """Wait until the output has paused for `quiet` seconds, at most `timeout` seconds, or
        until the process exits."""
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if time.monotonic() - self.last_output >= quiet:
                return
            time.sleep(0.1)  # the poll interval, bounded by the deadline above

    def join(self):
        self.thread.join(timeout=5)


def answers(url, timeout=1.0):
    """Whether an HTTP server answers at url (with any status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until_answering(url, process, timeout, interval=0.2):
    """Poll url until it answers (True), or until the process exits or timeout seconds pass
    (False)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if answers(url):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)  # the poll interval, bounded by the deadline above
    return False


def framed(path):
    """The credentials file's content framed for the terminal, with where the file is."""
    body = path.read_text(encoding="utf-8").rstrip("\n")
    return "\n".join(
        [
            "",
            RULE,
            "Roost is running. First start: these secrets are shown once, save them now.",
            "",
            body,
            "",
            f"They are also in {path} (readable only by you);",
            "delete that file once they are saved elsewhere.",
            RULE,
            "",
        ]
    )


class Command(BaseCommand):
    help = (
        "Create the first admin and access key if none exist, run the Procfile's processes "
        "under honcho, and once the web process answers print the new secrets (first start only)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="Port the web process listens on (default: $PORT or 8000).",
        )
        parser.add_argument("--procfile", default="Procfile", help="The Procfile to run.")
        parser.add_argument(
            "--ready-timeout",
            type=float,
            default=120.0,
            help="How long to wait for the web process to answer before giving up on showing "
            "the secrets (they stay in the file).",
        )

    def handle(self, *args, port, procfile, ready_timeout, **options):
        endpoint = endpoint_for(port)
        created = bootstrap(endpoint, self.stdout.write, self.style)
        connections.close_all()
        metrics.reset_multiprocess_dir()  # counters start at 0, as for any restart
        self.stdout.write(f"Starting Roost on {endpoint}/ …")
        self.stdout.flush()

        out_fd = sys.stdout.fileno()
        if os.isatty(out_fd):
            read_fd, write_fd = pty.openpty()
        else:
            read_fd, write_fd = os.pipe()
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", procfile, "-p", str(port)],
            stdout=write_fd,
            stderr=write_fd,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )
        os.close(write_fd)
        relay = Relay(read_fd, out_fd)
        stopping = False

        def forward(signum, frame):
            nonlocal stopping
            stopping = True
            if honcho.poll() is None:
                # honcho stops its processes on SIGINT and SIGTERM only; a hangup would kill it
                # and leave them running.
                honcho.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, forward)

        if created is not None:
            host = os.environ.get("HOST") or "127.0.0.1"
            if host in ("0.0.0.0", "::"):
                host = "127.0.0.1"
            host = f"[{host}]" if ":" in host else host
            ready = wait_until_answering(f"http://{host}:{port}/", honcho, ready_timeout)
            if ready:
                relay.wait_until_quiet(honcho)
            if ready and not stopping and honcho.poll() is None:
                relay.write(framed(created).encode())
            elif not stopping and honcho.poll() is None:
                relay.write(
                    f"Roost did not answer on {endpoint}/ within {ready_timeout:g} s; "
                    f"the first admin's password and access key are in {created}.\n".encode()
                )

        returncode = honcho.wait()
        relay.join()
        if stopping:
            returncode = 1 if relay.killed else 0
        sys.exit(returncode)
