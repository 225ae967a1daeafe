"""SNS's errors: the code and HTTP status botocore's SNS model gives each (SNS speaks only query)."""

from aws_protocol.errors import ClientError, RoostError


class InvalidParameter(ClientError):
    code = "InvalidParameter"
    default_message = "Invalid parameter"


class NotFound(ClientError):
    code = "NotFound"
    status = 404
    default_message = "Resource does not exist"


class AuthorizationError(ClientError):
    code = "AuthorizationError"
    status = 403
    default_message = "User is not authorized to perform this action"


class InvalidSecurity(ClientError):
    code = "InvalidSecurity"
    status = 403
    default_message = "The credential signature isn't valid."


class FilterPolicyLimitExceeded(ClientError):
    code = "FilterPolicyLimitExceeded"
    status = 403
    default_message = "Filter policy limit exceeded"


class InternalError(RoostError):
    code = "InternalError"
    status = 500
    default_message = "Internal error"


class ResourceNotFound(ClientError):
    code = "ResourceNotFound"
    status = 404
    default_message = "Resource does not exist"


class TagLimitExceeded(ClientError):
    code = "TagLimitExceeded"
    default_message = "Could not complete request: tag quota of per resource exceeded"


class EmptyBatchRequest(ClientError):
    code = "EmptyBatchRequest"
    default_message = "The batch request doesn't contain any entries."


class TooManyEntriesInBatchRequest(ClientError):
    code = "TooManyEntriesInBatchRequest"
    default_message = "The batch request contains more entries than permissible."


class BatchEntryIdsNotDistinct(ClientError):
    code = "BatchEntryIdsNotDistinct"
    default_message = "Two or more batch entries in the request have the same Id."


class InvalidBatchEntryId(ClientError):
    code = "InvalidBatchEntryId"
    default_message = (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


class BatchRequestTooLong(ClientError):
    code = "BatchRequestTooLong"
    default_message = "The length of all the messages put together is more than the limit."


class TopicLimitExceeded(ClientError):
    code = "TopicLimitExceeded"
    status = 403
    default_message = "Topic limit exceeded"


class Throttling(ClientError):
    """AWS's common throttling error for query APIs, which SNS answers when a caller exceeds its
    request rate: botocore retries it as throttling in both its legacy and standard modes (the
    modelled ThrottledException, code Throttled with 429, is not in the standard mode's list)."""

    code = "Throttling"
    default_message = "Rate exceeded"
