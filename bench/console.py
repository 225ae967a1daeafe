"""Time the console at a million messages: `python -m bench.console` (part of `make bench`).

Loads a throwaway database (200 queues holding 1,000,000 messages; later one queue `big`
holding another 1,000,000), starts Roost under uvicorn, logs in through the real login form and
times the overview and the message browser over HTTP. See docs/benchmarks.md.
"""

import argparse
import datetime
import html
import json
import re
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import console_data, machine
from bench.console_data import Postgres, Sqlite
from bench.cpu import host_cpu_seconds, sessions_cpu_seconds
from bench.report import _markdown as markdown_table
from bench.servers import (
    HOST,
    ROOT,
    SETUP_TIMEOUT,
    TARGETS,
    _environment,
    _free_port,
    _setup_roost,
    _start,
    _stop,
    _tail,
    _wait_for_port,
)
from bench.stats import percentile

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432"
TARGET = TARGETS["roost-uvicorn"]  # what `make run` serves with
GOAL_MS = 300
WARM_UPS = 2
PAGES = 20  # how deep the browser walks, a page at a time
PAGE_SIZE = 25  # the explorer's default
BIG = "big"
USERNAME = "bench"

# Run by `manage.py shell -c`: queues through the service, the user through Django.
_CREATE = """
from django.contrib.auth import get_user_model
from queues import service
for name in {names!r}:
    service.create_queue(name, {{}})
if {password!r}:
    get_user_model().objects.create_superuser({user!r}, "bench@example.invalid", {password!r})
"""
_LIVE_FRAGMENTS = """
import json, time
from django.contrib.auth import get_user_model
from console.views.overview import live_fragments
user = get_user_model().objects.get(username={user!r})
live_fragments(user)  # warm-up: the connection, the templates
times, cpu = [], time.process_time()
for _ in range({rounds}):
    start = time.perf_counter()
    regions = live_fragments(user)
    times.append((time.perf_counter() - start) * 1000)
cpu_ms = (time.process_time() - cpu) * 1000 / len(times)
print("RESULT " + json.dumps({{"ms": times, "cpu_ms": cpu_ms, "regions": len(regions)}}))
"""


@dataclass
class Figure:
    label: str
    samples: list  # wall ms
    roost_ms: float | None  # CPU ms of Roost's process per sample
    db_ms: float | None  # CPU ms of PostgreSQL's backends for the bench database per sample
    other_load: float  # share of the machine's CPU that nothing in this run used


class CpuWindow:
    """CPU used while timing: by Roost's web process, PostgreSQL's backends for the bench
    database, this process and its children, and everything else on the machine."""

    def __init__(self, db, server_pid=None):
        self.db, self.server_pid = db, server_pid

    def __enter__(self):
        self.start = self._read()
        return self

    def __exit__(self, *exc):
        self.end = self._read()

    def _read(self):
        own = sum(
            usage.ru_utime + usage.ru_stime
            for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        )
        web = sessions_cpu_seconds([self.server_pid]) if self.server_pid else 0.0
        return {"own": own, "web": web, "db": self.db.backends_cpu(), "host": host_cpu_seconds()}

    def figure(self, label, samples, roost_ms=None):
        web = self.end["web"] - self.start["web"]
        db = None
        if self.end["db"] is not None:
            # A backend that started during the window counts from zero; one that ended is lost.
            start = self.start["db"] or {}
            db = sum(cpu - start.get(pid, 0.0) for pid, cpu in self.end["db"].items())
        ours = web + (db or 0.0) + self.end["own"] - self.start["own"]
        busy = self.end["host"][0] - self.start["host"][0]
        total = self.end["host"][1] - self.start["host"][1]
        if self.server_pid:
            roost_ms = web * 1000 / len(samples)
        db_ms = None if db is None else db * 1000 / len(samples)
        other = max(0.0, busy - ours) / total if total else 0.0
        return Figure(label, samples, roost_ms, db_ms, other)


# Roost: set up, started, logged in to


def _manage(env, *args):
    argv = [sys.executable, "manage.py", *args]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SETUP_TIMEOUT
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{_tail(done.stdout + done.stderr)}")
    return done.stdout


