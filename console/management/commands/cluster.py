"""Run Roost as a cluster on this machine: nginx, two web processes, two workers and beat.

What `make cluster` runs. It refuses, in one line, settings the processes cannot share (SQLite,
the embedded broker, no Redis for the channel layer) before it touches anything; installs nginx
when it is missing (as root, with apt-get); migrates once, before any web process starts; creates
the first admin and access key as `make run` does; writes nginx.conf and a Procfile into the data
directory (console/cluster.py says what runs) and runs that Procfile under honcho in the
foreground. Once Roost is ready through nginx it says so, with the first start's secrets last.

Honcho runs in a process group of its own, so a Ctrl-C at the terminal (or SIGTERM to this
command's group) reaches this process only, which passes it on to honcho exactly once; honcho
sends SIGTERM to every process's group (nginx and its workers included) and kills what is left
after 5 s. A stop that was asked for ends with status 0 and says how long it took; a process
that exits by itself stops the others and ends the command with a non-zero status.
"""

import os
import pty
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from console import cluster, graceful_nginx, metrics
from console.management.commands.bootstrap import bootstrap, endpoint_for
from console.management.commands.serve import FORWARDED_SIGNALS, Relay, framed

READY_PATH = "/readyz"
POLL_SECONDS = 0.2


def ready(url, timeout=2.0):
    """Whether url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):  # HTTPError (a 502 or 503 while starting) is an OSError
        return False


def accepts(socket_path):
    """Whether a server accepts connections on this Unix socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(socket_path))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = (
        "Run Roost as a cluster on this machine: nginx on HOST:PORT in front of two web "
        "processes, the Celery workers of the Procfile and one beat, on PostgreSQL and Redis."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="Port nginx listens on (default: $PORT or 8000).",
        )
        parser.add_argument(
            "--host",
            default=os.environ.get("HOST") or "127.0.0.1",
            help="Address nginx listens on (default: $HOST or 127.0.0.1).",
        )
        parser.add_argument(
            "--ready-timeout",
            type=float,
            default=120.0,
            help="How long to wait for Roost to be ready through nginx before saying it is not.",
        )

    def handle(self, *args, port, host, ready_timeout, **options):
        reason = cluster.refusal(os.environ)
        if reason:
            refuse(reason)
        try:
            nginx = cluster.find_nginx() or cluster.install_nginx(self.stdout.write)
            layout = cluster.Layout.in_data_dir(settings.DATA_DIR)
            layout.prepare()
            commands = cluster.processes(layout, nginx)
            layout.nginx_conf.write_text(cluster.nginx_conf(layout, host, port))
            layout.procfile.write_text(cluster.procfile_text(commands))
            cluster.check_nginx_conf(nginx, layout)
        except cluster.ClusterError as error:
            refuse(str(error))

        # Once, before any web process starts: the new code's web processes need the new schema.
        self.stdout.write("Applying migrations (manage.py migrate --noinput) …")
        self.stdout.flush()
        migrate = [sys.executable, str(cluster.BASE_DIR / "manage.py"), "migrate", "--noinput"]
        if subprocess.run(migrate, stdin=subprocess.DEVNULL).returncode != 0:
            refuse("the migrations failed (see above); nothing was started")

        endpoint = endpoint_for(port)
        created = bootstrap(endpoint, self.stdout.write, self.style)
        connections.close_all()
        metrics.reset_multiprocess_dir()  # counters start at 0, as for any restart
        sys.exit(self.run(layout, commands, host, port, endpoint, created, ready_timeout))

    def run(self, layout, commands, host, port, endpoint, created, ready_timeout):
        """Run the Procfile under honcho until it stops; return the command's exit status."""
        self.stdout.write(
            f"Starting the Roost cluster on {endpoint}/: nginx in front of "
            f"{cluster.WEB_PROCESSES} web processes, then {', '.join(cluster.BACKGROUND)} "
            f"({layout.procfile}) …"
        )
        self.stdout.flush()
        environment = {
            **os.environ,
            # The venv's uvicorn and celery, as `make run` finds them.
            "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        environment.setdefault("ROOST_PUBLIC_URL", endpoint)

        out_fd = sys.stdout.fileno()
        read_fd, write_fd = pty.openpty() if os.isatty(out_fd) else os.pipe()
        honcho = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "honcho",
                "start",
                "-f",
                str(layout.procfile),
                "-d",
                str(cluster.BASE_DIR),
            ],  # fmt: skip
            cwd=cluster.BASE_DIR,
            env=environment,
            stdout=write_fd,
            stderr=write_fd,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=graceful_nginx.die_with_parent,
        )
        os.close(write_fd)
        relay = Relay(read_fd, out_fd)
        stop_asked = None  # when the first stop signal came

        def forward(signum, frame):
            nonlocal stop_asked
            if stop_asked is not None:
                return  # make passes SIGTERM on once more; honcho is already stopping
            stop_asked = time.monotonic()
            if honcho.poll() is None:
                # honcho stops its processes on SIGINT and SIGTERM only; a hangup would kill it
                # and leave them running.
                honcho.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, forward)

        started = time.monotonic()
        url = f"http://{_local(host)}:{port}{READY_PATH}"
        # The web processes' sockets first: asking nginx before they listen fills its log.
        while (
            honcho.poll() is None
            and stop_asked is None
            and not (all(map(accepts, layout.sockets)) and ready(url))
        ):
            if time.monotonic() - started > ready_timeout:
                break
            time.sleep(POLL_SECONDS)  # the poll interval, bounded by the timeout above
        if honcho.poll() is None and stop_asked is None:
            if ready(url):
                relay.wait_until_quiet(honcho)
                message = (
                    f"Roost cluster ready on {endpoint}/ after {time.monotonic() - started:.1f} s "
                    f"({READY_PATH} answers 200 through nginx).\n"
                )
                relay.write(message.encode() + (framed(created).encode() if created else b""))
            else:
                note = f" the first admin's secrets are in {created}." if created else ""
                relay.write(
                    f"Roost did not answer {READY_PATH} with 200 through nginx within "
                    f"{ready_timeout:g} s.{note}\n".encode()
                )

        returncode = honcho.wait()
        relay.join()
        if stop_asked is None:
            self.stderr.write(
                f"make cluster: a process exited by itself (honcho status {returncode}); "
                "the others were stopped."
            )
            return returncode or 1
        if relay.killed:
            self.stderr.write(
                "make cluster: honcho had to kill a process that did not stop in time."
            )
            return 1
        self.stdout.write(f"Stopped every process in {time.monotonic() - stop_asked:.1f} s.")
        return 0


def refuse(reason):
    """End the command with the one-line reason and status 1."""
    sys.stderr.write(f"Cannot start the Roost cluster: {reason}\n")
    sys.exit(1)


def _local(host):
    """The address to reach nginx on from this machine, for HOST."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
