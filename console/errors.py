"""Errors of access key management, with IAM's codes for the same failures."""

from aws_protocol.errors import ClientError


class AccessKeyValidationError(ClientError):
    code = "ValidationError"
    default_message = "The access key id or secret is not valid."


class AccessKeyAlreadyExists(ClientError):
    code = "EntityAlreadyExists"
    status = 409
    default_message = "An access key with this id already exists."


class NoSuchAccessKey(ClientError):
    code = "NoSuchEntity"
    status = 404
    default_message = "The Access Key cannot be found."
