"""Background work for queues: redrive (message move) tasks and retention sweeps."""

import logging
import time

from celery import shared_task
from celery.signals import worker_ready

from queues import history, service

logger = logging.getLogger("roost.move_tasks")

# A retention sweep works this long, then hands over to a fresh run, so it holds a worker slot
# for seconds however many messages expired at once.
SWEEP_RUN_SECONDS = 5


@shared_task(acks_late=True, ignore_result=True)
def run_message_move_task(task_id, heartbeat=None, after=None):
    """Move one batch, then queue the next step with a countdown that keeps to the task's rate.

    A worker slot is held for one batch, never for the wait between batches, and a deploy can
    stop workers between steps: the resume sweep starts the task again from its rows.
    """
    step = service.move_messages_step(task_id, heartbeat, after)
    if step is not None:
        run_message_move_task.apply_async(
            (task_id, step.heartbeat, step.after), countdown=step.countdown or None
        )


@shared_task(acks_late=True, ignore_result=True)
def resume_message_move_tasks(stale_after_ms=60_000):
    for task_id in service.stalled_move_task_ids(stale_after_ms):
        run_message_move_task.delay(task_id)


@worker_ready.connect
def _resume_move_tasks_on_start(sender=None, **kwargs):
    """A worker that starts (after a crash, a deploy) resumes every unfinished move task at once.

    Not only the stalled ones: a task whose worker was killed a moment ago still looks alive, and
    its Celery message died with that worker. Running a task twice side by side is harmless: each
    batch moves only rows still in the source queue.
    """
    try:
        resume_message_move_tasks.apply_async((0,), retry=False)
    except Exception as error:  # the broker is down: beat's resume sweep runs once it is back
        logger.warning("could not queue the move-task resume on start (%s)", error)


@shared_task(acks_late=True, ignore_result=True)
def sweep_expired_messages():
    _deleted, more = service.sweep_expired_messages(time.monotonic() + SWEEP_RUN_SECONDS)
    if more:
        sweep_expired_messages.apply_async(countdown=1)


@shared_task(acks_late=True, ignore_result=True)
def prune_trash():
    """Empty the trash of purges and deletes past their undo window, a few seconds a run."""
    _deleted, more = service.prune_trash(time.monotonic() + SWEEP_RUN_SECONDS)
    if more:
        prune_trash.apply_async(countdown=1)


@shared_task(acks_late=True, ignore_result=True)
def sample_queue_depths():
    """Record every queue's depth once a minute; roll finished hours up; prune old history."""
    history.record_queue_history()


@shared_task(acks_late=True, ignore_result=True)
def prune_message_events():
    """Delete message lineage past its retention window, a few seconds' worth of batches a run."""
    from queues import lineage  # noqa: PLC0415

    _deleted, more = lineage.prune_events(time.monotonic() + SWEEP_RUN_SECONDS)
    if more:
        prune_message_events.apply_async(countdown=1)
