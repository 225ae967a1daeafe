"""Roost settings: every value comes from the environment, with the embedded defaults of `make run`."""

import os
from pathlib import Path

import dj_database_url
from kombu import Queue

from console.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ROOST_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
# Prometheus metrics: every process (web, workers, beat, manage.py) keeps its counters in files in
# this directory and /metrics adds them up (docs/metrics.md). prometheus_client reads
# PROMETHEUS_MULTIPROC_DIR once, when first imported, and every Roost process loads these settings
# before that. Assigned, not defaulted: a process started by another (a test's server) must use its
# own data directory's, not the one it inherited.
METRICS_DIR = Path(env_str("ROOST_METRICS_DIR", str(DATA_DIR / "metrics")))
METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or None
if SECRET_KEY is None:
    # A laptop install must survive restarts without asking for a key: keep one beside the data.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The identity Roost presents in ARNs and queue URLs; SDK code parses both.
ROOST_ACCOUNT_ID = env_str("ROOST_ACCOUNT_ID", "000000000000")
ROOST_REGION = env_str("ROOST_REGION", "us-east-1")
# Operators may lower the largest message the server accepts; SQS's own limit is 1 MiB.
ROOST_MAX_MESSAGE_SIZE = env_int("ROOST_MAX_MESSAGE_SIZE", 1_048_576, 1024, 1_048_576)
# Base URL used in queue URLs when a request does not tell us its host (e.g. Celery tasks).
ROOST_PUBLIC_URL = env_str("ROOST_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# Behind TLS (the public URL is https, often a proxy in front), browsers must send the session
# and CSRF cookies over https only.
ROOST_SECURE_COOKIES = env_bool("ROOST_SECURE_COOKIES", ROOST_PUBLIC_URL.startswith("https://"))
SESSION_COOKIE_SECURE = ROOST_SECURE_COOKIES
CSRF_COOKIE_SECURE = ROOST_SECURE_COOKIES
# SigV4 requests older or newer than this many seconds are refused, as AWS does.
ROOST_SIGNATURE_MAX_SKEW = env_int("ROOST_SIGNATURE_MAX_SKEW", 900, 0)
# Requests per second each access key may make (AWS endpoint and REST API), in bursts of up to
# ROOST_RATE_LIMIT_BURST; 0 turns the limit off. Counted per web process (aws_protocol/rate_limit.py).
ROOST_RATE_LIMIT_PER_KEY = env_int("ROOST_RATE_LIMIT_PER_KEY", 0, 0)
ROOST_RATE_LIMIT_BURST = env_int("ROOST_RATE_LIMIT_BURST", max(ROOST_RATE_LIMIT_PER_KEY, 1), 1)
# How many queues and topics the installation may hold; 0 means no cap. SQS sets no quota on
# queues; SNS allows 100,000 standard topics per account.
ROOST_MAX_QUEUES = env_int("ROOST_MAX_QUEUES", 0, 0)
ROOST_MAX_TOPICS = env_int("ROOST_MAX_TOPICS", 100_000, 0)
# When set, GET /metrics answers only requests carrying `Authorization: Bearer <this>`.
ROOST_METRICS_TOKEN = env_str("ROOST_METRICS_TOKEN") or None
# A web process renders /metrics at most once per this many seconds; scrapes in between get that
# answer (at 10,000 queues a render takes a second of CPU: docs/metrics.md).
ROOST_METRICS_CACHE_SECONDS = env_int("ROOST_METRICS_CACHE_SECONDS", 5, 0, 300)
# Purging or deleting a queue holding more than this many messages from the console asks the
# operator to type the queue's name; 0 asks whenever the queue holds any.
ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE = env_int("ROOST_CONSOLE_CONFIRM_BY_NAME_ABOVE", 100, 0)
# Message lineage (each message's timeline): on unless turned off; its events are kept this many
# seconds after they happen (a day by default), bounded per message (queues/lineage.py).
ROOST_LINEAGE = env_bool("ROOST_LINEAGE", True)
ROOST_LINEAGE_RETENTION_SECONDS = env_int("ROOST_LINEAGE_RETENTION_SECONDS", 86_400, 60)
# Purged and console-deleted messages stay in a queue's trash this long, for Undo.
ROOST_TRASH_SECONDS = env_int("ROOST_TRASH_SECONDS", 900, 0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "ninja",
    "console",
    "audit",
    "queues",
    "notifications",
]

MIDDLEWARE = [
    # First: while the database is out of reach, 503 at once, before anything waits on it.
    "console.middleware.refuse_while_unreachable",
    "django.middleware.security.SecurityMiddleware",
    "console.security_headers.console_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.middleware.record_actor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url):
    """The DATABASES entry for this URL. Options the URL gives (`?sslmode=require`, any libpq or
    sqlite3 option) are kept and win over Roost's defaults for the same name."""
    config = dj_database_url.parse(url)
    options = config.get("OPTIONS") or {}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock up front so
        # two writers queue on the busy timeout instead of failing on a lock upgrade.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            **options,
        }
        config["CONN_MAX_AGE"] = None
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request runs in a fresh thread, so CONN_MAX_AGE never reuses a
        # connection; a pool does (Django's docs advise CONN_MAX_AGE=0 with it).
        # While PostgreSQL is down or restarting, a request must fail fast (503) rather than
        # hang: the pool's wait for a connection (default 30 s) is capped, so are the waiters,
        # and a new connection gives up after connect_timeout. Health checks make the pool test
        # an idle connection before lending it, so connections broken by a restart are dropped
        # and recovery needs nobody.
        pool_size = env_int("DB_POOL_SIZE", 20, 1)
        config["OPTIONS"] = {
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 2, 1, 60),
            "pool": {
                "min_size": 1,
                "max_size": pool_size,
                "timeout": env_int("DB_POOL_TIMEOUT_MS", 1500, 100, 60_000) / 1000,
                "max_waiting": 4 * pool_size,
            },
            **options,
        }
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = True
    test_name = env_str("DATABASE_TEST_NAME")
    if test_name:
        config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'roost.sqlite3'}")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Three queues, so a slow or dead webhook never holds up a delivery into a Roost queue, and a
