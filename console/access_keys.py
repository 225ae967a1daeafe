"""Create, disable, delete and look up access keys; every change to an AccessKey goes through here.

Secrets are stored Fernet-encrypted with a key derived from SECRET_KEY (SECRET_KEY_FALLBACKS
still decrypt, so the key can be rotated). Lookups for request signing are cached per process
for CACHE_TTL seconds: a key disabled, deleted or given a new policy elsewhere (another process,
the admin, SQL) changes behaviour within that time, and at once in the process that changed it.
Re-reading each key in use twice a second costs one primary-key query per key per process.
"""

import base64
import hmac
import logging
import secrets
import string
import time
from datetime import timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit import log as audit_log
from aws_protocol import authorization, iam_policy
from console.errors import AccessKeyAlreadyExists, AccessKeyValidationError, NoSuchAccessKey
from console.models import AccessKey

logger = logging.getLogger(__name__)

KEY_ID_PREFIX = "AKIA"
KEY_ID_MIN_LENGTH, KEY_ID_MAX_LENGTH = 16, 128
SECRET_MIN_LENGTH, SECRET_MAX_LENGTH = 16, 128
GENERATED_SECRET_LENGTH = 40
NAME_MAX_LENGTH = AccessKey._meta.get_field("name").max_length
CACHE_TTL = 0.5
LAST_USED_INTERVAL = timedelta(minutes=1)

_KEY_ID_CHARS = string.ascii_uppercase + string.digits
# AWS's own key ids use the base32 alphabet after the prefix; so do ours.
_GENERATED_KEY_ID_CHARS = string.ascii_uppercase + "234567"
_SECRET_CHARS = string.ascii_letters + string.digits
_PRINTABLE_ASCII = "".join(chr(code) for code in range(33, 127))
_CACHE_MAX_ENTRIES = 10_000

_monotonic = time.monotonic
# access key id -> (expires at, (key, secret) or None); None caches "no such active key" too.
_cache: dict[str, tuple[float, tuple[AccessKey, str] | None]] = {}


def create_access_key(name="", access_key_id=None, secret=None, user=None, policy=""):
    """Create an access key and return it with its plain secret, which is not kept anywhere.

    `policy` is an IAM policy document (JSON text); blank gives the key full access. A malformed
    one raises MalformedPolicyDocument with IAM's message, and no key is made.
    """
    if access_key_id is None:
        access_key_id = _generate_key_id()
    elif not _is_valid_key_id(access_key_id):
        raise AccessKeyValidationError(
            f"The access key id must be {KEY_ID_MIN_LENGTH} to {KEY_ID_MAX_LENGTH} characters, "
            "only capital letters A-Z and digits 0-9."
        )
    if secret is None:
        secret = "".join(secrets.choice(_SECRET_CHARS) for _ in range(GENERATED_SECRET_LENGTH))
    elif not _is_valid_secret(secret):
        raise AccessKeyValidationError(
            f"The secret access key must be {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} "
            "printable ASCII characters, without spaces."
        )
    _check_name(name)
    policy = _checked_policy(policy)
    if AccessKey.objects.filter(access_key_id=access_key_id).exists():
        raise AccessKeyAlreadyExists(f"An access key with id {access_key_id} already exists.")
    try:
        with transaction.atomic():
            key = AccessKey.objects.create(
                access_key_id=access_key_id,
                secret_encrypted=_fernet().encrypt(secret.encode()).decode(),
                name=name,
                user=user,
                policy=policy,
            )
            audit_log.record(
                "CreateAccessKey",
                "access-key",
                access_key_id,
                name=name,
                user=user.get_username() if user is not None else "",
                policy=policy,
            )
    except IntegrityError:
        # Another process created the same id between our check and our insert.
        raise AccessKeyAlreadyExists(
            f"An access key with id {access_key_id} already exists."
        ) from None
    _forget(access_key_id)  # a lookup may have cached "no such key" a moment ago
    return key, secret


def rename_access_key(key, name):
    """Change the key's descriptive name."""
    _check_name(name)
    key.name = name
    with transaction.atomic():
        key.save(update_fields=["name"])
        audit_log.record("RenameAccessKey", "access-key", key.access_key_id, name=name)


def set_policy(key, policy):
    """Give the key an IAM policy (JSON text), or full access with a blank one.

    Raises MalformedPolicyDocument with IAM's message and changes nothing if the document is not
    valid. Takes effect here at once and in other processes within CACHE_TTL.
    """
    key.policy = _checked_policy(policy)
    with transaction.atomic():
        key.save(update_fields=["policy"])
        if key.policy:
            audit_log.record(
                "PutAccessKeyPolicy", "access-key", key.access_key_id, policy=key.policy
            )
        else:
            audit_log.record("DeleteAccessKeyPolicy", "access-key", key.access_key_id)
    _forget(key.access_key_id)


def policy_of(key):
    """The key's compiled policy, or None when it has full access.

    A document that is no longer valid (written around this module, with SQL) allows nothing:
    a broken policy must fail closed, and the log says why the key is refused.
    """
    if not key.policy.strip():
        return None
    try:
        return iam_policy.compiled(key.policy)
    except iam_policy.MalformedPolicyDocument as error:
        _log_broken_policy(key.access_key_id, error.message)
        return _ALLOWS_NOTHING


_ALLOWS_NOTHING = iam_policy.Policy("", [])


@lru_cache(maxsize=256)
def _log_broken_policy(access_key_id, message):
    """Log a broken policy once per key and problem, not on every request it refuses."""
    logger.error(
        "Access key %s has a malformed policy and may do nothing: %s", access_key_id, message
    )


