import base64
import hashlib
import shutil
import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from notifications import signing

BASE_URL = "http://roost.example:8000"
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:orders"

NOTIFICATION = {
    "Type": "Notification",
    "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    "TopicArn": TOPIC_ARN,
    "Subject": "Order shipped – café",
    "Message": '{"order": 42,\n "note": "naïve \\"quoted\\""}',
    "Timestamp": "2012-05-02T00:54:06.655Z",
    "UnsubscribeURL": f"{BASE_URL}/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:1",
}
SUBSCRIPTION_CONFIRMATION = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
    "TopicArn": TOPIC_ARN,
    "Message": (
        f"You have chosen to subscribe to the topic {TOPIC_ARN}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    ),
    "SubscribeURL": f"{BASE_URL}/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}&Token=2336",
    "Timestamp": "2012-04-26T20:45:04.751Z",
}
UNSUBSCRIBE_CONFIRMATION = {
    **SUBSCRIPTION_CONFIRMATION,
    "Type": "UnsubscribeConfirmation",
    "MessageId": "47138184-6831-46b8-8f7c-afc488602d7d",
    "Message": (
        f"You have chosen to deactivate subscription {TOPIC_ARN}:1.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included "
        "in this message."
    ),
}
MESSAGES = [NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION]
MESSAGE_IDS = [message["Type"] for message in MESSAGES]

# The AWS SNS developer guide ("Verifying the signature of an Amazon SNS message"): the fields
# signed for each message type, in this order, each as "Name\nValue\n"; Subject only if present.
DOC_SIGNED_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}
DOC_SIGNED_FIELDS["UnsubscribeConfirmation"] = DOC_SIGNED_FIELDS["SubscriptionConfirmation"]
DOC_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

SIGNED_FIELD_CASES = [
    (message, field)
    for message in MESSAGES
    for field in DOC_SIGNED_FIELDS[message["Type"]]
    if field in message
]


def doc_string_to_sign(message):
    fields = DOC_SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)


def doc_verify(message, certificate_pem):
    """Verify as the SNS docs describe: the certificate's key, RSA PKCS#1 v1.5, SHA1 or SHA256."""
    public_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    try:
        public_key.verify(
            base64.b64decode(message["Signature"]),
            doc_string_to_sign(message).encode("utf-8"),
            padding.PKCS1v15(),
            DOC_HASHES[message["SignatureVersion"]](),
        )
    except InvalidSignature:
        return False
    return True


