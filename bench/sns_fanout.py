"""Fan-out throughput: publishes to one topic, delivered into every subscribed queue."""

import collections
import json
import multiprocessing
import time
import traceback
from dataclasses import dataclass

from bench.client import make_client
from bench.cpu import host_cpu_seconds, sessions_cpu_seconds
from bench.processes import as_worker
from bench.publishers import BATCH, Publishers, call_milliseconds, key_of, tally

# Between depth polls of the queue being watched: the clock stops at most about this late.
POLL_SECONDS = 0.05
WARM_UP_WAIT = 20  # a long poll's longest wait
# A queue is drained after this many empty short receives in a row (every message is in by then).
EMPTY_RECEIVES_TO_STOP = 2

_mp = multiprocessing.get_context("fork")


@dataclass
class Fanout:
    published: int  # messages the server acknowledged
    queues: int
    arrived: int  # deliveries in the queues when the clock stopped (all of them unless capped)
    delivered: int  # distinct (queue, message) pairs received back afterwards
    lost: int  # (queue, message) pairs published but never received (loss only when not capped)
    duplicated: int  # extra copies of a message in one queue
    unexpected: int  # messages received that no publisher had acknowledged
    failed_entries: int  # PublishBatch entries the server refused
    capped: bool  # the time cap ended the run before every queue filled
    seconds: float  # first publish to the poll that saw the last queue full
    publish_seconds: float  # first publish to the last publisher's last reply
    server_cpu_seconds: float  # the server and its Celery worker
    client_cpu_seconds: float  # the publishers and the depth poller
    host_busy_seconds: float
    host_seconds: float
    call_ms: list  # wall time of each publish call

    @property
    def rate(self):
        return self.arrived / self.seconds if self.seconds else 0.0

    @property
    def server_us_per_delivery(self):
        return self.server_cpu_seconds / self.arrived * 1e6 if self.arrived else None

    @property
    def other_load(self):
        """Return the share of the machine that processes outside the benchmark used, 0..1."""
        ours = self.server_cpu_seconds + self.client_cpu_seconds
        return max(0.0, self.host_busy_seconds - ours) / self.host_seconds

    def problems(self):
        """Return what went wrong, in words; an empty list means every queue got every message."""
        expected = self.published * self.queues
        found = []
        if self.capped:
            found.append(f"time cap reached: {self.arrived:,} of {expected:,} deliveries")
        elif self.lost:
            found.append(f"{self.lost:,} of {expected:,} queue deliveries lost")
        if self.duplicated:
            found.append(f"{self.duplicated:,} duplicate queue deliveries")
        if self.unexpected:
            found.append(f"{self.unexpected:,} deliveries of messages never acknowledged")
        if self.failed_entries:
            found.append(f"{self.failed_entries:,} PublishBatch entries failed")
        return found


def warm_up(sns, sqs, topic_arn, queue_urls):
    """Publish one message and take it out of every queue, so deliveries are known to work."""
    sns.publish(TopicArn=topic_arn, Message="warm-up")
    for url in queue_urls:
        reply = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=WARM_UP_WAIT)
        messages = reply.get("Messages", ())
        if not messages:
            raise RuntimeError(f"a published message did not reach {url} in {WARM_UP_WAIT} s")
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])


