"""Deliveries end to end: boto3 publishes to the live server, a real Celery worker delivers.

Into queues (filter policies, envelopes and raw delivery, FIFO order), to a real HTTP endpoint
(confirmation, signatures, retries, dead letters) and by email through a real SMTP server.
"""

import base64
import json
import re
import time
from urllib.parse import urlsplit

import httpx
import pytest

from notifications import signing
from tests.notifications.receivers import wait_until

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WAIT_SECONDS = 20
# After the expected messages arrived, how long a queue must then stay empty.
QUIET_SECONDS = 2
FAST_RETRIES = {"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 3}}


# Helpers -------------------------------------------------------------------------------------


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def subscribe_queue(sns, sqs, topic_arn, url, **attributes):
    attributes = {key: str(value) for key, value in attributes.items()}
    return sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, url),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]


def receive_all(sqs, url, count, timeout=WAIT_SECONDS, **options):
    """Receive and delete messages until count came; return them."""
    received = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        assert time.monotonic() < deadline, (
            f"{url} got {len(received)} of {count} messages within {timeout} s"
        )
        received += _receive(sqs, url, wait=1, **options)
    assert len(received) == count, f"{url} got {len(received) - count} more than expected"
    return received


def assert_no_more(sqs, *urls):
    """Nothing else arrives: the queues stay empty for QUIET_SECONDS."""
    time.sleep(QUIET_SECONDS)  # no event shows that nothing more comes: a quiet spell must pass
    for url in urls:
        extra = _receive(sqs, url, wait=0)
        assert not extra, f"{url} got more messages than expected: {extra}"


def _receive(sqs, url, wait, **options):
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, **options
    ).get("Messages", [])
    if messages:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )
    return messages


_certificates = {}


def certificate(url):
    """The PEM certificate a SigningCertURL serves, fetched once per URL."""
    if url not in _certificates:
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200, response.text
        _certificates[url] = response.content
    return _certificates[url]


def assert_signed(message, server_url):
    """The message carries a valid signature by the certificate its SigningCertURL serves."""
    assert message["SignatureVersion"] in ("1", "2")
    assert message["SigningCertURL"].startswith(f"{server_url}/")
    assert urlsplit(message["SigningCertURL"]).path.endswith(".pem")
    assert signing.verify(message, certificate(message["SigningCertURL"]))
    tampered = {**message, "Message": message["Message"] + "!"}
    assert not signing.verify(tampered, certificate(message["SigningCertURL"]))


def confirm_http(sns, receiver, topic_arn, path, **attributes):
    """Subscribe an endpoint of the receiver, confirm it as a subscriber would; return its ARN."""
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="http",
        Endpoint=receiver.endpoint(path),
        Attributes={key: str(value) for key, value in attributes.items()},
    )
    confirmation = receiver.wait_for(path)[0].json()
    response = httpx.get(confirmation["SubscribeURL"], timeout=10)
    assert response.status_code == 200, response.text
    return subscription_arn(sns, topic_arn, receiver.endpoint(path))


def subscription_arn(sns, topic_arn, endpoint):
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return next(found for found in subscriptions if found["Endpoint"] == endpoint)[
        "SubscriptionArn"
    ]


