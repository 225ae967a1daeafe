"""Clear the Prometheus metrics every Roost process wrote, as a deployment starts.

`make run` and `make cluster` do this themselves; a deployment under systemd runs it once before
its processes start (deploy/systemd/roost-migrate.service).
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from console import metrics


class Command(BaseCommand):
    help = (
        "Delete the metrics files in ROOST_METRICS_DIR, so counters start at 0; run it once as a "
        "deployment starts, before any of its processes."
    )

    def handle(self, *args, **options):
        metrics.reset_multiprocess_dir()
        self.stdout.write(f"Cleared the metrics in {settings.METRICS_DIR}")
