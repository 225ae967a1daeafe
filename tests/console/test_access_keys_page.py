"""The access keys page: a new key's secret is shown once; keys are disabled, enabled, deleted."""

import json

import pytest

from console import access_keys
from console.models import AccessKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Start with an empty access key cache, as a new process would."""
    access_keys.clear_cache()
    yield
    access_keys.clear_cache()


@pytest.mark.parametrize("htmx", [True, False])
def test_a_new_keys_secret_is_shown_exactly_once(operator_client, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = operator_client.post("/access-keys/new", {"name": "laptop"}, headers=headers)
    assert response.status_code == 200
    key = AccessKey.objects.get()
    secret = access_keys.secret_of(key)
    html = response.content.decode()
    assert html.count(f'<code id="new-key-secret">{secret}</code>') == 1
    assert f"AWS_SECRET_ACCESS_KEY={secret}" in html
    assert "shown only this once" in html
    assert "no-store" in response["Cache-Control"]
    assert key.name == "laptop" and key.user.username == "olga"
    if htmx:
        assert html.lstrip().startswith('<div id="create-key">')
        assert '<div id="key-list" class="table-wrap" hx-swap-oob="true">' in html  # the new list
        assert f'<tr id="key-{key.access_key_id}">' in html
        assert "Copy its secret now" in json.loads(response["HX-Trigger"])["toast"]["message"]
    later = operator_client.get("/access-keys/").content.decode()
    assert key.access_key_id in later
    assert secret not in later


def test_key_name_errors_show_beside_the_name(operator_client):
    response = operator_client.post(
        "/access-keys/new", {"name": "x" * 101}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="create-key">')
    field = html[html.index('<label for="key-name"') :]
    assert "at most 100 characters" in field[: field.index("</div>")]
    assert not AccessKey.objects.exists()


def test_an_operator_disables_enables_and_deletes_a_key(operator_client):
    key, secret = access_keys.create_access_key(name="ci")
    path = f"/access-keys/{key.access_key_id}"
    headers = {"HX-Request": "true"}

    disabled = operator_client.post(f"{path}/disable", headers=headers)
    assert disabled.status_code == 200
    assert ">Enable</button>" in disabled.content.decode()
    assert access_keys.find_active_key(key.access_key_id) is None

    enabled = operator_client.post(f"{path}/enable", headers=headers)
    assert ">Disable</button>" in enabled.content.decode()
    assert access_keys.find_active_key(key.access_key_id)[1] == secret

    deleted = operator_client.post(f"{path}/delete", headers=headers)
    assert deleted.status_code == 200 and deleted.content == b""
    assert not AccessKey.objects.exists()
    assert operator_client.post(f"{path}/delete", headers=headers).status_code == 404


def test_keys_are_listed_without_secrets(viewer_client):
    key, secret = access_keys.create_access_key(name="billing worker")
    page = viewer_client.get("/access-keys/").content.decode()
    assert key.access_key_id in page
    assert "billing worker" in page
    assert "Never" in page  # last used
    assert secret not in page
    assert "Create access key" not in page


def test_no_keys_yet(operator_client):
    assert "No access keys yet" in operator_client.get("/access-keys/").content.decode()
