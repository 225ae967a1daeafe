"""End-to-end batch throughput: producer and consumer processes on one standard queue."""

import collections
import multiprocessing
import time
import traceback
from dataclasses import dataclass

from bench.client import make_client
from bench.cpu import host_cpu_seconds, sessions_cpu_seconds
from bench.processes import as_worker

BATCH = 10
BODY_SIZE = 200
WAIT_SECONDS = 1
# After every producer is done, this many empty long polls in a row mean the queue is drained.
EMPTY_POLLS_TO_STOP = 3
START_TIMEOUT = 60
# Calls already under way when the time cap passes still get to finish.
CALL_SLACK = 45

_mp = multiprocessing.get_context("fork")


@dataclass
class Throughput:
    sent: int
    delivered: int  # distinct bodies deleted
    lost: int  # sent but never deleted (counts as loss only when not capped)
    duplicated: int  # extra deletions of a body already deleted
    unexpected: int  # deleted bodies no producer reported as sent
    failed_entries: int  # batch entries the server refused (sends and deletes)
    capped: bool  # the time cap ended the run before every message went through
    seconds: float
    server_cpu_seconds: float  # the web server only: an idle Celery worker is not per message
    worker_cpu_seconds: float  # Roost's Celery worker, when running, idle for this suite
    client_cpu_seconds: float  # the producer and consumer processes together
    host_busy_seconds: float  # every process on the machine, over the same window
    host_seconds: float  # wall time × cores over that window

    @property
    def rate(self):
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def server_us_per_message(self):
        return self.server_cpu_seconds / self.delivered * 1e6 if self.delivered else None

    @property
    def other_load(self):
        """Return the share of the machine that processes outside the benchmark used, 0..1."""
        ours = self.server_cpu_seconds + self.worker_cpu_seconds + self.client_cpu_seconds
        return max(0.0, self.host_busy_seconds - ours) / self.host_seconds

    @property
    def client_us_per_message(self):
        return self.client_cpu_seconds / self.delivered * 1e6 if self.delivered else None

    def problems(self):
        """Return what went wrong, in words; an empty list means every message arrived once."""
        found = []
        if self.capped:
            found.append(f"time cap reached: {self.delivered:,} of {self.sent:,} sent delivered")
        elif self.lost:
            found.append(f"{self.lost:,} of {self.sent:,} messages lost")
        if self.duplicated:
            found.append(f"{self.duplicated:,} duplicate deliveries")
        if self.unexpected:
            found.append(f"{self.unexpected:,} deliveries of messages never acknowledged as sent")
        if self.failed_entries:
            found.append(f"{self.failed_entries:,} batch entries failed")
        return found


def body(producer, seq):
    """Return a unique ~200-byte body whose key (before "|") names its producer and sequence."""
    key = f"b-{producer}-{seq}"
    return f"{key}|".ljust(BODY_SIZE, "x")