def run(
    server, topic_arn, queue_urls, messages, publishers, drainers, time_cap, batch=BATCH, raw=True
):
    """Publish `messages` to `topic_arn`, time their arrival in `queue_urls`, then check them.

    Each publisher calls PublishBatch of `batch` messages, or Publish when `batch` is 1. `raw`
    says the queues get bare messages; otherwise SNS's envelope, whose Message is checked.

    The clock stops when every queue's ApproximateNumberOfMessages has reached the number of
    messages published: nothing receives while it runs, so the figure is what the server and its
    worker deliver, not what boto3 can consume. The queues are drained and checked afterwards.
    """
    sqs = make_client("sqs", server)
    with Publishers(server, topic_arn, "f", messages, publishers, time_cap, batch) as pub:
        started = pub.go()
        server_before, host_before = sessions_cpu_seconds(server.sessions), host_cpu_seconds()
        poller_before = time.process_time()
        finished, arrived, capped = _wait_until_full(
            sqs, queue_urls, messages, pub, started + time_cap
        )
        poller_cpu = time.process_time() - poller_before
        server_cpu = sessions_cpu_seconds(server.sessions) - server_before
        host_busy, host_total = (
            a - b for a, b in zip(host_cpu_seconds(), host_before, strict=True)
        )
        sent, failed, publish_capped, published_at, publish_cpu = tally(pub.reports())
        call_ms = call_milliseconds(pub.reports())
    received = _drain(server, queue_urls, drainers, time_cap, raw)
    found = {url: collections.Counter(keys) for url, keys in received.items()}
    return Fanout(
        published=len(sent),
        queues=len(queue_urls),
        arrived=arrived,
        delivered=sum(len(sent & counts.keys()) for counts in found.values()),
        lost=sum(len(sent - counts.keys()) for counts in found.values()),
        duplicated=sum(n - 1 for counts in found.values() for n in counts.values()),
        unexpected=sum(len(counts.keys() - sent) for counts in found.values()),
        failed_entries=failed,
        capped=capped or publish_capped or len(sent) < messages,
        seconds=finished - started,
        publish_seconds=published_at - started,
        server_cpu_seconds=server_cpu,
        client_cpu_seconds=publish_cpu + poller_cpu,
        host_busy_seconds=host_busy,
        host_seconds=host_total,
        call_ms=call_ms,
    )


def _wait_until_full(sqs, queue_urls, messages, pub, deadline):
    """Poll queue depths until each holds every acknowledged message.

    Return (when the last queue was seen full or the cap passed, deliveries in the queues then).
    One queue is watched at a time, the next only once it is full: deliveries fill the queues
    together, so this keeps the poller's own load to ~20 calls a second.
    """
    acknowledged, waiting = None, list(queue_urls)
    while waiting:
        if acknowledged is None and pub.done():  # expect only what the server acknowledged
            acknowledged = len(tally(pub.reports())[0])
        expected = messages if acknowledged is None else acknowledged
        now, depth = _depth(sqs, waiting[0])
        if depth >= expected:
            waiting.pop(0)
        elif now > deadline:
            arrived = sum(_depth(sqs, url)[1] for url in queue_urls)
            return now, min(arrived, expected * len(queue_urls)), True
        else:
            time.sleep(POLL_SECONDS)
    return now, expected * len(queue_urls), False


def _depth(sqs, url):
    """Return (when the reply came, ApproximateNumberOfMessages of `url`)."""
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return time.time(), int(reply["Attributes"]["ApproximateNumberOfMessages"])


def _drain(server, queue_urls, drainers, time_cap, raw):
    """Receive and delete everything in `queue_urls`; return {url: [message keys]}."""
    results = _mp.Queue()
    shares = [queue_urls[i::drainers] for i in range(drainers)]
    processes = [
        _mp.Process(target=_drain_queues, args=(server, urls, time_cap, raw, results))
        for urls in shares
        if urls
    ]
    try:
        for process in processes:
            process.start()
        reports = [results.get(timeout=time_cap + 60) for _ in processes]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
    errors = [report["error"] for report in reports if "error" in report]
    if errors:
        raise RuntimeError("draining the fan-out queues failed:\n" + errors[0])
    return {url: keys for report in reports for url, keys in report["keys"].items()}


def _message(body, raw):
    """Return the published message a queue message carries, bare or in SNS's envelope."""
    return body if raw else json.loads(body)["Message"]


def _drain_queues(server, queue_urls, time_cap, raw, results):
    as_worker()
    try:
        sqs = make_client("sqs", server)
        deadline, keys = time.time() + time_cap, {}
        for url in queue_urls:
            keys[url], empty = [], 0
            while empty < EMPTY_RECEIVES_TO_STOP and time.time() < deadline:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                    "Messages", ()
                )
                empty = 0 if messages else empty + 1
                if not messages:
                    continue
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                reply = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                if reply.get("Failed"):
                    raise RuntimeError(f"DeleteMessageBatch failed: {reply['Failed'][:3]}")
                keys[url] += [key_of(_message(m["Body"], raw)) for m in messages]
        results.put({"keys": keys})
    except Exception:
        results.put({"error": traceback.format_exc()})
