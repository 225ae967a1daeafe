"""The cluster section of `make bench`: nginx in front of 2 web processes on PostgreSQL and Redis,
against one web process on the same database; `python -m bench.cluster` runs it alone.

It runs only when PostgreSQL and Redis are given (DATABASE_URL, CELERY_BROKER_URL and REDIS_URL,
or the flags); each run uses a throwaway database, `<name>_bench_cluster_<pid>`, on that server.
"""

import argparse
import contextlib
import datetime
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import cluster_load, machine, report, sqs_latency
from bench.client import make_client
from bench.console_data import Postgres, pids_cpu_seconds
from bench.cpu import host_cpu_seconds
from bench.report import Column, Goal
from bench.servers import (
    BIN,
    HOST,
    ROOST_KEY_ID,
    ROOST_SECRET,
    ROOT,
    Server,
    _free_port,
    _setup_roost,
    _start,
    _stop,
    _tail,
)
from bench.stats import percentile

TITLE = "Cluster: nginx, 2 web processes, PostgreSQL and Redis"
READY_TIMEOUT = 180  # the cluster migrates and bootstraps before it answers
QUEUE_ATTRIBUTES = {"VisibilityTimeout": "600"}  # no message reappears during a run
WAKE_GOAL_MS = 100
# Each client has one call under way at a time: 4 keep a request waiting at each of the 2 web
# processes; more only lengthen every call on 2 cores (docs/benchmarks.md).
CLIENTS = 4
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def add_arguments(parser):
    """Add the section's options to `parser` (bench's own, or this module's)."""
    env = os.environ.get
    parser.add_argument(
        "--database-url",
        default=env("DATABASE_URL"),
        help="PostgreSQL server (default $DATABASE_URL)",
    )
    parser.add_argument(
        "--broker-url",
        default=env("CELERY_BROKER_URL"),
        help="Redis for Celery (default $CELERY_BROKER_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=env("REDIS_URL"),
        help="Redis for the channel layer (default $REDIS_URL)",
    )
    parser.add_argument(
        "--cluster-seconds", type=float, help="length of each timed load (default 120; --quick 10)"
    )
    parser.add_argument(
        "--cluster-clients",
        type=int,
        default=CLIENTS,
        help=f"client processes, each sending, receiving and deleting (default {CLIENTS})",
    )
    parser.add_argument(
        "--cluster-queues",
        type=int,
        default=1,
        help="queues the load is spread over (default 1, one hot queue)",
    )
    parser.add_argument(
        "--wake-rounds",
        type=int,
        help="cross-process long-poll wake rounds (default 100; --quick 10)",
    )


def section(args):
    """Run the section, or say in one line why it is skipped; return the problems found."""
    why = _missing(args)
    if why:
        print(f"cluster: skipped: {why}")
        return []
    seconds = args.cluster_seconds or (10 if args.quick else 120)
    rounds = args.wake_rounds or (10 if args.quick else 100)
    db, redis_pid = _Database(args.database_url), _redis_pid(args.broker_url)
    data_dirs = [Path(tempfile.mkdtemp(prefix=f"roost-bench-cluster-{name}-")) for name in "cs"]
    try:
        db.create()
        _setup_roost(_environment(args, db, data_dirs[0]), data_dirs[0])  # migrate, access key
        figures, memory, problems = {}, {}, []
        for name, start, data_dir in (
            ("cluster", _cluster, data_dirs[0]),
            ("one web process", _single, data_dirs[1]),
        ):
            env = _environment(args, db, data_dir)
            _say(f"{name}: starting")
            with start(env, data_dir) as (front, sockets, root):
                queues = _create_queues(front, name, args.cluster_queues)
                _say(
                    f"{name}: {args.cluster_clients} clients, {len(queues)} queue(s), {seconds:g} s"
                )
                figures[name], memory[name], found = _measure(
                    front, root, db, redis_pid, queues, args.cluster_clients, seconds
                )
                problems += [f"{name}: {text}" for text in found]
                if len(sockets) > 1:
                    _say(f"{name}: long-poll wake across web processes, {rounds} rounds")
                    queue = _create_queues(front, "wake", 1)[0]
                    with _webs(sockets[:2]) as (first, second):
                        wakes = sqs_latency.wake_latencies(first, queue, rounds, sending=second)
                    figures[name].update(
                        wake_p50=percentile(wakes, 50), wake_p95=percentile(wakes, 95)
                    )
    finally:
        db.drop()
        for data_dir in data_dirs:
            shutil.rmtree(data_dir, ignore_errors=True)
    _print(args, seconds, rounds, figures, memory)
    return problems


