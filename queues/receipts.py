"""Receipt handles: opaque to clients, they name one receive of one message in one queue."""

import base64
import binascii
import secrets

from queues.errors import ReceiptHandleIsInvalid

_PREFIX = "rst1"


# A receive token carries the receive's time, so a handle knows how long its message has been
# hidden (SQS caps that at 12 hours), plus random bits so an earlier receive's handle never
# matches a later one. Bit 62 marks such tokens: before it, tokens were 62 random bits.
_TIMED = 1 << 62
_RANDOM_BITS = 16


def new_token(received_at_ms):
    return _TIMED | received_at_ms << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)


def received_at(token):
    """The time (ms) of the receive a token names, or None for a token from before they had one."""
    if not token & _TIMED:
        return None
    return (token & ~_TIMED) >> _RANDOM_BITS


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