def run(server, queue_url, messages, producers, consumers, time_cap):
    """Send `messages` through `queue_url` and check every one is deleted exactly once."""
    shared = _Shared(producers, consumers)
    shares = [messages // producers + (i < messages % producers) for i in range(producers)]
    workers = [
        _mp.Process(target=_worker, args=(_produce, shared, server, queue_url, i, n, time_cap))
        for i, n in enumerate(shares)
    ] + [
        _mp.Process(
            target=_worker, args=(_consume, shared, server, queue_url, i, messages, time_cap)
        )
        for i in range(consumers)
    ]
    try:
        for worker in workers:
            worker.start()
        shared.start.wait(timeout=START_TIMEOUT)
        server_before, host_before = sessions_cpu_seconds([server.pid]), host_cpu_seconds()
        all_before = sessions_cpu_seconds(server.sessions)
        started = time.time()
        reports = [shared.results.get(timeout=time_cap + CALL_SLACK) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
        server_cpu = sessions_cpu_seconds([server.pid]) - server_before
        worker_cpu = sessions_cpu_seconds(server.sessions) - all_before - server_cpu
        host_busy, host_total = (
            a - b for a, b in zip(host_cpu_seconds(), host_before, strict=True)
        )
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
    errors = [report["error"] for report in reports if "error" in report]
    if errors:
        raise RuntimeError("a benchmark worker failed:\n" + errors[0])
    cpu = server_cpu, worker_cpu, host_busy, host_total
    return _tally(reports, messages, started, *cpu)


def _tally(reports, messages, started, server_cpu, worker_cpu, host_busy, host_total):
    sent = {key for r in reports for key in r.get("sent", ())}
    deleted = collections.Counter(key for r in reports for key in r.get("deleted", ()))
    finished = max((r["last_delete"] for r in reports if r.get("last_delete")), default=started)
    return Throughput(
        sent=len(sent),
        delivered=len(deleted),
        lost=len(sent - deleted.keys()),
        duplicated=sum(count - 1 for count in deleted.values()),
        unexpected=len(deleted.keys() - sent),
        failed_entries=sum(r.get("failed", 0) for r in reports),
        capped=any(r.get("capped") for r in reports) or len(sent) < messages,
        seconds=finished - started,
        server_cpu_seconds=server_cpu,
        worker_cpu_seconds=worker_cpu,
        client_cpu_seconds=sum(r["cpu"] for r in reports),
        host_busy_seconds=host_busy,
        host_seconds=host_total,
    )


class _Shared:
    """What the workers of one run share: a start line, progress counters and a result queue."""

    def __init__(self, producers, consumers):
        self.producers = producers
        self.start = _mp.Barrier(producers + consumers + 1)  # the parent starts the clock
        self.results = _mp.Queue()
        self.producers_done = _mp.Value("i", 0)
        self.deleted = _mp.Value("i", 0)
        # Set when a worker fails, so the others stop instead of waiting out the time cap.
        self.abort = _mp.Event()


def _worker(role, shared, server, queue_url, index, count, time_cap):
    as_worker()
    try:
        sqs = make_client("sqs", server)
        shared.start.wait(timeout=START_TIMEOUT)
        deadline, cpu_before = time.time() + time_cap, time.process_time()
        report = role(sqs, shared, queue_url, index, count, deadline)
        report["cpu"] = time.process_time() - cpu_before
    except Exception:
        shared.abort.set()
        report = {"error": traceback.format_exc()}
    shared.results.put(report)


def _produce(sqs, shared, queue_url, index, count, deadline):
    sent, failed, capped = [], 0, False
    for first in range(0, count, BATCH):
        if shared.abort.is_set():
            break
        if time.time() > deadline:
            capped = True
            break
        keys = {str(seq): body(index, seq) for seq in range(first, min(first + BATCH, count))}
        entries = [{"Id": seq, "MessageBody": text} for seq, text in keys.items()]
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent += [keys[entry["Id"]].split("|")[0] for entry in reply.get("Successful", ())]
        failed += len(reply.get("Failed", ()))
    with shared.producers_done.get_lock():
        shared.producers_done.value += 1
    return {"sent": sent, "failed": failed, "capped": capped}


def _consume(sqs, shared, queue_url, index, total, deadline):
    deleted, failed, empty_polls, last_delete, capped = [], 0, 0, None, False
    while shared.deleted.value < total and not shared.abort.is_set():
        if time.time() > deadline:
            capped = True
            break
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=WAIT_SECONDS
        )
        messages = reply.get("Messages", ())
        if not messages:
            empty_polls += 1
            all_sent = shared.producers_done.value == shared.producers
            if all_sent and empty_polls >= EMPTY_POLLS_TO_STOP:
                break
            continue
        empty_polls = 0
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        reply = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        done = {int(entry["Id"]) for entry in reply.get("Successful", ())}
        deleted += [messages[i]["Body"].split("|")[0] for i in sorted(done)]
        failed += len(reply.get("Failed", ()))
        last_delete = time.time()
        with shared.deleted.get_lock():
            shared.deleted.value += len(done)
    return {"deleted": deleted, "failed": failed, "last_delete": last_delete, "capped": capped}
