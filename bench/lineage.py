"""What recording message lineage costs: SQS send-receive-delete throughput with ROOST_LINEAGE on
and off.

Each setting gets a Roost of its own (the server process reads the variable), and the two are
measured in turns, off then on, `rounds` times, so a neighbour's load on the machine falls on
both alike; each side's figure is its best round. Besides msgs/s, the server's CPU per message
says what the recording costs where it runs, whatever else the machine was doing. The goal:
lineage on keeps at least 90 % of the throughput with it off.

Run alone with `python -m bench.lineage`; `make bench` runs it after the suites.
"""

import contextlib
import os
import sys

from bench.client import make_client
from bench.report import Column, Goal, figures_table
from bench.servers import TARGETS, running
from bench.sqs_throughput import run as throughput

GOAL_RATIO = 0.90
SETTINGS = {"lineage off": "0", "lineage on": "1"}

GOALS = (
    Goal(
        f"lineage on ≥ {GOAL_RATIO:.0%} of the throughput with it off",
        lambda f, base: f["rate"] / base["rate"] if base["rate"] else 0.0,
        lambda v: v >= GOAL_RATIO,
        "{:.2f}×",
    ),
)

COLUMNS = (
    Column("msgs/s (best)", lambda f, base: f["rate"], "{:,.0f}"),
    Column("msgs/s (each round)", lambda f, base: f["rounds"], "{}"),
    Column("server CPU / msg", lambda f, base: f["server_us"], "{:,.0f} µs"),
    Column("× off", lambda f, base: f["rate"] / base["rate"] if base["rate"] else None, "{:.2f}×"),
)


def add_arguments(parser):
    parser.add_argument("--skip-lineage", action="store_true", help="skip the lineage section")


def section(args):
    """Run the section (or skip it when asked); print its table; return the problems found."""
    if getattr(args, "skip_lineage", False):
        print("message lineage: skipped")
        return []
    messages = 2_000 if args.quick else 10_000
    rounds = 1 if args.quick else 2
    figures, problems = measure(messages, rounds)
    print("\n### Message lineage: send-receive-delete with ROOST_LINEAGE on and off\n")
    print(figures_table(figures, COLUMNS, figures["lineage off"]))
    print()
    for goal in GOALS:
        value = goal.value(figures["lineage on"], figures["lineage off"])
        if not goal.passes(value):
            problems.append(f"missed: {goal.label}: {goal.fmt.format(value)}")
    return problems


def measure(messages, rounds, time_cap=300):
    """{setting: {rate, rounds, server_us}} and the problems seen, measured in turns."""
    figures = {name: {"rate": 0.0, "rounds": [], "server_us": None} for name in SETTINGS}
    problems = []
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(_roost(value)) for name, value in SETTINGS.items()}
        for number in range(rounds):
            for name, server in servers.items():
                sqs = make_client("sqs", server)
                url = sqs.create_queue(
                    QueueName=f"bench-lineage-{number}", Attributes={"VisibilityTimeout": "600"}
                )["QueueUrl"]
                _say(f"{name}, round {number + 1} of {rounds}: {messages:,} messages through")
                flow = throughput(server, url, messages, 2, 2, time_cap)
                problems += [f"{name}: {problem}" for problem in flow.problems()]
                found = figures[name]
                found["rounds"].append(round(flow.rate))
                if flow.rate > found["rate"]:
                    found["rate"], found["server_us"] = flow.rate, flow.server_us_per_message
    for found in figures.values():
        found["rounds"] = " / ".join(f"{rate:,}" for rate in found["rounds"])
    return figures, problems


@contextlib.contextmanager
def _roost(lineage):
    """A Roost (uvicorn) whose server process runs with ROOST_LINEAGE=`lineage`."""
    before = os.environ.get("ROOST_LINEAGE")
    os.environ["ROOST_LINEAGE"] = lineage
    try:
        with running(TARGETS["roost-uvicorn"]) as server:
            yield server
    finally:
        if before is None:
            os.environ.pop("ROOST_LINEAGE", None)
        else:
            os.environ["ROOST_LINEAGE"] = before


def _say(text):
    print(f"[lineage] {text}", file=sys.stderr, flush=True)


def main(argv=None):
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.lineage", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--messages", type=int, help="messages per round (default 10,000)")
    parser.add_argument("--rounds", type=int, help="rounds per setting (default 2)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.messages or args.rounds:
        figures, problems = measure(args.messages or 10_000, args.rounds or 2)
        print(figures_table(figures, COLUMNS, figures["lineage off"]))
        ratio = figures["lineage on"]["rate"] / figures["lineage off"]["rate"]
        print(f"\nlineage on / off: {ratio:.3f}")
        if ratio < GOAL_RATIO:
            problems.append(f"missed: lineage on is {ratio:.2f}× of off")
    else:
        problems = section(args)
    for line in problems:
        print(f"FAILED: message lineage: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
