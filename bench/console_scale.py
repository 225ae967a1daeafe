"""The console at 2,000 queues and 1,000,000 messages on PostgreSQL: `python -m bench.console_scale`
(part of `make bench`; skipped in one line when no PostgreSQL is given).

The first run fills a database it keeps, `roost_console_bench` on the server that --database-url
names: queues made through the service layer, messages written with SQL. Later runs reuse it
while it still holds what it should. Roost runs on it as `make run` does (uvicorn, the Celery
workers); the run measures the overview's server time, the time until the overview is usable in
Chromium, the longest main-thread task during live updates, and the web process's CPU per open
tab. See docs/benchmarks.md.
"""

import argparse
import asyncio
import contextlib
import datetime
import html
import random
import re
import secrets
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from bench import console_browser, machine
from bench.client import make_client
from bench.console import CpuWindow, _log_in, _manage, _repeat
from bench.console_data import _PG_BODY, Postgres, _message_params
from bench.cpu import host_cpu_seconds, sessions_cpu_seconds
from bench.report import _markdown as markdown_table
from bench.servers import (
    BIN,
    HOST,
    ROOST_KEY_ID,
    ROOST_SECRET,
    TARGETS,
    WORKERS,
    Server,
    _environment,
    _free_port,
    _setup_roost,
    _start,
    _stop,
    _wait_for_file,
    _wait_for_port,
)
from bench.stats import percentile

TITLE = "Console at scale"
DATABASE = "roost_console_bench"
PREFIX = "scale-"
TRAFFIC_BODY = "bench-traffic"  # the runs' own sends, removed before the next run
USERNAME = "bench"
RETENTION = "1209600"  # 14 days, the most SQS allows: the kept messages outlive many runs
LOAD_CHUNK = 250_000
# Message g goes to queue PERMUTE * (1 + floor(Q * (g/M)^2)) mod Q: a few deep queues and a
# long tail (the deepest holds ~2 % of the messages, the shallowest a few hundred), spread over
# the names so that name order and depth order differ. PERMUTE is a prime that divides no queue
# count used.
PERMUTE = 7919
_MESSAGES = f"""
INSERT INTO queues_message (queue_id, message_id, body, attributes, system_attributes,
    md5_of_body, md5_of_attributes, md5_of_system_attributes, sent_at, visible_at,
    receive_count, first_received_at, receive_token, sender_id, group_id, deduplication_id)
SELECT (%(ids)s::bigint[])[1 + q.i], gen_random_uuid()::text, b.body,
    CASE WHEN mod(g, 4) = 0 THEN %(attributes)s ELSE '' END, '', md5(b.body),
    CASE WHEN mod(g, 4) = 0 THEN %(attributes_md5)s ELSE '' END, '', s.sent_at,
    CASE mod(g, 20) WHEN 0 THEN %(in_flight_until)s WHEN 10 THEN %(delayed_until)s
        ELSE s.sent_at END,
    CASE mod(g, 20) WHEN 0 THEN 1 ELSE 0 END,
    CASE mod(g, 20) WHEN 0 THEN s.sent_at END,
    CASE mod(g, 20) WHEN 0 THEN g ELSE 0 END,
    %(sender)s, '', ''
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
CROSS JOIN LATERAL (SELECT mod({PERMUTE} * (1 + least(%(queues)s - 1,
    floor(%(queues)s * power(g::float8 / %(total)s, 2))::bigint)), %(queues)s) AS i) AS q
CROSS JOIN LATERAL (SELECT %(start)s::bigint + g * %(span)s::bigint / %(total)s AS sent_at) AS s
CROSS JOIN LATERAL (SELECT {_PG_BODY} AS body) AS b
"""
_FILLED = (
    "CREATE TABLE bench_console_scale (queues integer, messages bigint, filled_at timestamptz)"
)
_COUNTS = f"""
SELECT count(DISTINCT q.id), count(m.id) FROM queues_queue q
LEFT JOIN queues_message m ON m.queue_id = q.id AND m.body NOT LIKE '{TRAFFIC_BODY}%%'
WHERE q.name LIKE '{PREFIX}%%'
"""
# Run by `manage.py shell -c`: the queues through the service, the user through Django; the
# password is new each run, so none is kept anywhere.
_SETUP = """
from django.contrib.auth import get_user_model
from queues import service
for name in {names!r}:
    service.create_queue(name, {{"MessageRetentionPeriod": {retention!r}}})
user, _ = get_user_model().objects.get_or_create(
    username={user!r}, defaults={{"is_staff": True, "is_superuser": True}})
user.set_password({password!r})
user.save()
"""