def delivery_log(rest, arn, status=None):
    """A subscription's deliveries from the REST delivery log, newest first."""
    params = {"status": status} if status else {}
    response = rest.get(f"/subscriptions/{arn.rsplit(':', 1)[1]}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def finished_delivery(rest, arn, status):
    """Wait for the subscription's only delivery to reach status; return it."""
    return wait_until(
        lambda: (found := delivery_log(rest, arn)) and found[0]["status"] == status and found[0],
        WAIT_SECONDS,
        what=f"a {status} delivery",
    )


def text(value):
    return {"DataType": "String", "StringValue": value}


def number(value):
    return {"DataType": "Number", "StringValue": str(value)}


# Into queues ---------------------------------------------------------------------------------


def test_fan_out_delivers_each_queue_exactly_the_messages_its_filter_policy_matches(
    sns, sqs_for_sns, make_topic, make_queue, roost_worker
):
    sqs = sqs_for_sns
    topic = make_topic()
    orders, pricing, alerts = make_queue(), make_queue(), make_queue()
    subscribe_queue(
        sns,
        sqs,
        topic,
        orders,
        RawMessageDelivery="true",
        FilterPolicy=json.dumps({"customer": ["acme"], "event": [{"prefix": "order-"}]}),
    )
    subscribe_queue(
        sns,
        sqs,
        topic,
        pricing,
        RawMessageDelivery="true",
        FilterPolicy=json.dumps(
            {
                "price": [{"numeric": [">", 100, "<=", 500]}],
                "region": [{"anything-but": ["eu-west-1"]}],
            }
        ),
    )
    subscribe_queue(
        sns,
        sqs,
        topic,
        alerts,
        RawMessageDelivery="true",
        FilterPolicyScope="MessageBody",
        FilterPolicy=json.dumps(
            {"kind": ["alert"], "detail": {"severity": [{"numeric": [">=", 3]}]}}
        ),
    )
    published = {
        "order": ({"customer": text("acme"), "event": text("order-created")}, {}),
        "refund": ({"customer": text("acme"), "event": text("refund")}, {}),
        "priced": ({"price": number(250), "region": text("us-east-1")}, {}),
        "eu-priced": ({"price": number(250), "region": text("eu-west-1")}, {}),
        "cheap": ({"price": number(50), "region": text("us-east-1")}, {}),
        "alert": ({}, {"kind": "alert", "detail": {"severity": 5}}),
        "minor-alert": ({}, {"kind": "alert", "detail": {"severity": 1}}),
        "everything": (
            {
                "customer": text("acme"),
                "event": text("order-paid"),
                "price": number(300),
                "region": text("ap-south-1"),
            },
            {"kind": "alert", "detail": {"severity": 3}},
        ),
    }
    for name, (attributes, body) in published.items():
        sns.publish(
            TopicArn=topic, Message=json.dumps({"name": name, **body}), MessageAttributes=attributes
        )

    def names(url, count):
        return sorted(
            json.loads(message["Body"])["name"] for message in receive_all(sqs, url, count)
        )

    assert names(orders, 2) == ["everything", "order"]
    assert names(pricing, 2) == ["everything", "priced"]
    assert names(alerts, 2) == ["alert", "everything"]
    assert_no_more(sqs, orders, pricing, alerts)


def test_queue_subscriber_gets_the_signed_envelope_and_a_raw_one_the_body_and_attributes(
    roost_server, sns, sqs_for_sns, make_topic, make_queue, roost_worker
):
    sqs = sqs_for_sns
    topic = make_topic()
    enveloped, raw = make_queue(), make_queue()
    subscription = subscribe_queue(sns, sqs, topic, enveloped)
    subscribe_queue(sns, sqs, topic, raw, RawMessageDelivery="true")
    blob = bytes(range(256))
    attributes = {
        "store": text("example_corp"),
        "count": number(3),
        "blob": {"DataType": "Binary", "BinaryValue": blob},
    }
    first = sns.publish(
        TopicArn=topic, Message="hello ünïcode", Subject="Greetings", MessageAttributes=attributes
    )["MessageId"]
    second = sns.publish(TopicArn=topic, Message="no subject")["MessageId"]

    envelopes = {}
    for message in receive_all(sqs, enveloped, 2):
        envelope = json.loads(message["Body"])
        envelopes[envelope["MessageId"]] = envelope
    with_subject, without_subject = envelopes[first], envelopes[second]
    assert set(with_subject) == {
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes",
    }  # fmt: skip
    assert with_subject["Type"] == "Notification"
    assert with_subject["TopicArn"] == topic
    assert with_subject["Subject"] == "Greetings"
    assert with_subject["Message"] == "hello ünïcode"
    assert TIMESTAMP.match(with_subject["Timestamp"])
    assert with_subject["MessageAttributes"] == {
        "store": {"Type": "String", "Value": "example_corp"},
        "count": {"Type": "Number", "Value": "3"},
        "blob": {"Type": "Binary", "Value": base64.b64encode(blob).decode()},
    }
    unsubscribe = urlsplit(with_subject["UnsubscribeURL"])
    assert f"{unsubscribe.scheme}://{unsubscribe.netloc}" == roost_server.url
    assert "Action=Unsubscribe" in unsubscribe.query
    # As SNS writes it: the ARN's colons unescaped.
    assert f"SubscriptionArn={subscription}&" in unsubscribe.query
    assert_signed(with_subject, roost_server.url)
    assert "Subject" not in without_subject
    assert "MessageAttributes" not in without_subject
    assert without_subject["Message"] == "no subject"
    assert_signed(without_subject, roost_server.url)

    raws = {
        message["Body"]: message
        for message in receive_all(sqs, raw, 2, MessageAttributeNames=["All"])
    }
    assert set(raws) == {"hello ünïcode", "no subject"}
    assert raws["hello ünïcode"]["MessageAttributes"] == {
        "store": {"DataType": "String", "StringValue": "example_corp"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": blob},
    }
    assert "MessageAttributes" not in raws["no subject"]
    assert_no_more(sqs, enveloped, raw)


def test_message_structure_json_gives_each_protocol_its_own_message(
    sns, sqs_for_sns, make_topic, make_queue, http_receiver, roost_worker
):
    sqs = sqs_for_sns
    topic = make_topic()
    queue = make_queue()
    subscribe_queue(sns, sqs, topic, queue)
    confirm_http(sns, http_receiver, topic, "hook")

    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "for all", "sqs": "for queues", "http": "for hooks"}),
    )
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "second default", "sqs": "second for queues"}),
    )

    queued = sorted(
        json.loads(message["Body"])["Message"] for message in receive_all(sqs, queue, 2)
    )
    assert queued == ["for queues", "second for queues"]
    assert_no_more(sqs, queue)
    posted = http_receiver.wait_for("hook", count=3)[1:]
    assert sorted(request.json()["Message"] for request in posted) == [
        "for hooks",
        "second default",
    ]


