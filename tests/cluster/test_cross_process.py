"""Several web processes and two workers on one database, as teams run Roost behind a proxy.

A console live page open on one web process shows what was done through another; a long poll
held by one web process returns a message sent through another; a publish through one is not
failed by what it still caches of a subscription removed through the other; with two workers,
every message a move task moves and every delivery a publish owes arrives once.

One roost serves the module: two web processes (uvicorn, or Daphne in CI's PostgreSQL leg) on a
database of the run's kind and, for the tests that need them, two workers shaped like the
Procfile's `worker` that also serve `outbound`. Its broker and channel layer are its own (a
redis-server of its own when the run uses Redis, else a SQLite file), so no other test's worker
ever takes its tasks.
"""

import json
import os
import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from celery import Celery
from websockets.sync.client import connect as websocket_connect

from tests.conftest import QUERY_MODEL_FILE, QUERY_MODELS
from tests.notifications.receivers import HttpReceiver
from tests.notifications.test_delivery_recovery import procfile_worker_options
from tests.servers import (
    TEST_ACCESS_KEY_ID,
    TEST_REGION,
    TEST_SECRET,
    RedisServer,
    Roost,
    free_port,
    suite_postgres,
    temporary_roost,
    wait_until,
)

pytestmark = pytest.mark.live

CONSOLE_USER = "cluster"
CONSOLE_PASSWORD = "a-long-password-for-the-cluster"

# Several web processes are a PostgreSQL + Redis layout: `make cluster` refuses any other
# (docs/deploy.md). CI's PostgreSQL + Redis leg runs these.
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="several web processes are run on PostgreSQL with Redis (make cluster refuses any "
    "other layout): set DATABASE_URL and REDIS_URL to run these, as CI's PostgreSQL leg does",
)


def uses_redis(variable):
    return os.environ.get(variable, "").startswith(("redis://", "rediss://"))


class ClusterRoost(Roost):
    """Two web processes on one database, the workers a test starts, and a broker of its own."""

    def __init__(self, data_dir, name):
        super().__init__(data_dir, name, postgres=suite_postgres())
        self.redis = None
        if uses_redis("CELERY_BROKER_URL") or os.environ.get("REDIS_URL"):
            self.redis = RedisServer(self.data_dir)
        if uses_redis("CELERY_BROKER_URL"):
            self.env["CELERY_BROKER_URL"] = self.redis.url(0)
        if os.environ.get("REDIS_URL"):
            self.env["REDIS_URL"] = self.redis.url(1)
        self.servers = []
        self._has_console_user = False
        self._closing = ExitStack()

    def open(self):
        if self.redis is not None:
            self.redis.start()
        super().open()
        # Behind one proxy: both answer for the same public URL, the first one's.
        self.servers = self.start_servers([self.port, free_port()])
        return self

    def client(self, service, server=0, protocol=None):
        """A boto3 client for one web process, without retries (SQS: "json" or "query")."""
        core = botocore.session.Session()
        if protocol == "query":
            if not QUERY_MODEL_FILE.exists():
                pytest.fail(f"{QUERY_MODEL_FILE} is missing: run `make query-model`", pytrace=False)
            core.get_component("data_loader").search_paths.insert(0, str(QUERY_MODELS))
        client = boto3.Session(botocore_session=core).client(
            service,
            endpoint_url=self.servers[server].url,
            region_name=TEST_REGION,
            aws_access_key_id=TEST_ACCESS_KEY_ID,
            aws_secret_access_key=TEST_SECRET,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
        )
        if protocol is not None:
            assert client.meta.service_model.protocol == protocol
        self._closing.callback(client.close)
        return client

    def rest(self, server=0):
        """An httpx client for one web process's REST API, the test key as bearer."""
        return self._closing.enter_context(
            httpx.Client(
                base_url=f"{self.servers[server].url}/api",
                headers={"Authorization": f"Bearer {TEST_ACCESS_KEY_ID}:{TEST_SECRET}"},
                timeout=30,
            )
        )

    def console(self, server=0):
        """An httpx client logged in to one web process's console as an operator."""
        if not self._has_console_user:
            self.manage(
                "shell", "-c",
                "from django.contrib.auth.models import User; "
                f"User.objects.create_superuser({CONSOLE_USER!r}, '', {CONSOLE_PASSWORD!r})",
            )  # fmt: skip
            self._has_console_user = True
        client = self._closing.enter_context(
            httpx.Client(base_url=self.servers[server].url, timeout=30)
        )
        answer = client.post(
            "/login/",
            data={"username": CONSOLE_USER, "password": CONSOLE_PASSWORD,
                  "csrfmiddlewaretoken": csrf_token(client.get("/login/").text)},
        )  # fmt: skip
        assert answer.status_code == 302, answer.text
        return client

    def celery(self):
        """A Celery app that sends tasks to this roost's workers, as its processes do."""
        app = Celery("cluster-test", broker=self.env["CELERY_BROKER_URL"])
        self._closing.callback(app.close)
        return app

    def close(self):
        self._closing.close()
        # A worker's warm shutdown takes seconds: stop them side by side, then everything else.
        with ThreadPoolExecutor() as stopping:
            list(stopping.map(self.stop, [worker.process for worker in self.workers]))
        super().close()
        if self.redis is not None:
            self.redis.stop()


