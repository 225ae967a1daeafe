"""The topic (SNS) suite: fan-out into queues, publish-to-queue latency and HTTP fan-out."""

import sys

from bench import sns_fanout, sns_http, sns_latency
from bench.client import make_client
from bench.report import Column, Goal
from bench.stats import percentile

TITLE = "Topics (SNS)"
# Roost delivers to subscribers from its Celery worker, so the server needs one for this suite.
NEEDS_WORKER = True

SUBSCRIBERS = 10  # queues on each topic, and endpoints on the HTTP topic
# Long enough that no message reappears during a run: a duplicate then means a server bug.
VISIBILITY_TIMEOUT = "600"
OTHER_LOAD_WARNING = 0.1
# Seconds for the latency rounds and for the HTTP phases, each, below the suite-wide cap: a
# server that needs longer has missed by far, and the run should say so in minutes, not tens.
SHORT_CAP = 60


def _times_baseline(figures, baseline):
    """Return the fan-out rate as a multiple of moto's, or None without a moto run."""
    if not baseline or not baseline["fanout_rate"]:
        return None
    return figures["fanout_rate"] / baseline["fanout_rate"]


COLUMNS = (
    Column("deliveries/s", lambda f, base: f["fanout_rate"], "{:,.0f}"),
    Column("× moto", _times_baseline, "{:.1f}×"),
    Column("server µs/delivery", lambda f, base: f["server_us"], "{:,.0f}"),
    Column("other load", lambda f, base: f["other_load"], "{:.0%}"),
    Column("publish p50 ms", lambda f, base: f["publish_p50"], "{:.2f}"),
    Column("to queue p50 ms", lambda f, base: f["queue_p50"], "{:.1f}"),
    Column("to queue p95 ms", lambda f, base: f["queue_p95"], "{:.1f}"),
    Column("http deliveries/s", lambda f, base: f["http_rate"], "{:,.0f}"),
    Column("http p50 ms", lambda f, base: f["http_p50"], "{:.1f}"),
    Column("deliveries", lambda f, base: f["deliveries"], "{:,}"),
    Column("seconds", lambda f, base: f["seconds"], "{:.1f}"),
)

GOALS = (
    Goal(
        f"fan-out to {SUBSCRIBERS} queues ≥ 2,000 deliveries/s",
        lambda f, base: f["fanout_rate"],
        lambda v: v >= 2000,
        "{:,.0f}",
    ),
    Goal(
        "publish-to-queue p50 < 100 ms",
        lambda f, base: f["queue_p50"],
        lambda v: v < 100,
        "{:.1f} ms",
    ),
)


def run(server, sizes, producers, consumers):
    """Measure `server`'s topics; return (figures by name, problems found in words)."""
    sns, sqs = make_client("sns", server), make_client("sqs", server)

    topic, queues = topic_with_queues(sns, sqs, "bench-fanout", raw=True)
    say(server, f"fan-out: {sizes.fanout_messages:,} messages to {SUBSCRIBERS} queues")
    sns_fanout.warm_up(sns, sqs, topic, queues)
    fanout = sns_fanout.run(
        server, topic, queues, sizes.fanout_messages, producers, consumers, sizes.time_cap
    )
    say(
        server,
        f"  {fanout.arrived:,} deliveries in {fanout.seconds:.1f} s"
        f" (published in {fanout.publish_seconds:.1f} s)",
    )

    topic, queues = topic_with_queues(sns, sqs, "bench-latency", raw=False)
    say(server, f"publish-to-queue latency: {sizes.publish_rounds} rounds")
    short_cap = min(sizes.time_cap, SHORT_CAP)
    latencies, publishes = sns_latency.publish_to_queue(
        server, topic, queues[-1], sizes.publish_rounds, short_cap
    )

    say(
        server,
        f"HTTP fan-out: {sizes.http_rounds} rounds, then {sizes.http_messages:,} messages"
        f" to {SUBSCRIBERS} endpoints",
    )
    http = sns_http.run(
        server, SUBSCRIBERS, sizes.http_rounds, sizes.http_messages, producers, short_cap
    )
    say(
        server,
        f"  {http.delivered:,} HTTP deliveries in {http.seconds:.1f} s,"
        f" receiver CPU {http.receiver_cpu_seconds:.1f} s",
    )

    figures = {
        "fanout_rate": fanout.rate,
        "server_us": fanout.server_us_per_delivery,
        "other_load": fanout.other_load,
        "deliveries": fanout.arrived,
        "seconds": fanout.seconds,
        "publish_p50": percentile(publishes, 50),
        "queue_p50": percentile(latencies, 50),
        "queue_p95": percentile(latencies, 95),
        "http_rate": http.rate,
        "http_p50": percentile(http.latencies, 50),
    }
    problems = fanout.problems() + http.problems()
    warn_about_load(fanout.other_load)
    if len(latencies) < sizes.publish_rounds:
        problems.append(
            f"time cap reached: {len(latencies)} of {sizes.publish_rounds} publish-to-queue rounds"
        )
    if len(http.latencies) < sizes.http_rounds * SUBSCRIBERS:
        problems.append(f"time cap reached: {len(http.latencies)} HTTP latency samples")
    return figures, problems


def topic_with_queues(sns, sqs, name, raw):
    """Create topic `name` with SUBSCRIBERS standard queues subscribed; return (ARN, queue URLs).

    With `raw`, the subscriptions set RawMessageDelivery, so each queue gets the bare message.
    """
    topic = sns.create_topic(Name=name)["TopicArn"]
    urls = []
    for i in range(SUBSCRIBERS):
        url = sqs.create_queue(
            QueueName=f"{name}-{i}", Attributes={"VisibilityTimeout": VISIBILITY_TIMEOUT}
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"RawMessageDelivery": "true"} if raw else {}
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        urls.append(url)
    return topic, urls


def warn_about_load(other_load):
    """Say on stderr when other processes took enough of the machine to sway the figures."""
    if other_load > OTHER_LOAD_WARNING:
        print(f"warning: other processes used {other_load:.0%} of the machine", file=sys.stderr)


def say(server, text):
    print(f"[{server.name}] {text}", file=sys.stderr, flush=True)
