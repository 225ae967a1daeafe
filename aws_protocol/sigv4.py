"""Verify AWS Signature Version 4 on incoming requests, with the errors AWS answers.

Both forms are accepted: the `Authorization: AWS4-HMAC-SHA256 ...` header and presigned URLs
(`X-Amz-Algorithm`, `X-Amz-Signature`, ... in the query string). The checks run in AWS's order:
parameters present, date format and freshness, Host, Content-Type and every x-amz-* header
signed, algorithm, credential scope, key, signature.

This runs on every API request. With warm caches it does no ORM query, no regex and no datetime
parsing: the key and secret come from the caller's key store (`find_active_key`), the derived signing key is
cached per (key id, date, region, service) and parsed timestamps and paths are memoised.
"""

import hashlib
import hmac
import string
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote, unquote_plus

from django.conf import settings

from aws_protocol.errors import (
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# AWS refuses presigned URLs that claim to stay valid for more than a week.
MAX_PRESIGNED_EXPIRES = 604_800

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_UNRESERVED = string.ascii_letters + string.digits + "-_.~"
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)
_SIGNING_KEYS_MAX_ENTRIES = 4096

# (key id, date, region, service) -> (secret it was derived from, signing key)
_signing_keys: dict[tuple[str, str, str, str], tuple[str, bytes]] = {}


def verify_request(method, path, query_string, headers, body, keys):
    """Check the request's SigV4 signature; return its AccessKey and the scope's service name.

    `path` and `query_string` are as received, still percent-encoded, and `headers` has
    lower-case names. `keys` is the key store: `find_active_key(key_id)` answers (key, secret)
    or None, `record_use(key)` notes a successful use. Raises the RoostError AWS would answer
    with. The store may touch the database, so call it from sync code.
    """
    authorization = headers.get("authorization")
    # The substring test keeps query parsing off the header-signed hot path.
    query_auth = _query_auth_params(query_string) if "X-Amz-" in query_string else None
    if query_auth is not None and "X-Amz-Algorithm" in query_auth:
        if authorization is not None:
            raise IncompleteSignature(
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as "
                "HTTP header."
            )
        fields = _fields_from_query(query_auth)
        presigned = True
    elif authorization and authorization.lstrip().startswith("AWS4-"):
        fields = _fields_from_header(authorization, headers)
        presigned = False
    else:
        # AWS answers this too for an Authorization header of another scheme (Bearer, SigV2).
        raise MissingAuthenticationToken()
    algorithm, credential, signed_headers, signature, amz_date, expires = fields

    moment = _parse_amz_date(amz_date)
    if moment is None:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )
    _check_freshness(amz_date, moment, expires if presigned else None)
    header_names = signed_headers.split(";")
    if "host" not in header_names:
        raise SignatureDoesNotMatch(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    _check_required_headers_signed(headers, header_names, presigned)
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now)."
        )
    scope = credential.rstrip("/").split("/")
    if len(scope) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    access_key_id, date, region, service, terminator = scope
    if date != amz_date[:8] or terminator != TERMINATOR or not region or not service:
        raise SignatureDoesNotMatch(_scope_problems(amz_date, date, region, service, terminator))

    found = keys.find_active_key(access_key_id)
    if found is None:
        raise InvalidClientTokenId()
    key, secret = found

    payload_hash = _payload_hash(headers.get("x-amz-content-sha256"), body)
    signing_key = _signing_key(access_key_id, secret, date, region, service)
    head = f"{method.upper()}\n{_canonical_uri(path)}\n"
    # Header values are trimmed and inner runs of spaces folded to one, as SigV4 specifies.
    tail = "\n" + "".join(
        [f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in header_names]
    )
    tail += f"\n{signed_headers}\n{payload_hash}"
    prefix = f"{ALGORITHM}\n{amz_date}\n{date}/{region}/{service}/{TERMINATOR}\n"
    comparable = signature.isascii()  # compare_digest refuses non-ASCII str
    canonical_queries = _canonical_queries(query_string, presigned)
    for canonical_query in canonical_queries:
        canonical_request = head + canonical_query + tail
        string_to_sign = prefix + hashlib.sha256(canonical_request.encode()).hexdigest()
        expected = hmac.digest(signing_key, string_to_sign.encode(), "sha256").hex()
        if comparable and hmac.compare_digest(expected, signature):
            keys.record_use(key)
            return key, service

    canonical_request = head + canonical_queries[0] + tail
    string_to_sign = prefix + hashlib.sha256(canonical_request.encode()).hexdigest()
    raise SignatureDoesNotMatch(
        f"{SignatureDoesNotMatch.default_message}\n\n"
        f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
        f"The String-to-Sign should have been\n'{string_to_sign}'\n"
    )


