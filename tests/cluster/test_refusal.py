"""`make cluster` refuses, in one line and before it starts anything, settings that its
processes cannot share."""

import os
import subprocess

import pytest

from tests.servers import BASE_DIR

POSTGRES = "postgres://roost@127.0.0.1:1/roost"  # never reached: the refusal comes first
REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"DATABASE_URL": "sqlite:///roost.sqlite3"}, "DATABASE_URL points at SQLite"),
        (
            {"DATABASE_URL": POSTGRES, "CELERY_BROKER_URL": "sqla+sqlite:///broker.sqlite3"},
            "CELERY_BROKER_URL points at the embedded broker",
        ),
        (
            {"DATABASE_URL": POSTGRES, "CELERY_BROKER_URL": REDIS, "REDIS_URL": "http://x/"},
            "REDIS_URL is not a redis:// URL",
        ),
    ],
    ids=["sqlite", "embedded-broker", "redis-url-not-redis"],
)
def test_make_cluster_refuses_what_processes_cannot_share(tmp_path, settings, reason):
    removed = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if key not in removed}
    env.update(settings, ROOST_DATA_DIR=str(tmp_path), PORT="1")

    result = subprocess.run(
        ["make", "-s", "cluster"],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(said) == 1
    assert said[0].startswith(f"Cannot start the Roost cluster: {reason}")
    assert "Applying migrations" not in result.stdout
    assert not (tmp_path / "cluster").exists()