def _missing(args):
    needed = (
        ("--database-url or DATABASE_URL", args.database_url, ("postgres://", "postgresql://")),
        ("--broker-url or CELERY_BROKER_URL", args.broker_url, ("redis://", "rediss://")),
        ("--redis-url or REDIS_URL", args.redis_url, ("redis://", "rediss://")),
    )
    missing = [what for what, url, schemes in needed if not (url or "").startswith(schemes)]
    if missing:
        return f"it needs PostgreSQL and Redis, and was not given {', '.join(missing)}"
    return None


class _Database(Postgres):
    """A throwaway database on the PostgreSQL server that `url` names, named after its database."""

    def __init__(self, url):
        super().__init__(url)
        parts = urlsplit(url)
        self.name = f"{parts.path.strip('/') or 'roost'}_bench_cluster_{os.getpid()}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))


def _environment(args, db, data_dir):
    return {
        **os.environ,
        "ROOST_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": db.url,
        "CELERY_BROKER_URL": args.broker_url,
        "REDIS_URL": args.redis_url,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the Procfile's commands
    }


# Starting the two setups: each yields (the server clients talk to, its web processes, the pid
# whose process tree is all of Roost).


@contextlib.contextmanager
def _cluster(env, data_dir):
    """`manage.py cluster`: nginx, 2 web processes, the Celery workers and beat under honcho."""
    port = _free_port()
    env = {**env, "ROOST_PUBLIC_URL": f"http://{HOST}:{port}"}
    argv = [sys.executable, "manage.py", "cluster", "--port", str(port)]
    with _started(argv, env, data_dir / "cluster.log", port) as process:
        yield _server("cluster", port), _web_sockets(process.pid), process.pid


@contextlib.contextmanager
def _single(env, data_dir):
    """The Procfile as `make run` starts it: one uvicorn web process, the workers and beat."""
    port = _free_port()
    env = {**env, "ROOST_PUBLIC_URL": f"http://{HOST}:{port}", "HOST": HOST}
    argv = [sys.executable, "-m", "honcho", "start", "-f", "Procfile", "-d", str(ROOT)]
    argv += ["-p", str(port)]  # honcho gives the first process type, web, this PORT
    with _started(argv, env, data_dir / "honcho.log", port) as process:
        yield _server("one web process", port), [], process.pid


@contextlib.contextmanager
def _started(argv, env, log, port):
    process = _start(argv, env, log)
    try:
        _wait_until_ready(process, port, log)
        yield process
    finally:
        _stop(process)


def _wait_until_ready(process, port, log):
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{_tail(log.read_text())}")
        url = f"http://{HOST}:{port}/readyz"
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url, timeout=5) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"/readyz not 200 within {READY_TIMEOUT} s:\n{_tail(log.read_text())}")


def _server(name, port, pid=0):
    return Server(name, f"http://{HOST}:{port}", pid, ROOST_KEY_ID, ROOST_SECRET)


def _web_sockets(root):
    """Return the Unix socket of each web process (uvicorn --uds) in `root`'s tree."""
    return sorted(
        argv[argv.index("--uds") + 1]
        for _, argv in _tree(root).values()
        if "--uds" in argv[:-1] and any(Path(arg).name == "uvicorn" for arg in argv[:3])
    )


@contextlib.contextmanager
def _webs(sockets):
    """Yield a Server for each web process's Unix socket, each reached through a TCP relay of
    this process (boto3 speaks TCP only): a plain byte pump, no balancing, no HTTP parsing."""
    with contextlib.ExitStack() as stack:
        yield [
            _server(f"web {i}", stack.enter_context(_relay(path)))
            for i, path in enumerate(sockets, start=1)
        ]


@contextlib.contextmanager
def _relay(path):
    """Yield a port on 127.0.0.1 whose every connection is passed on to the socket at `path`."""
    listener = socket.create_server((HOST, 0))

    def pump(source, target):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)

    def accept():
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                client, _ = listener.accept()
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(path)
                for ends in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pump, args=ends, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def _create_queues(server, prefix, count):
    sqs = make_client("sqs", server)
    name = prefix.replace(" ", "-")
    return [
        sqs.create_queue(QueueName=f"{name}-{i}", Attributes=QUEUE_ATTRIBUTES)["QueueUrl"]
        for i in range(count)
    ]