def csrf_token(html):
    """The CSRF token of a page's form."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def csrf_header(html):
    """The CSRF token a console page gives htmx to send with every request."""
    return json.loads(re.search(r"<body hx-headers='([^']+)'", html).group(1))["X-CSRFToken"]


@pytest.fixture(scope="module")
def cluster():
    """Two web processes on one database of the run's kind, with a broker of their own."""
    with temporary_roost("cluster", ClusterRoost) as roost:
        yield roost


def worker_options():
    """The Procfile's `worker` options (`--queues=celery,moves`, its pool), serving `outbound` too."""
    return [
        f"{option},outbound" if option.startswith("--queues=") else option
        for option in procfile_worker_options("worker")
    ]


def worker_processes(options):
    """How many tasks one worker with these options runs at once (tests.servers' default: 2)."""
    given = [option.partition("=")[2] for option in options if option.startswith("--concurrency=")]
    return int(given[-1]) if given else 2


@pytest.fixture(scope="module")
def workers(cluster):
    """Two workers like the Procfile's `worker`, serving `outbound` too."""
    return [cluster.start_worker(*worker_options(), name=f"worker-{number}") for number in (1, 2)]


@pytest.fixture
def http_receiver():
    """An HTTP endpoint in the test process that records what the workers send it."""
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# Console live pages ---------------------------------------------------------------------------


QUEUE_ROW = re.compile(r'<tr id="queue-\d+"[^>]*>(.*?)</tr>', re.S)
ROW_NAME = re.compile(r'<a href="[^"]*">([^<]+)</a>')
ROW_VISIBLE = re.compile(r'<td class="num" data-label="Visible" title="(\d+)"')


class LiveOverview:
    """The overview's live stream on one web process, read in a thread: each queue's visible
    count as its row was last pushed."""

    def __init__(self, server, session_id, transport):
        self.server, self.session_id, self.transport = server, session_id, transport
        self.visible = {}
        self.frames = 0
        self.ended = None
        self._lock = threading.Lock()
        self._opened = ExitStack()

    def __enter__(self):
        with self._opened as opened:
            if self.transport == "websocket":
                host = self.server.url.removeprefix("http://")
                self._stream = opened.enter_context(
                    websocket_connect(
                        f"ws://{host}/live/ws/?page=overview",
                        additional_headers={
                            "Cookie": f"sessionid={self.session_id}",
                            "Origin": self.server.url,
                        },
                        open_timeout=10,
                    )
                )
            else:
                client = opened.enter_context(httpx.Client(base_url=self.server.url, timeout=30))
                client.cookies.set("sessionid", self.session_id)
                self._stream = opened.enter_context(
                    client.stream("GET", "/live/sse/?page=overview")
                )
                assert self._stream.status_code == 200, self._stream.read()
            self._opened = opened.pop_all()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._opened.close()
        # A read blocked on a closed SSE response ends with the next heartbeat, or with the
        # server; the thread is a daemon, and nothing more is read from it.
        self._thread.join(timeout=1)

    def _frames(self):
        if self.transport == "websocket":
            yield from self._stream
            return
        text = ""
        for chunk in self._stream.iter_text():
            text += chunk
            *events, text = text.split("\n\n")
            for event in events:
                lines = event.splitlines()
                if "event: live" in lines:
                    yield "\n".join(line[6:] for line in lines if line.startswith("data: "))

    def _read(self):
        try:
            for html in self._frames():
                with self._lock:
                    self.frames += 1
                    for row in QUEUE_ROW.findall(html):
                        self.visible[ROW_NAME.search(row).group(1)] = int(
                            ROW_VISIBLE.search(row).group(1)
                        )
        except Exception as error:  # noqa: BLE001 (the stream closed: at exit, or a failure)
            self.ended = repr(error)
        else:
            self.ended = "the stream ended"

    def wait_for(self, name, visible, what):
        def shown():
            assert self.ended is None, f"the live stream ended: {self.ended}"
            with self._lock:
                return self.visible.get(name) == visible

        wait_until(shown, what=f"the overview on {self.server.url} to show {what}")


