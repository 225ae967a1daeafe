"""A small, fast XML writer for the AWS query protocols' responses."""

import base64
import re

_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def text(value):
    """Escape a value for element content; carriage returns survive as &#xD;, as AWS sends them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value).translate(_ESCAPES)


def element(name, value):
    return f"<{name}>{text(value)}</{name}>"


def document(root, namespace, result_xml, request_id, result_name=None):
    """A query-protocol response: <Root><Result>…</Result><ResponseMetadata>…</Root>."""
    result = f"<{result_name}>{result_xml}</{result_name}>" if result_name else ""
    return (
        f'<?xml version="1.0"?><{root} xmlns="{namespace}">{result}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{root}>"
    ).encode()


def _printable(text):
    """`text` with what XML 1.0 cannot hold (NUL, other controls, lone surrogates) as U+FFFD.

    Error messages may quote what the client sent, and a refused value may hold exactly these.
    """
    return _FORBIDDEN.sub("\ufffd", text)


def error_document(namespace, error, request_id):
    kind = "Sender" if error.sender_fault else "Receiver"
    message = _printable(error.message)
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"{element('Code', error.legacy_code)}{element('Message', message)}<Detail/>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