# Traffic while live pages are open: single SendMessage calls at a steady rate, round-robin over
# the first TRAFFIC_QUEUES queues by name (those on the overview's first page and the queue pages
# the tabs show), so every window carries the same load.
TRAFFIC_QUEUES = 50
TRAFFIC_RATE = 10  # sends a second
USABLE_ROUNDS = 5  # after a warm-up; none when the warm-up timed out


def add_arguments(parser):
    """Add the section's own options (the database, broker and Redis URLs are bench.cluster's)."""
    parser.add_argument(
        "--scale-database",
        default=DATABASE,
        help=f"the kept database for the console at scale (default {DATABASE})",
    )
    parser.add_argument("--scale-queues", type=int, default=2_000, help="queues (default 2,000)")
    parser.add_argument(
        "--scale-messages", type=int, default=1_000_000, help="messages (default 1,000,000)"
    )
    parser.add_argument(
        "--scale-rounds", type=int, default=20, help="timed GETs of each overview (default 20)"
    )
    parser.add_argument(
        "--scale-seconds",
        type=float,
        default=60,
        help="length of each CPU window (default 60; --quick 15)",
    )
    parser.add_argument("--scale-tabs", type=int, default=50, help="open tabs (default 50)")
    parser.add_argument(
        "--scale-refill", action="store_true", help="fill the database afresh even if it is fine"
    )


def section(args):
    """Run the section, or say in one line why it is skipped; return the problems found."""
    url = args.database_url or ""
    if not url.startswith(("postgres://", "postgresql://")):
        print("console at scale: skipped: it needs PostgreSQL (--database-url or DATABASE_URL)")
        return []
    seconds = 15 if args.quick and args.scale_seconds == 60 else args.scale_seconds
    db = _Database(url, args.scale_database)
    if not db.reachable():
        return [f"PostgreSQL at {url} is not reachable: {db.unreachable_because}"]
    with tempfile.TemporaryDirectory(prefix="roost-bench-scale-") as data_dir:
        data_dir = Path(data_dir)
        port = _free_port()
        env = _roost_environment(args, db, data_dir, port)
        password = secrets.token_urlsafe(16)
        notes = {"fill": _prepare(args, db, env, data_dir, password)}
        notes["database"] = db.label
        with _roost(env, data_dir, port) as (server, web_pid):
            _check_depths(server, db, args)
            figures, problems = _measure(args, db, server, web_pid, password, seconds, notes)
    _print(args, seconds, figures, notes)
    return problems


# The kept database


class _Database(Postgres):
    """The kept database `name` on the PostgreSQL server that `url` names."""

    def __init__(self, url, name):
        super().__init__(url)
        self.name = name
        self.url = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    def exists(self):
        with self._psycopg.connect(self._admin_url) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
            return found.fetchone() is not None

    def filled(self, queues, messages):
        """Whether the database holds a completed fill of these counts, all messages still in."""
        if not self.exists():
            return False
        try:
            marked = self.query("SELECT queues, messages FROM bench_console_scale")
        except self._psycopg.errors.UndefinedTable:
            return False
        return marked == [(queues, messages)] and self.query(_COUNTS)[0] == (queues, messages)


