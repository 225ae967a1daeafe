"""Sign SNS messages for HTTP/HTTPS subscribers as Amazon SNS does, so their verifiers accept them.

SNS signs a canonical string of "Name\\nValue\\n" pairs, in a fixed field order that depends on the
message type, with RSA PKCS#1 v1.5: SHA1 for SignatureVersion 1, SHA256 for 2. Subscribers fetch
the X.509 certificate at SigningCertURL and check the signature with its public key.

Roost signs with one RSA key per installation and a self-signed certificate for it, each created
on first use where its setting points: ROOST_SNS_SIGNING_KEY_FILE (default
DATA_DIR/sns-signing-key.pem) and ROOST_SNS_SIGNING_CERT_FILE (default
DATA_DIR/sns-signing-cert-<key id>.pem, so a key swapped in later gets a certificate of its own
rather than a stale one). Both are read once per process.
"""

import base64
import binascii
import contextlib
import functools
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_SIZE = 2048
CERTIFICATE_COMMON_NAME = "Roost SNS signing"
CERTIFICATE_VALIDITY = timedelta(days=3652)
FINGERPRINT_LENGTH = 32

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# The AWS developer guide's field lists, in the order they are signed; Subject only when present.
_SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS[UNSUBSCRIBE_CONFIRMATION] = _SIGNED_FIELDS[SUBSCRIPTION_CONFIRMATION]
_OPTIONAL_FIELDS = {"Subject"}

_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


@dataclass(frozen=True)
class _Credentials:
    key: rsa.RSAPrivateKey
    certificate_pem: bytes
    fingerprint: str


def signing_key() -> rsa.RSAPrivateKey:
    """Return the RSA private key Roost signs SNS messages with, creating it on first use."""
    return _credentials().key


def signing_certificate_pem() -> bytes:
    """Return the PEM X.509 certificate subscribers verify Roost's signatures with."""
    return _credentials().certificate_pem


def certificate_fingerprint() -> str:
    """Return the short hex SHA-256 of the certificate's DER that names it in SigningCertURL."""
    return _credentials().fingerprint


def signing_cert_url(base_url: str) -> str:
    """Return the SigningCertURL under which Roost at base_url serves its certificate."""
    return f"{base_url.rstrip('/')}/sns/SimpleNotificationService-{certificate_fingerprint()}.pem"


def canonical_string(message: dict) -> str:
    """Return the string SNS signs for a Notification, Subscription- or UnsubscribeConfirmation.

    Raises ValueError for another Type, a missing required field or a value that is not a string.
    """
    message_type = message.get("Type")
    fields = _SIGNED_FIELDS.get(message_type) if isinstance(message_type, str) else None
    if fields is None:
        raise ValueError(f"Cannot sign an SNS message of Type {message_type!r}")
    parts = []
    for name in fields:
        value = message.get(name)
        # Verifiers disagree on an empty Subject (some test presence, some truth): sign() refuses
        # one, and it is left out here as the truth-testing verifiers leave it out.
        if name in _OPTIONAL_FIELDS and not value:
            continue
        if not isinstance(value, str):
            raise ValueError(f"SNS message field {name} must be a string, not {value!r}")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts)


def sign(message: dict, base_url: str, version: str = "2") -> dict:
    """Return a copy of message with SignatureVersion, Signature and SigningCertURL set."""
    version = str(version)
    if version not in _HASHES:
        raise ValueError(f"SignatureVersion must be 1 or 2, not {version!r}")
    if "Subject" in message and not message["Subject"]:
        raise ValueError("Leave Subject out of an SNS message rather than sending it empty")
    data = canonical_string(message).encode("utf-8")
    signature = signing_key().sign(data, padding.PKCS1v15(), _HASHES[version]())
    signed = dict(message)
    signed["SignatureVersion"] = version
    signed["Signature"] = base64.b64encode(signature).decode("ascii")
    signed["SigningCertURL"] = signing_cert_url(base_url)
    return signed


def verify(message: dict, certificate_pem: bytes) -> bool:
    """Return whether message carries a valid SNS signature by the certificate's key.

    Checks the signature only: whether the certificate is one to trust, and whether it is the one
    SigningCertURL names, is the caller's decision.
    """
    version = message.get("SignatureVersion")
    signature = message.get("Signature")
    if version not in ("1", "2") or not isinstance(signature, str):
        return False
    try:
        data = canonical_string(message).encode("utf-8")
        raw_signature = base64.b64decode(signature, validate=True)
        public_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    except (ValueError, binascii.Error):
        return False
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        public_key.verify(raw_signature, data, padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature:
        return False
    return True


def _credentials() -> _Credentials:
    paths = _paths(
        getattr(settings, "ROOST_SNS_SIGNING_KEY_FILE", None),
        getattr(settings, "ROOST_SNS_SIGNING_CERT_FILE", None),
        settings.DATA_DIR,
    )
    return _load_credentials(*paths)


@functools.cache
def _paths(key_file, cert_file, data_dir):
    """(key path, certificate path or None, data dir) for these settings, built once: building
    them for every signature took a seventh of its time."""
    data_dir = Path(data_dir)
    key_path = Path(key_file) if key_file else data_dir / "sns-signing-key.pem"
    return key_path, Path(cert_file) if cert_file else None, data_dir


@functools.cache
def _load_credentials(key_path: Path, cert_path: Path | None, data_dir: Path) -> _Credentials:
    # Keyed by path, so a changed setting (or a test's DATA_DIR) never gets another's key.
    key_pem = _read_or_create(key_path, _new_key_pem, mode=0o600)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{key_path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_SIZE:
        raise ImproperlyConfigured(f"{key_path} must hold an RSA key of at least {KEY_SIZE} bits")

    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if cert_path is None:
        key_id = hashlib.sha256(public_der).hexdigest()[:16]
        cert_path = data_dir / f"sns-signing-cert-{key_id}.pem"
    cert_pem = _read_or_create(cert_path, lambda: _new_certificate_pem(key), mode=0o644)
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{cert_path} is not a PEM X.509 certificate") from exc
    cert_public_der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if cert_public_der != public_der:
        raise ImproperlyConfigured(f"{cert_path} is not a certificate for the key in {key_path}")

    der = certificate.public_bytes(serialization.Encoding.DER)
    fingerprint = hashlib.sha256(der).hexdigest()[:FINGERPRINT_LENGTH]
    return _Credentials(key=key, certificate_pem=cert_pem, fingerprint=fingerprint)


def _read_or_create(path: Path, create, mode: int) -> bytes:
    """Return the file's bytes, first writing create()'s if there is no file yet.

    Processes starting together may each create one: each writes a private temporary file and
    hard-links it into place, which fails if the name already exists, so exactly one wins and
    everyone reads the winner. A reader never sees a half-written file.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(create())
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        # Another process got there first when the name exists: its file is the one everyone uses.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def _new_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _new_certificate_pem(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERTIFICATE_COMMON_NAME)])
    # Backdated a day so a subscriber whose clock runs behind still finds it valid.
    not_before = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
