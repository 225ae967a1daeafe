"""What deleting a million messages costs everyone else: `python -m bench.purge`.

Loads 1,000,000 messages into queue `big` of a throwaway database (PostgreSQL by default, as
bench.console; `--database-url sqlite` for the embedded default), starts Roost under uvicorn and
keeps one client sending to another queue, `other`, one SendMessage at a time, the whole run.
Then it times PurgeQueue on `big`, loads the million again, sets `big`'s retention to 60 s and
times the retention sweep that deletes them (run as the Celery task runs it, in its own process).
It reports each delete's duration and the SendMessage latencies to `other` before and during it:
the slowest is how long the delete made any send wait. See docs/benchmarks.md.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

from bench import console_data
from bench.console import DEFAULT_DATABASE_URL, TARGET, _create_queues, _database
from bench.console_data import Postgres
from bench.servers import (
    HOST,
    ROOST_KEY_ID,
    ROOST_SECRET,
    _environment,
    _free_port,
    _setup_roost,
    _start,
    _stop,
    _tail,
    _wait_for_port,
)
from bench.stats import percentile

BIG, OTHER = "big", "other"
BASELINE_SECONDS = 5
# Run by `manage.py shell -c`, as queues.tasks.sweep_expired_messages runs it, to the end.
_SWEEP = """
import time
from queues import service
started = time.monotonic()
deleted, more = service.sweep_expired_messages()
print(f"RESULT {deleted} {started} {time.monotonic()}")
"""


class _Postgres(Postgres):
    """bench.console's throwaway database, named for this bench: roost_bench_purge_<pid>."""

    def __init__(self, url):
        super().__init__(url)
        self.name = f"roost_bench_purge_{os.getpid()}"
        self.url = urlunsplit(urlsplit(self.url)._replace(path=f"/{self.name}"))


class Sender(threading.Thread):
    """Send to one queue back to back; keep (start, seconds) of every SendMessage."""

    def __init__(self, url, queue_url):
        super().__init__(daemon=True)
        self.client = boto3.session.Session().client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id=ROOST_KEY_ID,
            aws_secret_access_key=ROOST_SECRET,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=300),
        )
        self.queue_url = queue_url
        self.samples, self.errors = [], []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                self.client.send_message(QueueUrl=self.queue_url, MessageBody="x" * 200)
            except Exception as error:  # a failed send is a finding, not a crash
                self.errors.append(f"{type(error).__name__}: {error}")
            self.samples.append((start, time.monotonic() - start))

    def between(self, start, end):
        """Seconds of the sends that were under way at any moment from start to end."""
        return [took for began, took in self.samples if began < end and began + took > start]


def main(argv=None):
    args = _parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data_dir = Path(tempfile.mkdtemp(prefix="roost-bench-purge-"))
    db = None
    try:
        db = _database(args, data_dir)
        if db.vendor == "postgresql":
            db = _Postgres(args.database_url)
            db.reachable()
        rows = _run(args, db, data_dir)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, subprocess.SubprocessError) as error:
        print(f"bench.purge failed: {error}", file=sys.stderr)
        return 1
    finally:
        if db is not None:
            db.drop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\n{db.label}, {args.messages:,} messages in `{BIG}`; SendMessage to `{OTHER}`:\n")
    print("| phase | took | sends | p50 ms | p99 ms | slowest ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, took, samples in rows:
        ms = [s * 1000 for s in samples]
        figures = [percentile(ms, 50), percentile(ms, 99), max(ms, default=None)]
        cells = " | ".join("–" if v is None else f"{v:,.1f}" for v in figures)
        print(f"| {label} | {'–' if took is None else f'{took:.1f} s'} | {len(ms):,} | {cells} |")
    return 0


def _run(args, db, data_dir):
    port = _free_port()
    env = _environment(TARGET, data_dir, port)
    env["DATABASE_URL"] = db.url
    _progress(f"Creating the database ({db.label}) and the queues")
    db.create()
    _setup_roost(env, data_dir)
    big, _other = _create_queues(env, db, [BIG, OTHER])
    _progress(f"Loading {args.messages:,} messages into `{BIG}`")
    _load(db, big, args.messages)
    argv = [str(Path(sys.executable).parent / TARGET.argv[0])]
    argv += [a.format(port=port) for a in TARGET.argv[1:]]
    log = data_dir / "server.log"
    process = _start(argv, env, log)
    url = f"http://{HOST}:{port}"
    sender = None
    rows = []
    try:
        _wait_for_port(process, port, log)
        sender = Sender(url, f"{url}/000000000000/{OTHER}")
        admin = Sender(url, f"{url}/000000000000/{BIG}").client
        sender.start()
        time.sleep(BASELINE_SECONDS)  # sends alone: the baseline
        rows.append(("sends alone", None, 0, time.monotonic()))

        _progress(f"PurgeQueue on `{BIG}`")
        start = time.monotonic()
        admin.purge_queue(QueueUrl=f"{url}/000000000000/{BIG}")
        end = time.monotonic()
        rows.append((f"during PurgeQueue of {args.messages:,}", end - start, start, end))
        left = admin.get_queue_attributes(
            QueueUrl=f"{url}/000000000000/{BIG}", AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        if left != "0":
            raise RuntimeError(f"{left} messages left in `{BIG}` after the purge")

        _progress(f"Loading {args.messages:,} messages into `{BIG}` again, for the sweep")
        _load(db, big, args.messages)
        admin.set_queue_attributes(
            QueueUrl=f"{url}/000000000000/{BIG}", Attributes={"MessageRetentionPeriod": "60"}
        )
        _progress("The retention sweep")
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", _SWEEP],
            cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
        )  # fmt: skip
        result = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not result:
            raise RuntimeError(f"the sweep failed:\n{_tail(done.stdout + done.stderr)}")
        # CLOCK_MONOTONIC is the machine's: the sweep's own start and end bound the window.
        deleted, start, end = result[0].split()[1:]
        start, end = float(start), float(end)
        rows.append((f"during the retention sweep ({int(deleted):,} expired)", end - start,
                     start, end))  # fmt: skip
        if sender.errors:
            raise RuntimeError(f"{len(sender.errors)} sends failed, first: {sender.errors[0]}")
    finally:
        if sender is not None:
            sender.stopping.set()
            sender.join(timeout=30)
        _stop(process)
    # Only now: a send held up by a delete finishes after it, and counts.
    return [(label, took, sender.between(start, end)) for label, took, start, end in rows]


def _load(db, queue_id, messages):
    """Load messages into the queue as bench.console does (without its activity rows), and
    VACUUM ANALYZE, as autovacuum would by then."""
    now = int(time.time() * 1000)
    db.load_messages(console_data._message_params([queue_id], now, messages), _progress)
    db.analyze()
    db.settle()


def _progress(text):
    print(text, flush=True)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.purge", description=__doc__)
    parser.add_argument(
        "--database-url",
        help=f"a PostgreSQL server to create a throwaway database on (default "
        f"{DEFAULT_DATABASE_URL}; SQLite when that is not reachable), or `sqlite`",
    )
    parser.add_argument("--messages", type=int, default=1_000_000,
                        help="messages to purge, then to expire (default 1,000,000)")  # fmt: skip
    args = parser.parse_args(argv)
    args.database_url_given = args.database_url is not None
    args.database_url = args.database_url or DEFAULT_DATABASE_URL
    return args


if __name__ == "__main__":
    sys.exit(main())
