"""HTTP fan-out: a topic's deliveries to a local HTTP receiver, their rate and latency."""

import asyncio
import collections
import contextlib
import json
import multiprocessing
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass, field

from bench.client import make_client
from bench.processes import as_worker
from bench.publishers import Publishers, key_of, tally
from bench.servers import HOST

CONFIRM_TIMEOUT = 60  # for every subscription to leave PendingConfirmation
STEP_TIMEOUT = 35  # for one message to reach every endpoint
WAIT_STEP = 0.001  # how often the parent looks at the receiver's counter

_mp = multiprocessing.get_context("fork")


@dataclass
class HttpFanout:
    published: int
    endpoints: int
    delivered: int  # distinct (endpoint, message) pairs of the throughput phase
    lost: int
    duplicated: int  # extra POSTs of one message to one endpoint (latency rounds included)
    unexpected: int
    failed_entries: int
    capped: bool
    seconds: float  # first publish to the last POST's arrival
    latencies: list = field(default_factory=list)  # ms, Publish to POST, one per delivery
    receiver_cpu_seconds: float = 0.0

    @property
    def rate(self):
        return self.delivered / self.seconds if self.seconds else 0.0

    def problems(self):
        """Return what went wrong, in words; empty when every endpoint got every message once."""
        expected = self.published * self.endpoints
        found = []
        if self.capped:
            found.append(f"time cap reached: {self.delivered:,} of {expected:,} HTTP deliveries")
        elif self.lost:
            found.append(f"{self.lost:,} of {expected:,} HTTP deliveries lost")
        if self.duplicated:
            found.append(f"{self.duplicated:,} duplicate HTTP deliveries")
        if self.unexpected:
            found.append(f"{self.unexpected:,} HTTP deliveries of messages never acknowledged")
        if self.failed_entries:
            found.append(f"{self.failed_entries:,} PublishBatch entries failed")
        return found


def run(server, endpoints, rounds, messages, publishers, time_cap):
    """Subscribe `endpoints` URLs of one local receiver to a topic and measure its deliveries.

    First `rounds` single Publish calls, each waited for until every endpoint has it (latency),
    then `messages` published by `publishers` processes at once (throughput).
    """
    sns = make_client("sns", server)
    topic_arn = sns.create_topic(Name="bench-http")["TopicArn"]
    with _Receiver() as receiver:
        for i in range(endpoints):
            url = f"http://{HOST}:{receiver.port}/endpoint/{i}"
            sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=url)
        _wait_confirmed(sns, topic_arn, receiver)
        delivered = 0
        sns.publish(TopicArn=topic_arn, Message="warm-up")
        delivered += endpoints
        receiver.wait_for(delivered, STEP_TIMEOUT)
        sent_at, deadline = {}, time.monotonic() + time_cap
        for round_ in range(rounds):
            if time.monotonic() > deadline:
                break
            sent_at[f"r-{round_}"] = time.time()
            sns.publish(TopicArn=topic_arn, Message=f"r-{round_}")
            delivered += endpoints
            receiver.wait_for(delivered, STEP_TIMEOUT)
        with Publishers(server, topic_arn, "h", messages, publishers, time_cap) as pub:
            started = pub.go()
            arrived = receiver.wait_for(delivered + messages * endpoints, time_cap, fail=False)
            sent, failed, capped, _, _ = tally(pub.reports())
        log, receiver_cpu = receiver.report()
    figures = _tally(log, sent, sent_at, endpoints, messages, started, failed, capped, arrived)
    figures.receiver_cpu_seconds = receiver_cpu
    return figures


def _tally(log, sent, sent_at, endpoints, messages, started, failed, capped, arrived):
    by_endpoint = collections.defaultdict(collections.Counter)
    latencies, finished = [], started
    for path, key, received_at in log:
        by_endpoint[path][key] += 1
        if key in sent_at:
            latencies.append((received_at - sent_at[key]) * 1000)
        elif key in sent:
            finished = max(finished, received_at)
    known = sent | sent_at.keys() | {"warm-up"}
    return HttpFanout(
        published=len(sent),
        endpoints=endpoints,
        delivered=sum(len(sent & counts.keys()) for counts in by_endpoint.values()),
        lost=endpoints * len(sent) - sum(len(sent & c.keys()) for c in by_endpoint.values()),
        duplicated=sum(n - 1 for counts in by_endpoint.values() for n in counts.values()),
        unexpected=sum(len(counts.keys() - known) for counts in by_endpoint.values()),
        failed_entries=failed,
        capped=capped or not arrived or len(sent) < messages,
        seconds=finished - started,
        latencies=latencies,
    )


