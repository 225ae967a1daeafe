"""The one error type every front door knows how to render, and the errors every AWS door shares.

A domain error carries what each protocol needs: the modern error code (SQS JSON's `__type`,
REST's `code`), the legacy query-protocol code, the HTTP status and whether the sender is at fault.
"""


class RoostError(Exception):
    code = "InternalFailure"
    query_code = None  # the legacy code the query protocol (and x-amzn-query-error) reports
    status = 500
    sender_fault = False
    default_message = "The request processing has failed because of an unknown error."

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def legacy_code(self):
        return self.query_code or self.code

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r})"


class ClientError(RoostError):
    status = 400
    sender_fault = True


# Authentication and request-shape errors shared by every AWS front door.


class InvalidClientTokenId(ClientError):
    code = "InvalidClientTokenId"
    status = 403
    default_message = "The security token included in the request is invalid."


class SignatureDoesNotMatch(ClientError):
    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation "
        "for details."
    )


class IncompleteSignature(ClientError):
    code = "IncompleteSignature"
    default_message = "The request signature does not conform to AWS standards."


class MissingAuthenticationToken(ClientError):
    code = "MissingAuthenticationToken"
    status = 403
    default_message = "Request is missing Authentication Token"


class RequestExpired(ClientError):
    code = "RequestExpired"
    default_message = "Request has expired."


class AccessDenied(ClientError):
    code = "AccessDenied"
    status = 403
    query_code = "AccessDenied"
    default_message = "Access to the resource is denied."


class InvalidAction(ClientError):
    code = "InvalidAction"
    default_message = "The action or operation requested is invalid."


class MissingAction(ClientError):
    code = "MissingAction"
    default_message = "The request is missing an action or a required parameter."


class MalformedQueryString(ClientError):
    code = "MalformedQueryString"
    status = 404
    default_message = "The query string contains a syntax error."


class UnknownOperation(ClientError):
    code = "UnknownOperationException"
    default_message = "The requested operation is not supported."


class SerializationException(ClientError):
    code = "SerializationException"
    default_message = "The request could not be parsed."


class RequestEntityTooLarge(ClientError):
    code = "RequestEntityTooLarge"
    status = 413
    default_message = "The request is larger than the server accepts."


class InternalFailure(RoostError):
    code = "InternalFailure"
    query_code = "InternalFailure"
    status = 500


class ServiceUnavailable(RoostError):
    code = "ServiceUnavailable"
    status = 503
    default_message = "The request has failed due to a temporary failure of the server."