def test_fifo_topic_delivers_to_a_fifo_queue_in_order_per_group_and_once_per_dedup_id(
    sns, sqs_for_sns, make_topic, make_queue, roost_worker
):
    sqs = sqs_for_sns
    topic = make_topic(FifoTopic=True)
    queue = make_queue(FifoQueue=True)
    subscribe_queue(sns, sqs, topic, queue)
    published = {}
    for start in range(0, 30, 10):
        entries = [
            {
                "Id": f"e{index}",
                "Message": f"m{index}",
                "MessageGroupId": f"g{index % 3}",
                "MessageDeduplicationId": f"d{index}",
            }
            for index in range(start, start + 10)
        ]
        result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        assert not result.get("Failed")
        for entry in result["Successful"]:
            published[f"m{entry['Id'][1:]}"] = entry["MessageId"]
    repeats = [
        sns.publish(
            TopicArn=topic,
            Message=f"repeat of m{index}",
            MessageGroupId=f"g{index % 3}",
            MessageDeduplicationId=f"d{index}",
        )
        for index in (0, 7, 29)
    ]
    assert [repeat["MessageId"] for repeat in repeats] == [
        published["m0"],
        published["m7"],
        published["m29"],
    ]

    envelopes = [
        json.loads(message["Body"])
        for message in receive_all(sqs, queue, 30, AttributeNames=["MessageGroupId"])
    ]
    assert sorted(envelope["Message"] for envelope in envelopes) == sorted(published)
    by_group = {}
    for envelope in envelopes:
        assert envelope["MessageId"] == published[envelope["Message"]]
        assert envelope["TopicArn"] == topic
        index = int(envelope["Message"][1:])
        by_group.setdefault(index % 3, []).append((index, int(envelope["SequenceNumber"])))
    for group, received in by_group.items():
        indexes = [index for index, _ in received]
        assert indexes == list(range(group, 30, 3)), f"group g{group} out of order"
        sequence_numbers = [sequence for _, sequence in received]
        assert sequence_numbers == sorted(set(sequence_numbers))
    assert_no_more(sqs, queue)


# To HTTP endpoints ---------------------------------------------------------------------------


def test_http_endpoint_confirms_by_visiting_subscribe_url_then_gets_signed_notifications(
    roost_server, sns, make_topic, http_receiver, roost_worker
):
    topic = make_topic()
    endpoint = http_receiver.endpoint("hook")
    answer = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint)
    assert answer["SubscriptionArn"] == "pending confirmation"

    request = http_receiver.wait_for("hook")[0]
    assert request.method == "POST"
    assert request.headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert request.headers["x-amz-sns-topic-arn"] == topic
    assert request.headers["content-type"] == "text/plain; charset=UTF-8"
    assert "x-amz-sns-subscription-arn" not in request.headers
    confirmation = request.json()
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert confirmation["MessageId"] == request.headers["x-amz-sns-message-id"]
    assert confirmation["TopicArn"] == topic
    assert confirmation["Token"]
    assert TIMESTAMP.match(confirmation["Timestamp"])
    assert_signed(confirmation, roost_server.url)
    assert subscription_arn(sns, topic, endpoint) == "PendingConfirmation"

    # A subscriber's plain GET, without any AWS signature, as SNS's own examples do.
    response = httpx.get(confirmation["SubscribeURL"], timeout=10)
    assert response.status_code == 200, response.text
    arn = subscription_arn(sns, topic, endpoint)
    assert arn.startswith(f"{topic}:")
    assert arn in response.text

    message_id = sns.publish(TopicArn=topic, Message="hello hook", Subject="Hi")["MessageId"]
    request = http_receiver.wait_for("hook", count=2)[1]
    assert request.method == "POST"
    assert request.headers["x-amz-sns-message-type"] == "Notification"
    assert request.headers["x-amz-sns-message-id"] == message_id
    assert request.headers["x-amz-sns-topic-arn"] == topic
    assert request.headers["x-amz-sns-subscription-arn"] == arn
    assert request.headers["content-type"] == "text/plain; charset=UTF-8"
    notification = request.json()
    assert notification["Type"] == "Notification"
    assert notification["MessageId"] == message_id
    assert notification["Message"] == "hello hook"
    assert notification["Subject"] == "Hi"
    assert_signed(notification, roost_server.url)