@needs_redis
@pytest.mark.parametrize("transport", ["websocket", "sse"])
def test_a_live_overview_on_one_web_process_shows_what_was_done_through_the_other(
    cluster, transport
):
    first, second = cluster.servers
    watcher = cluster.console(server=0)
    sqs = cluster.client("sqs", server=1)
    operator = cluster.console(server=1)
    name = unique(f"live-{transport}")

    with LiveOverview(first, watcher.cookies["sessionid"], transport) as overview:
        wait_until(lambda: overview.frames, what="the overview's first live frame")
        assert name not in overview.visible

        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        overview.wait_for(name, 0, f"the new queue {name}")

        for number in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"message {number}")
        overview.wait_for(name, 3, "its three messages")

        # As the console's Purge button sends it: htmx, the page's CSRF token in a header.
        page = operator.get(f"/queues/{name}/")
        answer = operator.post(
            f"/queues/{name}/purge",
            headers={"HX-Request": "true", "X-CSRFToken": csrf_header(page.text)},
        )
        assert answer.status_code == 200, answer.text[:500]
        toast = json.loads(answer.headers["HX-Trigger"])["toast"]
        assert toast == {"level": "success", "message": f"Purged {name}: deleted 3 messages."}
        overview.wait_for(name, 0, "the queue empty after the purge")


# Long polls -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_a_long_poll_held_by_one_web_process_returns_a_message_sent_through_the_other(
    cluster, protocol
):
    waiting = cluster.client("sqs", server=0, protocol=protocol)
    sender = cluster.client("sqs", server=1)
    url = sender.create_queue(QueueName=unique(f"poll-{protocol}"))["QueueUrl"]
    on_the_wire = threading.Event()
    waiting.meta.events.register(
        "before-send.sqs.ReceiveMessage", lambda **kwargs: on_the_wire.set()
    )
    answers = []
    poll = threading.Thread(
        target=lambda: answers.append(waiting.receive_message(QueueUrl=url, WaitTimeSeconds=20))
    )
    poll.start()
    try:
        # Sent once the receive is on its way. Should the send still come first, the poll
        # finds the message at once: the test then proves less, but never fails for it.
        assert on_the_wire.wait(10), "the long poll was never sent"
        sender.send_message(QueueUrl=url, MessageBody="sent to the other process")
    finally:
        poll.join(timeout=30)
    assert not poll.is_alive(), "the long poll did not return"
    # An answer without the message would have come only after the whole 20 s wait.
    [answer] = answers
    assert [message["Body"] for message in answer.get("Messages", [])] == [
        "sent to the other process"
    ]


# Two workers: move tasks and deliveries run once ----------------------------------------------


DEAD_LETTERS = 300  # per dead-letter queue
MOVE_RATE = 100  # messages a second: each task runs in several steps, ~3 s


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def dead_lettered(sqs, name, count):
    """A source queue and its dead-letter queue holding `count` of its messages: (source, dlq)."""
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dead_letters), "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"{name}-{start + i:04d}"} for i in range(10)]
        assert not sqs.send_message_batch(QueueUrl=source, Entries=entries).get("Failed")
    for _ in range(2):  # received once, then once more: past maxReceiveCount, into the DLQ
        while sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages"
        ):
            pass
    assert depths(sqs, dead_letters) == (count, 0)
    return source, dead_letters


