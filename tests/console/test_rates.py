"""Live: sent, received and deleted per minute, and the chart, count every message at once.

Messages are sent with boto3 through the live server (and through a second web process on the
same database, and by SNS in Publish and in the worker); the console's overview row, the queue
page's numbers and its chart show them within about a second.
"""

import re
import uuid
from html.parser import HTMLParser

import httpx
import pytest

from tests.servers import free_port, launch_server, stop, wait_until

USERNAME = "rates-reader"
PASSWORD = "rates-reader-password"
# Counts reach the database within a second of the send; the margin is for a busy machine.
FRESH_SECONDS = 5.0


@pytest.fixture(scope="module")
def console(roost_server):
    """An httpx client logged in to the live server's console as a read-only user."""
    roost_server.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import User\n"
        f"user, _ = User.objects.get_or_create(username={USERNAME!r})\n"
        f"user.set_password({PASSWORD!r})\n"
        "user.save()\n",
    )
    with httpx.Client(base_url=roost_server.url, timeout=30) as client:
        client.get("/login/").raise_for_status()
        answer = client.post(
            "/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert answer.status_code == 302, answer.text
        yield client


def subscribe(sns, sqs, topic, url):
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])


def queue_name_of(url):
    return url.rsplit("/", 1)[1]


# Reading the console like a person --------------------------------------------------------------


class _Rows(HTMLParser):
    """Every table row's cells as text, in order: [[cell text, ...], ...]."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def overview_sent_per_minute(console, name):
    """The Sent/min cell of the queue's row on the overview filtered to its name, as text."""
    parser = _Rows()
    parser.feed(console.get("/", params={"q": name}).text)
    header = next(row for row in parser.rows if any(cell.startswith("Sent/min") for cell in row))
    column = next(index for index, cell in enumerate(header) if cell.startswith("Sent/min"))
    row = next(row for row in parser.rows if row and row[0].split()[0] == name)
    return row[column]


def queue_page(console, name):
    return console.get(f"/queues/{name}/").text


def per_minute(page, label):
    """The queue page's `label` number ("sent/min", "received/min", "deleted/min"), as text."""
    found = re.search(
        rf'<span class="stat-value"[^>]*>([^<]*)</span> <span class="stat-label">{label}</span>',
        page,
    )
    assert found, f"no {label} on the queue page"
    return found.group(1)


def chart_values(page, css_class):
    """The values the chart's `css_class` line draws, read back from its points and axis."""
    chart = page[page.index('id="queue-chart"') :]
    chart = chart[: chart.index("</section>")]
    rate_figure = chart.index("Throughput")
    line = re.search(rf'<polyline class="{css_class}" fill="none" points="([^"]*)"', chart)
    axes = re.findall(r"\(axis to (\d+)", chart)
    ceiling = int(axes[1] if line.start() > rate_figure else axes[0])
    height, padding = 120, 4  # console.charts.HEIGHT and PADDING
    values = []
    for point in line.group(1).split():
        y = float(point.split(",")[1])
        values.append(round((height - padding - y) / (height - 2 * padding) * ceiling))
    return values


def wait_for(read, expected, what):
    """Wait until read() == expected (no sleeping past it); fail saying what was last seen."""
    seen = []

    def shown():
        seen.append(read())
        return seen[-1] == expected

    try:
        wait_until(shown, FRESH_SECONDS, what=what)
    except AssertionError:
        pytest.fail(f"{what}: expected {expected!r}, last saw {seen[-1]!r}", pytrace=False)


# Tests ------------------------------------------------------------------------------------------


def test_a_burst_of_sends_shows_in_full_on_the_overview_and_the_queue_page(
    sqs_json, make_queue, console
):
    url = make_queue()
    name = queue_name_of(url)
    for index in range(30):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"burst {index}")

    wait_for(lambda: overview_sent_per_minute(console, name), "30", "the overview's sent/min")
    wait_for(lambda: per_minute(queue_page(console, name), "sent/min"), "30", "sent/min")

    entries = [{"Id": str(index), "MessageBody": f"batch {index}"} for index in range(10)]
    assert len(sqs_json.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]) == 10

    wait_for(lambda: overview_sent_per_minute(console, name), "40", "the overview's sent/min")
    wait_for(lambda: per_minute(queue_page(console, name), "sent/min"), "40", "sent/min")


