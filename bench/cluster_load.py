"""The cluster section's workload: a timed batch load from client processes (the long-poll wake
across web processes is bench.sqs_latency's, sending to the other process)."""

import collections
import contextlib
import multiprocessing
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field

from bench.client import make_client
from bench.processes import as_worker
from bench.sqs_throughput import BATCH, body

RECEIVE_WAIT_SECONDS = 1
WARMUP_ROUNDS = 3  # uncounted send + receive + delete rounds per client before the clock starts
START_TIMEOUT = 120  # for every client to build its boto3 client and warm up
# After the clock stops, each client empties the queues: two passes over all of them finding
# nothing mean its share is done (the others drain theirs).
EMPTY_PASSES_TO_STOP = 2
CALL_SLACK = 60  # a call under way when the clock stops still gets to finish, and the drain
ERRORS_KEPT = 5

_mp = multiprocessing.get_context("fork")


@dataclass
class Load:
    seconds: float
    deleted_in_window: int  # messages deleted while the clock ran: what msgs/s counts
    sent: int
    lost: int  # acknowledged as sent, never deleted
    duplicated: int  # deleted again after a first deletion
    unexpected: int  # deleted, never acknowledged as sent (a send that raised may still land)
    errors: int  # calls that raised, and batch entries refused
    error_samples: list
    client_cpu_seconds: float  # over the clock's window
    latencies: dict = field(default_factory=dict)  # call -> ms of each call in the window

    @property
    def rate(self):
        return self.deleted_in_window / self.seconds if self.seconds else 0.0

    def problems(self):
        found = []
        if self.lost:
            found.append(f"{self.lost:,} of {self.sent:,} messages lost")
        if self.duplicated:
            found.append(f"{self.duplicated:,} duplicate deliveries")
        if self.unexpected:
            found.append(f"{self.unexpected:,} deliveries of messages never acknowledged as sent")
        if self.errors:
            found.append(f"{self.errors:,} failed calls or entries, e.g. {self.error_samples[0]}")
        return found


def run(server, queue_urls, clients, seconds, on_start, on_stop):
    """Load `server` from `clients` processes for `seconds`; call `on_start()` as the clock
    starts and `on_stop()` as it stops (the caller's CPU and memory readings), then check
    that every message sent was deleted exactly once."""
    barrier, results = _mp.Barrier(clients + 1), _mp.Queue()
    workers = [
        _mp.Process(target=_client, args=(server, queue_urls, i, seconds, barrier, results))
        for i in range(clients)
    ]
    try:
        for worker in workers:
            worker.start()
        try:
            barrier.wait(timeout=START_TIMEOUT)
        except threading.BrokenBarrierError:
            crash = ""
            with contextlib.suppress(queue.Empty):
                crash = results.get(timeout=5).get("crash", "")
            raise RuntimeError("a client process failed before the start:\n" + crash) from None
        started = time.time()
        on_start()
        time.sleep(max(0.0, started + seconds - time.time()))
        on_stop()
        reports = [results.get(timeout=CALL_SLACK + 60) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
    crashed = [report["crash"] for report in reports if "crash" in report]
    if crashed:
        raise RuntimeError("a client process failed:\n" + crashed[0])
    return _tally(reports, seconds)


def _tally(reports, seconds):
    sent = {key for r in reports for key in r["sent"]}
    deleted = collections.Counter(key for r in reports for key in r["deleted"])
    latencies = collections.defaultdict(list)
    for report in reports:
        for call, samples in report["latencies"].items():
            latencies[call] += samples
    return Load(
        seconds=seconds,
        deleted_in_window=sum(r["deleted_in_window"] for r in reports),
        sent=len(sent),
        lost=len(sent - deleted.keys()),
        duplicated=sum(count - 1 for count in deleted.values()),
        unexpected=len(deleted.keys() - sent),
        errors=sum(r["errors"] for r in reports),
        error_samples=[text for r in reports for text in r["error_samples"]],
        client_cpu_seconds=sum(r["cpu"] for r in reports),
        latencies=dict(latencies),
    )


class _Calls:
    """One client's calls: each timed, and its failures counted rather than ending the run."""

    def __init__(self, server, index):
        self.sqs = make_client("sqs", server)
        self.index, self.seq = index, 0
        self.sent, self.deleted, self.errors, self.error_samples = [], [], 0, []
        self.latencies = collections.defaultdict(list)
        self.timing = False

    def round(self, queue_url):
        """Send a batch to `queue_url`, receive up to a batch and delete it; return how many
        this round deleted."""
        keys = {}
        for _ in range(BATCH):
            keys[str(self.seq)] = body(self.index, self.seq)
            self.seq += 1
        entries = [{"Id": seq, "MessageBody": text} for seq, text in keys.items()]
        reply = self._call("send", self.sqs.send_message_batch, QueueUrl=queue_url, Entries=entries)
        if reply:
            self.sent += [keys[entry["Id"]].split("|")[0] for entry in reply["Successful"]]
        return self.receive_and_delete(queue_url, RECEIVE_WAIT_SECONDS)

    def receive_and_delete(self, queue_url, wait):
        reply = self._call(
            "receive",
            self.sqs.receive_message,
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=wait,
        )
        messages = reply.get("Messages", ()) if reply else ()
        if not messages:
            return 0
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        reply = self._call(
            "delete", self.sqs.delete_message_batch, QueueUrl=queue_url, Entries=entries
        )
        if not reply:
            return 0
        done = sorted(int(entry["Id"]) for entry in reply["Successful"])
        self.deleted += [messages[i]["Body"].split("|")[0] for i in done]
        return len(done)

    def _call(self, name, method, **params):
        started = time.perf_counter()
        try:
            reply = method(**params)
        except Exception as error:  # a refused or broken call is a figure, not the end
            self._error(f"{name}: {type(error).__name__}: {error}")
            return None
        if self.timing:
            self.latencies[name].append((time.perf_counter() - started) * 1000)
        for failure in reply.get("Failed", ()):
            self._error(f"{name} entry: {failure.get('Code')}: {failure.get('Message')}")
        return reply

    def _error(self, text):
        self.errors += 1
        if len(self.error_samples) < ERRORS_KEPT:
            self.error_samples.append(text)


def _client(server, queue_urls, index, seconds, barrier, results):
    as_worker()
    try:
        calls = _Calls(server, index)
        for round_ in range(WARMUP_ROUNDS):
            calls.round(queue_urls[(index + round_) % len(queue_urls)])
        barrier.wait(timeout=START_TIMEOUT)
        deadline, cpu_before = time.time() + seconds, time.process_time()
        calls.timing, deleted_in_window, round_ = True, 0, index
        while time.time() < deadline:
            deleted = calls.round(queue_urls[round_ % len(queue_urls)])
            round_ += 1
            if time.time() <= deadline:
                deleted_in_window += deleted
        cpu = time.process_time() - cpu_before
        calls.timing = False
        empty_passes = 0
        while empty_passes < EMPTY_PASSES_TO_STOP:
            found = sum(calls.receive_and_delete(url, 0) for url in queue_urls)
            empty_passes = 0 if found else empty_passes + 1
        report = {
            "sent": calls.sent,
            "deleted": calls.deleted,
            "deleted_in_window": deleted_in_window,
            "errors": calls.errors,
            "error_samples": calls.error_samples,
            "latencies": dict(calls.latencies),
            "cpu": cpu,
        }
    except Exception:
        barrier.abort()  # so the parent stops waiting at the start line
        report = {"crash": traceback.format_exc()}
    results.put(report)