def test_http_delivery_retries_per_delivery_policy_and_logs_every_attempt(
    sns, make_topic, http_receiver, rest, roost_worker
):
    topic = make_topic()
    arn = confirm_http(sns, http_receiver, topic, "flaky", DeliveryPolicy=json.dumps(FAST_RETRIES))
    http_receiver.fail("flaky", times=2)

    message_id = sns.publish(TopicArn=topic, Message="third time lucky")["MessageId"]

    attempts = http_receiver.wait_for("flaky", count=4)[1:]
    assert [request.status for request in attempts] == [500, 500, 200]
    assert {request.json()["MessageId"] for request in attempts} == {message_id}
    delivered = finished_delivery(rest, arn, "delivered")
    assert delivered["message_id"] == message_id
    assert delivered["attempts"] == 3
    assert [attempt["status_code"] for attempt in delivered["attempt_log"]] == [500, 500, 200]
    assert [attempt["succeeded"] for attempt in delivered["attempt_log"]] == [False, False, True]
    assert "500" in delivered["attempt_log"][0]["error"]


def test_http_delivery_that_never_succeeds_goes_to_the_dead_letter_queue(
    sns, sqs_for_sns, make_topic, make_queue, http_receiver, rest, roost_worker
):
    sqs = sqs_for_sns
    topic = make_topic()
    dead_letters = make_queue()
    arn = confirm_http(
        sns,
        http_receiver,
        topic,
        "down",
        DeliveryPolicy=json.dumps(FAST_RETRIES),
        RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(sqs, dead_letters)}),
    )
    http_receiver.fail("down")

    message_id = sns.publish(TopicArn=topic, Message="nobody home")["MessageId"]

    [dead] = receive_all(sqs, dead_letters, 1, MessageAttributeNames=["All"])
    assert json.loads(dead["Body"])["MessageId"] == message_id
    assert json.loads(dead["Body"])["Message"] == "nobody home"
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"]
    assert "500" in (
        dead["MessageAttributes"]["ErrorCode"]["StringValue"]
        + dead["MessageAttributes"]["ErrorMessage"]["StringValue"]
    )
    # The confirmation, then the first attempt and three retries.
    assert [request.status for request in http_receiver.requests("down")] == [200] + [500] * 4
    failed = finished_delivery(rest, arn, "dead_lettered")
    assert failed["attempts"] == 4
    assert [attempt["status_code"] for attempt in failed["attempt_log"]] == [500] * 4
    assert delivery_log(rest, arn, status="dead_lettered")[0]["id"] == failed["id"]


def test_http_delivery_answered_with_a_client_error_is_not_retried(
    sns, make_topic, http_receiver, rest, roost_worker
):
    topic = make_topic()
    arn = confirm_http(sns, http_receiver, topic, "gone", DeliveryPolicy=json.dumps(FAST_RETRIES))
    http_receiver.fail("gone", status=404)

    sns.publish(TopicArn=topic, Message="not wanted")

    failed = finished_delivery(rest, arn, "failed")
    assert failed["attempts"] == 1
    assert [attempt["status_code"] for attempt in failed["attempt_log"]] == [404]
    # Retries would come a second apart: give them three (no event shows none is coming).
    time.sleep(3)
    assert [request.status for request in http_receiver.requests("gone")] == [200, 404]
    assert delivery_log(rest, arn)[0]["attempts"] == 1


