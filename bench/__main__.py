"""Benchmark Roost against moto: `python -m bench` (`make bench`); see docs/benchmarks.md."""

import argparse
import datetime
import os
import shlex
import signal
import sys
from dataclasses import dataclass, replace

from bench import access, cluster, console_scale, lineage, report, sns, sns_publish, sqs
from bench.servers import TARGETS, running

BASELINE = "moto"
# Each suite module offers TITLE, COLUMNS, GOALS and run(server, sizes, producers, consumers)
# returning (figures, problems); NEEDS_WORKER says whether Roost needs its Celery worker.
SUITES = {"sqs": sqs, "sns": sns, "publish": sns_publish}


@dataclass(frozen=True)
class Sizes:
    messages: int  # SQS throughput
    send_calls: int
    wake_rounds: int
    fanout_messages: int  # published; each reaches sns.SUBSCRIBERS queues
    publish_rounds: int  # publish-to-queue latency
    http_rounds: int  # HTTP latency, before the HTTP throughput phase
    http_messages: int
    single_messages: int  # single Publish calls, each reaching sns.SUBSCRIBERS queues
    time_cap: float  # seconds, per phase


# By (is Roost, --quick). moto manages tens of msgs/s through SQS, so it gets smaller counts
# and is compared by rate.
SIZES = {
    (True, False): Sizes(
        messages=20_000, send_calls=2_000, wake_rounds=50, fanout_messages=2_000,
        publish_rounds=200, http_rounds=50, http_messages=300, single_messages=2_000, time_cap=300,
    ),
    (False, False): Sizes(
        messages=1_000, send_calls=300, wake_rounds=10, fanout_messages=200,
        publish_rounds=20, http_rounds=10, http_messages=100, single_messages=200, time_cap=60,
    ),
    (True, True): Sizes(
        messages=2_000, send_calls=200, wake_rounds=10, fanout_messages=300,
        publish_rounds=20, http_rounds=10, http_messages=100, single_messages=300, time_cap=60,
    ),
    (False, True): Sizes(
        messages=200, send_calls=50, wake_rounds=5, fanout_messages=50,
        publish_rounds=5, http_rounds=5, http_messages=20, single_messages=50, time_cap=30,
    ),
}  # fmt: skip


def main(argv=None):
    args = _parse(argv)
    # The cluster section has taken PostgreSQL and Redis from the environment (its options'
    # defaults); the suites' servers run on the embedded defaults, and inherit this environment.
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so cleanup runs on `kill` too
    suites = [SUITES[name] for name in args.suites]
    worker = any(suite.NEEDS_WORKER for suite in suites)
    results = {suite: {} for suite in suites}
    failures, notes = [], []
    try:
        for name in args.targets:
            target = TARGETS[name]
            sizes = _sizes(target, args)
            try:
                with running(target, worker=worker) as server:
                    for suite in suites:
                        figures, problems = suite.run(server, sizes, args.producers, args.consumers)
                        results[suite][name] = figures
                        found = failures if target.roost else notes
                        found += [f"{name}: {problem}" for problem in problems]
            except Exception as error:  # one broken target must not hide the others' figures
                failures.append(f"{name}: {type(error).__name__}: {error}")
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temp dirs removed", file=sys.stderr)
        return 130
    _print_report(results, argv)
    try:
        failures += [f"access policies: {problem}" for problem in access.section(args)]
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temp dirs removed", file=sys.stderr)
        return 130
    except Exception as error:
        failures.append(f"access policies: {type(error).__name__}: {error}")
    try:
        failures += [f"message lineage: {problem}" for problem in lineage.section(args)]
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temp dirs removed", file=sys.stderr)
        return 130
    except Exception as error:
        failures.append(f"message lineage: {type(error).__name__}: {error}")
    try:
        failures += [f"cluster: {problem}" for problem in cluster.section(args)]
    except KeyboardInterrupt:
        print("interrupted; the cluster stopped and its database dropped", file=sys.stderr)
        return 130
    except Exception as error:
        failures.append(f"cluster: {type(error).__name__}: {error}")
    try:
        failures += [f"console at scale: {problem}" for problem in console_scale.section(args)]
    except KeyboardInterrupt:
        print("interrupted; Roost stopped (the console's database is kept)", file=sys.stderr)
        return 130
    except Exception as error:
        failures.append(f"console at scale: {type(error).__name__}: {error}")
    for line in notes:
        print(f"note: {line}")
    for line in failures:
        print(f"FAILED: {line}")
    return 1 if failures else 0


def _sizes(target, args):
    sizes = SIZES[(target.roost, args.quick)]
    messages = args.messages if target.roost else args.moto_messages
    return sizes if messages is None else replace(sizes, messages=messages)


def _print_report(results, argv):
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    print(f"\n{datetime.date.today()} · {os.cpu_count()} cores · `{command}`")
    for suite, by_target in results.items():
        if not by_target:
            continue
        baseline = by_target.get(BASELINE)
        print(f"\n### {suite.TITLE}\n")
        print(report.figures_table(by_target, suite.COLUMNS, baseline))
        roost = {name: f for name, f in by_target.items() if TARGETS[name].roost}
        if roost:
            print()
            print(report.goals_table(roost, suite.GOALS, baseline))
    print()


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--targets", type=_targets, default=list(TARGETS), help=", ".join(TARGETS))
    parser.add_argument("--suites", type=_suites, default=list(SUITES), help=", ".join(SUITES))
    parser.add_argument("--messages", type=_positive, help="throughput messages for Roost")
    parser.add_argument("--moto-messages", type=_positive, help="throughput messages for moto")
    parser.add_argument("--producers", type=_positive, default=2, help="sending processes")
    parser.add_argument("--consumers", type=_positive, default=2, help="receiving processes")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    access.add_arguments(parser)
    lineage.add_arguments(parser)
    cluster.add_arguments(parser)
    console_scale.add_arguments(parser)
    return parser.parse_args(argv)


def _targets(text):
    return _names(text, TARGETS)


def _suites(text):
    return _names(text, SUITES)


def _names(text, known):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if set(names) - set(known) or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(known)}")
    return names


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
