"""The live-server harness starts a real Roost and reaches it over HTTP and both SQS protocols."""

import httpx


def test_live_server_serves_the_login_page(roost_server):
    response = httpx.get(f"{roost_server.url}/login/", timeout=10)

    assert response.status_code == 200, roost_server.log()[-3000:]
    assert "<form" in response.text


def test_sqs_clients_speak_the_protocol_they_are_named_for(sqs_json, sqs_query):
    assert sqs_json.meta.service_model.protocol == "json"
    assert sqs_query.meta.service_model.protocol == "query"


def test_signed_request_with_the_test_key_is_answered(sqs, queue_name):
    response = sqs.list_queues(QueueNamePrefix=queue_name)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response.get("QueueUrls", []) == []


def test_make_queue_adds_the_fifo_suffix(make_queue, sqs, queue_name):
    url = make_queue(FifoQueue=True, client=sqs)

    assert url.endswith(f"/{queue_name}.fifo")