def _roost_environment(args, db, data_dir, port):
    env = _environment(TARGETS["roost-uvicorn"], data_dir, port)  # embedded broker by default
    env["DATABASE_URL"] = db.url
    env.pop("REDIS_URL", None)
    if (args.broker_url or "").startswith(("redis://", "rediss://")):
        env["CELERY_BROKER_URL"] = args.broker_url
    if (args.redis_url or "").startswith(("redis://", "rediss://")):
        env["REDIS_URL"] = args.redis_url
    return env


def _prepare(args, db, env, data_dir, password):
    """Fill the database, or reuse it; return the seconds the fill took (None: reused)."""
    names = _names(args.scale_queues)
    if not args.scale_refill and db.filled(args.scale_queues, args.scale_messages):
        _say(f"reusing {db.name}: {args.scale_queues:,} queues, {args.scale_messages:,} messages")
        _manage(env, "migrate", "--no-input")
        _manage(env, "shell", "-c", _setup_script([], password))
        db.connection().execute(f"DELETE FROM queues_message WHERE body LIKE '{TRAFFIC_BODY}%'")
        db.connection().execute("VACUUM ANALYZE queues_message")
        return None
    started = time.monotonic()
    _say(f"filling {db.name}: {args.scale_queues:,} queues through the service layer")
    db.create()
    _setup_roost(env, data_dir)  # migrate, the bench's access key
    _manage(env, "shell", "-c", _setup_script(names, password))
    marks = ", ".join(["%s"] * len(names))
    ids = dict(db.query(f"SELECT name, id FROM queues_queue WHERE name IN ({marks})", names))
    params = _message_params([ids[name] for name in names], int(time.time() * 1000), 0)
    params["total"] = args.scale_messages
    for first in range(0, args.scale_messages, LOAD_CHUNK):
        last = min(first + LOAD_CHUNK, args.scale_messages) - 1
        db.connection().execute(_MESSAGES, {**params, "first": first, "last": last})
        _say(f"  {last + 1:,} / {args.scale_messages:,} messages")
    _say("VACUUM until the visibility map covers the messages")
    db.settle()
    db.connection().execute(_FILLED)
    db.connection().execute(
        "INSERT INTO bench_console_scale VALUES (%s, %s, now())",
        [args.scale_queues, args.scale_messages],
    )
    return time.monotonic() - started


def _names(count):
    return [f"{PREFIX}{i:04d}" for i in range(count)]


def _setup_script(names, password):
    return _SETUP.format(names=names, retention=RETENTION, user=USERNAME, password=password)


def _expected_totals(queues, messages):
    """{queue index: messages} as _MESSAGES spreads them."""
    totals = {}
    for g in range(messages):
        i = PERMUTE * (1 + min(queues - 1, int(queues * (g / messages) ** 2))) % queues
        totals[i] = totals.get(i, 0) + 1
    return totals


def _check_depths(server, db, args):
    """Check through the API that sampled queues hold what the fill put in them."""
    totals = _expected_totals(args.scale_queues, args.scale_messages)
    sqs = make_client("sqs", server)
    names = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    deepest = max(totals, key=totals.get)
    for i in {0, deepest, args.scale_queues - 1, *random.sample(range(args.scale_queues), 10)}:
        url = sqs.get_queue_url(QueueName=f"{PREFIX}{i:04d}")["QueueUrl"]
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
        held = sum(int(got[name]) for name in names)
        if held != totals.get(i, 0):
            raise RuntimeError(f"{PREFIX}{i:04d} holds {held:,} messages, not {totals.get(i, 0):,}")
    _say(f"depths checked through the API; the deepest queue is {PREFIX}{deepest:04d}")


# Roost