def test_a_batch_reaches_every_http_endpoint_and_only_the_failed_delivery_is_retried(
    sns, make_topic, http_receiver, rest, roost_worker
):
    """The deliveries of one publish are attempted together; each keeps its own outcome."""
    topic = make_topic()
    arns = {
        path: confirm_http(sns, http_receiver, topic, path, DeliveryPolicy=json.dumps(FAST_RETRIES))
        for path in ("batch-a", "batch-b", "batch-c")
    }
    http_receiver.fail("batch-b", times=1)

    published = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": str(n), "Message": f"m{n}"} for n in range(5)],
    )["Successful"]

    message_ids = {entry["MessageId"] for entry in published}
    for path, count in (("batch-a", 5), ("batch-b", 6), ("batch-c", 5)):
        requests = http_receiver.wait_for(path, count=1 + count)[1:]
        assert {request.json()["MessageId"] for request in requests} == message_ids, path
        assert [request.status for request in requests].count(500) == (path == "batch-b")
    logs = {
        path: wait_until(
            lambda arn=arn: (
                (found := delivery_log(rest, arn))
                and all(entry["status"] == "delivered" for entry in found)
                and len(found) == 5
                and found
            ),
            WAIT_SECONDS,
            what=f"5 delivered to {path}",
        )
        for path, arn in arns.items()
    }
    assert sorted(entry["attempts"] for entry in logs["batch-b"]) == [1, 1, 1, 1, 2]
    assert {entry["attempts"] for entry in logs["batch-a"] + logs["batch-c"]} == {1}
    time.sleep(QUIET_SECONDS)  # no more requests come: only a quiet spell shows it
    assert len(http_receiver.requests("batch-a")) == 6
    assert len(http_receiver.requests("batch-b")) == 7


# By email ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def email_worker(private_roost):
    """A worker for the private roost, which sends email over SMTP to smtp_server."""
    worker = private_roost.start_worker()
    yield worker
    private_roost.stop_worker(worker)


@pytest.fixture
def private_sns(private_roost, email_worker):
    """A boto3 SNS client for the private roost, with its worker running."""
    return private_roost.client("sns")


def link(body, path):
    """The first link in an email body to the given path."""
    found = re.search(rf"(http://\S+{re.escape(path)}\S*)", body)
    assert found, f"no {path} link in:\n{body}"
    return found.group(1)


def test_email_subscriber_confirms_by_link_and_gets_notifications_with_an_unsubscribe_link(
    private_roost, private_sns, smtp_server, topic_name
):
    sns = private_sns
    topic = sns.create_topic(Name=topic_name, Attributes={"DisplayName": "Roost Tests"})["TopicArn"]
    address = f"{topic_name}@example.com"
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)

    [confirmation] = smtp_server.wait_for(address)
    assert confirmation.recipients == [address]
    assert "Confirmation" in confirmation.subject
    assert topic in confirmation.body
    confirm_link = link(confirmation.body, "/sns/confirmation/")
    assert confirm_link.startswith(private_roost.server.url)
    assert subscription_arn(sns, topic, address) == "PendingConfirmation"
    response = httpx.get(confirm_link, timeout=10)
    assert response.status_code == 200, response.text
    assert subscription_arn(sns, topic, address).startswith(f"{topic}:")

    sns.publish(TopicArn=topic, Message="The build is green.", Subject="Build status")

    notification = smtp_server.wait_for(address, count=2)[1]
    assert notification.subject == "Build status"
    assert "Roost Tests" in notification.message["From"]
    assert notification.body.startswith("The build is green.")
    unsubscribe_link = link(notification.body, "/sns/unsubscribe/")
    assert notification.message["List-Unsubscribe"].strip() == f"<{unsubscribe_link}>"
    assert httpx.get(unsubscribe_link, timeout=10).status_code == 200


def test_email_json_subscriber_gets_the_json_envelope(
    private_roost, private_sns, smtp_server, topic_name
):
    sns = private_sns
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    address = f"{topic_name}-json@example.com"
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=address)

    confirmation = json.loads(smtp_server.wait_for(address)[0].body)
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert_signed(confirmation, private_roost.server.url)
    assert httpx.get(confirmation["SubscribeURL"], timeout=10).status_code == 200

    message_id = sns.publish(TopicArn=topic, Message="as json", Subject="Structured")["MessageId"]

    envelope = json.loads(smtp_server.wait_for(address, count=2)[1].body)
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "Structured"
    assert envelope["Message"] == "as json"
    assert TIMESTAMP.match(envelope["Timestamp"])
    assert envelope["UnsubscribeURL"].startswith(f"{private_roost.server.url}/?")
    assert_signed(envelope, private_roost.server.url)
