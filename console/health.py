"""Health probes for load balancers and orchestrators: /healthz (liveness) and /readyz (readiness).

Both answer GET and HEAD without credentials (anything else 405, never a CSRF 403). The database-outage middleware lets them through
(console/middleware.py): /healthz must say ok while the database is away, and /readyz says in its
own JSON that it is. Each readiness check runs in a thread and is given up on after
CHECK_SECONDS, so a dead database or broker never holds the probe longer than that.
Neither path is written to the access log (`quiet_access_logs`).
"""

import asyncio
import logging
from urllib.parse import unquote, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from aws_protocol import database_outage

PATHS = frozenset({"/healthz", "/readyz"})
# Kept out of the access logs: the probes, and Prometheus's scrapes (console/metrics.py).
QUIET_PATHS = PATHS | {"/metrics"}
CHECK_SECONDS = 2.5
BROKER_CONNECT_SECONDS = 2.0
REASON_LENGTH = 120

_migrations_applied = False  # once true, true for good: migrations don't un-apply under us


@csrf_exempt
@require_safe
async def healthz(request):
    """Liveness: the process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
@require_safe
async def readyz(request):
    """Readiness: the database answers, every migration is applied, the broker answers."""
    (database, migrations), broker = await asyncio.gather(
        _bounded(check_database, ("unreachable: timed out", "not checked")),
        _bounded(check_broker, "unreachable: timed out"),
    )
    checks = {"database": database, "migrations": migrations, "broker": broker}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


async def _bounded(check, on_timeout):
    """Run a blocking check in a thread of its own, giving up on it after CHECK_SECONDS."""
    try:
        return await asyncio.wait_for(
            sync_to_async(check, thread_sensitive=False)(), timeout=CHECK_SECONDS
        )
    except TimeoutError:
        return on_timeout


def check_database():
    """(database, migrations): "ok" each, or what is wrong."""
    if database_outage.refusing():
        return "unreachable: database outage", "not checked"
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:
            return f"unreachable: {_reason(error)}", "not checked"
        try:
            return "ok", check_migrations(connection)
        except Exception as error:
            return "ok", f"unknown: {_reason(error)}"
    finally:
        # A pool thread's connection: back to the pool (PostgreSQL) or closed (SQLite).
        connection.close()


def check_migrations(connection):
    """Whether every migration is applied: "ok", else how many are not."""
    global _migrations_applied
    if _migrations_applied:
        return "ok"
    executor = MigrationExecutor(connection)
    unapplied = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    if unapplied:
        return f"{unapplied} unapplied"
    _migrations_applied = True
    return "ok"


def check_broker():
    """Whether the Celery broker accepts a connection: "ok", else why not."""
    from kombu import Connection  # noqa: PLC0415 (kombu is Celery's; only this check needs it)

    url = settings.CELERY_BROKER_URL
    options = {}
    if url.startswith(("redis://", "rediss://")):
        options = {
            "socket_connect_timeout": BROKER_CONNECT_SECONDS,
            "socket_timeout": BROKER_CONNECT_SECONDS,
        }
    try:
        with Connection(
            url, connect_timeout=BROKER_CONNECT_SECONDS, transport_options=options
        ) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_SECONDS)
            if url.startswith("sqla+"):
                # kombu's SQLAlchemy transport connects lazily: ask the database behind it.
                from sqlalchemy import text  # noqa: PLC0415

                session = broker.default_channel.session
                try:
                    session.execute(text("SELECT 1"))
                finally:
                    session.close()
    except Exception as error:
        return f"unreachable: {_reason(error, url)}"
    return "ok"


def _reason(error, url=None):
    """A short, secret-free account of an error: its type and first line, any password masked."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    if url:
        text = text.replace(url, "<broker>")
        password = urlsplit(url).password
        if password:
            text = text.replace(password, "***").replace(unquote(password), "***")
    database_password = connections[DEFAULT_DB_ALIAS].settings_dict.get("PASSWORD")
    if database_password:
        text = text.replace(database_password, "***")
    return text[:REASON_LENGTH]


# Access logs ----------------------------------------------------------------------------------


def _is_probe(path):
    return isinstance(path, str) and path.split("?", 1)[0] in QUIET_PATHS


class AccessLogFilter(logging.Filter):
    """Drop access-log records of the probes: uvicorn's (`uvicorn.access`, whose arguments are
    client, method, path, HTTP version, status) and Daphne's runserver's
    (`django.channels.server`, whose argument is a dict with the path)."""

    def filter(self, record):
        args = record.args
        if isinstance(args, dict):
            return not _is_probe(args.get("path"))
        return not (isinstance(args, tuple) and len(args) >= 3 and _is_probe(args[2]))


def quiet_access_logs():
    """Keep the probes out of the access logs, called once the ASGI app loads.

    The filter is added to the loggers rather than declared in settings.LOGGING: configuring a
    logger there would drop the handler uvicorn gave `uvicorn.access` (uvicorn sets up logging
    before it loads the app), or bring back the access log `--no-access-log` turned off. Daphne's
    command line writes its access log itself, without logging, so its writer is wrapped.
    """
    for name in ("uvicorn.access", "django.channels.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, AccessLogFilter) for existing in logger.filters):
            logger.addFilter(AccessLogFilter())
    try:
        from daphne.access import AccessLogGenerator  # noqa: PLC0415
    except ImportError:
        return
    if getattr(AccessLogGenerator, "_roost_quiet", False):
        return
    write = AccessLogGenerator.__call__

    def __call__(self, protocol, action, details):
        if protocol == "http" and _is_probe(details.get("path")):
            return None
        return write(self, protocol, action, details)

    AccessLogGenerator.__call__ = __call__
    AccessLogGenerator._roost_quiet = True
