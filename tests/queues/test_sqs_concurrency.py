"""Concurrent receivers through boto3 over both SQS protocols: each message delivered exactly once.

This is the proof the issue asks of PostgreSQL's claim (FOR UPDATE SKIP LOCKED); it runs on the
database the live server uses, so CI's PostgreSQL leg runs it there. The receivers are spread over
three server processes: within one process all database work runs on one thread, so only
processes can race for the same rows.
"""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

RECEIVERS = 8
MESSAGES = 2000


def send_all(sqs, url, bodies):
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(index), "MessageBody": body} for index, body in enumerate(chunk)],
        )
        assert response.get("Failed", []) == []


def test_concurrent_receivers_get_every_message_exactly_once(
    sqs, sqs_client, protocol, make_queue, depth, roost_server_urls
):
    # Longer than the test takes: a message delivered twice can only be a double claim.
    url = make_queue(client=sqs, VisibilityTimeout=300)
    bodies = [f"{index:04d}-{uuid.uuid4().hex}" for index in range(MESSAGES)]
    send_all(sqs, url, bodies)
    assert depth(url) == (MESSAGES, 0, 0)
    clients = [
        sqs_client(protocol, endpoint_url=roost_server_urls[index % len(roost_server_urls)])
        for index in range(RECEIVERS)
    ]
    start = threading.Barrier(RECEIVERS)

    def consume(client):
        received = []
        start.wait()
        while True:
            messages = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            if not messages:
                return received
            received += [message["Body"] for message in messages]
            response = client.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )
            assert response.get("Failed", []) == []

    with ThreadPoolExecutor(RECEIVERS) as pool:
        per_receiver = [future.result() for future in [pool.submit(consume, c) for c in clients]]

    everything = [body for received in per_receiver for body in received]
    duplicates = [body for body, count in Counter(everything).items() if count > 1]
    assert duplicates == []
    assert sorted(everything) == bodies
    assert depth(url) == (0, 0, 0)
    # The receivers really did compete for the same messages.
    assert sum(1 for received in per_receiver if received) >= 2
