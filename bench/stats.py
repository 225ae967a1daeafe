"""Percentiles for latency samples."""

import math


def percentile(samples, p):
    """Return the nearest-rank `p`th percentile of `samples`, or None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