@contextlib.contextmanager
def _roost(env, data_dir, port):
    """Start the web process (its own session) and the Celery workers; yield (Server, web pid)."""
    argv = [str(BIN / "uvicorn"), "console.asgi:application", "--host", HOST, "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    processes = []
    try:
        log = data_dir / "web.log"
        processes.append(_start(argv, env, log))
        for name, worker_argv in WORKERS.items():
            worker_log, ready = data_dir / f"{name}.log", data_dir / f"{name}.ready"
            worker_env = {**env, "ROOST_BENCH_WORKER_READY": str(ready)}
            processes.append(_start(list(worker_argv), worker_env, worker_log))
            _wait_for_file(processes[-1], ready, worker_log, f"Celery worker {name}")
        _wait_for_port(processes[0], port, log)
        server = Server(
            "roost", f"http://{HOST}:{port}", processes[0].pid, ROOST_KEY_ID, ROOST_SECRET
        )
        yield server, processes[0].pid
    finally:
        for process in reversed(processes):
            _stop(process)


class _Traffic:
    """SendMessage at a steady rate on a thread of its own, round-robin over some queues."""

    def __init__(self, server, names, rate):
        self.sqs = make_client("sqs", server)
        self.urls = [self.sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in names]
        self.rate, self.sent, self.errors = rate, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        next_at = time.monotonic()
        while not self._stop.is_set():
            url = self.urls[self.sent % len(self.urls)]
            try:
                self.sqs.send_message(QueueUrl=url, MessageBody=f"{TRAFFIC_BODY} {self.sent}")
            except Exception:  # counted and shown; the run goes on
                self.errors += 1
            self.sent += 1
            next_at += 1 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))


# Measuring


