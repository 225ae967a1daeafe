"""Background work for queues: redrive (message move) tasks and retention sweeps."""

import time

from celery import shared_task

from queues import activity, service
from queues.models import Queue

# A task run hands over to a fresh one after this long, so no worker is held for hours and a
# deploy can stop workers between batches without losing the task (it resumes from the rows).
MOVE_RUN_SECONDS = 120


@shared_task(acks_late=True, ignore_result=True)
def run_message_move_task(task_id):
    service.run_message_move_task(task_id, deadline=time.monotonic() + MOVE_RUN_SECONDS)
    if service.task_is_active(task_id):
        run_message_move_task.delay(task_id)


@shared_task(acks_late=True, ignore_result=True)
def resume_message_move_tasks():
    for task_id in service.stalled_move_task_ids():
        run_message_move_task.delay(task_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_expired_messages():
    service.sweep_expired_messages()


@shared_task(acks_late=True, ignore_result=True)
def sample_queue_depths():
    """Record every queue's depth once a minute for the console's charts."""
    activity.flush()
    activity.record_depths({queue.id: service.queue_depth(queue) for queue in Queue.objects.all()})
    activity.prune()