# Measuring one setup


def _measure(server, root, db, redis_pid, queues, clients, seconds):
    """Load `server`; return its figures, its processes' memory at start and end, problems."""
    readings = {}

    def read(when):
        tree = _tree(root)
        readings[when] = {
            "roost": _cpu(tree),
            "nginx": _cpu(
                pid for pid, (_, argv) in tree.items() if "".join(argv[:1]).startswith("nginx")
            ),
            "db": sum((db.backends_cpu() or {}).values()),
            "redis": pids_cpu_seconds([redis_pid]).get(redis_pid) if redis_pid else None,
            "host": host_cpu_seconds(),
            "rss": {pid: (_label(pid, tree), _rss(pid)) for pid in tree},
        }

    load = cluster_load.run(
        server, queues, clients, seconds, lambda: read("start"), lambda: read("end")
    )
    start, end = readings["start"], readings["end"]
    used = {key: end[key] - start[key] for key in ("roost", "nginx", "db")}
    redis = None if start["redis"] is None else end["redis"] - start["redis"]
    busy, total = (a - b for a, b in zip(end["host"], start["host"], strict=True))
    ours = used["roost"] + used["db"] + (redis or 0.0) + load.client_cpu_seconds

    def per_message(cpu):
        delivered = load.deleted_in_window
        return None if cpu is None or not delivered else cpu / delivered * 1e6

    figures = {
        "rate": load.rate,
        "roost_us": per_message(used["roost"]),
        "nginx_us": per_message(used["nginx"]) if used["nginx"] else None,
        "db_us": per_message(used["db"]),
        "redis_us": per_message(redis),
        "server_us": per_message(used["roost"] + used["db"]),
        "client_us": per_message(load.client_cpu_seconds),
        "other_load": max(0.0, busy - ours) / total if total else 0.0,
        "errors": load.errors,
        "lost": load.lost,
        "duplicated": load.duplicated + load.unexpected,
        "messages": load.deleted_in_window,
        "cores": (used["roost"] + used["db"]) / load.seconds,
    }
    for call in ("send", "receive", "delete"):
        samples = load.latencies.get(call, ())
        figures[f"{call}_p50"], figures[f"{call}_p99"] = (percentile(samples, p) for p in (50, 99))
    memory = {
        pid: (label, rss, end["rss"].get(pid, (label, None))[1])
        for pid, (label, rss) in start["rss"].items()
        if label
    }
    return figures, memory, load.problems()


def _tree(root):
    """{pid: (parent pid, argv)} of `root` and every process under it."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry.name}/stat") as f:
                    stat = f.read()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    tree, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            tree[pid] = (parents.get(pid), f.read().decode(errors="replace").split("\0")[:-1])
        frontier += [child for child, parent in parents.items() if parent == pid]
    return tree


def _cpu(pids):
    """CPU seconds of these processes, with their reaped children's (utime..cstime)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            ticks += sum(int(value) for value in stat[stat.rindex(")") + 2 :].split()[11:15])
    return ticks / _TICKS


def _rss(pid):
    with contextlib.suppress(OSError), open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE
    return None


def _label(pid, tree):
    """Name a process of the tree for the memory table; None for shell wrappers."""
    parent, argv = tree[pid]
    if not argv or Path(argv[0]).name in ("sh", "bash", "dash"):
        return None
    if argv[0].startswith("nginx:"):  # nginx rewrites its command line
        return " ".join(argv[0].split()[:2])
    words = argv[1:] if Path(argv[0]).name.startswith("python") else argv
    words = words[1:] if words[:1] == ["-m"] else words
    name = Path(words[0]).name
    if name == "uvicorn":
        return f"uvicorn {Path(words[words.index('--uds') + 1]).stem}" if "--uds" in words else name
    if name == "celery":
        name = "celery " + next((w[11:] for w in words if w.startswith("--hostname=")), "beat")
    else:
        name = " ".join([name, *words[1:2]])
    # A copy of its parent: a Celery pool process, or honcho's watcher of one Procfile line.
    copy = tree.get(parent, (0, None))[1] == argv
    return f"{name.split('@')[0]}{' (child)' if copy else ''}"


def _redis_pid(url):
    """The local Redis server's pid, or None when it runs elsewhere (or cannot say)."""
    import redis  # a dependency of Roost's Redis broker

    with contextlib.suppress(Exception):
        pid = redis.Redis.from_url(url, socket_timeout=5).info("server")["process_id"]
        if (
            urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
            and Path(f"/proc/{pid}").exists()
        ):
            return pid
    return None


