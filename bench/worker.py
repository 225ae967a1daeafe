"""Roost's Celery app for `celery -A bench.worker worker`: console's app, plus a ready mark."""

import os
from pathlib import Path

from celery.signals import worker_ready

from console.celery import app

__all__ = ["app"]


@worker_ready.connect
def _mark_ready(**kwargs):
    """Touch $ROOST_BENCH_WORKER_READY once the worker consumes tasks, so timing starts after."""
    path = os.environ.get("ROOST_BENCH_WORKER_READY")
    if path:
        Path(path).touch()