def depths(sqs, url):
    """(visible, in flight) messages of a queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return tuple(int(attributes[name]) for name in names)


def drain(sqs, url):
    """Receive every message of a queue, each hidden for the rest of the test: its bodies."""
    bodies = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600
    ).get("Messages"):
        bodies += [message["Body"] for message in messages]
    return bodies


def move_task(sqs, dead_letters_arn):
    return sqs.list_message_move_tasks(SourceArn=dead_letters_arn)["Results"][0]


def steps_run(worker):
    """How many move-task steps a worker has taken so far."""
    return len(re.findall(r"queues\.tasks\.run_message_move_task\[[^\]]+\] received", worker.log()))


def test_move_tasks_racing_a_resume_with_two_workers_move_every_message_once(cluster, workers):
    sqs = cluster.client("sqs")
    back = dead_lettered(sqs, unique("back"), DEAD_LETTERS)
    elsewhere = dead_lettered(sqs, unique("away"), DEAD_LETTERS)
    destination = sqs.create_queue(QueueName=unique("destination"))["QueueUrl"]
    sources = [queue_arn(sqs, back[1]), queue_arn(sqs, elsewhere[1])]
    before = [steps_run(worker) for worker in workers]

    sqs.start_message_move_task(SourceArn=sources[0], MaxNumberOfMessagesPerSecond=MOVE_RATE)
    sqs.start_message_move_task(
        SourceArn=sources[1],
        DestinationArn=queue_arn(sqs, destination),
        MaxNumberOfMessagesPerSecond=MOVE_RATE,
    )
    for source in sources:
        wait_until(
            lambda s=source: move_task(sqs, s)["ApproximateNumberOfMessagesMoved"] > 0,
            interval=0.1,
            what="each move task's first step",
        )
    # What every worker's start sends: resume each running task. Each gets a second chain of
    # steps while its first still runs, so both workers may run steps of one task side by side.
    cluster.celery().send_task("queues.tasks.resume_message_move_tasks", args=(0,), queue="celery")
    tasks = [
        wait_until(
            lambda s=source: (task := move_task(sqs, s))["Status"] != "RUNNING" and task,
            interval=0.2,
            what="the move tasks to finish",
        )
        for source in sources
    ]

    for task in tasks:
        assert task["Status"] == "COMPLETED", task
        assert task["ApproximateNumberOfMessagesMoved"] == DEAD_LETTERS
        assert task["ApproximateNumberOfMessagesToMove"] == DEAD_LETTERS
    assert depths(sqs, back[1]) == depths(sqs, elsewhere[1]) == (0, 0)
    for source, arrived in ((back[0], back[0]), (elsewhere[0], destination)):
        bodies = drain(sqs, arrived)
        name = source.rsplit("/", 1)[1]
        assert sorted(bodies) == [f"{name}-{index:04d}" for index in range(DEAD_LETTERS)]
        assert depths(sqs, arrived) == (0, DEAD_LETTERS)
    assert depths(sqs, elsewhere[0]) == (0, 0)
    ran = [steps_run(worker) - count for worker, count in zip(workers, before, strict=True)]
    print(f"\nmove steps run by each worker: {ran}")


PUBLISHES = 40
PUBLISHERS = 4


def confirmed_http_subscription(sns, topic, receiver, path):
    arn = sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=receiver.endpoint(path),
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    confirmation = receiver.wait_for(path)[0].json()
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert httpx.get(confirmation["SubscribeURL"], timeout=10).status_code == 200
    return arn


def subscription_id(arn):
    return arn.rsplit(":", 1)[1]


def pending_deliveries(rest, subscription_arns):
    """How many deliveries the subscriptions are still owed, from their REST delivery logs."""
    pages = [
        rest.get(f"/subscriptions/{subscription_id(arn)}/deliveries?status=pending").json()
        for arn in subscription_arns
    ]
    return sum(len(page["deliveries"]) for page in pages)


def delivery_log(rest, subscription_arn):
    """Every delivery of a subscription, from its REST delivery log."""
    found, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = rest.get(
            f"/subscriptions/{subscription_id(subscription_arn)}/deliveries", params=params
        ).json()
        found += page["deliveries"]
        if not (cursor := page["next_cursor"]):
            return found


def publish_all(cluster, topic, bodies):
    """Publish each body on its own, from PUBLISHERS threads over both web processes: the
    MessageId of each body."""
    published, failures = {}, []

    def publish(index):
        client = cluster.client("sns", server=index % 2)
        try:
            for body in bodies[index::PUBLISHERS]:
                published[body] = client.publish(TopicArn=topic, Message=body)["MessageId"]
        except Exception as error:  # reported by the assertion below
            failures.append(error)

    publishers = [threading.Thread(target=publish, args=(n,)) for n in range(PUBLISHERS)]
    for publisher in publishers:
        publisher.start()
    for publisher in publishers:
        publisher.join(timeout=60)
    assert not failures, failures
    assert sorted(published) == sorted(bodies)
    return published


def test_a_burst_of_publishes_reaches_each_subscriber_once_with_both_workers_busy(
    cluster, workers, http_receiver
):
    sns, sqs, rest = cluster.client("sns"), cluster.client("sqs"), cluster.rest()
    topic = sns.create_topic(Name=unique("burst"))["TopicArn"]
    queues = []
    for raw in (False, True):
        url = sqs.create_queue(QueueName=unique("burst-raw" if raw else "burst"))["QueueUrl"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn(sqs, url),
            Attributes={"RawMessageDelivery": "true" if raw else "false"},
        )
        queues.append((url, raw))
    webhooks = {
        path: confirmed_http_subscription(sns, topic, http_receiver, path)
        for path in ("held", "quick")
    }
    # Sends to "held" wait until released, and each task attempts one publish's sends. A worker
    # takes no more tasks than it has processes (acks late, prefetch multiplier 1): as many held
    # at once as both workers have processes means both are busy.
    processes = len(workers) * worker_processes(worker_options())
    http_receiver.hold("held")
    try:
        blockers = [f"blocker-{number}" for number in range(processes)]
        published = publish_all(cluster, topic, blockers)
        wait_until(
            lambda: http_receiver.held("held") == processes,
            what=f"{processes} sends held at once: both workers busy",
        )
        # The burst's tasks wait in the broker meanwhile: once released, both workers take them
        # on side by side.
        bodies = [f"burst-{number:03d}" for number in range(PUBLISHES)]
        published |= publish_all(cluster, topic, bodies)
        # And what every worker's start sends: the sweep of every pending delivery that is due,
        # a second task for those whose first still waits, racing it.
        cluster.celery().send_task(
            "notifications.tasks.sweep_deliveries", args=(0,), queue="celery"
        )
    finally:
        http_receiver.release("held")
    expected = sorted(published)
    message_ids = Counter(published.values())

    # Delivered ones leave the outbox: once nothing is pending, nothing more can arrive.
    subscriptions = [*webhooks.values()] + [
        subscription["SubscriptionArn"]
        for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if subscription["Protocol"] == "sqs"
    ]
    wait_until(
        lambda: pending_deliveries(rest, subscriptions) == 0,
        timeout=60,
        interval=0.2,
        what="every delivery to be done",
    )
    for path, arn in webhooks.items():
        notifications = [request.json() for request in http_receiver.requests(path)[1:]]
        assert Counter(n["MessageId"] for n in notifications) == message_ids, path
        assert sorted(n["Message"] for n in notifications) == expected
        log = delivery_log(rest, arn)
        assert len(log) == len(expected)
        for delivery in log:
            assert (delivery["status"], delivery["attempts"]) == ("delivered", 1), delivery
            assert len(delivery["attempt_log"]) == 1, delivery
    for url, raw in queues:
        received = drain(sqs, url)
        if not raw:
            envelopes = [json.loads(body) for body in received]
            assert Counter(envelope["MessageId"] for envelope in envelopes) == message_ids
            received = [envelope["Message"] for envelope in envelopes]
        assert sorted(received) == expected
        assert depths(sqs, url) == (0, len(expected))


# Caches of one web process, changes through the other -------------------------------------------


def test_a_publish_through_one_web_process_just_after_an_unsubscribe_through_the_other_is_accepted(
    cluster, workers
):
    """Each web process keeps a topic's subscriptions for a second; one removed through another
    process meanwhile must not fail the publish (it answered NotFound for the topic)."""
    sqs = cluster.client("sqs")
    publisher, subscriber = cluster.client("sns", server=0), cluster.client("sns", server=1)
    # A FIFO topic's deliveries into queues are outbox rows, each naming its subscription.
    topic = publisher.create_topic(
        Name=unique("unsubscribed") + ".fifo", Attributes={"FifoTopic": "true"}
    )["TopicArn"]
    queues = [
        sqs.create_queue(
            QueueName=unique(f"unsubscribed-{number}") + ".fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        for number in range(2)
    ]
    subscriptions = [
        subscriber.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn(sqs, url),
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        for url in queues
    ]
    fifo = {"MessageGroupId": "g"}
    publisher.publish(TopicArn=topic, Message="before", MessageDeduplicationId="1", **fifo)

    subscriber.unsubscribe(SubscriptionArn=subscriptions[0])
    answer = publisher.publish(TopicArn=topic, Message="after", MessageDeduplicationId="2", **fifo)

    assert answer["MessageId"]
    kept = []
    wait_until(
        lambda: kept.extend(take(sqs, queues[1])) or len(kept) >= 2,
        what="both publishes in the queue still subscribed",
    )
    assert kept == ["before", "after"]
    # What the unsubscribe found still owed was dropped; nothing published after it arrives.
    assert take(sqs, queues[0]) in ([], ["before"])


def take(sqs, url):
    """Receive and delete what a FIFO queue has ready (a received message holds up its group)."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [message["Body"] for message in messages]
