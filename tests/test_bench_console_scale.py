"""The plumbing of make bench's console-at-scale section; its figures are the bench's business."""

import argparse

from bench import cluster, console_scale


def _args(*argv):
    parser = argparse.ArgumentParser()
    cluster.add_arguments(parser)
    console_scale.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args.quick = True
    return args


def test_console_scale_section_is_skipped_in_one_line_without_postgresql(
    capsys, monkeypatch, tmp_path
):
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):  # the PostgreSQL leg's
        monkeypatch.delenv(name, raising=False)

    assert console_scale.section(_args("--database-url", f"sqlite:///{tmp_path}/db")) == []
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1
    assert printed[0].startswith("console at scale: skipped:")
    assert "DATABASE_URL" in printed[0]


def test_expected_depths_hold_every_message_with_a_few_deep_queues_and_a_long_tail():
    totals = console_scale._expected_totals(2_000, 1_000_000)

    assert sum(totals.values()) == 1_000_000
    assert len(totals) == 2_000
    assert 15_000 < max(totals.values()) < 30_000
    assert min(totals.values()) < 500
    assert max(totals, key=totals.get) != 0  # depth order is not name order
