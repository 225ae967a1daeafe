"""Every SQS rule Roost follows: the front doors (SQS wire, REST, console) and tasks call these.

Functions take model instances and plain values and return plain values shaped like the SQS API's
(so every front door renders the same facts); rule violations raise the errors in queues.errors.

Callers use the package (`from queues import service`, `service.send_messages(...)`); the rules
live in its modules, by job:

- lookup: finding a queue by name (through the one-second `queue_cache`), URL or ARN, and its row
  locked for a read-modify-write.
- queues: CreateQueue, DeleteQueue, ListQueues, queue attributes (the redrive policy, the depth
  counts), ListDeadLetterSourceQueues.
- tags: TagQueue, UntagQueue, ListQueueTags and the tag rules.
- sending: SendMessage(Batch), FIFO de-duplication, retention, the batch-id checks.
- receiving: ReceiveMessage (dead-lettering on the way, FIFO receive-attempt retries),
  DeleteMessage(Batch), ChangeMessageVisibility(Batch).
- redrive: message move tasks and the worker's step loop.
- chosen_messages: the console's actions on chosen messages (delete by id or by the explorer's
  filters, redrive).
- selective_redrive: redriving a dead-letter queue's messages chosen by filters or by hand,
  planned first (a dry run), moved by a message move task, with edited bodies if wanted.
- housekeeping: PurgeQueue in steps, emptying a queue before its deletion, the retention sweep.
- trash: where purges and console deletes put messages, restoring them (Undo), emptying it.

Each module imports only lower ones: lookup < sending, tags < trash < housekeeping, receiving,
redrive < queues, chosen_messages, selective_redrive.
"""

# Errors some callers take from here (queues.service used to import them itself).
from queues.errors import QueueDeletedRecently, UnsupportedOperation
from queues.service.chosen_messages import (
    delete_matching_messages,
    delete_message_by_id,
    delete_messages_by_id,
    newest_message_id,
    redrive_messages,
)
from queues.service.housekeeping import (
    PURGE_INTERVAL_SECONDS,
    PURGE_STEP_SECONDS,
    Purge,
    delete_messages_in_batches,
    purge_queue,
    start_emptying,
    start_purge,
    sweep_expired_messages,
)
from queues.service.lookup import (
    get_queue,
    get_queue_by_arn,
    get_queue_by_url,
    queue_cache,
    queue_name_from_arn,
    queue_name_from_url,
)
from queues.service.queues import (
    DELETE_ATTEMPTS,
    FIFO_QUEUE_NAME,
    QUEUE_NAME,
    RECREATE_AFTER_DELETE_MS,
    create_queue,
    delete_queue,
    get_queue_attributes,
    list_dead_letter_source_queues,
    list_queues,
    queue_depth,
    queue_depths,
    set_queue_attributes,
    update_queue,
)
from queues.service.receiving import (
    MAX_VISIBILITY_MS,
    RECEIVE_ATTEMPT_WINDOW_MS,
    SYSTEM_ATTRIBUTE_NAMES,
    change_message_visibilities,
    change_message_visibility,
    delete_message,
    delete_messages,
    long_poll_seconds,
    receive_messages,
)
from queues.service.redrive import (
    MAX_MOVE_RATE,
    MOVE_BATCH,
    NextMoveStep,
    cancel_message_move_task,
    list_message_move_tasks,
    move_messages_step,
    stalled_move_task_ids,
    start_message_move_task,
)
from queues.service.selective_redrive import (
    RedrivePlan,
    Selection,
    plan_redrive,
    start_selective_redrive,
)
from queues.service.sending import (
    BATCH_ENTRY_ID,
    DEDUPLICATION_WINDOW_MS,
    MAX_BATCH_ENTRIES,
    SendEntry,
    retention_cutoff,
    send_message,
    send_messages,
)
from queues.service.tags import (
    list_queue_tags,
    tag_queue,
    untag_queue,
)
from queues.service.trash import enabled as trash_enabled
from queues.service.trash import new_batch_id, prune_trash, recent_batches, restore

__all__ = [
    "BATCH_ENTRY_ID",
    "DEDUPLICATION_WINDOW_MS",
    "DELETE_ATTEMPTS",
    "FIFO_QUEUE_NAME",
    "MAX_BATCH_ENTRIES",
    "MAX_MOVE_RATE",
    "MAX_VISIBILITY_MS",
    "MOVE_BATCH",
    "NextMoveStep",
    "PURGE_INTERVAL_SECONDS",
    "PURGE_STEP_SECONDS",
    "Purge",
    "QUEUE_NAME",
    "QueueDeletedRecently",
    "RedrivePlan",
    "Selection",
    "RECEIVE_ATTEMPT_WINDOW_MS",
    "RECREATE_AFTER_DELETE_MS",
    "SYSTEM_ATTRIBUTE_NAMES",
    "SendEntry",
    "UnsupportedOperation",
    "cancel_message_move_task",
    "change_message_visibilities",
    "change_message_visibility",
    "create_queue",
    "delete_message",
    "delete_matching_messages",
    "delete_message_by_id",
    "delete_messages_by_id",
    "delete_messages",
    "delete_messages_in_batches",
    "delete_queue",
    "get_queue",
    "get_queue_attributes",
    "get_queue_by_arn",
    "get_queue_by_url",
    "list_dead_letter_source_queues",
    "list_message_move_tasks",
    "list_queue_tags",
    "list_queues",
    "long_poll_seconds",
    "move_messages_step",
    "new_batch_id",
    "newest_message_id",
    "prune_trash",
    "plan_redrive",
    "purge_queue",
    "queue_cache",
    "queue_depth",
    "queue_depths",
    "queue_name_from_arn",
    "queue_name_from_url",
    "receive_messages",
    "recent_batches",
    "redrive_messages",
    "restore",
    "retention_cutoff",
    "send_message",
    "send_messages",
    "set_queue_attributes",
    "stalled_move_task_ids",
    "start_emptying",
    "start_message_move_task",
    "start_purge",
    "start_selective_redrive",
    "sweep_expired_messages",
    "tag_queue",
    "trash_enabled",
    "untag_queue",
    "update_queue",
]