def _create_queues(env, db, names, password=""):
    """Create the queues (and, with a password, the superuser); return the queues' ids."""
    _manage(env, "shell", "-c", _CREATE.format(names=names, user=USERNAME, password=password))
    marks = ", ".join([db.placeholder] * len(names))
    ids = dict(db.query(f"SELECT name, id FROM queues_queue WHERE name IN ({marks})", names))
    return [ids[name] for name in names]


def _log_in(client, password):
    """Log in through /login/ as a browser does: the form's CSRF token, then the POST."""
    form = client.get("/login/")
    form.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    fields = {"username": USERNAME, "password": password, "next": "/"}
    answer = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": token.group(1), **fields},
        headers={"Referer": f"{client.base_url}/login/"},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"logging in answered {answer.status_code}, not a redirect")


# Timing over HTTP


def _get(client, url, headers=None):
    """GET url; return (wall ms, response), failing on anything but 200."""
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed, response


def _repeat(client, url, rounds, check):
    """Wall ms of each of `rounds` GETs of a full page."""
    times = []
    for _ in range(rounds):
        elapsed, response = _get(client, url)
        check(response.text)
        times.append(elapsed)
    return times


def _shows_queues(count):
    def check(text):
        rows = text.count('<tr id="queue-')
        if rows != count:
            raise RuntimeError(f"the overview shows {rows} queues, not {count}")

    return check


def _walk(client, url, pages, referer):
    """Follow the explorer's Next link as htmx does, `pages` times; return wall ms per page."""
    headers = {"HX-Request": "true", "HX-Target": "message-page", "HX-Current-URL": referer}
    times = []
    for _ in range(pages):
        elapsed, response = _get(client, url, headers)
        shown = response.text.count('<li class="message"')
        if shown != PAGE_SIZE or "<html" in response.text:
            raise RuntimeError(f"GET {url} (htmx) showed {shown} messages, not {PAGE_SIZE}")
        url = _next_url(response.text, url)
        times.append(elapsed)
    return times


def _next_url(text, url):
    found = re.search(r'rel="next" href="([^"]+)"', text)
    if found is None:
        raise RuntimeError(f"the explorer page {url} has no Next link")
    return html.unescape(found.group(1))


def _measure(label, client, db, server_pid, function, url, count, *rest):
    """Run a timing function for WARM_UPS uncounted requests, then for `count` timed ones."""
    _progress(f"Timing: {label}")
    function(client, url, WARM_UPS, *rest)
    with CpuWindow(db, server_pid) as window:
        samples = function(client, url, count, *rest)
    return window.figure(label, samples)


# The run


def main(argv=None):
    args = _parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so cleanup runs on `kill` too
    data_dir = Path(tempfile.mkdtemp(prefix="roost-bench-console-"))
    db = None
    try:
        db = _database(args, data_dir)
        figures, notes = _run(args, db, data_dir)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except (RuntimeError, httpx.HTTPError, subprocess.SubprocessError) as error:
        print(f"bench.console failed: {error}", file=sys.stderr)
        return 1
    finally:
        if db is not None:
            try:
                db.drop()
            except Exception as error:  # report it, and still remove the dir
                print(f"Could not drop the database {db.url}: {error}", file=sys.stderr)
        shutil.rmtree(data_dir, ignore_errors=True)
    _report(args, db, figures, notes)
    return 0


def _database(args, data_dir):
    """The database asked for; SQLite when the default PostgreSQL cannot be reached."""
    if args.database_url == "sqlite":
        return Sqlite(data_dir)
    try:
        db = Postgres(args.database_url)
    except ImportError:
        why = "psycopg is not installed"
    else:
        if db.reachable():
            return db
        why = db.unreachable_because
    if args.database_url_given:
        raise RuntimeError(f"PostgreSQL at {args.database_url} is not reachable: {why}")
    _progress(
        f"PostgreSQL at {args.database_url} is not reachable ({why}); "
        "measuring the embedded SQLite instead."
    )
    return Sqlite(data_dir)


