"""The single-Publish suite: concurrent publishers each calling Publish, into a topic's queues.

The case of a service that publishes one event per request: no PublishBatch, several publishers
at once, every message delivered into SUBSCRIBERS queues. Measured twice, with raw delivery and
with SNS's default envelope (signed, so one signature per message).
"""

from bench import sns, sns_fanout
from bench.client import make_client
from bench.report import Column, Goal
from bench.stats import percentile

TITLE = "Single Publish into 10 queues"
NEEDS_WORKER = True
PUBLISHERS = 4  # processes, each calling Publish as fast as the server answers
MODES = ("raw", "envelope")


def _times_baseline(mode):
    def value(figures, baseline):
        key = f"{mode}_rate"
        if not baseline or not baseline[key]:
            return None
        return figures[key] / baseline[key]

    return value


COLUMNS = tuple(
    column
    for mode in MODES
    for column in (
        Column(f"{mode} deliveries/s", lambda f, base, m=mode: f[f"{m}_rate"], "{:,.0f}"),
        Column(f"{mode} × moto", _times_baseline(mode), "{:.1f}×"),
        Column(f"{mode} publish p50 ms", lambda f, base, m=mode: f[f"{m}_p50"], "{:.1f}"),
        Column(f"{mode} publish p99 ms", lambda f, base, m=mode: f[f"{m}_p99"], "{:.1f}"),
        Column(f"{mode} server µs/delivery", lambda f, base, m=mode: f[f"{m}_us"], "{:,.0f}"),
    )
) + (
    Column("lost", lambda f, base: f["lost"], "{:,}"),
    Column("duplicated", lambda f, base: f["duplicated"], "{:,}"),
    Column("other load", lambda f, base: f["other_load"], "{:.0%}"),
)

GOALS = tuple(
    goal
    for mode in MODES
    for goal in (
        Goal(
            f"{mode}: ≥ 2,000 deliveries/s",
            lambda f, base, m=mode: f[f"{m}_rate"],
            lambda v: v >= 2000,
            "{:,.0f}",
        ),
        Goal(
            f"{mode}: Publish p50 < 15 ms",
            lambda f, base, m=mode: f[f"{m}_p50"],
            lambda v: v < 15,
            "{:.1f} ms",
        ),
    )
)


def run(server, sizes, producers, consumers):
    """Measure `server`'s single Publish into queues; return (figures by name, problems)."""
    sns_client, sqs_client = make_client("sns", server), make_client("sqs", server)
    figures, problems, lost, duplicated, other_load = {}, [], 0, 0, 0.0
    for mode in MODES:
        topic, queues = sns.topic_with_queues(
            sns_client, sqs_client, f"bench-single-{mode}", raw=mode == "raw"
        )
        sns.say(
            server,
            f"single Publish ({mode}): {sizes.single_messages:,} messages from {PUBLISHERS}"
            f" publishers to {sns.SUBSCRIBERS} queues",
        )
        sns_fanout.warm_up(sns_client, sqs_client, topic, queues)
        fanout = sns_fanout.run(
            server,
            topic,
            queues,
            sizes.single_messages,
            PUBLISHERS,
            consumers,
            sizes.time_cap,
            batch=1,
            raw=mode == "raw",
        )
        sns.say(
            server,
            f"  {fanout.arrived:,} deliveries in {fanout.seconds:.1f} s"
            f" (published in {fanout.publish_seconds:.1f} s)",
        )
        figures[f"{mode}_rate"] = fanout.rate
        figures[f"{mode}_p50"] = percentile(fanout.call_ms, 50)
        figures[f"{mode}_p99"] = percentile(fanout.call_ms, 99)
        figures[f"{mode}_us"] = fanout.server_us_per_delivery
        lost += fanout.lost
        duplicated += fanout.duplicated + fanout.unexpected
        other_load = max(other_load, fanout.other_load)
        problems += [f"{mode}: {problem}" for problem in fanout.problems()]
    figures.update(lost=lost, duplicated=duplicated, other_load=other_load)
    sns.warn_about_load(other_load)
    return figures, problems
