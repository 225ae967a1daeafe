"""SNS's errors: the code and HTTP status botocore's SNS model gives each (SNS speaks only query)."""

from console.errors import ClientError, RoostError


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
