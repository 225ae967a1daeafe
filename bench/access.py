"""What checking access policies costs: a ten-statement policy against a key with none.

Two measurements. In process, the check every door makes (`authorization.authorize`) timed on
its own: the first check of an action on a queue (the policy evaluated statement by statement)
and a repeated one (the decision remembered). End to end, on one Roost: SendMessage round trips
and send-receive-delete throughput with two keys, one without a policy and one with ten
statements whose last allows the benchmark's queues, so every check walks the whole policy.

Run alone with `python -m bench.access`; `make bench` runs it after the suites.
"""

import json
import os
import subprocess
import sys
import tempfile
import timeit
from dataclasses import replace

from bench.client import make_client
from bench.report import Column, Goal, figures_table
from bench.servers import ROOT, TARGETS, running
from bench.sqs_latency import send_latencies
from bench.sqs_throughput import run as throughput
from bench.stats import percentile

POLICY_KEY_ID = "AKIAROOSTBENCHPOLICY"
POLICY_SECRET = "benchpolicybenchpolicy"
CHECK_GOAL_US = 20


def ten_statements(queue_pattern="bench-*"):
    """Nine statements about other teams' queues and topics, then the one that allows ours, and
    a Deny: IAM must read them all, since a Deny anywhere wins."""
    statements = [
        {
            "Sid": f"Team{number}",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:Receive*", "sqs:DeleteMessage", "sns:Publish"],
            "Resource": [f"arn:aws:sqs:*:*:team{number}-*", f"arn:aws:sns:*:*:team{number}-*"],
        }
        for number in range(8)
    ]
    statements.append(
        {
            "Sid": "Bench",
            "Effect": "Allow",
            "Action": ["sqs:*"],
            "Resource": f"arn:aws:sqs:*:*:{queue_pattern}",
        }
    )
    statements.append(
        {"Sid": "NeverPurge", "Effect": "Deny", "Action": "sqs:PurgeQueue", "Resource": "*"}
    )
    return {"Version": "2012-10-17", "Statement": statements}


GOALS = (
    Goal(
        f"a check with 10 statements < {CHECK_GOAL_US} µs (first time)",
        lambda f, base: f["first_us"],
        lambda v: v < CHECK_GOAL_US,
        "{:.2f} µs",
    ),
)


def add_arguments(parser):
    parser.add_argument("--skip-access", action="store_true", help="skip the access-policy section")


def section(args):
    """Run the section (or skip it when asked); print its tables; return the problems found."""
    if getattr(args, "skip_access", False):
        print("access policies: skipped")
        return []
    checks = check_costs()
    figures = {"no policy": {}, "10 statements": {}}
    figures["no policy"].update(first_us=checks["none_us"], repeated_us=checks["none_us"])
    figures["10 statements"].update(
        first_us=checks["policy_first_us"], repeated_us=checks["policy_repeated_us"]
    )
    messages = 2_000 if args.quick else 10_000
    calls = 200 if args.quick else 1_000
    problems = []
    with running(TARGETS["roost-uvicorn"]) as server:
        _create_policy_key(server)
        keys = {
            "no policy": server,
            "10 statements": replace(server, key_id=POLICY_KEY_ID, secret=POLICY_SECRET),
        }
        sqs = make_client("sqs", server)
        for number, (name, as_key) in enumerate(keys.items()):
            sending, flowing = (
                sqs.create_queue(
                    QueueName=f"bench-access-{number}-{use}",
                    Attributes={"VisibilityTimeout": "600"},
                )["QueueUrl"]
                for use in ("send", "flow")
            )
            _say(f"{name}: {calls:,} SendMessage calls, then {messages:,} messages through")
            sends = send_latencies(as_key, sending, calls, 120)
            flow = throughput(as_key, flowing, messages, 2, 2, 120)
            problems += [f"{name}: {problem}" for problem in flow.problems()]
            figures[name].update(
                send_p50=percentile(sends, 50), send_p99=percentile(sends, 99), rate=flow.rate
            )
    _print(figures)
    for goal in GOALS:
        value = goal.value(figures["10 statements"], None)
        if not goal.passes(value):
            problems.append(f"missed: {goal.label}: {goal.fmt.format(value)}")
    return problems


