"""SQS's errors: the code botocore's JSON model names, the legacy query code and the HTTP status."""

from aws_protocol.errors import ClientError


class QueueDoesNotExist(ClientError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    default_message = "The specified queue does not exist."


class QueueNameExists(ClientError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"
    default_message = (
        "A queue already exists with the same name and a different value for attribute(s)."
    )


class QueueDeletedRecently(ClientError):
    code = "QueueDeletedRecently"
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class InvalidParameterValue(ClientError):
    code = "InvalidParameterValue"


class MissingParameter(ClientError):
    code = "MissingParameter"


class InvalidAttributeName(ClientError):
    code = "InvalidAttributeName"


class InvalidAttributeValue(ClientError):
    code = "InvalidAttributeValue"


class InvalidMessageContents(ClientError):
    code = "InvalidMessageContents"


class ReceiptHandleIsInvalid(ClientError):
    code = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"


class MessageNotInflight(ClientError):
    code = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"
    default_message = "The message referred to isn't in flight."


class BatchEntryIdsNotDistinct(ClientError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    default_message = "Two or more batch entries in the request have the same Id."


class BatchRequestTooLong(ClientError):
    code = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class EmptyBatchRequest(ClientError):
    code = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"
    default_message = "There should be at least one entry in the request."


class InvalidBatchEntryId(ClientError):
    code = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"
    default_message = (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


class TooManyEntriesInBatchRequest(ClientError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    default_message = "Maximum number of entries per request are 10."


class PurgeQueueInProgress(ClientError):
    code = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"
    status = 403


class UnsupportedOperation(ClientError):
    code = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


class OverLimit(ClientError):
    code = "OverLimit"
    status = 403


class ResourceNotFoundException(ClientError):
    code = "ResourceNotFoundException"
    status = 404
    default_message = "The resource you requested could not be found."


class TrashEmptied(ClientError):
    """An Undo of a purge or delete whose messages are no longer in the trash."""

    code = "TrashEmptied"
    status = 410


class TrashBatchInProgress(ClientError):
    """An Undo of a purge or delete still moving messages to the trash."""

    code = "TrashBatchInProgress"
    status = 409


class InvalidAddress(ClientError):
    code = "InvalidAddress"
    default_message = "The specified ID is invalid."


class InvalidSecurity(ClientError):
    code = "InvalidSecurity"
    status = 403


class RequestThrottled(ClientError):
    code = "RequestThrottled"
    status = 403


# Per-entry failures in batch responses carry a code but are not raised as responses.
def entry_failure(entry_id, error):
    """Describe one failed batch entry as SQS's BatchResultErrorEntry."""
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.code,
        "Message": error.message,
    }