# The report


def _times_single(f, single):
    return f["rate"] / single["rate"] if single and single["rate"] else None


def _ms(key):
    return Column(key.replace("_", " ") + " ms", lambda f, base: f.get(key), "{:.1f}")


FIGURES = (
    Column("msgs/s", lambda f, base: f["rate"], "{:,.0f}"),
    Column("× one web process", _times_single, "{:.2f}×"),
    Column("Roost µs/msg", lambda f, base: f["roost_us"], "{:,.0f}"),
    Column("of which nginx", lambda f, base: f["nginx_us"], "{:,.0f}"),
    Column("PostgreSQL µs/msg", lambda f, base: f["db_us"], "{:,.0f}"),
    Column("Redis µs/msg", lambda f, base: f["redis_us"], "{:,.0f}"),
    Column("server cores", lambda f, base: f["cores"], "{:.2f}"),
    Column("client µs/msg", lambda f, base: f["client_us"], "{:,.0f}"),
    Column("other load", lambda f, base: f["other_load"], "{:.0%}"),
)
CALLS = (
    *(_ms(f"{call}_{p}") for call in ("send", "receive", "delete") for p in ("p50", "p99")),
    Column("errors", lambda f, base: f["errors"], "{:,}"),
    Column("lost", lambda f, base: f["lost"], "{:,}"),
    Column("duplicated", lambda f, base: f["duplicated"], "{:,}"),
    Column("messages", lambda f, base: f["messages"], "{:,}"),
)
MEMORY = (
    Column("start MB", lambda rss, base: _mb(rss[0]), "{:,.1f}"),
    Column("end MB", lambda rss, base: _mb(rss[1]), "{:,.1f}"),
    Column(
        "change MB", lambda rss, base: _mb(rss[1] - rss[0] if None not in rss else None), "{:+,.1f}"
    ),
)
GOALS = (
    Goal(
        f"wake p95 < {WAKE_GOAL_MS} ms across web processes",
        lambda f, base: f.get("wake_p95"),
        lambda v: v < WAKE_GOAL_MS,
        "{:.1f} ms",
    ),
)


def _mb(size):
    return None if size is None else size / 2**20


def _print(args, seconds, rounds, figures, memory):
    single = figures.get("one web process")
    print(f"\n### {TITLE}\n")
    print(
        f"{datetime.date.today()} · commit {machine.commit()} · load average {machine.loadavg()} · "
        f"{args.cluster_clients} client processes · {args.cluster_queues} queue(s) · "
        f"{seconds:g} s each\n"
    )
    print(report.figures_table(figures, FIGURES, single))
    print()
    print(report.figures_table(figures, CALLS, single))
    cluster = figures.get("cluster", {})
    if cluster.get("server_us"):
        print(
            f"\nCluster: Roost + PostgreSQL {cluster['server_us']:,.0f} µs/msg, so "
            f"{1e6 / cluster['server_us']:,.0f} msgs/s per core of server CPU."
        )
    if cluster.get("wake_p50") is not None:
        print(
            f"Long-poll wake, held on one web process, sent through the other ({rounds} rounds): "
            f"p50 {cluster['wake_p50']:.1f} ms, p95 {cluster['wake_p95']:.1f} ms\n"
        )
        print(report.goals_table({"cluster": cluster}, GOALS, None))
    rows = {}
    for setup, by_pid in memory.items():
        for label, start, end in sorted(by_pid.values(), key=lambda row: row[0]):
            name = f"{setup}: {label}"
            copies = sum(key.startswith(name) for key in rows)
            rows[f"{name} #{copies + 1}" if copies else name] = (start, end)
    print("\nMemory (RSS) of each Roost process as the clock started and stopped:\n")
    print(report.figures_table(rows, MEMORY, None))
    print()


def _say(text):
    print(f"[cluster] {text}", file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="10 s loads and 10 wake rounds")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so cleanup runs on `kill` too
    command = shlex.join(
        ["python", "-m", "bench.cluster", *(sys.argv[1:] if argv is None else argv)]
    )
    print(f"`{command}`", file=sys.stderr)
    try:
        problems = section(args)
    except KeyboardInterrupt:
        print("interrupted; servers stopped and the database dropped", file=sys.stderr)
        return 130
    for line in problems:
        print(f"FAILED: cluster: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
