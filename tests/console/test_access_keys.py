"""Access keys: creation rules, encryption at rest, the lookup cache, bearer tokens, the command."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from aws_protocol import authorization
from console import access_keys
from console.errors import AccessKeyAlreadyExists, AccessKeyValidationError
from console.models import AccessKey

pytestmark = pytest.mark.django_db

GIVEN_ID = "AKIAGIVENKEY00000001"
GIVEN_SECRET = "given-secret-Abc123/+xyz"
ALLOW_ALL_SQS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
}


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Start every test with an empty access key cache, as a new process would."""
    access_keys.clear_cache()
    yield
    access_keys.clear_cache()


@pytest.fixture
def clock(monkeypatch):
    """A controllable stand-in for the cache's monotonic clock: clock.now += seconds."""

    class Clock:
        now = 1_000.0

    monkeypatch.setattr(access_keys, "_monotonic", lambda: Clock.now)
    return Clock


def raw_row(key):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM console_accesskey WHERE id = %s", [key.pk])
        return cursor.fetchone()


# Creating keys.


def test_generated_key_looks_like_an_aws_key():
    key, secret = access_keys.create_access_key(name="ci")

    assert key.access_key_id.startswith("AKIA")
    assert len(key.access_key_id) == 20
    assert key.access_key_id.isupper() and key.access_key_id.isalnum()
    assert len(secret) == 40
    assert key.is_active and key.name == "ci" and key.last_used_at is None


def test_generated_keys_differ():
    first = access_keys.create_access_key()
    second = access_keys.create_access_key()

    assert first[0].access_key_id != second[0].access_key_id
    assert first[1] != second[1]


def test_given_id_and_secret_are_used():
    key, secret = access_keys.create_access_key(access_key_id=GIVEN_ID, secret=GIVEN_SECRET)

    assert key.access_key_id == GIVEN_ID
    assert secret == GIVEN_SECRET
    assert access_keys.secret_of(AccessKey.objects.get(pk=key.pk)) == GIVEN_SECRET


@pytest.mark.parametrize(
    "access_key_id",
    [
        "AKIASHORT",
        "akiagivenkey00000001",
        "AKIA-GIVEN-KEY-00001",
        "AKIAGIVENKEY0000000É",
        "A" * 129,
    ],
)
def test_invalid_access_key_id_is_refused(access_key_id):
    with pytest.raises(AccessKeyValidationError, match="access key id"):
        access_keys.create_access_key(access_key_id=access_key_id)
    assert not AccessKey.objects.exists()


@pytest.mark.parametrize("secret", ["too-short", "has a space in the middle", "x" * 129, "é" * 20])
def test_invalid_secret_is_refused_without_echoing_it(secret):
    with pytest.raises(AccessKeyValidationError) as failure:
        access_keys.create_access_key(secret=secret)
    assert secret not in failure.value.message
    assert not AccessKey.objects.exists()


def test_duplicate_access_key_id_is_refused():
    access_keys.create_access_key(access_key_id=GIVEN_ID)

    with pytest.raises(AccessKeyAlreadyExists, match=GIVEN_ID):
        access_keys.create_access_key(access_key_id=GIVEN_ID)
    assert AccessKey.objects.count() == 1


def test_secret_is_encrypted_at_rest():
    key, secret = access_keys.create_access_key(access_key_id=GIVEN_ID, secret=GIVEN_SECRET)

    row = raw_row(key)
    assert not any(GIVEN_SECRET in str(column) for column in row)
    assert key.secret_encrypted.startswith("gAAAA")  # a Fernet token


def test_secret_cannot_be_read_back_with_another_django_secret_key():
    key, _ = access_keys.create_access_key()

    with override_settings(SECRET_KEY="another-secret-key-" * 3, SECRET_KEY_FALLBACKS=[]):
        assert access_keys.find_active_key(key.access_key_id) is None


def test_secret_survives_rotation_through_secret_key_fallbacks(settings):
    key, secret = access_keys.create_access_key()
    old = settings.SECRET_KEY

    with override_settings(SECRET_KEY="a-new-secret-key-" * 3, SECRET_KEY_FALLBACKS=[old]):
        assert access_keys.secret_of(key) == secret


def test_str_and_repr_do_not_show_the_secret():
    key, secret = access_keys.create_access_key(name="deploy bot", secret=GIVEN_SECRET)

    assert str(key) == f"{key.access_key_id} (deploy bot)"
    assert GIVEN_SECRET not in repr(key)


def test_rename_changes_only_the_name():
    key, _ = access_keys.create_access_key(name="old")
    AccessKey.objects.filter(pk=key.pk).update(is_active=False)  # changed meanwhile elsewhere

    access_keys.rename_access_key(key, "new")

    key.refresh_from_db()
    assert key.name == "new"
    assert key.is_active is False


# Looking keys up.


def test_find_active_key_returns_the_key_and_its_secret():
    key, secret = access_keys.create_access_key()

    assert access_keys.find_active_key(key.access_key_id) == (key, secret)


def test_find_active_key_does_not_find_unknown_or_malformed_ids(django_assert_num_queries):
    assert access_keys.find_active_key("AKIANOSUCHKEY0000000") is None
    with django_assert_num_queries(0):
        assert access_keys.find_active_key("not a key id") is None


def test_warm_lookup_makes_no_query(django_assert_num_queries):
    key, _ = access_keys.create_access_key()
    access_keys.find_active_key(key.access_key_id)

    with django_assert_num_queries(0):
        assert access_keys.find_active_key(key.access_key_id)[0] == key