def test_the_chart_draws_the_burst_and_the_depth_at_once(sqs_json, make_queue, console):
    url = make_queue()
    name = queue_name_of(url)
    for index in range(30):
        sqs_json.send_message(QueueUrl=url, MessageBody=f"burst {index}")

    # The depth line ends at the 30 visible messages, without waiting for a minute's sample.
    wait_for(lambda: chart_values(queue_page(console, name), "chart-visible")[-1], 30, "depth")
    # Every send is in the sent line (in one minute's point, or two if the burst straddled one).
    wait_for(lambda: sum(chart_values(queue_page(console, name), "chart-sent")), 30, "sent line")


def test_receives_and_deletes_are_counted(sqs_json, make_queue, console):
    url = make_queue()
    name = queue_name_of(url)
    entries = [{"Id": str(index), "MessageBody": f"m{index}"} for index in range(10)]
    sqs_json.send_message_batch(QueueUrl=url, Entries=entries)
    received = []
    while len(received) < 10:
        received += sqs_json.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
    sqs_json.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    sqs_json.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received[1:])
        ],
    )

    def numbers():
        page = queue_page(console, name)
        return [per_minute(page, label) for label in ("sent/min", "received/min", "deleted/min")]

    wait_for(numbers, ["10", "10", "10"], "sent, received and deleted per minute")
    wait_for(lambda: sum(chart_values(queue_page(console, name), "chart-deleted")), 10, "deletes")


def test_sends_an_sns_publish_makes_in_its_request_are_counted(sqs_json, sns, make_queue, console):
    url = make_queue()
    name = queue_name_of(url)
    topic = sns.create_topic(Name=f"rates-{uuid.uuid4().hex[:8]}")["TopicArn"]
    subscribe(sns, sqs_json, topic, url)
    for index in range(6):
        sns.publish(TopicArn=topic, Message=f"event {index}")

    wait_for(lambda: per_minute(queue_page(console, name), "sent/min"), "6", "sent/min")


def test_sends_the_worker_delivers_for_a_fifo_topic_are_counted(
    sqs_json, sns, make_queue, console, roost_worker
):
    url = make_queue(FifoQueue=True)
    name = queue_name_of(url)
    topic = sns.create_topic(
        Name=f"rates-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoTopic": "true"}
    )["TopicArn"]
    subscribe(sns, sqs_json, topic, url)
    entries = [
        {"Id": str(index), "Message": f"e{index}", "MessageGroupId": "g",
         "MessageDeduplicationId": f"d{index}"}
        for index in range(7)
    ]  # fmt: skip
    published = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert len(published["Successful"]) == 7

    # The worker's drain delivers them; its process counts and writes them.
    wait_until(
        lambda: per_minute(queue_page(console, name), "sent/min") == "7",
        FRESH_SECONDS * 4,  # the drain task's own start is not what is measured here
        what="the worker's deliveries in sent/min",
    )


@pytest.fixture
def second_web_process(roost_server):
    """Another web process on the live server's database (a load-balanced deployment's other)."""
    port = free_port()
    process = launch_server(roost_server.env, port, roost_server.data_dir / f"rates-{port}.log")
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def test_sends_through_another_web_process_are_counted_and_written_when_it_stops(
    sqs_client, make_queue, console, second_web_process, roost_server
):
    process, other_url = second_web_process
    url = make_queue()
    name = queue_name_of(url)
    other = sqs_client("json", endpoint_url=other_url)
    for index in range(5):
        other.send_message(QueueUrl=url, MessageBody=f"elsewhere {index}")

    wait_for(lambda: per_minute(queue_page(console, name), "sent/min"), "5", "sent/min")

    # Counts a stopping process still holds are written before it exits: single sends, so
    # most of these wait for its next write, which the stop comes before.
    for index in range(7):
        other.send_message(QueueUrl=url, MessageBody=f"last words {index}")
    stop(process)
    assert process.returncode is not None
    assert per_minute(queue_page(console, name), "sent/min") == "12"