def _measure(args, db, server, web_pid, password, seconds, notes):
    figures, problems = {}, []
    names = _names(args.scale_queues)
    deepest = max(_expected_totals(args.scale_queues, args.scale_messages).items(),
                  key=lambda item: item[1])[0]  # fmt: skip
    notes["load average before"] = machine.loadavg()
    with httpx.Client(base_url=server.url, timeout=120) as client:
        _log_in(client, password)
        for label, path, shows in (
            ("GET / (default view)", "/", names[0]),
            ("GET / sorted by visible", SORTED_BY_VISIBLE, f"{PREFIX}{deepest:04d}"),
        ):
            _say(f"timing {label}")
            check = _shows(shows)
            _repeat(client, path, 2, check)  # warm-ups
            with CpuWindow(db, web_pid) as window:
                samples = _repeat(client, path, args.scale_rounds, check)
            figures[label] = window.figure(label, samples)
    why = console_browser.unavailable()
    if why:
        notes["browser"] = f"browser figures skipped: {why}"
        return figures, problems
    traffic_names = names[:TRAFFIC_QUEUES]
    with console_browser.logged_in(server.url, USERNAME, password) as context:
        _say("timing the overview until usable in Chromium")
        target = names[args.scale_queues // 2 + 1]
        warm_up = console_browser.time_until_usable(context, "/", target)
        figures["usable"] = [
            console_browser.time_until_usable(context, "/", target)
            for _ in range(USABLE_ROUNDS if warm_up is not None else 0)
        ] or [None]
        _say("30 s of live updates on the overview, with traffic")
        page = console_browser.open_page(context, "/")
        time.sleep(3)  # the live connection opens and sends its first regions
        console_browser.start_watching(page)
        with _Traffic(server, traffic_names, TRAFFIC_RATE) as traffic:
            time.sleep(30)
        figures["live"] = (*console_browser.watched(page), traffic.sent, traffic.errors)
        notes["visibility"] = console_browser.visibility(page)
        page.close()
    _say(f"in Chromium: until usable {figures['usable']} ms; live: {figures['live']}")
    with httpx.Client(base_url=server.url, timeout=120) as client:
        _log_in(client, password)
        queue_pages = [_live_args(client, f"/queues/{names[i % len(names)]}/")
                       for i in range(args.scale_tabs)]  # fmt: skip
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    with _Traffic(server, traffic_names, TRAFFIC_RATE) as traffic:
        windows = {}
        for label, streams in (
            ("0 tabs", []),
            (f"{args.scale_tabs} tabs on the overview", [("overview", "{}")] * args.scale_tabs),
            (f"{args.scale_tabs} tabs on {args.scale_tabs} queue pages", queue_pages),
        ):
            _say(f"web CPU for {seconds:g} s: {label}")
            windows[label] = _cpu_window(server.url, cookies, db, web_pid, streams, seconds)
            _say(f"  {windows[label]}")
        figures["cpu"] = windows
        figures["cpu traffic"] = (traffic.sent, traffic.errors)
    notes["load average after"] = machine.loadavg()
    return figures, problems


SORTED_BY_VISIBLE = "/?sort=-visible"


def _shows(name):
    def check(text):
        if f">{name}<" not in text and f"{name}</a>" not in text:
            raise RuntimeError(f"the overview does not show {name}")

    return check


def _live_args(client, path):
    """(page, args) of the live stream the page at `path` opens (its data-live-* attributes)."""
    text = client.get(path).raise_for_status().text
    page = re.search(r'data-live-page="([^"]+)"', text)
    args = re.search(r'data-live-args="([^"]*)"', text)
    if page is None:
        raise RuntimeError(f"{path} is not a live page")
    return page.group(1), html.unescape(args.group(1)) if args else "{}"


def _cpu_window(base_url, cookies, db, web_pid, streams, seconds):
    """Open a live stream as each tab's live.js does, then read the web process's CPU over
    `seconds`; each tab must receive its regions."""
    with _LiveStreams(base_url, cookies, streams) as live:
        time.sleep(5)  # every stream is open and past its first render
        live.received = [0] * len(streams)
        before = _readings(db, web_pid)
        time.sleep(seconds)
        after = _readings(db, web_pid)
        receiving = sum(1 for count in live.received if count)
    busy, total = (a - b for a, b in zip(after["host"], before["host"], strict=True))
    elapsed = after["wall"] - before["wall"]
    web = (after["web"] - before["web"]) / elapsed
    start = before["db"] or {}
    db_cpu = None
    if after["db"] is not None:
        db_cpu = sum(cpu - start.get(pid, 0.0) for pid, cpu in after["db"].items()) / elapsed
    return {"tabs": len(streams), "live": receiving, "web": web, "db": db_cpu, "host": busy / total}


class _LiveStreams:
    """The server's side of open console tabs: one live WebSocket each, as live.js opens it
    (the session cookie, the page's Origin), read on an event loop of its own. Tabs in Chromium
    cost the server the same, and 50 of them would take both cores from the server measured."""

    def __init__(self, base_url, cookies, streams):
        parts = urlsplit(base_url)
        self.origin, self.host = base_url, parts.netloc
        self.cookies, self.streams = cookies, streams
        self.received = [0] * len(streams)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.error = None

    def __enter__(self):
        if self.streams:
            self._thread.start()
            self._ready.wait(120)
            if self.error:
                raise RuntimeError(f"opening the live streams failed: {self.error}")
        return self

    def __exit__(self, *exc):
        if self.streams:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)

    async def _run(self):
        from websockets.asyncio.client import connect  # noqa: PLC0415 (uvicorn's dependency)

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        headers = {"Cookie": self.cookies, "Origin": self.origin}
        try:
            sockets = [
                await connect(
                    f"ws://{self.host}/live/ws/?{urlencode({'page': page, 'args': args})}",
                    additional_headers=headers,
                    max_size=None,
                )
                for page, args in self.streams
            ]
        except Exception as error:  # noqa: BLE001 (reported by __enter__)
            self.error = error
            self._ready.set()
            return
        self._ready.set()
        readers = [asyncio.ensure_future(self._read(i, ws)) for i, ws in enumerate(sockets)]
        await self._stop.wait()
        for reader in readers:
            reader.cancel()
        for ws in sockets:
            await ws.close()

    async def _read(self, index, ws):
        async for _ in ws:
            self.received[index] += 1


def _readings(db, web_pid):
    return {
        "wall": time.monotonic(),
        "web": sessions_cpu_seconds([web_pid]),
        "db": db.backends_cpu(),
        "host": host_cpu_seconds(),
    }


# The report