def _run(args, db, data_dir):
    port = _free_port()
    env = _environment(TARGET, data_dir, port)
    env["DATABASE_URL"] = db.url
    password = secrets.token_urlsafe(16)
    figures, notes = {}, {}
    postgres = db.vendor == "postgresql"

    _progress(f"Creating the database ({db.label}), {args.queues} queues and a user")
    db.create()
    _setup_roost(env, data_dir)
    ids = _create_queues(env, db, [f"q-{i:03d}" for i in range(args.queues)], password)
    _progress(f"Loading {args.messages:,} messages into them")
    notes["load"] = console_data.load(db, ids, args.messages, _progress)

    argv = [str(Path(sys.executable).parent / TARGET.argv[0])]
    argv += [a.format(port=port) for a in TARGET.argv[1:]]
    log = data_dir / "server.log"
    process = _start(argv, env, log)
    try:
        _wait_for_port(process, port, log)
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120) as client:
            _log_in(client, password)
            notes["load average before"] = machine.loadavg()
            many = f"{args.queues} queues, {args.messages:,} messages"
            if postgres:
                before = db.all_visible()
                fresh = _measure(
                    f"GET / — {many}, before VACUUM", client, db, process.pid, _repeat, "/",
                    args.rounds, _shows_queues(args.queues),
                )  # fmt: skip
                fresh.label += f" ({before:.0%}→{db.all_visible():.0%} of pages all-visible)"
                figures["overview, before VACUUM"] = fresh
                _progress("VACUUM until the visibility map covers the messages")
                notes["all-visible"] = db.settle()
            figures["overview"] = _measure(
                f"GET / — {many}", client, db, process.pid, _repeat, "/", args.rounds,
                _shows_queues(args.queues),
            )  # fmt: skip
            figures["live regions"] = _time_live_regions(env, db, args)

            _progress(f"Creating `{BIG}` and loading {args.big_messages:,} messages into it")
            big = _create_queues(env, db, [BIG])[0]
            notes["load big"] = console_data.load(db, [big], args.big_messages, _progress)
            notes["all-visible, big"] = db.settle()
            total = args.messages + args.big_messages
            figures["overview + big"] = _measure(
                f"GET / — {args.queues + 1} queues, {total:,} messages", client, db,
                process.pid, _repeat, "/", args.rounds, _shows_queues(args.queues + 1),
            )  # fmt: skip
            page = f"/queues/{BIG}/"
            referer = f"{client.base_url}{page}"
            _, first = _get(client, page)
            second = _next_url(first.text, page)
            sent_at, pk = db.position(big, args.big_messages // 2)
            middle = f"{page}?cursor={sent_at}_{pk}"
            figures["browser"] = _measure(
                f"message page of `{BIG}` (htmx), pages 2–{PAGES + 1}", client, db,
                process.pid, _walk, second, PAGES, referer,
            )  # fmt: skip
            figures["browser, middle"] = _measure(
                f"message page of `{BIG}` (htmx), from message {args.big_messages // 2:,}",
                client, db, process.pid, _walk, middle, PAGES, referer,
            )  # fmt: skip
            figures["queue page"] = _measure(
                f"GET {page} — the full page, counting {args.big_messages:,}", client, db,
                process.pid, _repeat, page, args.rounds, lambda text: None,
            )  # fmt: skip
            notes["load average after"] = machine.loadavg()
    finally:
        _stop(process)
    return figures, notes


def _time_live_regions(env, db, args):
    """What the live overview renders for every open page when something changes, in-process."""
    label = "live_fragments() in-process: every row's region"
    _progress(f"Timing: {label}")
    script = _LIVE_FRAGMENTS.format(user=USERNAME, rounds=args.rounds)
    with CpuWindow(db) as window:
        output = _manage(env, "shell", "-c", script)
    results = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not results:
        raise RuntimeError(f"the live_fragments script printed no result:\n{_tail(output)}")
    result = json.loads(results[0].removeprefix("RESULT "))
    # The window holds the shell's start-up and ends after its connection closed: CPU figures
    # come from inside the script, the database's are not known.
    figure = window.figure(label, result["ms"], roost_ms=result["cpu_ms"])
    figure.db_ms = None
    return figure


def _report(args, db, figures, notes):
    total = args.messages + args.big_messages
    print()
    print(f"Console, {db.label}: {args.queues} queues holding {args.messages:,} messages, then "
          f"`{BIG}` holding {args.big_messages:,} ({total:,} in all); {args.rounds} rounds a "
          f"page, {PAGES} explorer pages of {PAGE_SIZE}.")  # fmt: skip
    print(f"Loaded in {notes['load']:.0f} s + {notes['load big']:.0f} s. Load average "
          f"{notes['load average before']} when timing began, {notes['load average after']} "
          "at the end.")  # fmt: skip
    if notes.get("all-visible") is not None:
        print(f"After VACUUM {notes['all-visible']:.0%} of queues_message's pages were "
              f"all-visible (with `{BIG}`: {notes['all-visible, big']:.0%}).")  # fmt: skip
    print()
    header = ["figure", "samples", "p50 ms", "p95 ms", "max ms", "Roost CPU ms", "DB CPU ms",
              "other load"]  # fmt: skip
    rows = [
        [figure.label, len(figure.samples), _ms(percentile(figure.samples, 50)),
         _ms(percentile(figure.samples, 95)), _ms(max(figure.samples)), _ms(figure.roost_ms),
         _ms(figure.db_ms), f"{figure.other_load:.0%}"]
        for figure in figures.values()
    ]  # fmt: skip
    print(markdown_table(header, rows))
    print()
    overview = percentile(figures["overview"].samples, 50)
    browser = max(percentile(figures[name].samples, 50) for name in ("browser", "browser, middle"))
    goals = [
        [f"overview p50 < {GOAL_MS} ms ({args.queues} queues, {args.messages:,} messages)",
         _verdict(overview)],
        [f"message browser page p50 < {GOAL_MS} ms ({args.big_messages:,}-message queue)",
         _verdict(browser)],
    ]  # fmt: skip
    print(markdown_table(["goal", db.label], goals))
    if args.messages != 1_000_000 or args.big_messages != 1_000_000:
        print("\nThe goals are set at 1,000,000 messages; this run used other counts.")
    command = shlex.join(["python", "-m", "bench.console", *(args.argv or [])])
    print(f"\n{datetime.date.today()}: {command}")


def _ms(value):
    return "–" if value is None else f"{value:,.0f}"


def _verdict(ms):
    return f"{'met' if ms < GOAL_MS else 'MISS'} ({ms:,.0f} ms)"


def _progress(text):
    print(text, flush=True)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument(
        "--database-url",
        help=f"a PostgreSQL server to create a throwaway database on (default "
        f"{DEFAULT_DATABASE_URL}; SQLite when that is not reachable), or `sqlite` for the "
        "embedded default",
    )
    parser.add_argument("--messages", type=int, default=1_000_000,
                        help="messages spread over the queues (default 1,000,000)")  # fmt: skip
    parser.add_argument("--big-messages", type=int, default=1_000_000,
                        help=f"messages in `{BIG}`, the browser's (default 1,000,000)")  # fmt: skip
    parser.add_argument("--queues", type=int, default=200, help="queues (default 200)")
    parser.add_argument("--rounds", type=int, default=20,
                        help="timed GETs of each full page (default 20)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="100,000 messages, and 100,000 in big")  # fmt: skip
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    args.database_url_given = args.database_url is not None
    args.database_url = args.database_url or DEFAULT_DATABASE_URL
    if args.quick:
        args.messages = args.big_messages = 100_000
    least_big = 4 * (PAGES + WARM_UPS) * PAGE_SIZE  # two walks from the middle, and then some
    if args.queues < 1 or args.messages < args.queues or args.rounds < 1:
        parser.error("need at least one queue, a message per queue and one round")
    if args.big_messages < least_big:
        parser.error(f"--big-messages must be at least {least_big}")
    return args


if __name__ == "__main__":
    sys.exit(main())
