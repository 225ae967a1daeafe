"""A web process killed with SIGKILL mid-send loses no message it acknowledged.

Several clients send batches; the server is killed under them and started again on the same
database. Every message whose send was answered with 200 must then be receivable; a send that
was cut off may or may not have been committed (the client never heard), and is counted apart.
"""

import threading
from collections import Counter

import pytest

from tests.faults.conftest import fault_roost, wait_for

pytestmark = [pytest.mark.live, pytest.mark.faults]

SENDERS = 4
# Kill once this many messages were acknowledged, the senders still going.
KILL_AFTER = 300
RECEIVE_SECONDS = 60


@pytest.fixture
def roost():
    """A Roost of this test's own: its web process gets killed."""
    with fault_roost("web-kill") as roost:
        yield roost


class Sender(threading.Thread):
    """Send batches of ten until a send fails; remember what was acknowledged and what not."""

    def __init__(self, number, client, queue_url):
        super().__init__(daemon=True)
        self.number, self.client, self.queue_url = number, client, queue_url
        self.acknowledged, self.unanswered, self.error = set(), set(), None

    def run(self):
        batch = 0
        while True:
            bodies = [f"s{self.number}-b{batch}-{index}" for index in range(10)]
            entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies)]
            try:
                result = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as error:  # the server died under this request
                self.unanswered.update(bodies)
                self.error = error
                return
            assert not result.get("Failed"), result["Failed"]
            self.acknowledged.update(bodies)
            batch += 1


def receive_all(sqs, queue_url, expected):
    """Receive until every expected body came, then until the queue is empty: [(id, body)]."""
    received = []

    def done():
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        ).get("Messages", [])
        received.extend((message["MessageId"], message["Body"]) for message in messages)
        return not messages and expected <= {body for _, body in received}

    wait_for(done, RECEIVE_SECONDS, "every acknowledged message to be receivable", interval=0)
    return received


def test_messages_acknowledged_before_a_sigkill_are_all_receivable_after_a_restart(roost):
    queue_url = roost.client("sqs").create_queue(QueueName="killed-mid-send")["QueueUrl"]
    senders = [Sender(number, roost.client("sqs"), queue_url) for number in range(SENDERS)]
    for sender in senders:
        sender.start()

    wait_for(
        lambda: sum(len(sender.acknowledged) for sender in senders) >= KILL_AFTER,
        60,
        f"{KILL_AFTER} acknowledged sends",
    )
    roost.kill_server()
    for sender in senders:
        sender.join(timeout=60)
    assert all(sender.error is not None for sender in senders), "a sender outlived the server"

    roost.start_server()
    acknowledged = set().union(*(sender.acknowledged for sender in senders))
    unanswered = set().union(*(sender.unanswered for sender in senders))
    received = receive_all(roost.client("sqs"), queue_url, acknowledged)

    bodies = Counter(body for _, body in received)
    assert acknowledged <= set(bodies), f"lost: {sorted(acknowledged - set(bodies))[:20]}"
    assert set(bodies) <= acknowledged | unanswered, "received bodies nobody sent"
    duplicates = {body: count for body, count in bodies.items() if count > 1}
    # Standard queues promise at least once; a restart must not make copies of what it kept.
    assert not duplicates, duplicates
    assert len({message_id for message_id, _ in received}) == len(received)
    print(
        f"\nacknowledged {len(acknowledged)}, cut off {len(unanswered)} "
        f"(of which committed anyway: {len(set(bodies) & unanswered)}), duplicates 0"
    )