def disable_access_key(key):
    """Stop the key from authenticating: here at once, in other processes within CACHE_TTL."""
    key.is_active = False
    with transaction.atomic():
        key.save(update_fields=["is_active"])
        audit_log.record("UpdateAccessKey", "access-key", key.access_key_id, status="Inactive")
    _forget(key.access_key_id)


def enable_access_key(key):
    """Let a disabled key authenticate again."""
    key.is_active = True
    with transaction.atomic():
        key.save(update_fields=["is_active"])
        audit_log.record("UpdateAccessKey", "access-key", key.access_key_id, status="Active")
    _forget(key.access_key_id)


def delete_access_key(key):
    """Delete the key for good; requests signed with it are refused from then on."""
    access_key_id = key.access_key_id
    with transaction.atomic():
        key.delete()
        audit_log.record("DeleteAccessKey", "access-key", access_key_id)
    _forget(access_key_id)


def secret_of(key):
    """Return the key's plain secret; raises cryptography's InvalidToken if SECRET_KEY changed."""
    return _fernet().decrypt(key.secret_encrypted.encode()).decode()


def find_active_key(access_key_id):
    """Return (key, plain secret) for an active key with this id, or None.

    Answers, including "no such key", are cached for CACHE_TTL seconds, so on the request hot
    path this usually costs a dict lookup and no query. The key returned is shared: read it,
    don't change it.
    """
    now = _monotonic()
    entry = _cache.get(access_key_id)
    if entry is not None and entry[0] > now:
        return entry[1]
    if not _is_valid_key_id(access_key_id):
        return None
    found = _load_active_key(access_key_id)
    if len(_cache) >= _CACHE_MAX_ENTRIES:
        # Unknown ids are cached too; don't let a stream of made-up ids grow this forever.
        _cache.clear()
    _cache[access_key_id] = (now + CACHE_TTL, found)
    return found


def authenticate_bearer(token):
    """Return the active key a REST API bearer token `<access key id>:<secret>` names, or None."""
    access_key_id, colon, given_secret = token.strip().partition(":")
    if not colon or not given_secret:
        return None
    found = find_active_key(access_key_id)
    if found is None:
        return None
    key, secret = found
    if not hmac.compare_digest(secret.encode(), given_secret.encode("utf-8", "surrogatepass")):
        return None
    record_use(key)
    return key


def record_use(key):
    """Set the key's last_used_at, writing to the database at most once a minute per key."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_INTERVAL:
        return
    key.last_used_at = now
    # Conditional, so processes sharing a key write once a minute between them; and an UPDATE
    # of this one column, so a cached, possibly stale instance never writes back is_active.
    AccessKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
    ).update(last_used_at=now)


def clear_cache():
    """Forget every cached lookup (tests, and after bulk changes made outside this module)."""
    _cache.clear()


def _load_active_key(access_key_id):
    try:
        key = AccessKey.objects.active().select_related("user").get(access_key_id=access_key_id)
    except AccessKey.DoesNotExist:
        return None
    try:
        return key, secret_of(key)
    except InvalidToken:
        logger.error(
            "Access key %s cannot be decrypted: was SECRET_KEY changed without keeping the old "
            "one in SECRET_KEY_FALLBACKS?",
            access_key_id,
        )
        return None


def _forget(access_key_id):
    _cache.pop(access_key_id, None)
    # Inside a transaction another thread can re-cache the old row before we commit.
    transaction.on_commit(lambda: _cache.pop(access_key_id, None))


def _generate_key_id():
    suffix_length = 20 - len(KEY_ID_PREFIX)
    return KEY_ID_PREFIX + "".join(
        secrets.choice(_GENERATED_KEY_ID_CHARS) for _ in range(suffix_length)
    )


def _is_valid_key_id(value):
    # strip() with a character set leaves "" exactly when every character is in the set.
    return (
        isinstance(value, str)
        and KEY_ID_MIN_LENGTH <= len(value) <= KEY_ID_MAX_LENGTH
        and not value.strip(_KEY_ID_CHARS)
    )


def _is_valid_secret(value):
    return (
        isinstance(value, str)
        and SECRET_MIN_LENGTH <= len(value) <= SECRET_MAX_LENGTH
        and not value.strip(_PRINTABLE_ASCII)
    )


def _checked_policy(policy):
    """The document as it will be stored: blank for full access, else valid as IAM checks it."""
    if policy is None or not str(policy).strip():
        return ""
    iam_policy.parse(policy)  # raises MalformedPolicyDocument with IAM's message
    return policy


def _check_name(name):
    if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH:
        raise AccessKeyValidationError(
            f"The access key name must be at most {NAME_MAX_LENGTH} characters."
        )


def _fernet():
    return _fernet_for((settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _fernet_for(secret_keys):
    return MultiFernet([Fernet(_derive_fernet_key(secret_key)) for secret_key in secret_keys])


def _derive_fernet_key(secret_key):
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"roost.access-keys",
        info=b"AccessKey.secret_encrypted",
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def get_access_key(access_key_id):
    """The access key with this id, active or not; NoSuchEntity (404) with IAM's message if none."""
    key = AccessKey.objects.select_related("user").filter(access_key_id=access_key_id).first()
    if key is None:
        raise NoSuchAccessKey(f"The Access Key with id {access_key_id} cannot be found.")
    return key


def simulate(key, action, resource):
    """IAM's Decision on whether the key may do `action` on `resource`, and the statement that
    made it: the evaluator every door uses (`authorization.decide`), so the answer is theirs."""
    return authorization.decide(key, action, resource)
