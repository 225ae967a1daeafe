"""The health probes: /healthz (liveness) and /readyz (readiness), live and in-process."""

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db.migrations.executor import MigrationExecutor
from django.test import AsyncClient
from django.urls import reverse

from console import health
from tests.conftest import _free_port, _stop, launch_server
from tests.servers import log_size, wait_until

# Live -----------------------------------------------------------------------------------------


def test_healthz_answers_ok_without_credentials(roost_server):
    response = httpx.get(f"{roost_server.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert httpx.head(f"{roost_server.url}/healthz").status_code == 200


def test_probes_answer_only_get_and_head(roost_server):
    for path in ("/healthz", "/readyz"):
        assert httpx.post(f"{roost_server.url}{path}").status_code == 405


def test_readyz_is_ready_with_each_check(roost_server):
    response = httpx.get(f"{roost_server.url}/readyz")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


@pytest.fixture(scope="module")
def brokerless_url(roost_server):
    """One more web process of the live server whose Celery broker is a port nobody listens on."""
    dead_port = _free_port()
    env = {**roost_server.env, "CELERY_BROKER_URL": f"redis://:s3cret@127.0.0.1:{dead_port}/0"}
    port = _free_port()
    process = launch_server(env, port, roost_server.data_dir / f"brokerless-{port}.log")
    yield f"http://127.0.0.1:{port}"
    _stop(process)


def test_readyz_names_an_unreachable_broker(brokerless_url):
    response = httpx.get(f"{brokerless_url}/readyz", timeout=10)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable: ")
    assert "s3cret" not in response.text
    # Liveness does not depend on the broker.
    assert httpx.get(f"{brokerless_url}/healthz").status_code == 200


def test_probes_stay_out_of_the_access_log(roost_server):
    start = log_size(roost_server.log_path)
    marker = f"control-{uuid.uuid4().hex}"

    with httpx.Client(base_url=roost_server.url) as client:
        assert client.get("/healthz").status_code == 200
        assert client.head("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/login/?{marker}").status_code == 200

    def logged_since_start():
        with open(roost_server.log_path, "rb") as log:
            log.seek(start)
            text = log.read().decode(errors="replace")
        return text if marker in text else None

    # The control request is logged (so access logging is on), the probes before it are not.
    logged = wait_until(logged_since_start, what="the control request's access-log line")
    assert "/healthz" not in logged
    assert "/readyz" not in logged


# In-process -----------------------------------------------------------------------------------


@pytest.fixture
def fresh_migration_state(monkeypatch):
    """Forget that migrations were once found applied, for this test only."""
    monkeypatch.setattr(health, "_migrations_applied", False)


def _get(path, then=None):
    """Ask the ASGI app in-process, on a thread and event loop of its own: async_to_sync refuses
    to run where an earlier test in the session left an event loop marked running.

    `then` is called once the answer is in, before the loop ends: asyncio.run waits for the
    threads a check still runs on, so that is where a test lets a hanging check go.
    """

    async def get():
        response = await AsyncClient().get(path)
        if then is not None:
            then()
        return response

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, get()).result()


def test_urls_are_named():
    assert reverse("healthz") == "/healthz"
    assert reverse("readyz") == "/readyz"


@pytest.mark.django_db(transaction=True)
def test_readyz_names_unapplied_migrations(monkeypatch, fresh_migration_state):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [object()] * 3)
    monkeypatch.setattr(health, "check_broker", lambda: "ok")

    response = _get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "3 unapplied", "broker": "ok"},
    }
    assert not health._migrations_applied


@pytest.mark.django_db(transaction=True)
def test_migrations_are_checked_until_all_applied_then_no_more(monkeypatch, fresh_migration_state):
    plans = []
    real_plan = MigrationExecutor.migration_plan

    def counted(self, targets):
        plans.append(targets)
        return real_plan(self, targets)

    monkeypatch.setattr(MigrationExecutor, "migration_plan", counted)
    monkeypatch.setattr(health, "check_broker", lambda: "ok")

    assert _get("/readyz").status_code == 200
    assert _get("/readyz").status_code == 200
    assert len(plans) == 1


def test_probes_pass_the_outage_middleware(monkeypatch):
    """During a database outage every page answers 503 at once; /healthz still says ok and
    /readyz says in its own JSON that the database is unreachable."""
    from aws_protocol import database_outage

    monkeypatch.setattr(database_outage, "suspected", lambda: True)
    monkeypatch.setattr(database_outage, "refusing", lambda: True)
    monkeypatch.setattr(health, "check_broker", lambda: "ok")

    assert _get("/login/").status_code == 503
    healthz = _get("/healthz")
    assert healthz.status_code == 200
    assert healthz.json() == {"status": "ok"}
    readyz = _get("/readyz")
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["database"].startswith("unreachable")


def test_a_hanging_check_is_given_up_on(monkeypatch):
    """A broker that never answers costs the probe CHECK_SECONDS, not the broker's own timeout."""
    release = threading.Event()

    def hanging():
        release.wait(30)
        return "ok"

    monkeypatch.setattr(health, "CHECK_SECONDS", 0.2)
    monkeypatch.setattr(health, "check_broker", hanging)
    monkeypatch.setattr(health, "check_database", lambda: ("ok", "ok"))
    try:
        response = _get("/readyz", then=release.set)
    finally:
        release.set()

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "broker": "unreachable: timed out",
    }
