"""The per-access-key request rate limit: ROOST_RATE_LIMIT_PER_KEY requests a second, in bursts of
up to ROOST_RATE_LIMIT_BURST, for the AWS endpoint and the REST API together.

One token bucket per access key, in this web process's memory. Keys are counted only once their
credentials are proven (after SigV4 or the bearer check), so the table holds at most one entry per
access key and a flood of forged requests cannot grow it.

Each web process counts on its own: with N processes behind a load balancer a key may make up to
N times the rate. A bucket shared through Redis would cost a network round trip on every request,
several times the server's own work on a send or a delete; the limit exists to keep one runaway
client from starving the others, which a per-process bucket already does.
"""

import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class TokenBuckets:
    """A token bucket per key, refilled at `rate` tokens a second up to `burst`."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self._buckets = {}  # key -> (tokens, monotonic time they were counted)
        # The AWS endpoint calls from its one database thread, the REST API from Django's
        # threads: the read-refill-write of a bucket must not interleave.
        self._lock = threading.Lock()

    def take(self, key):
        """Take a token for `key`: 0.0 if there was one, else the seconds until there is."""
        now = time.monotonic()
        with self._lock:
            tokens, counted_at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - counted_at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


# The buckets, False while the limit is off, None until the settings are read. Reading Django's
# settings costs about a microsecond a time, so they are read once, and again if a test changes them.
_buckets = None


def retry_after(access_key_id):
    """Count one request of this key: 0.0 to let it through, else the seconds it should wait."""
    global _buckets
    buckets = _buckets
    if buckets is None:
        rate = settings.ROOST_RATE_LIMIT_PER_KEY
        buckets = _buckets = TokenBuckets(rate, settings.ROOST_RATE_LIMIT_BURST) if rate else False
    if not buckets:
        return 0.0
    return buckets.take(access_key_id)


@receiver(setting_changed)
def _settings_changed(setting, **kwargs):
    global _buckets
    if setting.startswith("ROOST_RATE_LIMIT"):
        _buckets = None