def _wait_confirmed(sns, topic_arn, receiver):
    """Wait until no subscription of `topic_arn` is pending (the receiver confirms them)."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while time.monotonic() < deadline:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        pending = [s for s in subscriptions if s["SubscriptionArn"] == "PendingConfirmation"]
        if not pending:
            return
        receiver.check()
        time.sleep(0.1)
    raise RuntimeError(
        f"{len(pending)} HTTP subscriptions still pending after {CONFIRM_TIMEOUT} s"
        f" ({receiver.confirmations.value} confirmation requests arrived)"
    )


class _Receiver:
    """A local HTTP endpoint in its own process that logs each SNS notification it is sent."""

    def __enter__(self):
        self.notifications = _mp.Value("i", 0)
        self.confirmations = _mp.Value("i", 0)
        self._conn, theirs = _mp.Pipe()
        self._process = _mp.Process(
            target=_serve, args=(theirs, self.notifications, self.confirmations)
        )
        self._process.start()
        self.port = self._expect("port", STEP_TIMEOUT)[0]
        return self

    def __exit__(self, *exc):
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)

    def wait_for(self, count, timeout, fail=True):
        """Wait until `count` notifications have arrived; return False if `timeout` passed."""
        deadline = time.monotonic() + timeout
        while self.notifications.value < count:
            if time.monotonic() > deadline:
                if fail:
                    raise RuntimeError(
                        f"{self.notifications.value:,} of {count:,} HTTP deliveries arrived"
                        f" within {timeout} s"
                    )
                return False
            self.check()
            time.sleep(WAIT_STEP)
        return True

    def check(self):
        """Raise if the receiver has reported a failure."""
        if self._conn.poll():
            raise RuntimeError(f"the HTTP receiver failed:\n{self._conn.recv()[1]}")

    def report(self):
        """Stop the receiver; return its log [(path, message key, time)] and its CPU seconds."""
        self._conn.send("report")
        return self._expect("report", STEP_TIMEOUT)

    def _expect(self, kind, timeout):
        if not self._conn.poll(timeout):
            raise RuntimeError(f"the HTTP receiver sent nothing for {timeout} s")
        message = self._conn.recv()
        if message[0] != kind:
            raise RuntimeError(f"the HTTP receiver said {message[0]}:\n{message[1]}")
        return message[1:]


def _serve(conn, notifications, confirmations):
    as_worker()
    try:
        asyncio.run(_Endpoint(conn, notifications, confirmations).serve())
    except Exception:
        conn.send(("error", traceback.format_exc()))


class _Endpoint:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) answering 200 to any POST."""

    def __init__(self, conn, notifications, confirmations):
        self.conn = conn
        self.notifications = notifications
        self.confirmations = confirmations
        self.log = []
        self._sending = threading.Lock()  # the loop and confirming threads share the pipe

    async def serve(self):
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        server = await asyncio.start_server(self._connection, HOST, 0)
        self._send("port", server.sockets[0].getsockname()[1])
        cpu_before = time.process_time()

        def wait_for_report():
            self.conn.recv()
            loop.call_soon_threadsafe(stop.set_result, None)

        threading.Thread(target=wait_for_report, daemon=True).start()
        async with server:
            await stop
        self._send("report", self.log, time.process_time() - cpu_before)

    def _send(self, *message):
        with self._sending:
            self.conn.send(message)

    async def _connection(self, reader, writer):
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            keep_alive = True
            while keep_alive:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, version = head[0].split(" ", 2)
                headers = dict(
                    (name.strip().lower(), value.strip())
                    for name, value in (line.split(":", 1) for line in head[1:] if line)
                )
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self._received(method, path, body, time.time())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
        writer.close()

    def _received(self, method, path, body, received_at):
        try:
            message = json.loads(body)
            kind = message["Type"]
        except (ValueError, KeyError, TypeError):
            self._send("error", f"{method} {path}: not an SNS message: {body[:200]!r}")
            return
        if kind == "SubscriptionConfirmation":
            threading.Thread(target=self._confirm, args=(message["SubscribeURL"],)).start()
        elif kind == "Notification":
            self.log.append((path, key_of(message["Message"]), received_at))
            with self.notifications.get_lock():
                self.notifications.value += 1
        else:
            self._send("error", f"{method} {path}: unexpected Type {kind!r}")

    def _confirm(self, url):
        """Visit SubscribeURL, as a subscriber does to confirm its subscription."""
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            with self.confirmations.get_lock():
                self.confirmations.value += 1
        except Exception as error:
            self._send("error", f"GET SubscribeURL {url} failed: {error}")
