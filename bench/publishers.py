"""Publisher processes that publish unique messages to one topic from a common start line.

Each calls PublishBatch of BATCH messages, or single Publish when given batch=1, and times every
call.
"""

import contextlib
import multiprocessing
import queue
import time
import traceback

from bench.client import make_client
from bench.processes import as_worker

BATCH = 10
BODY_SIZE = 200
START_TIMEOUT = 60
# Calls already under way when the time cap passes still get to finish.
CALL_SLACK = 45

_mp = multiprocessing.get_context("fork")


def body(prefix, publisher, seq):
    """Return a unique ~200-byte message whose key (before "|") names its publisher and seq."""
    return f"{prefix}-{publisher}-{seq}|".ljust(BODY_SIZE, "x")


def key_of(message):
    """Return the key `body` put at the start of `message`."""
    return message.split("|")[0]


class Publishers:
    """`count` processes that share `messages` publishes, released together by `go()`.

    Each reports the keys the server acknowledged, the entries it refused, when it finished, the
    CPU it used and how long each call took; `reports()` collects them. `batch` messages a call:
    PublishBatch, or Publish when it is 1.
    """

    def __init__(self, server, topic_arn, prefix, messages, count, time_cap, batch=BATCH):
        self.count = count
        self.time_cap = time_cap
        self._start = _mp.Barrier(count + 1)  # the parent starts the clock
        self._results = _mp.Queue()
        self._abort = _mp.Event()  # set when one fails, so the others stop early
        shares = [messages // count + (i < messages % count) for i in range(count)]
        self._processes = [
            _mp.Process(
                target=_publish,
                args=(server, topic_arn, prefix, i, n, time_cap, self._start, self._results)
                + (self._abort, batch),
            )
            for i, n in enumerate(shares)
        ]
        self._reports = []

    def __enter__(self):
        for process in self._processes:
            process.start()
        return self

    def __exit__(self, *exc):
        for process in self._processes:
            process.join(timeout=0 if exc[0] else 5)  # a publisher that reported is ending
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)

    def go(self):
        """Release every publisher at once; return the wall-clock time they started."""
        self._start.wait(timeout=START_TIMEOUT)
        return time.time()

    def done(self):
        """Return True once every publisher has reported (collecting what has arrived)."""
        with contextlib.suppress(queue.Empty):
            while len(self._reports) < self.count:
                self._reports.append(self._results.get_nowait())
        self._raise_errors()
        return len(self._reports) == self.count

    def reports(self):
        """Wait for and return every publisher's report; raise if any of them failed."""
        while len(self._reports) < self.count:
            self._reports.append(self._results.get(timeout=self.time_cap + CALL_SLACK))
        self._raise_errors()
        return self._reports

    def _raise_errors(self):
        errors = [report["error"] for report in self._reports if "error" in report]
        if errors:
            raise RuntimeError("a publisher failed:\n" + errors[0])


def tally(reports):
    """Return (keys acknowledged, entries refused, capped, last finish time, CPU seconds)."""
    return (
        {key for report in reports for key in report["sent"]},
        sum(report["failed"] for report in reports),
        any(report["capped"] for report in reports),
        max(report["finished"] for report in reports),
        sum(report["cpu"] for report in reports),
    )


def call_milliseconds(reports):
    """Return the wall time of every publish call of every publisher, in ms."""
    return [ms for report in reports for ms in report["calls"]]


def _publish(server, topic_arn, prefix, index, count, time_cap, start, results, abort, batch):
    as_worker()
    try:
        sns = make_client("sns", server)
        start.wait(timeout=START_TIMEOUT)
        deadline, cpu_before = time.time() + time_cap, time.process_time()
        sent, failed, capped, calls = [], 0, False, []
        for first in range(0, count, batch):
            if abort.is_set():
                break
            if time.time() > deadline:
                capped = True
                break
            seqs = range(first, min(first + batch, count))
            texts = {str(seq): body(prefix, index, seq) for seq in seqs}
            called = time.perf_counter()
            if batch == 1:
                (text,) = texts.values()
                sns.publish(TopicArn=topic_arn, Message=text)
                sent.append(key_of(text))
            else:
                entries = [{"Id": id_, "Message": text} for id_, text in texts.items()]
                reply = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
                sent += [key_of(texts[entry["Id"]]) for entry in reply.get("Successful", ())]
                failed += len(reply.get("Failed", ()))
            calls.append((time.perf_counter() - called) * 1000)
        report = {
            "sent": sent,
            "failed": failed,
            "capped": capped,
            "finished": time.time(),
            "cpu": time.process_time() - cpu_before,
            "calls": calls,
        }
    except Exception:
        abort.set()
        report = {"error": traceback.format_exc()}
    results.put(report)
