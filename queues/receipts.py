"""Receipt handles: opaque to clients, they name one receive of one message in one queue."""

import base64
import binascii

from queues.errors import ReceiptHandleIsInvalid

_PREFIX = "rst1"


def make_handle(queue_id, message_pk, token):
    raw = f"{_PREFIX}:{queue_id}:{message_pk}:{token}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def parse_handle(handle, queue_id):
    """Return (message pk, receive token) or raise ReceiptHandleIsInvalid."""
    try:
        prefix, queue_part, pk_part, token_part = (
            base64.urlsafe_b64decode(handle.encode()).decode().split(":")
        )
        owner, pk, token = int(queue_part), int(pk_part), int(token_part)
    except (ValueError, binascii.Error, UnicodeError, AttributeError):
        prefix, owner = None, None
    if prefix != _PREFIX or owner != queue_id:
        raise ReceiptHandleIsInvalid(
            f'The input receipt handle "{handle}" is not a valid receipt handle.'
        )
    return pk, token
