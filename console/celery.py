"""The Celery app for Roost's background work: deliveries, move tasks and sweeps."""

import os
import signal

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutting_down

from console import broker
from notifications import transports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

broker.install()
app = Celery("roost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def leave_sigterm_to_the_main_process(**kwargs):
    """Let a prefork pool's child ignore SIGTERM; the worker's main process stops it.

    Process managers (honcho, systemd's default) send SIGTERM to the worker's whole process
    group. A child killed by it while waiting for its next task dies holding the pool's queue
    lock, and the main process's warm shutdown then waits on that lock forever (until SIGKILL);
    one killed mid-task loses the task. Ignoring it, each child finishes the task in hand and
    exits when the main process closes the pool.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@worker_process_shutdown.connect
def write_queue_activity(**kwargs):
    """Write the messages a pool child counted before it exits.

    A prefork child leaves through os._exit, which skips the atexit hook that does this in every
    other process.
    """
    from queues import activity  # noqa: PLC0415 (this module is imported before Django is set up)

    activity.stop()


@worker_shutting_down.connect
def interrupt_outbound_sends(**kwargs):
    """Cut off HTTP(S) deliveries in progress when a worker of threads starts its warm shutdown.

    It would otherwise wait for each slow endpoint up to the 15 s send timeout. The deliveries
    end as failed attempts and are retried on their delivery policy (rows in the outbox, not only
    tasks in the broker), by this worker's successor.
    """
    transports.interrupt()
