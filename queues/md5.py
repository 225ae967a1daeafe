"""The MD5 digests SQS returns for a message's body and attributes, which SDKs check on receipt."""

import hashlib

_STRING_TRANSPORT = b"\x01"
_BINARY_TRANSPORT = b"\x02"


def md5_of_body(body: str) -> str:
    """Return the hex MD5 of the UTF-8 body (MD5OfMessageBody / MD5OfBody)."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def md5_of_message_attributes(attributes: dict) -> str:
    """Return SQS's hex MD5 of message (or system) attributes, or "" when there are none.

    Each attribute, in name order, contributes its length-prefixed UTF-8 name and data type, one
    transport byte (1 for a string value, 2 for a binary one) and the length-prefixed value, as
    4-byte big-endian lengths. The same digest serves MD5OfMessageSystemAttributes.
    """
    if not attributes:
        return ""
    digest = hashlib.md5(usedforsecurity=False)
    # Names compare as UTF-16 code units, as the Java SDK's TreeMap orders them; this differs from
    # code-point order only when names mix astral characters with U+E000..U+FFFF.
    for name in sorted(attributes, key=_utf16_key):
        value = attributes[name]
        _update(digest, name.encode("utf-8"))
        _update(digest, value["DataType"].encode("utf-8"))
        string_value = value.get("StringValue")
        if string_value is not None:
            digest.update(_STRING_TRANSPORT)
            _update(digest, string_value.encode("utf-8"))
        else:
            digest.update(_BINARY_TRANSPORT)
            _update(digest, bytes(value["BinaryValue"]))
    return digest.hexdigest()


def _update(digest, data: bytes) -> None:
    digest.update(len(data).to_bytes(4, "big"))
    digest.update(data)


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")
