"""Prometheus metrics: `GET /metrics`, and the metrics of the AWS endpoint, Celery and live pages.

Roost runs as several processes (web processes behind a load balancer, Celery workers, beat), and
a scrape reaches any one web process; so every metric uses prometheus_client's multiprocess mode.
Each process keeps its counters in memory-mapped files of its own in settings.METRICS_DIR
(settings.py points PROMETHEUS_MULTIPROC_DIR there before anything imports prometheus_client), and
a scrape adds up every file: counters survive the process that counted them, until a deployment
starts afresh (`reset_multiprocess_dir`). The queue depth gauges are not counted anywhere: they
are read from the database at scrape time (queues.depths).

/metrics is answered here, before Django: no login, no SigV4, no middleware, and still during a
database outage, when the counters are served without the depth gauges and
roost_scrape_errors_total goes up. With ROOST_METRICS_TOKEN set it wants that bearer token.
"""

import asyncio
import atexit
import glob
import hmac
import json
import logging
import os
import struct
import time
from pathlib import Path

from asgiref.sync import sync_to_async
from celery import signals as celery_signals
from django.conf import settings
from django.db import connection
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.utils import floatToGoString

from aws_protocol import database_outage
from console.celery import app as celery_app
from notifications.wire import sns_query
from queues import depths as queue_depths
from queues.metrics import escape_label_value, render_depths
from queues.wire import operations as sqs_operations

logger = logging.getLogger("roost.metrics")

PATH = "/metrics"
# A scrape gives up on the depth gauges after this long (Prometheus waits 10 s by default).
DEPTHS_SECONDS = 5.0
UNKNOWN = "unknown"
# The actions each service's model has: anything else is counted as UNKNOWN, so garbage in a
# request never makes a new series.
ACTIONS = {"sqs": frozenset(sqs_operations.OPERATIONS), "sns": frozenset(sns_query.OPERATIONS)}