def public_der(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def new_key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """A fresh DATA_DIR with no signing settings, and no key cached from another test."""
    settings.DATA_DIR = tmp_path
    settings.ROOST_SNS_SIGNING_KEY_FILE = None
    settings.ROOST_SNS_SIGNING_CERT_FILE = None
    signing._load_credentials.cache_clear()
    yield tmp_path
    signing._load_credentials.cache_clear()


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_signed_message_passes_the_documented_verification(message, version):
    signed = signing.sign(message, BASE_URL, version=version)

    assert signed["SignatureVersion"] == version
    assert doc_verify(signed, signing.signing_certificate_pem())
    assert signing.verify(signed, signing.signing_certificate_pem())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(("version", "digest"), [("1", "-sha1"), ("2", "-sha256")])
@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_signed_message_passes_the_docs_openssl_commands(tmp_path, message, version, digest):
    signed = signing.sign(message, BASE_URL, version=version)
    (tmp_path / "signing_cert.pem").write_bytes(signing.signing_certificate_pem())
    (tmp_path / "string_to_sign.txt").write_bytes(doc_string_to_sign(signed).encode("utf-8"))
    (tmp_path / "signature.bin").write_bytes(base64.b64decode(signed["Signature"]))

    public_key = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", "signing_cert.pem"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "public_key.pem").write_bytes(public_key)
    verified = subprocess.run(
        ["openssl", "dgst", digest, "-verify", "public_key.pem", "-signature", "signature.bin"]
        + ["string_to_sign.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip() == "Verified OK"


def test_notification_canonical_string_lists_the_documented_fields_in_order():
    assert signing.canonical_string(NOTIFICATION) == (
        f"Message\n{NOTIFICATION['Message']}\n"
        "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        "Subject\nOrder shipped – café\n"
        "Timestamp\n2012-05-02T00:54:06.655Z\n"
        f"TopicArn\n{TOPIC_ARN}\n"
        "Type\nNotification\n"
    )


@pytest.mark.parametrize(
    "message", [SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION], ids=MESSAGE_IDS[1:]
)
def test_confirmation_canonical_string_lists_the_documented_fields_in_order(message):
    assert signing.canonical_string(message) == (
        f"Message\n{message['Message']}\n"
        f"MessageId\n{message['MessageId']}\n"
        f"SubscribeURL\n{message['SubscribeURL']}\n"
        f"Timestamp\n{message['Timestamp']}\n"
        f"Token\n{message['Token']}\n"
        f"TopicArn\n{TOPIC_ARN}\n"
        f"Type\n{message['Type']}\n"
    )


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    ("message", "field"),
    SIGNED_FIELD_CASES,
    ids=[f"{message['Type']}-{field}" for message, field in SIGNED_FIELD_CASES],
)
def test_changing_any_signed_field_fails_verification(message, field, version):
    signed = signing.sign(message, BASE_URL, version=version)
    if field == "Type":
        # Another type a verifier knows, so it gets as far as checking the signature.
        other_types = [other["Type"] for other in MESSAGES if other["Type"] != message["Type"]]
        tampered = {**signed, "Type": other_types[0]}
    else:
        tampered = {**signed, field: signed[field] + "x"}

    assert not doc_verify(tampered, signing.signing_certificate_pem())
    assert not signing.verify(tampered, signing.signing_certificate_pem())


def test_fields_outside_the_signature_can_change_without_failing_verification():
    signed = signing.sign(NOTIFICATION, BASE_URL)
    changed = {**signed, "UnsubscribeURL": "http://elsewhere/", "MessageAttributes": {}}

    assert signing.verify(changed, signing.signing_certificate_pem())


def test_notification_without_subject_is_signed_without_it():
    message = {name: value for name, value in NOTIFICATION.items() if name != "Subject"}

    signed = signing.sign(message, BASE_URL)

    assert "Subject" not in signing.canonical_string(message)
    assert "Subject" not in signed
    assert doc_verify(signed, signing.signing_certificate_pem())
    assert not signing.verify({**signed, "Subject": "added"}, signing.signing_certificate_pem())


@pytest.mark.parametrize("subject", ["", None])
def test_empty_subject_is_left_out_of_the_canonical_string(subject):
    without_subject = {name: value for name, value in NOTIFICATION.items() if name != "Subject"}

    assert signing.canonical_string({**NOTIFICATION, "Subject": subject}) == (
        signing.canonical_string(without_subject)
    )


def test_removing_the_subject_fails_verification():
    signed = signing.sign(NOTIFICATION, BASE_URL)
    stripped = {name: value for name, value in signed.items() if name != "Subject"}

    assert not doc_verify(stripped, signing.signing_certificate_pem())
    assert not signing.verify(stripped, signing.signing_certificate_pem())


def test_signature_does_not_verify_under_the_other_signature_version():
    signed = signing.sign(NOTIFICATION, BASE_URL, version="2")

    assert not signing.verify(
        {**signed, "SignatureVersion": "1"}, signing.signing_certificate_pem()
    )


def test_signature_by_another_key_fails_verification(settings, tmp_path):
    signed = signing.sign(NOTIFICATION, BASE_URL)
    settings.DATA_DIR = tmp_path / "other"

    assert not doc_verify(signed, signing.signing_certificate_pem())
    assert not signing.verify(signed, signing.signing_certificate_pem())


def test_sign_returns_a_copy_and_keeps_unsigned_fields():
    original = dict(NOTIFICATION)

    signed = signing.sign(original, BASE_URL)

    assert original == NOTIFICATION
    assert {name: signed[name] for name in NOTIFICATION} == NOTIFICATION


def test_signing_cert_url_names_the_certificate_by_its_sha256_fingerprint():
    signed = signing.sign(NOTIFICATION, BASE_URL + "/")

    der = x509.load_pem_x509_certificate(signing.signing_certificate_pem()).public_bytes(
        serialization.Encoding.DER
    )
    fingerprint = hashlib.sha256(der).hexdigest()[:32]
    assert signed["SigningCertURL"] == (
        f"{BASE_URL}/sns/SimpleNotificationService-{fingerprint}.pem"
    )
    assert signing.certificate_fingerprint() == fingerprint


@pytest.mark.parametrize("version", ["0", "3", "", "SHA256"])
def test_sign_refuses_an_unknown_signature_version(version):
    with pytest.raises(ValueError, match="SignatureVersion"):
        signing.sign(NOTIFICATION, BASE_URL, version=version)


def test_sign_accepts_the_signature_version_as_an_integer():
    assert signing.sign(NOTIFICATION, BASE_URL, version=1)["SignatureVersion"] == "1"


@pytest.mark.parametrize("subject", ["", None])
def test_sign_refuses_an_empty_subject(subject):
    with pytest.raises(ValueError, match="Subject"):
        signing.sign({**NOTIFICATION, "Subject": subject}, BASE_URL)


@pytest.mark.parametrize(
    "message",
    [
        {**NOTIFICATION, "Type": "Publish"},
        {name: value for name, value in NOTIFICATION.items() if name != "Type"},
        {name: value for name, value in SUBSCRIPTION_CONFIRMATION.items() if name != "Token"},
        {**NOTIFICATION, "Timestamp": datetime.now(UTC)},
    ],
    ids=["unknown-type", "no-type", "confirmation-without-token", "timestamp-not-a-string"],
)
def test_sign_refuses_a_message_it_cannot_sign_as_sns_does(message):
    with pytest.raises(ValueError):
        signing.sign(message, BASE_URL)


@pytest.mark.parametrize(
    "change",
    [
        {"Signature": "not base64!"},
        {"Signature": base64.b64encode(b"\0" * 256).decode()},
        {"Signature": None},
        {"SignatureVersion": "3"},
        {"SignatureVersion": None},
        {"SignatureVersion": ["2"]},
        {"Type": "Publish"},
        {"Type": ["Notification"]},
        {"Timestamp": None},
    ],
)
def test_verify_answers_false_for_a_malformed_message(change):
    signed = signing.sign(NOTIFICATION, BASE_URL)

    assert signing.verify({**signed, **change}, signing.signing_certificate_pem()) is False


def test_verify_answers_false_for_a_certificate_that_is_not_pem():
    signed = signing.sign(NOTIFICATION, BASE_URL)

    assert signing.verify(signed, b"not a certificate") is False


def test_key_is_created_once_private_to_its_owner(data_dir):
    key = signing.signing_key()

    key_file = data_dir / "sns-signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert public_der(loaded) == public_der(key)
    assert signing.signing_key() is key


def test_key_and_certificate_survive_a_new_process(data_dir):
    key = signing.signing_key()
    certificate_pem = signing.signing_certificate_pem()
    signed = signing.sign(NOTIFICATION, BASE_URL)

    signing._load_credentials.cache_clear()

    assert signing.signing_key() is not key
    assert public_der(signing.signing_key()) == public_der(key)
    assert signing.signing_certificate_pem() == certificate_pem
    assert signing.sign(NOTIFICATION, BASE_URL)["SigningCertURL"] == signed["SigningCertURL"]
    assert signing.verify(signed, signing.signing_certificate_pem())
    assert sorted(path.name for path in data_dir.iterdir()) == [
        f"sns-signing-cert-{hashlib.sha256(public_der(key)).hexdigest()[:16]}.pem",
        "sns-signing-key.pem",
    ]


def test_certificate_is_self_signed_for_the_key_and_valid_for_ten_years():
    now = datetime.now(UTC)

    certificate = x509.load_pem_x509_certificate(signing.signing_certificate_pem())

    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "Roost SNS signing"
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    assert public_der(signing.signing_key()) == certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert certificate.not_valid_before_utc <= now
    assert certificate.not_valid_after_utc - now > timedelta(days=365 * 10 - 1)


def test_concurrent_first_use_creates_one_key(data_dir, monkeypatch):
    # Both threads generate a key before either writes one, as two processes starting together do.
    barrier = threading.Barrier(2, timeout=10)
    generate = signing._new_key_pem

    def generate_together():
        pem = generate()
        barrier.wait()
        return pem

    monkeypatch.setattr(signing, "_new_key_pem", generate_together)
    loaded = {}

    def load(name):
        loaded[name] = (signing.signing_key(), signing.signing_certificate_pem())

    threads = [threading.Thread(target=load, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (key_a, certificate_a), (key_b, certificate_b) = loaded["a"], loaded["b"]
    on_disk = serialization.load_pem_private_key(
        (data_dir / "sns-signing-key.pem").read_bytes(), password=None
    )
    assert public_der(key_a) == public_der(key_b) == public_der(on_disk)
    assert certificate_a == certificate_b
    assert not [path.name for path in data_dir.iterdir() if path.name.endswith(".tmp")]


def test_key_file_setting_names_where_the_key_is_kept(settings, data_dir, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("secrets") / "roost-sns.pem"
    settings.ROOST_SNS_SIGNING_KEY_FILE = str(key_file)

    key = signing.signing_key()

    assert public_der(serialization.load_pem_private_key(key_file.read_bytes(), None)) == (
        public_der(key)
    )
    assert not (data_dir / "sns-signing-key.pem").exists()


def test_key_file_setting_uses_an_existing_key_as_it_is(settings, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("secrets") / "roost-sns.pem"
    key_file.write_bytes(new_key_pem())
    settings.ROOST_SNS_SIGNING_KEY_FILE = str(key_file)
    expected = serialization.load_pem_private_key(key_file.read_bytes(), password=None)

    signed = signing.sign(NOTIFICATION, BASE_URL)

    assert public_der(signing.signing_key()) == public_der(expected)
    assert doc_verify(signed, signing.signing_certificate_pem())


def test_a_new_key_gets_a_certificate_of_its_own(settings, tmp_path_factory):
    first_certificate = signing.signing_certificate_pem()
    key_file = tmp_path_factory.mktemp("secrets") / "roost-sns.pem"
    key_file.write_bytes(new_key_pem())
    settings.ROOST_SNS_SIGNING_KEY_FILE = str(key_file)

    signed = signing.sign(NOTIFICATION, BASE_URL)

    assert signing.signing_certificate_pem() != first_certificate
    assert doc_verify(signed, signing.signing_certificate_pem())


def test_cert_file_setting_names_where_the_certificate_is_kept(settings, tmp_path_factory):
    cert_file = tmp_path_factory.mktemp("shared") / "roost-sns.crt"
    settings.ROOST_SNS_SIGNING_CERT_FILE = str(cert_file)

    certificate_pem = signing.signing_certificate_pem()

    assert cert_file.read_bytes() == certificate_pem


def test_certificate_for_another_key_is_refused(settings, data_dir, tmp_path_factory):
    signing.signing_key()
    other_dir = tmp_path_factory.mktemp("other")
    settings.DATA_DIR = other_dir
    other_certificate = signing.signing_certificate_pem()
    cert_file = other_dir / "roost-sns.crt"
    cert_file.write_bytes(other_certificate)
    settings.DATA_DIR = data_dir
    settings.ROOST_SNS_SIGNING_CERT_FILE = str(cert_file)

    with pytest.raises(ImproperlyConfigured, match="not a certificate for the key"):
        signing.signing_key()


def test_a_key_that_is_not_rsa_is_refused(settings, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("secrets") / "roost-sns.pem"
    key_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.ROOST_SNS_SIGNING_KEY_FILE = str(key_file)

    with pytest.raises(ImproperlyConfigured, match="RSA"):
        signing.signing_key()