def _check_required_headers_signed(headers, header_names, presigned):
    """Refuse a request that leaves Content-Type or an x-amz-* header it carries unsigned.

    Otherwise a captured request could be replayed with these changed: X-Amz-Target picks the
    SQS operation, so a signed ListQueues would run as PurgeQueue. Presigned URLs need not sign
    Content-Type (SDKs leave it out of them), as with AWS.
    """
    signed = set(header_names)
    if not presigned and "content-type" in headers and "content-type" not in signed:
        raise SignatureDoesNotMatch(
            "'Content-Type' must be a 'SignedHeader' in the AWS Authorization."
        )
    for name in sorted(headers):
        if name.startswith("x-amz-") and name not in signed:
            raise SignatureDoesNotMatch(
                f"'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )


def _fields_from_header(authorization, headers):
    algorithm, _, rest = authorization.strip().partition(" ")
    params = {}
    # AWS splits on commas and whitespace alike ("Credential= AKIA..." is two bad pairs).
    for part in rest.replace(",", " ").split():
        name, equals, value = part.partition("=")
        if not equals:
            raise IncompleteSignature(
                f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'."
            )
        params[name] = value
    credential = params.get("Credential")
    signature = params.get("Signature")
    signed_headers = params.get("SignedHeaders")
    amz_date = headers.get("x-amz-date")
    if not amz_date and headers.get("date"):
        amz_date = _amz_date_from_http_date(headers["date"])
    if not (credential and signature and signed_headers and amz_date):
        problems = [
            f"Authorization header requires '{name}' parameter. "
            for name, value in (
                ("Credential", credential),
                ("Signature", signature),
                ("SignedHeaders", signed_headers),
            )
            if not value
        ]
        if not amz_date:
            problems.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header. "
            )
        raise IncompleteSignature("".join(problems) + f"Authorization={authorization}")
    return algorithm, credential, signed_headers, signature, amz_date, None


def _fields_from_query(params):
    missing = [name for name in _QUERY_AUTH_PARAMS if not params.get(name)]
    if missing:
        raise IncompleteSignature(
            "".join(f"AWS query-string parameters must include '{name}'. " for name in missing)
            + "Re-examine the query-string parameters."
        )
    return (
        params["X-Amz-Algorithm"],
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        params.get("X-Amz-Expires"),
    )


def _query_auth_params(query_string):
    params = {}
    for pair in query_string.split("&"):
        name, _, value = pair.partition("=")
        name = _unquote(name)
        if name.startswith("X-Amz-") and name not in params:
            params[name] = _unquote(value)
    return params


def _check_freshness(amz_date, moment, expires):
    now = time.time()
    skew = settings.ROOST_SIGNATURE_MAX_SKEW
    if moment > now + skew:
        raise RequestExpired(
            f"Signature not yet current: {amz_date} is still later than "
            f"{_format_amz_date(now + skew)} ({_format_amz_date(now)} + {_describe(skew)})"
        )
    if expires is None:
        if moment < now - skew:
            raise RequestExpired(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_format_amz_date(now - skew)} ({_format_amz_date(now)} - {_describe(skew)})"
            )
        return
    if not (expires.isascii() and expires.isdigit()):
        raise IncompleteSignature(
            f"X-Amz-Expires must be a whole number of seconds, not '{expires}'."
        )
    if int(expires) > MAX_PRESIGNED_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}."
        )
    if now > moment + int(expires):
        raise RequestExpired("Request has expired.")


