"""Start and stop the servers under test, each on 127.0.0.1 with its own temporary data dir."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROOST_KEY_ID = "AKIAROOSTBENCH000001"
ROOST_SECRET = "benchsecretbenchsecret"
START_TIMEOUT = 60
SETUP_TIMEOUT = 300


# Roost's Celery workers, as the Procfile starts them for `make run` but quieter: `worker` for
# queue deliveries, `outbound` (threads) for HTTP(S) and email. `bench.worker` is console's Celery
# app plus a hook that touches $ROOST_BENCH_WORKER_READY, so no figure includes their start-up.
_CELERY = (
    sys.executable, "-m", "celery", "-A", "bench.worker", "worker", "--loglevel=WARNING",
    "--without-mingle", "--without-gossip", "--without-heartbeat",
)  # fmt: skip
WORKERS = {
    "worker": _CELERY + ("--queues=celery,moves", "--hostname=worker@%h", "--concurrency=2"),
    "outbound": _CELERY
    + ("--queues=outbound", "--hostname=outbound@%h", "--pool=threads", "--concurrency=8"),
}


@dataclass(frozen=True)
class Target:
    name: str
    argv: tuple  # "{port}" is replaced by the chosen port
    roost: bool


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    # Each started its own session, so a session id covers every process it forks.
    pid: int
    key_id: str
    secret: str
    worker_pids: tuple = ()  # Roost's Celery workers, when a suite needs them
    env: dict | None = None  # Roost's environment, for `manage.py` commands against it

    @property
    def sessions(self):
        """Return the session ids of the server and its workers: all the CPU Roost uses."""
        return (self.pid, *self.worker_pids)


TARGETS = {
    target.name: target
    for target in (
        Target(
            "roost-uvicorn",
            ("uvicorn", "console.asgi:application", "--host", HOST, "--port", "{port}")
            + ("--log-level", "warning"),
            roost=True,
        ),
        Target(
            "roost-daphne",
            ("daphne", "-b", HOST, "-p", "{port}", "console.asgi:application"),
            roost=True,
        ),
        Target("moto", ("moto_server", "-H", HOST, "-p", "{port}"), roost=False),
    )
}


@contextlib.contextmanager
def running(target, worker=False):
    """Start `target` in a fresh data dir, yield its `Server`, and always tear both down.

    With `worker`, a Roost target also gets its Celery workers (topic deliveries run there).
    """
    data_dir = Path(tempfile.mkdtemp(prefix=f"roost-bench-{target.name}-"))
    processes = []
    try:
        port = _free_port()
        env = _environment(target, data_dir, port)
        if target.roost:
            _setup_roost(env, data_dir)
        argv = [str(BIN / target.argv[0])] + [a.format(port=port) for a in target.argv[1:]]
        server_log = data_dir / "server.log"
        processes.append(_start(argv, env, server_log))
        if worker and target.roost:
            for name, worker_argv in WORKERS.items():
                log, ready = data_dir / f"{name}.log", data_dir / f"{name}.ready"
                processes.append(
                    _start(worker_argv, {**env, "ROOST_BENCH_WORKER_READY": str(ready)}, log)
                )
                _wait_for_file(processes[-1], ready, log, f"Celery worker {name}")
        _wait_for_port(processes[0], port, server_log)
        key_id, secret = (ROOST_KEY_ID, ROOST_SECRET) if target.roost else ("bench", "bench")
        url, worker_pids = f"http://{HOST}:{port}", tuple(p.pid for p in processes[1:])
        yield Server(target.name, url, processes[0].pid, key_id, secret, worker_pids, env)
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)


def _start(argv, env, log):
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, not it; we stop its whole group
        )


def _environment(target, data_dir, port):
    env = dict(os.environ)
    if target.roost:
        env.update(
            ROOST_DATA_DIR=str(data_dir),
            SECRET_KEY="bench",
            ROOST_PUBLIC_URL=f"http://{HOST}:{port}",
            CELERY_BROKER_URL=f"sqla+sqlite:///{data_dir}/broker.sqlite3",
            LOG_LEVEL="WARNING",
        )
    return env


def _setup_roost(env, data_dir):
    manage = [sys.executable, "manage.py"]
    for argv in (
        manage + ["migrate", "--no-input"],
        manage + ["createaccesskey", "--id", ROOST_KEY_ID, "--secret", ROOST_SECRET],
    ):
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SETUP_TIMEOUT
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv[1:3])} failed:\n{_tail(done.stdout + done.stderr)}")


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_for_port(process, port, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{_tail(log.read_text())}"
            )
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {START_TIMEOUT} s")


def _wait_for_file(process, path, log, what):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode}:\n{_tail(log.read_text())}"
            )
        if path.exists():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {START_TIMEOUT} s:\n{_tail(log.read_text())}")


def _stop(process):
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
            return


def _tail(text, lines=30):
    return "\n".join(text.strip().splitlines()[-lines:])
