"""What a Prometheus scrape of /metrics costs with 10,000 queues: `python -m bench.metrics_scrape`.

Fills a throwaway database (PostgreSQL by default, as bench.console; `--database-url sqlite` for
the embedded default) with `--queues` queues, `--messages` messages spread over a tenth of them
(visible, in flight and delayed), and by-queue counters for every queue as `--processes` web
processes would leave them (sent, received and deleted, each process its own files). Then it
starts Roost under uvicorn and times `--rounds` GETs of /metrics, and reports, from a process of
its own, the SQL one scrape runs (count, and PostgreSQL's plan of the depth query). See
docs/benchmarks.md, "A Prometheus scrape at 10,000 queues".
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.console import DEFAULT_DATABASE_URL, _manage, _progress
from bench.console_data import Postgres, Sqlite
from bench.servers import HOST, TARGETS, _environment, _free_port, _start, _stop, _wait_for_port

WARM_UPS = 2

# Run by `manage.py shell -c`: queues, messages (inserted as the hot path does, in bulk) and
# counters for every queue in this process's metrics files.
_FILL = """
from django.db import connection
from queues import metrics
from queues.models import Queue, now_ms
names = [f"q{{n:05d}}" for n in range({queues})]
Queue.objects.bulk_create([Queue(name=name) for name in names], batch_size=2000)
ids = list(Queue.objects.order_by("id").values_list("id", flat=True))
holders = ids[: max(len(ids) // 10, 1)]
now = now_ms()
rows = []
for n in range({messages}):
    state = n % 10  # 7 visible, 2 in flight, 1 delayed
    visible_at = now - 1000 if state < 7 else now + 600_000
    rows.append((holders[n % len(holders)], f"m{{n}}", "body", now - n, visible_at,
                 1 if state in (7, 8) else 0))
with connection.cursor() as cursor:
    for first in range(0, len(rows), 5000):
        cursor.executemany(
            "INSERT INTO queues_message (queue_id, message_id, body, attributes, "
            "system_attributes, md5_of_body, md5_of_attributes, md5_of_system_attributes, "
            "sent_at, visible_at, receive_count, receive_token, sender_id, group_id, "
            "deduplication_id) VALUES (%s, %s, %s, '', '', '', '', '', %s, %s, %s, 0, '', '', '')",
            rows[first : first + 5000],
        )
"""

_COUNT = """
from queues import metrics
for n in range({queues}):
    name = f"q{{n:05d}}"
    for counter in (metrics.MESSAGES_SENT, metrics.MESSAGES_RECEIVED, metrics.MESSAGES_DELETED):
        metrics.count(counter, name, 3)
"""

# One scrape's work, in-process, with every statement captured.
_QUERIES = """
import time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from console import metrics
for _ in range(3):
    started, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        depths = metrics.read_depths()
    read, read_cpu = time.perf_counter(), time.process_time()
    body = metrics.render(depths)
    done, done_cpu = time.perf_counter(), time.process_time()
    print(f"RESULT {{len(queries)}} {{(read - started) * 1000:.0f}} {{(read_cpu - cpu) * 1000:.0f}} "
          f"{{(done - read) * 1000:.0f}} {{(done_cpu - read_cpu) * 1000:.0f}}")
for query in queries:
    print("SQL", query["sql"][:160].replace(chr(10), " "))
if connection.vendor == "postgresql":
    from queues import message_sql
    from queues.models import now_ms
    now = now_ms()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + message_sql._DEPTHS, [now, now, now])
        for (line,) in cursor.fetchall():
            print("PLAN", line)
else:
    from queues import message_sql
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + message_sql._DEPTHS.replace("%s", "0"))
        for row in cursor.fetchall():
            print("PLAN", row[-1])
"""


class _Postgres(Postgres):
    """bench.console's throwaway database, named for this bench."""

    def __init__(self, url):
        super().__init__(url)
        self.name = f"roost_bench_metrics_{os.getpid()}"
        self.url = urlunsplit(urlsplit(self.url)._replace(path=f"/{self.name}"))


def _scrape(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def run(args):
    data_dir = Path(tempfile.mkdtemp(prefix="roost-bench-metrics-"))
    db = Sqlite(data_dir) if args.database_url == "sqlite" else _Postgres(args.database_url)
    if db.vendor == "postgresql" and not db.reachable():
        raise SystemExit(f"PostgreSQL is not reachable: {db.unreachable_because}")
    port = _free_port()
    env = _environment(TARGETS["roost-uvicorn"], data_dir, port)
    env["DATABASE_URL"] = db.url
    env["ROOST_METRICS_CACHE_SECONDS"] = "0"  # time every render, not the cache
    server = None
    try:
        db.create()
        _progress(f"{db.label}: migrating, then {args.queues:,} queues, {args.messages:,} messages")
        _manage(env, "migrate", "--no-input")
        _manage(env, "shell", "-c", _FILL.format(queues=args.queues, messages=args.messages))
        for _ in range(args.processes):
            _manage(env, "shell", "-c", _COUNT.format(queues=args.queues))
        if db.vendor == "postgresql":
            db.settle()
        else:
            db.connection().execute("ANALYZE")
        server = _start(
            [sys.executable, "-m", "uvicorn", "console.asgi:application", "--host", HOST,
             "--port", str(port), "--no-access-log"],
            env, data_dir / "server.log",
        )  # fmt: skip
        _wait_for_port(server, port, data_dir / "server.log")
        url = f"http://{HOST}:{port}/metrics"
        for _ in range(WARM_UPS):
            _scrape(url)
        times, body = [], b""
        for _ in range(args.rounds):
            elapsed, body = _scrape(url)
            times.append(elapsed)
        times.sort()
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        _progress(f"load average before the scrapes: {os.getloadavg()[0]:.1f}")
        _progress(
            f"GET /metrics x{args.rounds}: median {statistics.median(times):.0f} ms, "
            f"p90 {times[int(len(times) * 0.9) - 1]:.0f} ms, max {times[-1]:.0f} ms; "
            f"{len(body) / 1e6:.1f} MB, {series:,} samples"
        )
        for line in _manage(env, "shell", "-c", _QUERIES.format()).splitlines():
            if line.startswith("RESULT"):
                _, count, read, read_cpu, render, render_cpu = line.split()
                # message_sql's depth query runs on the DB-API cursor, which Django's capture
                # does not see: one statement more than captured.
                _progress(
                    f"in-process: {int(count) + 1} SQL statements; reading the depths "
                    f"{read} ms ({read_cpu} ms CPU), rendering {render} ms ({render_cpu} ms CPU)"
                )
            elif line.startswith(("SQL", "PLAN")) and args.verbose:
                _progress(f"  {line}")
    finally:
        if server is not None:
            _stop(server)
        db.drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_scrape", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help=f"PostgreSQL server (default {DEFAULT_DATABASE_URL}) or `sqlite`")  # fmt: skip
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=3,
                        help="processes whose counter files hold every queue (default 3)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--verbose", action="store_true", help="print the SQL and the plan")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
