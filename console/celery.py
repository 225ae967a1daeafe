"""The Celery app for Roost's background work: deliveries, move tasks and sweeps."""

import os

from celery import Celery

from console import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

broker.install()
app = Celery("roost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
