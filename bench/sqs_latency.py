"""Latency of single calls: SendMessage round trips, and how fast a long poll wakes."""

import multiprocessing
import time
import traceback

from bench.client import make_client
from bench.processes import as_worker

WARMUP_CALLS = 20
LONG_POLL_SECONDS = 20
# Give the receiver's request time to reach the server and start waiting before we send.
SETTLE_SECONDS = 0.2
STEP_TIMEOUT = LONG_POLL_SECONDS + 15

_mp = multiprocessing.get_context("fork")


def send_latencies(server, queue_url, calls, time_cap):
    """Return the milliseconds each of `calls` sequential SendMessage calls took."""
    sqs = make_client("sqs", server)
    for i in range(WARMUP_CALLS):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"warm-{i}")
    samples, deadline = [], time.monotonic() + time_cap
    for i in range(calls):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"s-{i}")
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def wake_latencies(server, queue_url, rounds, sending=None):
    """Return, per round, ms from just before SendMessage to the blocked receiver's return.

    The receiver runs in its own process and timestamps with time.time() on the same machine,
    so the figure includes the send call itself, as a real producer/consumer pair sees it. The
    long poll is held on `server`; the send goes to `sending` (another web process) if given.
    """
    sqs = make_client("sqs", sending or server)
    ours, theirs = _mp.Pipe()
    receiver = _mp.Process(target=receive_rounds, args=(server, queue_url, rounds, theirs))
    receiver.start()
    samples = []
    try:
        for round_ in range(rounds):
            expect(ours, "waiting")
            time.sleep(SETTLE_SECONDS)
            sent_at = time.time()
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"w-{round_}")
            body, received_at = expect(ours, "received")
            if body != f"w-{round_}":
                raise RuntimeError(f"long poll round {round_} returned {body!r}")
            samples.append((received_at - sent_at) * 1000)
        receiver.join(timeout=STEP_TIMEOUT)
    finally:
        if receiver.is_alive():
            receiver.terminate()
            receiver.join(timeout=5)
    return samples


def expect(conn, kind):
    """Return the fields of the receiver's next message, which must be of `kind`."""
    if not conn.poll(STEP_TIMEOUT):
        raise RuntimeError(f"long-poll receiver sent nothing for {STEP_TIMEOUT} s")
    message = conn.recv()
    if message[0] == "error":
        raise RuntimeError("long-poll receiver failed:\n" + message[1])
    if message[0] != kind:
        raise RuntimeError(f"long-poll receiver said {message!r}, expected {kind}")
    return message[1:]


def receive_rounds(server, queue_url, rounds, conn, message_of=lambda body: body):
    """The receiver process: `rounds` times, say "waiting", long-poll one message, say
    "received" with `message_of(body)` (None if nothing came) and the time it came, delete it."""
    as_worker()
    try:
        sqs = make_client("sqs", server)
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)  # warm the client up
        for _ in range(rounds):
            conn.send(("waiting",))
            reply = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=LONG_POLL_SECONDS
            )
            received_at = time.time()
            messages = reply.get("Messages", ())
            message = message_of(messages[0]["Body"]) if messages else None
            conn.send(("received", message, received_at))
            if messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    except Exception:
        conn.send(("error", traceback.format_exc()))
