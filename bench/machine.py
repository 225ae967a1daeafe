"""What a benchmark report says about where it ran: the commit and the machine's load."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit():
    """The checkout's short commit, or "unknown" outside a git checkout."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def loadavg():
    """The 1, 5 and 15-minute load averages, as "a / b / c"."""
    with open("/proc/loadavg") as f:
        return " / ".join(f.read().split()[:3])