def check_costs(rounds=200_000):
    """Microseconds per check, timed in a Django process of its own (no database needed)."""
    with tempfile.TemporaryDirectory(prefix="roost-bench-access-") as data_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "ROOST_DATA_DIR": data_dir,
            "SECRET_KEY": "bench",
        }
        env.pop("DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-m", "bench.access", "--measure-checks", str(rounds)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_checks(rounds):
    """Time `authorize` as the doors call it; print the figures as one JSON line."""
    import django  # noqa: PLC0415 (only this child process is a Django process)

    django.setup()
    from aws_protocol import authorization  # noqa: PLC0415
    from console.models import AccessKey  # noqa: PLC0415

    unrestricted = AccessKey(access_key_id="AKIABENCHNOPOLICY000")
    restricted = AccessKey(access_key_id=POLICY_KEY_ID, policy=json.dumps(ten_statements()))
    action, queues = "sqs:SendMessage", [f"arn:aws:sqs:us-east-1:0:bench-{n}" for n in range(64)]

    def per_check(key, resources):
        count = max(rounds // len(resources), 1)
        seconds = timeit.timeit(
            lambda: [authorization.authorize(key, action, arn) for arn in resources], number=count
        )
        return seconds / (count * len(resources)) * 1e6

    def first_checks():
        # A new queue each time: the decision is never remembered, the policy is read in full.
        from aws_protocol import iam_policy  # noqa: PLC0415

        policy = iam_policy.compiled(restricted.policy)
        arns = [f"arn:aws:sqs:us-east-1:0:bench-first-{n}" for n in range(rounds // 10)]
        started = timeit.default_timer()
        for arn in arns:
            if not policy._evaluate(action, arn).allowed:
                raise AssertionError(arn)
        return (timeit.default_timer() - started) / len(arns) * 1e6

    figures = {
        "none_us": per_check(unrestricted, queues),
        "policy_repeated_us": per_check(restricted, queues),
        "policy_first_us": first_checks(),
    }
    print(json.dumps(figures))


def _create_policy_key(server):
    """Make the ten-statement key in the server's own database, with the command users run."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(ten_statements(), file)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", _CREATE_KEY.format(path=file.name)],
            cwd=ROOT,
            env=server.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        os.unlink(file.name)


_CREATE_KEY = f"""
from pathlib import Path
from console import access_keys
access_keys.create_access_key(
    name="bench policy", access_key_id="{POLICY_KEY_ID}", secret="{POLICY_SECRET}",
    policy=Path("{{path}}").read_text(),
)
"""


COLUMNS = (
    Column("check, first time", lambda f, base: f["first_us"], "{:.2f} µs"),
    Column("check, repeated", lambda f, base: f["repeated_us"], "{:.2f} µs"),
    Column("send p50", lambda f, base: f["send_p50"], "{:.2f} ms"),
    Column("send p99", lambda f, base: f["send_p99"], "{:.2f} ms"),
    Column("msgs/s", lambda f, base: f["rate"], "{:,.0f}"),
    Column(
        "× no policy", lambda f, base: f["rate"] / base["rate"] if base["rate"] else None, "{:.2f}×"
    ),
)


def _print(figures):
    print("\n### Access policies: a 10-statement policy against none\n")
    print(figures_table(figures, COLUMNS, figures["no policy"]))
    print()


def _say(text):
    print(f"[access] {text}", file=sys.stderr, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure-checks"]:
        _measure_checks(int(argv[1]))
        return 0
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.access", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    problems = section(parser.parse_args(argv))
    for line in problems:
        print(f"FAILED: access policies: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
