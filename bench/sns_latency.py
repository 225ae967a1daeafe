"""Publish-to-queue latency: one Publish at a time, timed until a long poll returns it."""

import json
import multiprocessing
import time

from bench.client import make_client
from bench.sqs_latency import expect, receive_rounds

# Rounds before the counted ones: the first delivery also pays for connections and caches.
WARMUP_ROUNDS = 3
# Give the receiver's request time to reach the server and start waiting before we publish.
SETTLE_SECONDS = 0.05

_mp = multiprocessing.get_context("fork")


def publish_to_queue(server, topic_arn, queue_url, rounds, time_cap):
    """Return ([ms from before Publish to the receive returning it], [ms each Publish took]).

    The receiver runs in its own process, long-polls `queue_url` and timestamps with
    time.time() on the same machine. Deliveries are in the SNS envelope (raw delivery off), and
    the receiver checks the envelope's Message is the one just published.
    """
    sns = make_client("sns", server)
    ours, theirs = _mp.Pipe()
    receiver = _mp.Process(
        target=receive_rounds,
        args=(server, queue_url, WARMUP_ROUNDS + rounds, theirs, _envelope_message),
    )
    receiver.start()
    latencies, publishes, deadline = [], [], time.monotonic() + time_cap
    try:
        for round_ in range(WARMUP_ROUNDS + rounds):
            if time.monotonic() > deadline:
                break
            expect(ours, "waiting")
            time.sleep(SETTLE_SECONDS)
            sent_at, started = time.time(), time.perf_counter()
            sns.publish(TopicArn=topic_arn, Message=f"p-{round_}")
            took = (time.perf_counter() - started) * 1000
            message, received_at = expect(ours, "received")
            if message != f"p-{round_}":
                raise RuntimeError(f"publish-to-queue round {round_} received {message!r}")
            if round_ >= WARMUP_ROUNDS:
                latencies.append((received_at - sent_at) * 1000)
                publishes.append(took)
    finally:
        receiver.terminate()
        receiver.join(timeout=5)
    return latencies, publishes


def _envelope_message(body):
    return json.loads(body)["Message"]
