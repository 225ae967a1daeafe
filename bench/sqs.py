"""The queue (SQS) suite: throughput, server CPU, SendMessage latency and long-poll wake-up."""

import sys

from bench import sqs_latency, sqs_throughput
from bench.client import make_client
from bench.report import Column, Goal
from bench.stats import percentile

TITLE = "Queues (SQS)"
NEEDS_WORKER = False

# Long enough that no message reappears during a run: a duplicate then means a server bug.
THROUGHPUT_VISIBILITY_TIMEOUT = "600"

# Above this share of the machine busy elsewhere, the figures say more about the neighbours.
OTHER_LOAD_WARNING = 0.1


def _times_baseline(figures, baseline):
    """Return the throughput as a multiple of moto's, or None without a moto run."""
    return figures["rate"] / baseline["rate"] if baseline and baseline["rate"] else None


COLUMNS = (
    Column("msgs/s", lambda f, base: f["rate"], "{:,.0f}"),
    Column("× moto", lambda f, base: _times_baseline(f, base), "{:.1f}×"),
    Column("server µs/msg", lambda f, base: f["server_us"], "{:,.0f}"),
    Column("client µs/msg", lambda f, base: f["client_us"], "{:,.0f}"),
    Column("other load", lambda f, base: f["other_load"], "{:.0%}"),
    Column("send p50 ms", lambda f, base: f["send_p50"], "{:.2f}"),
    Column("send p99 ms", lambda f, base: f["send_p99"], "{:.2f}"),
    Column("wake p50 ms", lambda f, base: f["wake_p50"], "{:.1f}"),
    Column("wake p95 ms", lambda f, base: f["wake_p95"], "{:.1f}"),
    Column("messages", lambda f, base: f["delivered"], "{:,}"),
    Column("seconds", lambda f, base: f["seconds"], "{:.1f}"),
)

GOALS = (
    Goal(
        "server CPU ≤ 150 µs/msg", lambda f, base: f["server_us"], lambda v: v <= 150, "{:.0f} µs"
    ),
    Goal("≥ 1,500 msgs/s end to end", lambda f, base: f["rate"], lambda v: v >= 1500, "{:,.0f}"),
    Goal("≥ 20× moto's msgs/s", _times_baseline, lambda v: v >= 20, "{:.1f}×"),
    Goal("SendMessage p50 < 3 ms", lambda f, base: f["send_p50"], lambda v: v < 3, "{:.2f} ms"),
    Goal(
        "long-poll wake p95 < 50 ms", lambda f, base: f["wake_p95"], lambda v: v < 50, "{:.1f} ms"
    ),
)


def run(server, sizes, producers, consumers):
    """Measure `server`; return (figures by name, problems found in words)."""
    sqs = make_client("sqs", server)
    queue = sqs.create_queue(
        QueueName="bench-throughput",
        Attributes={"VisibilityTimeout": THROUGHPUT_VISIBILITY_TIMEOUT},
    )["QueueUrl"]
    _say(server, f"throughput: {sizes.messages:,} messages, {producers}×send {consumers}×receive")
    flow = sqs_throughput.run(server, queue, sizes.messages, producers, consumers, sizes.time_cap)
    _say(server, f"  {flow.delivered:,} delivered in {flow.seconds:.1f} s")

    queue = sqs.create_queue(QueueName="bench-send")["QueueUrl"]
    _say(server, f"SendMessage latency: {sizes.send_calls:,} calls")
    sends = sqs_latency.send_latencies(server, queue, sizes.send_calls, sizes.time_cap)

    queue = sqs.create_queue(QueueName="bench-wake")["QueueUrl"]
    _say(server, f"long-poll wake-up: {sizes.wake_rounds} rounds")
    wakes = sqs_latency.wake_latencies(server, queue, sizes.wake_rounds)

    figures = {
        "rate": flow.rate,
        "server_us": flow.server_us_per_message,
        "client_us": flow.client_us_per_message,
        "other_load": flow.other_load,
        "delivered": flow.delivered,
        "seconds": flow.seconds,
        "send_p50": percentile(sends, 50),
        "send_p99": percentile(sends, 99),
        "wake_p50": percentile(wakes, 50),
        "wake_p95": percentile(wakes, 95),
    }
    problems = flow.problems()
    if flow.other_load > OTHER_LOAD_WARNING:
        print(
            f"warning: other processes used {flow.other_load:.0%} of the machine", file=sys.stderr
        )
    if len(sends) < sizes.send_calls:
        problems.append(
            f"time cap reached: {len(sends):,} of {sizes.send_calls:,} SendMessage calls"
        )
    return figures, problems


def _say(server, text):
    print(f"[{server.name}] {text}", file=sys.stderr, flush=True)
