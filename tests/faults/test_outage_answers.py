"""How each door answers a database that fails, without breaking a real one.

The live fault tests stop PostgreSQL itself; these pin the rules down in process: a database
refusing one statement (SQLite still locked after its busy timeout) gets that request a 503 and
nothing more, a database out of reach gets every request a 503 at once until a probe finds it
back, and the console and the REST API answer in their own shapes.
"""

import json

import pytest
from django.db import OperationalError, connection
from django.test import Client

from aws_protocol import database_outage, endpoint
from notifications.wire import sns_query
from queues.wire import sqs_json, sqs_query

pytestmark = pytest.mark.django_db

MESSAGE = "The request has failed due to a temporary failure of the server."


@pytest.fixture(autouse=True)
def no_outage(monkeypatch):
    """Each test starts, and leaves the process, with no outage on record."""
    monkeypatch.setattr(database_outage, "_since", None)
    monkeypatch.setattr(database_outage, "_retry_at", 0.0)
    connection.ensure_connection()


@pytest.fixture
def out_of_reach(monkeypatch):
    """Make the database look out of reach: connections lost, probes failing.

    Returns a switch: out_of_reach(False) brings it back for the next probe.
    """
    state = {"down": True}
    monkeypatch.setattr(database_outage, "_connection_lost", lambda: state["down"])
    monkeypatch.setattr(database_outage, "_reachable", lambda renew_pool=True: not state["down"])

    def switch(down):
        state["down"] = down

    return switch


def aws_request(adapter):
    headers = [(b"host", b"localhost")]
    if adapter is sqs_json:
        headers.append((b"x-amz-target", b"AmazonSQS.ListQueues"))
    request = endpoint.AwsRequest(
        {"method": "POST", "path": "/", "headers": headers, "query_string": b""}, b""
    )
    request.adapter = adapter
    return request


def locked():
    raise OperationalError("database is locked")


def assert_unavailable(response, adapter):
    assert response.status == 503
    if adapter is sqs_json:
        assert json.loads(response.body) == {
            "__type": "com.amazonaws.sqs#ServiceUnavailable",
            "message": MESSAGE,
        }
        assert ("x-amzn-query-error", "ServiceUnavailable;Receiver") in response.headers
    else:
        assert b"<ErrorResponse" in response.body
        assert b"<Code>ServiceUnavailable</Code>" in response.body
        assert f"<Message>{MESSAGE}</Message>".encode() in response.body


@pytest.mark.parametrize("adapter", [sqs_json, sqs_query, sns_query])
def test_a_database_still_locked_after_its_busy_timeout_gets_that_request_a_503_only(adapter):
    assert_unavailable(endpoint._answer(aws_request(adapter), locked), adapter)

    calls = []
    endpoint._answer(aws_request(adapter), lambda: calls.append(1))
    assert calls == [1], "one locked statement must not refuse the requests after it"


@pytest.mark.parametrize("adapter", [sqs_json, sqs_query, sns_query])
def test_a_database_out_of_reach_gets_every_request_a_503_at_once_until_it_is_back(
    adapter, out_of_reach
):
    assert_unavailable(endpoint._answer(aws_request(adapter), locked), adapter)

    calls = []
    for _ in range(3):
        response = endpoint._answer(aws_request(adapter), lambda: calls.append(1))
        assert_unavailable(response, adapter)
    database_outage._retry_at = 0.0  # the pause is over: the next request probes
    assert_unavailable(endpoint._answer(aws_request(adapter), lambda: calls.append(1)), adapter)
    assert calls == [], "requests during the outage must not wait on the database"

    out_of_reach(False)
    database_outage._retry_at = 0.0
    endpoint._answer(aws_request(adapter), lambda: calls.append(1))
    assert calls == [1]
    assert database_outage._since is None


def test_during_an_outage_the_rest_api_answers_503_in_its_error_shape(out_of_reach):
    database_outage.noticed(OperationalError("server closed the connection"), "test")

    response = Client().get("/api/queues", HTTP_AUTHORIZATION="Bearer AKIA:secret")

    assert response.status_code == 503
    assert response.json() == {"code": "ServiceUnavailable", "message": MESSAGE}


def test_during_an_outage_console_pages_answer_503_with_a_toast_for_htmx(out_of_reach):
    database_outage.noticed(OperationalError("server closed the connection"), "test")

    page = Client().get("/")
    assert page.status_code == 503
    assert MESSAGE in page.content.decode()
    assert page["Retry-After"] == "1"
    fragment = Client().get("/", HTTP_HX_REQUEST="true")
    assert json.loads(fragment["HX-Trigger"])["toast"] == {"level": "error", "message": MESSAGE}


def test_a_console_page_that_hits_a_database_error_answers_503_not_500(monkeypatch, admin_user):
    from console.views import overview

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(overview, "render", broken)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    assert client.get("/").status_code == 503