def _scope_problems(amz_date, date, region, service, terminator):
    problems = []
    if not region:
        problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
    if not service:
        problems.append(f"Credential should be scoped to a valid service, not '{service}'.")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'."
        )
    if date != amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return " ".join(problems)


def _payload_hash(claimed, body):
    if claimed == UNSIGNED_PAYLOAD:
        # The client chose not to sign the body; the claim itself is covered by the signature.
        return claimed
    actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    if claimed is not None and claimed != actual:
        raise SignatureDoesNotMatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    return actual


def _signing_key(access_key_id, secret, date, region, service):
    cache_key = (access_key_id, date, region, service)
    cached = _signing_keys.get(cache_key)
    # A key deleted and re-created under the same id has a new secret: check it is the same.
    if cached is not None and cached[0] == secret:
        return cached[1]
    signing_key = hmac.digest(f"AWS4{secret}".encode(), date.encode(), "sha256")
    for part in (region, service, TERMINATOR):
        signing_key = hmac.digest(signing_key, part.encode(), "sha256")
    if len(_signing_keys) >= _SIGNING_KEYS_MAX_ENTRIES:
        _signing_keys.clear()
    _signing_keys[cache_key] = (secret, signing_key)
    return signing_key


def _canonical_queries(query_string, presigned):
    """Return the canonical query strings the client may have signed, most likely first.

    SigV4 says: decode, re-encode with AWS's unreserved set, sort. botocore instead signs the
    query exactly as it sent it, only sorted; and form-style clients send spaces as "+".
    Well-formed queries give one string; ambiguous ones give up to three to try.
    """
    if not query_string:
        return ("",)
    pairs = [pair.partition("=") for pair in query_string.split("&")]
    if presigned:
        pairs = [pair for pair in pairs if _unquote(pair[0]) != "X-Amz-Signature"]
    candidates = [
        _join_sorted(
            (_canonical_component(name), _canonical_component(value))
            for name, _, value in pairs
            if name or value
        ),
        _join_sorted((name, value) for name, _, value in pairs),
    ]
    if "+" in query_string:
        candidates.append(
            _join_sorted(
                (_aws_quote(unquote_plus(name)), _aws_quote(unquote_plus(value)))
                for name, _, value in pairs
                if name or value
            )
        )
    return tuple(dict.fromkeys(candidates))


def _join_sorted(pairs):
    return "&".join([f"{name}={value}" for name, value in sorted(pairs)])


@lru_cache(maxsize=4096)
def _canonical_component(text):
    # Memoised: names, actions, the algorithm and credential repeat from request to request.
    return _aws_quote(_unquote(text))


def _unquote(text):
    return unquote(text) if "%" in text else text


def _aws_quote(text):
    # strip() with a character set leaves "" exactly when nothing needs encoding.
    return quote(text, safe="-_.~") if text.strip(_UNRESERVED) else text


@lru_cache(maxsize=1024)
def _canonical_uri(path):
    """Return the canonical URI botocore signs for a non-S3 service: the raw path, dot segments
    and repeated slashes removed, then percent-encoded once more."""
    if not path:
        return "/"
    segments = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = "/".join(segments)
    if path.startswith("/"):
        normalized = "/" + normalized
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


@lru_cache(maxsize=512)
def _parse_amz_date(amz_date):
    """Return the epoch seconds of a `YYYYMMDDTHHMMSSZ` timestamp, or None if it is not one."""
    if len(amz_date) != 16 or amz_date[8] != "T" or amz_date[15] != "Z":
        return None
    digits = amz_date[:8] + amz_date[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        moment = datetime(
            int(amz_date[0:4]),
            int(amz_date[4:6]),
            int(amz_date[6:8]),
            int(amz_date[9:11]),
            int(amz_date[11:13]),
            int(amz_date[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return moment.timestamp()


def _amz_date_from_http_date(value):
    try:
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # RFC 5322's "-0000": UTC, source unknown
        return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)
    except (TypeError, ValueError, OverflowError):  # e.g. 9999-12-31 in a zone west of UTC
        return value  # the format check reports it as it came


def _format_amz_date(epoch):
    return time.strftime(_AMZ_DATE_FORMAT, time.gmtime(epoch))


def _describe(seconds):
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."