# redrive never holds up either: "celery" (queue deliveries, sweeps), "outbound" (HTTP(S) and
# email sends, which wait on the network; the Procfile serves it with a worker of threads) and
# "moves" (message move task steps: one batch each, the next queued with a countdown that keeps
# to the task's rate; the Procfile's worker serves it next to "celery"). A worker started
# without -Q consumes all three.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("outbound"), Queue("moves"))
CELERY_TASK_ROUTES = {
    "notifications.tasks.attempt_deliveries": {"queue": "outbound"},
    "notifications.tasks.attempt_deliveries_in_slot": {"queue": "outbound"},
    "notifications.tasks.send_confirmation": {"queue": "outbound"},
    "queues.tasks.run_message_move_task": {"queue": "moves"},
    "notifications.tasks.send_unsubscribe_confirmation": {"queue": "outbound"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Work is handed to Celery after commit, inside the request: with Redis down, finding out
    # must take milliseconds, not kombu's 4-6 s of reconnecting (the sweep re-sends from the
    # rows). The embedded broker takes no such option: kombu passes its options to SQLAlchemy.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# The embedded broker (sqla+...) is polled every 50 ms: see console/broker.py.
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-expired-messages": {
        "task": "queues.tasks.sweep_expired_messages",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "prune-trash": {
        "task": "queues.tasks.prune_trash",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "sample-queue-depths": {
        "task": "queues.tasks.sample_queue_depths",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "evaluate-alarms": {
        "task": "notifications.tasks.evaluate_alarms",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "sweep-deliveries": {
        "task": "notifications.tasks.sweep_deliveries",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    "prune-deliveries": {
        "task": "notifications.tasks.prune_deliveries",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    "prune-message-events": {
        "task": "queues.tasks.prune_message_events",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    "resume-message-move-tasks": {
        "task": "queues.tasks.resume_message_move_tasks",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, 1, 65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "roost@localhost")
# Django waits on an SMTP server forever by default; a delivery attempt gives up like an HTTP one.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15, 1, 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