AWS_REQUESTS = Counter(
    "roost_aws_requests",
    "Requests answered by the AWS endpoint (SQS JSON, SQS query, SNS query).",
    ["service", "action", "status"],
)
AWS_REQUEST_DURATION = Histogram(
    "roost_aws_request_duration_seconds",
    "Time from a request's arrival to its answer; a long poll's includes its wait.",
    ["service", "action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
CELERY_TASKS = Counter(
    "roost_celery_tasks",
    "Celery tasks run by the workers, by how they ended.",
    ["task", "outcome"],
)
# Labelled, so that no process writes a file for it before it counts something.
SCRAPE_ERRORS = Counter(
    "roost_scrape_errors",
    "Scrapes of /metrics that could not read the queue depths (those leave the depth gauges out), "
    "by reason: database (unreachable or failing) or timeout.",
    ["reason"],
)

# A live gauge's file belongs to one process id: one left by a process that died with this pid
# before us would add its count to ours. Removed before the gauge opens it, and again at exit.
_LIVE_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]  # where the gauge's file is opened, below
prometheus_multiprocess.mark_process_dead(os.getpid(), _LIVE_DIR)
atexit.register(lambda: prometheus_multiprocess.mark_process_dead(os.getpid(), _LIVE_DIR))
LIVE_CONNECTIONS = Gauge(
    "roost_live_connections",
    "Console pages following live updates (WebSocket and Server-Sent Events connections).",
    multiprocess_mode="livesum",
)


def reset_multiprocess_dir():
    """Forget every process's metrics: call once as a deployment starts, before its processes.

    Counters then start at 0, as Prometheus expects of a restart, and no live gauge of a process
    that is gone stays behind.
    """
    directory = Path(settings.METRICS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


# The AWS endpoint ------------------------------------------------------------------------------


# (service, action, status) -> its two series: labels() costs more than the count itself.
_request_series = {}


def observe_aws_request(request, status, seconds):
    """Count one answered AWS request (aws_protocol.endpoint calls this for each)."""
    service = "sns" if request.adapter is sns_query else "sqs"
    target = request.headers.get("x-amz-target")
    action = target.rpartition(".")[2] if target else request.form.get("Action", "")
    if action not in ACTIONS[service]:
        action = UNKNOWN
    series = _request_series.get((service, action, status))
    if series is None:
        series = _request_series[service, action, status] = (
            AWS_REQUESTS.labels(service, action, str(status)),
            AWS_REQUEST_DURATION.labels(service, action),
        )
    requests, duration = series
    requests.inc()
    duration.observe(seconds)


# Celery ------------------------------------------------------------------------------------------


def _task_name(name):
    """A registered task's name, else UNKNOWN (a message can name anything)."""
    return name if name in celery_app.tasks else UNKNOWN


def _count_task(name, outcome):
    CELERY_TASKS.labels(_task_name(name), outcome).inc()


@celery_signals.task_success.connect
def _task_succeeded(sender=None, **kwargs):
    _count_task(sender.name, "succeeded")


@celery_signals.task_failure.connect
def _task_failed(sender=None, **kwargs):
    _count_task(sender.name, "failed")


@celery_signals.task_retry.connect
def _task_retried(sender=None, **kwargs):
    _count_task(sender.name, "retried")


@celery_signals.task_rejected.connect
def _task_rejected(message=None, **kwargs):
    _count_task((getattr(message, "headers", None) or {}).get("task", ""), "rejected")


@celery_signals.task_revoked.connect
def _task_revoked(sender=None, expired=False, **kwargs):
    _count_task(getattr(sender, "name", ""), "expired" if expired else "revoked")


@celery_signals.task_unknown.connect
def _task_unknown(name=None, **kwargs):
    _count_task(name, UNKNOWN)


# Serving /metrics ------------------------------------------------------------------------------


def router(app):
    """Answer /metrics here and pass everything else to `app`."""

    async def route(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == PATH:
            return await serve(scope, receive, send)
        return await app(scope, receive, send)

    return route


async def serve(scope, receive, send):
    """The ASGI app behind /metrics."""
    if scope["method"] not in ("GET", "HEAD"):
        return await _answer(send, 405, b"Only GET and HEAD.\n", [(b"allow", b"GET, HEAD")])
    if not authorized(scope, settings.ROOST_METRICS_TOKEN):
        return await _answer(
            send, 401, b"A bearer token is needed.\n", [(b"www-authenticate", b"Bearer")]
        )
    body = await _cached_body()
    await _answer(
        send, 200, body, [(b"content-type", CONTENT_TYPE_LATEST.encode())], scope["method"]
    )


_rendered = {"body": b"", "at": None}
_rendering = asyncio.Lock()


async def _cached_body():
    """The exposition text, rendered at most once per ROOST_METRICS_CACHE_SECONDS.

    One render at a time: scrapes that arrive during one wait for it. At 10,000 queues a render
    costs about a second of this process's CPU, so neither several scrapers nor anyone who can
    reach an open /metrics can make it cost more.
    """
    async with _rendering:
        at = _rendered["at"]
        if at is not None and time.monotonic() - at < settings.ROOST_METRICS_CACHE_SECONDS:
            return _rendered["body"]
        try:
            depths = await asyncio.wait_for(
                sync_to_async(read_depths, thread_sensitive=False)(), DEPTHS_SECONDS
            )
        except TimeoutError:
            logger.warning("metrics: queue depths took over %s s; left out", DEPTHS_SECONDS)
            SCRAPE_ERRORS.labels("timeout").inc()
            depths = None
        body = await sync_to_async(render, thread_sensitive=False)(depths)
        _rendered.update(body=body, at=time.monotonic())
        return body


def authorized(scope, token):
    """Whether the request may read the metrics: any, without a token; else its bearer token."""
    if token is None:
        return True
    given = b""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            given = value
    return hmac.compare_digest(given, f"Bearer {token}".encode())


def read_depths():
    """{queue name: depths} of every queue, or None (counted) if the database does not answer."""
    try:
        if database_outage.refusing():
            SCRAPE_ERRORS.labels("database").inc()
            return None
        return queue_depths.depths_by_name()
    except Exception as error:
        database_outage.noticed(error, "a /metrics scrape")
        logger.warning("metrics: queue depths left out: %s", error)
        SCRAPE_ERRORS.labels("database").inc()
        return None
    finally:
        # A thread of the pool's: give the connection back (PostgreSQL) or close it (SQLite).
        connection.close()


def render(depths):
    """The exposition text: every process's counters, and the depth gauges when read."""
    text = render_files(read_files(settings.METRICS_DIR))
    if depths is None:
        return text
    return text + render_depths(depths).encode()


# Adding up the processes' files ------------------------------------------------------------------
#
# prometheus_client's MultiProcessCollector does this through its generic sample objects; with
# 10,000 queues (30,000 counter series in each of three processes) that took about a second of
# CPU per scrape, four times what summing the raw values and writing the lines does here. Covers
# what Roost defines: counters, histograms, and gauges in `sum` or `livesum` mode.

_KINDS = {
    "counter": "counter",
    "histogram": "histogram",
    "gauge_sum": "gauge",
    "gauge_livesum": "gauge",
}
_parsed_keys = {}  # a file entry's key -> what it names, parsed once per process


def read_files(directory):
    """{(metric type, entry key): value summed over every process's file} in `directory`."""
    totals = {}
    for path in glob.glob(os.path.join(directory, "*.db")):
        kind = _KINDS.get(os.path.basename(path).rsplit("_", 1)[0])
        if kind is None:
            continue  # a metric type or gauge mode Roost does not define
        try:
            entries = MmapedDict.read_all_values_from_file(path)
        except FileNotFoundError:
            continue  # a live gauge's file, removed by its process as it exited
        except (OSError, ValueError, struct.error):
            continue  # a file its process is creating right now: counted at the next render
        for key, value, _timestamp, _position in entries:
            entry = (kind, key)
            totals[entry] = totals.get(entry, 0.0) + value
    return totals


def _parsed(key):
    """(metric name, sample name, labels text without `le`, `le` or None, help) of an entry."""
    parsed = _parsed_keys.get(key)
    if parsed is None:
        metric_name, sample_name, labels, help_text = json.loads(key)
        le = labels.pop("le", None)
        text = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in labels.items())
        parsed = _parsed_keys[key] = (metric_name, sample_name, text, le, help_text)
    return parsed


def _labelled(name, labels, value):
    return (
        f"{name}{{{labels}}} {floatToGoString(value)}\n"
        if labels
        else f"{name} {floatToGoString(value)}\n"
    )


def render_files(totals):
    """The text format of read_files' totals: histograms' buckets made cumulative, with counts."""
    families = {}  # metric name -> (type, help, sample lines, {labels: ({le: count}, sum)})
    for (kind, key), value in totals.items():
        metric_name, sample_name, labels, le, help_text = _parsed(key)
        family = families.get(metric_name)
        if family is None:
            family = families[metric_name] = (kind, help_text, [], {})
        if kind != "histogram":
            family[2].append(_labelled(sample_name, labels, value))
            continue
        buckets, total = family[3].get(labels, ({}, 0.0))
        if le is None:  # the _sum
            total += value
        else:
            buckets[le] = buckets.get(le, 0.0) + value
        family[3][labels] = (buckets, total)
    lines = []
    for metric_name in sorted(families):
        kind, help_text, samples, histograms = families[metric_name]
        name = f"{metric_name}_total" if kind == "counter" else metric_name
        help_text = help_text.replace("\\", r"\\").replace("\n", r"\n")
        lines += [f"# HELP {name} {help_text}\n", f"# TYPE {name} {kind}\n", *samples]
        for labels, (buckets, total) in histograms.items():
            count = 0.0
            for le in sorted(buckets, key=float):
                count += buckets[le]
                bucket_labels = f'{labels},le="{le}"' if labels else f'le="{le}"'
                lines.append(_labelled(f"{name}_bucket", bucket_labels, count))
            lines.append(_labelled(f"{name}_count", labels, count))
            lines.append(_labelled(f"{name}_sum", labels, total))
    return "".join(lines).encode()


async def _answer(send, status, body, headers, method="GET"):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