def _print(args, seconds, figures, notes):
    print(f"\n### {TITLE}: {args.scale_queues:,} queues, {args.scale_messages:,} messages\n")
    fill = notes["fill"]
    print(
        f"{datetime.date.today()} · commit {machine.commit()} · {notes['database']} · "
        f"{'filled in ' + format(fill, '.0f') + ' s' if fill else 'database reused'} · "
        f"load average {notes['load average before']} before, "
        f"{notes.get('load average after', '–')} after\n"
    )
    header = ["overview, server", "p50 ms", "p95 ms", "max ms", "web CPU ms", "DB CPU ms",
              "other load"]  # fmt: skip
    rows = [
        [f.label, _ms(percentile(f.samples, 50)), _ms(percentile(f.samples, 95)),
         _ms(max(f.samples)), _ms(f.roost_ms), _ms(f.db_ms), f"{f.other_load:.0%}"]
        for key, f in figures.items() if key.startswith("GET")
    ]  # fmt: skip
    print(markdown_table(header, rows))
    if "browser" in notes:
        print(f"\n{notes['browser']}")
        return
    usable = [ms for ms in figures["usable"] if ms is not None]
    slow = len(figures["usable"]) - len(usable)
    limit = f"> {console_browser.USABLE_TIMEOUT_MS:,} ms"
    longest, count, live, rows_changed, sent, errors = figures["live"]
    print()
    print(markdown_table(["in Chromium", "figure"], [
        ["until usable: navigation → filter shows the match, p50 / max ms",
         f"{_ms(percentile(usable, 50))} / {_ms(max(usable))}" if not slow
         else f"{slow} of {len(figures['usable'])} rounds {limit}"],
        ["longest main-thread task in 30 s of live updates, ms",
         _ms(longest) if count else "none over 50"],
        ["long tasks (> 50 ms) in those 30 s", f"{count}"],
        ["live messages received / queue rows changed", f"{live} / {rows_changed}"],
        ["sends during those 30 s (errors)", f"{sent} ({errors})"],
    ]))  # fmt: skip
    windows = figures["cpu"]
    idle = windows["0 tabs"]["web"]
    rows = []
    for label, window in windows.items():
        per_tab = (window["web"] - idle) / window["tabs"] if window["tabs"] else None
        rows.append([
            label, f"{window['live']}/{window['tabs']}", f"{window['web']:.1%}",
            "–" if per_tab is None else f"{per_tab:.2%}",
            "–" if window["db"] is None else f"{window['db']:.1%}", f"{window['host']:.0%}",
        ])  # fmt: skip
    print()
    print(markdown_table(
        [f"web CPU over {seconds:g} s", "tabs receiving", "web, % of a core", "per tab",
         "PostgreSQL", "machine busy"], rows,
    ))  # fmt: skip
    sent, errors = figures["cpu traffic"]
    print(
        f"\nTraffic throughout: {TRAFFIC_RATE} SendMessage/s over {TRAFFIC_QUEUES} queues "
        f"({sent:,} sent, {errors} errors). The browser's tab was {notes.get('visibility')}; "
        "the CPU windows' tabs are live WebSockets, each opened as live.js opens it.\n"
    )


def _ms(value):
    return "–" if value is None else f"{value:,.0f}"


def _say(text):
    print(f"[console at scale] {text}", file=sys.stderr, flush=True)


def main(argv=None):
    from bench import cluster  # noqa: PLC0415 (its URL options)

    parser = argparse.ArgumentParser(prog="python -m bench.console_scale", description=__doc__)
    cluster.add_arguments(parser)
    add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="15 s CPU windows")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so cleanup runs on `kill` too
    command = shlex.join(
        ["python", "-m", "bench.console_scale", *(sys.argv[1:] if argv is None else argv)]
    )
    print(f"`{command}`", file=sys.stderr)
    try:
        problems = section(args)
    except KeyboardInterrupt:
        print("interrupted; Roost stopped (the database is kept)", file=sys.stderr)
        return 130
    for line in problems:
        print(f"FAILED: console at scale: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