def test_disabled_key_is_not_found_at_once_in_this_process():
    key, _ = access_keys.create_access_key()
    access_keys.find_active_key(key.access_key_id)

    access_keys.disable_access_key(key)

    assert access_keys.find_active_key(key.access_key_id) is None
    key.refresh_from_db()
    assert key.is_active is False


def test_enabled_key_is_found_again():
    key, _ = access_keys.create_access_key()
    access_keys.disable_access_key(key)

    access_keys.enable_access_key(key)

    assert access_keys.find_active_key(key.access_key_id)[0] == key


def test_deleted_key_is_not_found_at_once_in_this_process():
    key, _ = access_keys.create_access_key()
    access_keys.find_active_key(key.access_key_id)

    access_keys.delete_access_key(key)

    assert access_keys.find_active_key(key.access_key_id) is None
    assert not AccessKey.objects.exists()


def test_key_disabled_by_another_process_stops_working_within_the_cache_ttl(clock):
    key, _ = access_keys.create_access_key()
    access_keys.find_active_key(key.access_key_id)
    AccessKey.objects.filter(pk=key.pk).update(is_active=False)  # as another process would

    clock.now += access_keys.CACHE_TTL / 2
    assert access_keys.find_active_key(key.access_key_id) is not None
    clock.now += access_keys.CACHE_TTL
    assert access_keys.find_active_key(key.access_key_id) is None


def test_key_created_after_a_failed_lookup_is_found_at_once(clock):
    assert access_keys.find_active_key(GIVEN_ID) is None

    key, _ = access_keys.create_access_key(access_key_id=GIVEN_ID)

    assert access_keys.find_active_key(GIVEN_ID)[0] == key


# Bearer tokens and last use.


def test_bearer_token_of_id_and_secret_authenticates():
    key, secret = access_keys.create_access_key()

    assert access_keys.authenticate_bearer(f"{key.access_key_id}:{secret}") == key


@pytest.mark.parametrize(
    "token",
    ["{id}:wrong-secret-0000000000", "{id}", "{id}:", ":{secret}", "AKIANOSUCHKEY0000000:{secret}"],
)
def test_bad_bearer_token_does_not_authenticate(token):
    key, secret = access_keys.create_access_key()

    assert (
        access_keys.authenticate_bearer(token.format(id=key.access_key_id, secret=secret)) is None
    )


def test_bearer_token_of_disabled_key_does_not_authenticate():
    key, secret = access_keys.create_access_key()
    access_keys.disable_access_key(key)

    assert access_keys.authenticate_bearer(f"{key.access_key_id}:{secret}") is None


def test_last_use_is_written_at_most_once_a_minute(django_assert_num_queries):
    key, secret = access_keys.create_access_key()
    token = f"{key.access_key_id}:{secret}"
    access_keys.authenticate_bearer(token)
    first_use = AccessKey.objects.get(pk=key.pk).last_used_at
    assert first_use is not None

    with django_assert_num_queries(0):
        access_keys.authenticate_bearer(token)

    cached_key = access_keys.find_active_key(key.access_key_id)[0]
    cached_key.last_used_at -= dt.timedelta(seconds=61)
    AccessKey.objects.filter(pk=key.pk).update(last_used_at=cached_key.last_used_at)
    access_keys.authenticate_bearer(token)
    assert AccessKey.objects.get(pk=key.pk).last_used_at > first_use


def test_recording_use_never_writes_back_other_fields():
    key, _ = access_keys.create_access_key()
    AccessKey.objects.filter(pk=key.pk).update(is_active=False)  # the cached copy is now stale

    access_keys.record_use(key)

    key.refresh_from_db()
    assert key.is_active is False
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < dt.timedelta(seconds=5)


# The createaccesskey command.


def run_createaccesskey(*args):
    out = io.StringIO()
    call_command("createaccesskey", *args, stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines())


def test_command_prints_a_new_key_id_and_secret_once():
    printed = run_createaccesskey("--name", "laptop")

    assert set(printed) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    key = AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"])
    assert key.name == "laptop"
    assert access_keys.secret_of(key) == printed["AWS_SECRET_ACCESS_KEY"]


def test_command_uses_a_given_id_and_secret():
    printed = run_createaccesskey("--id", GIVEN_ID, "--secret", GIVEN_SECRET)

    assert printed == {"AWS_ACCESS_KEY_ID": GIVEN_ID, "AWS_SECRET_ACCESS_KEY": GIVEN_SECRET}
    assert access_keys.find_active_key(GIVEN_ID)[1] == GIVEN_SECRET


@pytest.mark.parametrize(
    "args, message",
    [
        (["--id", "lower-case-id-000000"], "access key id"),
        (["--secret", "short"], "secret access key"),
    ],
)
def test_command_refuses_invalid_input(args, message):
    with pytest.raises(CommandError, match=message):
        run_createaccesskey(*args)
    assert not AccessKey.objects.exists()


def test_command_refuses_a_duplicate_id():
    run_createaccesskey("--id", GIVEN_ID)

    with pytest.raises(CommandError, match="already exists"):
        run_createaccesskey("--id", GIVEN_ID)


def test_a_policy_broken_in_the_database_allows_nothing():
    key, _ = access_keys.create_access_key(policy=json.dumps(ALLOW_ALL_SQS))
    AccessKey.objects.filter(pk=key.pk).update(policy="{not json")  # as SQL would
    access_keys.clear_cache()

    found, _secret = access_keys.find_active_key(key.access_key_id)
    decision = authorization.decide(found, "sqs:SendMessage", "arn:aws:sqs:us-east-1:0:q")

    assert decision.verdict == "implicitDeny"
