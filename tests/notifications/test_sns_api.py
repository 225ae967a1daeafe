"""SNS through boto3 on the live server: topics, tags, subscriptions, publishing and their errors."""

import json
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"
NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"
# Nothing listens on the discard port: confirmation requests fail fast and harmlessly.
HTTP_ENDPOINT = "http://127.0.0.1:9/hook"


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def queue_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def topic_attributes(sns, arn):
    return sns.get_topic_attributes(TopicArn=arn)["Attributes"]


def subscription_attributes(sns, arn):
    return sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]


def subscription_arns(sns, topic_arn):
    found = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return [subscription["SubscriptionArn"] for subscription in found]


def signed_post(server, params, secret=None):
    """POST a hand-signed SNS query request (as botocore signs one); return the httpx response."""
    body = urlencode({"Version": "2010-03-31", **params})
    request = AWSRequest(
        method="POST",
        url=f"{server.url}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    credentials = Credentials(server.access_key_id, secret or server.secret)
    SigV4Auth(credentials, "sns", REGION).add_auth(request)
    return httpx.post(request.url, content=body, headers=dict(request.headers.items()))


def sns_error(response):
    """(Type, Code, Message) of an SNS query error document, checking its shape."""
    assert response.headers["content-type"] == "text/xml"
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}ErrorResponse"
    assert root.find(f"{NS}RequestId").text == response.headers["x-amzn-requestid"]
    error = root.find(f"{NS}Error")
    return tuple(error.find(f"{NS}{name}").text for name in ("Type", "Code", "Message"))


# CreateTopic


def test_create_topic_returns_an_arn_in_the_account_and_region(sns, topic_name):
    arn = sns.create_topic(Name=topic_name)["TopicArn"]

    assert arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}"
    assert topic_attributes(sns, arn)["TopicArn"] == arn


def test_create_topic_again_with_the_same_attributes_returns_the_same_topic(sns, topic_name):
    first = sns.create_topic(Name=topic_name, Attributes={"DisplayName": "Alerts"})["TopicArn"]
    sns.subscribe(TopicArn=first, Protocol="sqs", Endpoint=queue_arn(topic_name))

    second = sns.create_topic(Name=topic_name, Attributes={"DisplayName": "Alerts"})["TopicArn"]

    assert second == first
    # The same topic, not a fresh one: its subscription is still there.
    assert len(subscription_arns(sns, first)) == 1


def test_create_topic_with_different_attributes_is_refused(sns, topic_name):
    arn = sns.create_topic(Name=topic_name, Attributes={"DisplayName": "Alerts"})["TopicArn"]

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.create_topic(Name=topic_name, Attributes={"DisplayName": "Other"})

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert "already exists with different attributes" in str(excinfo.value)
    assert topic_attributes(sns, arn)["DisplayName"] == "Alerts"


def test_create_fifo_topic_needs_the_fifo_suffix_and_gets_fifo_attributes(sns, topic_name):
    with pytest.raises(ClientError) as excinfo:
        sns.create_topic(Name=topic_name, Attributes={"FifoTopic": "true"})
    assert refused(excinfo) == ("InvalidParameter", 400)

    arn = sns.create_topic(Name=f"{topic_name}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]

    attributes = topic_attributes(sns, arn)
    assert arn.endswith(f":{topic_name}.fifo")
    assert (attributes["FifoTopic"], attributes["ContentBasedDeduplication"]) == ("true", "false")


@pytest.mark.parametrize(
    "name",
    ["ends-like.fifo", "has space", "dots.in.name", "", "x" * 257, "ünïcode"],
    ids=["fifo-suffix", "space", "dots", "empty", "too-long", "non-ascii"],
)
def test_standard_topic_names_outside_the_rules_are_refused(sns, name):
    with pytest.raises(ClientError) as excinfo:
        sns.create_topic(Name=name)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert excinfo.value.response["Error"]["Message"].startswith("Invalid parameter")


def test_create_topic_with_tags_and_list_them(sns, topic_name):
    arn = sns.create_topic(
        Name=topic_name, Tags=[{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": ""}]
    )["TopicArn"]

    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]

    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [("env", ""), ("team", "ops")]


# Topic attributes


def test_new_topic_has_sns_default_attributes(sns, topic_name):
    arn = sns.create_topic(Name=topic_name)["TopicArn"]

    attributes = topic_attributes(sns, arn)

    assert {
        name: attributes[name]
        for name in (
            "TopicArn",
            "Owner",
            "DisplayName",
            "SubscriptionsConfirmed",
            "SubscriptionsPending",
            "SubscriptionsDeleted",
            "FifoTopic",
        )
    } == {
        "TopicArn": arn,
        "Owner": ACCOUNT,
        "DisplayName": "",
        "SubscriptionsConfirmed": "0",
        "SubscriptionsPending": "0",
        "SubscriptionsDeleted": "0",
        "FifoTopic": "false",
    }
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
    assert "http" in json.loads(attributes["EffectiveDeliveryPolicy"])


def test_set_topic_attributes_round_trip(sns, make_topic):
    arn = make_topic()
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="On call")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns"
    )

    attributes = topic_attributes(sns, arn)
    assert attributes["DisplayName"] == "On call"
    assert attributes["Policy"] == policy
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"


def test_special_characters_survive_the_xml_round_trip(sns, make_topic):
    arn = make_topic()
    name = "<a & b> \"quoted\" 'single' ünï"
    note = "line one\r\nline <two> & three"

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue=name)
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "note", "Value": note}])

    assert topic_attributes(sns, arn)["DisplayName"] == name
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "note", "Value": note}]


def test_display_name_with_a_line_break_is_refused(sns, make_topic):
    """It becomes the From name of emails: a line break there would forge headers."""
    arn = make_topic()

    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_topic_attributes(
            TopicArn=arn, AttributeName="DisplayName", AttributeValue="Ops\r\nBcc: x@example.com"
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [("NoSuchAttribute", "x"), ("FifoTopic", "true"), ("SignatureVersion", "3")],
)
def test_set_topic_attribute_refuses_unknown_names_and_bad_values(sns, make_topic, name, value):
    arn = make_topic()

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)

    assert refused(excinfo) == ("InvalidParameter", 400)


def test_topic_that_does_not_exist_is_not_found(sns, topic_name):
    with pytest.raises(sns.exceptions.NotFoundException) as excinfo:
        sns.get_topic_attributes(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}")

    assert refused(excinfo) == ("NotFound", 404)


@pytest.mark.parametrize("arn", ["not-an-arn", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"])
def test_malformed_topic_arn_is_an_invalid_parameter(sns, arn):
    with pytest.raises(ClientError) as excinfo:
        sns.get_topic_attributes(TopicArn=arn)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert excinfo.value.response["Error"]["Message"].startswith("Invalid parameter: TopicArn")


# DeleteTopic and ListTopics


def test_delete_topic_removes_it_and_deleting_again_succeeds(sns, make_topic):
    arn = make_topic()
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn("gone"))

    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)

    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=arn)
    listed = [
        subscription["TopicArn"] for subscription in sns.list_subscriptions()["Subscriptions"]
    ]
    assert arn not in listed


def test_list_topics_pages_a_hundred_at_a_time(sns):
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    created = {sns.create_topic(Name=f"{prefix}-{number:03d}")["TopicArn"] for number in range(105)}

    pages = [sns.list_topics()]
    while "NextToken" in pages[-1]:
        pages.append(sns.list_topics(NextToken=pages[-1]["NextToken"]))

    listed = [topic["TopicArn"] for page in pages for topic in page["Topics"]]
    assert len(pages) >= 2
    assert len(pages[0]["Topics"]) == 100
    assert created <= set(listed)
    assert len(listed) == len(set(listed))


def test_list_topics_with_a_bad_token_is_refused(sns):
    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.list_topics(NextToken="!!not a token!!")

    assert refused(excinfo) == ("InvalidParameter", 400)


# Tags


def test_tag_untag_and_list_tags_of_a_topic(sns, make_topic):
    arn = make_topic(tags={"keep": "1", "drop": "2"})

    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "added", "Value": "3"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["drop"])

    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"keep": "1", "added": "3"}


def test_tagging_a_topic_that_does_not_exist_is_resource_not_found(sns, topic_name):
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}"

    with pytest.raises(sns.exceptions.ResourceNotFoundException) as excinfo:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}])

    assert refused(excinfo) == ("ResourceNotFound", 404)


def test_more_than_fifty_tags_is_refused_and_nothing_is_added(sns, make_topic):
    arn = make_topic(tags={"first": "1"})
    tags = [{"Key": f"k{number}", "Value": "v"} for number in range(50)]

    with pytest.raises(sns.exceptions.TagLimitExceededException) as excinfo:
        sns.tag_resource(ResourceArn=arn, Tags=tags)

    assert refused(excinfo) == ("TagLimitExceeded", 400)
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "first", "Value": "1"}]


# Subscribe


def test_queue_subscription_is_confirmed_at_once(sns, make_topic, topic_name):
    topic = make_topic()

    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(topic_name))[
        "SubscriptionArn"
    ]

    assert arn.startswith(f"{topic}:")
    attributes = subscription_attributes(sns, arn)
    assert {
        name: attributes[name]
        for name in (
            "SubscriptionArn",
            "TopicArn",
            "Owner",
            "Protocol",
            "Endpoint",
            "PendingConfirmation",
            "ConfirmationWasAuthenticated",
            "RawMessageDelivery",
        )
    } == {
        "SubscriptionArn": arn,
        "TopicArn": topic,
        "Owner": ACCOUNT,
        "Protocol": "sqs",
        "Endpoint": queue_arn(topic_name),
        "PendingConfirmation": "false",
        "ConfirmationWasAuthenticated": "true",
        "RawMessageDelivery": "false",
    }
    assert topic_attributes(sns, topic)["SubscriptionsConfirmed"] == "1"


def test_subscribing_the_same_endpoint_again_returns_the_same_subscription(sns, make_topic):
    topic = make_topic()
    first = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn("same"))
    second = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn("same"))

    assert second["SubscriptionArn"] == first["SubscriptionArn"]
    assert subscription_arns(sns, topic) == [first["SubscriptionArn"]]


def test_http_subscription_is_pending_confirmation(sns, make_topic):
    topic = make_topic()

    answer = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=HTTP_ENDPOINT)

    assert answer["SubscriptionArn"] == "pending confirmation"
    assert subscription_arns(sns, topic) == ["PendingConfirmation"]
    assert topic_attributes(sns, topic)["SubscriptionsPending"] == "1"


def test_return_subscription_arn_gives_a_pending_subscription_its_arn(sns, make_topic):
    topic = make_topic()

    arn = sns.subscribe(
        TopicArn=topic,
        Protocol="https",
        Endpoint="https://127.0.0.1:9/",
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]

    assert arn.startswith(f"{topic}:")
    attributes = subscription_attributes(sns, arn)
    assert (attributes["Protocol"], attributes["PendingConfirmation"]) == ("https", "true")


@pytest.mark.parametrize(
    ("protocol", "endpoint"),
    [
        ("sqs", "not-a-queue-arn"),
        ("http", "https://wrong.scheme/"),
        ("email", "not-an-address"),
        ("carrier-pigeon", "coop"),
    ],
)
def test_subscribe_refuses_an_endpoint_that_does_not_fit_the_protocol(
    sns, make_topic, protocol, endpoint
):
    topic = make_topic()

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert subscription_arns(sns, topic) == []


def test_subscribe_with_an_invalid_filter_policy_is_refused(sns, make_topic):
    topic = make_topic()

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn("filtered"),
            Attributes={"FilterPolicy": '{"colour": "red"}'},
        )

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert subscription_arns(sns, topic) == []


def test_subscribe_to_a_topic_that_does_not_exist_is_not_found(sns, topic_name):
    with pytest.raises(sns.exceptions.NotFoundException) as excinfo:
        sns.subscribe(
            TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}",
            Protocol="sqs",
            Endpoint=queue_arn(topic_name),
        )

    assert refused(excinfo) == ("NotFound", 404)


# Subscription attributes, Unsubscribe, listing


def test_subscription_attributes_round_trip(sns, make_topic):
    topic = make_topic()
    policy = json.dumps({"colour": ["red", "blue"]})
    arn = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn("attributes"),
        Attributes={"FilterPolicy": policy},
    )["SubscriptionArn"]

    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )

    attributes = subscription_attributes(sns, arn)
    assert attributes["RawMessageDelivery"] == "true"
    assert attributes["FilterPolicy"] == policy
    assert attributes["FilterPolicyScope"] == "MessageBody"


def test_set_subscription_attribute_refuses_an_unknown_name(sns, make_topic):
    topic = make_topic()
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn("x"))["SubscriptionArn"]

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.set_subscription_attributes(
            SubscriptionArn=arn, AttributeName="Colour", AttributeValue="red"
        )

    assert refused(excinfo) == ("InvalidParameter", 400)


def test_unsubscribe_removes_the_subscription(sns, make_topic):
    topic = make_topic()
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn("leaving"))[
        "SubscriptionArn"
    ]

    sns.unsubscribe(SubscriptionArn=arn)

    assert subscription_arns(sns, topic) == []
    with pytest.raises(sns.exceptions.NotFoundException) as excinfo:
        sns.get_subscription_attributes(SubscriptionArn=arn)
    assert refused(excinfo) == ("NotFound", 404)
    assert topic_attributes(sns, topic)["SubscriptionsDeleted"] == "1"


def test_list_subscriptions_pages_a_hundred_at_a_time(sns, make_topic):
    topic = make_topic()
    created = {
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(f"page-{number}"))[
            "SubscriptionArn"
        ]
        for number in range(105)
    }

    by_topic = [sns.list_subscriptions_by_topic(TopicArn=topic)]
    by_topic.append(
        sns.list_subscriptions_by_topic(TopicArn=topic, NextToken=by_topic[0]["NextToken"])
    )
    everything = [sns.list_subscriptions()]
    while "NextToken" in everything[-1]:
        everything.append(sns.list_subscriptions(NextToken=everything[-1]["NextToken"]))

    assert [len(page["Subscriptions"]) for page in by_topic] == [100, 5]
    assert "NextToken" not in by_topic[1]
    assert {s["SubscriptionArn"] for page in by_topic for s in page["Subscriptions"]} == created
    listed = [s["SubscriptionArn"] for page in everything for s in page["Subscriptions"]]
    assert len(everything) >= 2 and len(everything[0]["Subscriptions"]) == 100
    assert created <= set(listed)
    entry = next(s for s in everything[-1]["Subscriptions"] if s["SubscriptionArn"] in created)
    assert entry == {
        "SubscriptionArn": entry["SubscriptionArn"],
        "Owner": ACCOUNT,
        "Protocol": "sqs",
        "Endpoint": entry["Endpoint"],
        "TopicArn": topic,
    }


def test_confirm_subscription_with_a_wrong_token_is_refused(sns, make_topic):
    topic = make_topic()
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=HTTP_ENDPOINT)

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 128)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert subscription_arns(sns, topic) == ["PendingConfirmation"]


# Publish


def test_publish_returns_a_message_id(sns, make_topic):
    topic = make_topic()

    answer = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="Greeting",
        MessageAttributes={
            "colour": {"DataType": "String", "StringValue": "red"},
            "size": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )

    assert uuid.UUID(answer["MessageId"])
    assert "SequenceNumber" not in answer


def test_publish_accepts_a_topic_named_by_target_arn(sns, make_topic):
    topic = make_topic()

    assert uuid.UUID(sns.publish(TargetArn=topic, Message="hello")["MessageId"])


def test_publish_to_a_fifo_topic_returns_sequence_numbers_and_deduplicates(sns, make_topic):
    topic = make_topic(FifoTopic=True)

    first = sns.publish(
        TopicArn=topic, Message="one", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    again = sns.publish(
        TopicArn=topic, Message="one", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    second = sns.publish(
        TopicArn=topic, Message="two", MessageGroupId="g", MessageDeduplicationId="d2"
    )

    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])


def test_publish_to_a_fifo_topic_without_a_group_is_refused(sns, make_topic):
    topic = make_topic(FifoTopic=True, ContentBasedDeduplication=True)

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.publish(TopicArn=topic, Message="one")

    assert refused(excinfo) == ("InvalidParameter", 400)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Message": ""}, "Invalid parameter: Empty message"),
        ({"Message": "x", "Subject": "line\nbreak"}, "Invalid parameter: Subject"),
        ({"Message": "x" * 262_145}, "Invalid parameter: Message too long"),
        (
            {
                "Message": "x",
                "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "z"}},
            },
            "Invalid parameter: MessageAttributes",
        ),
        ({"Message": "{}", "MessageStructure": "json"}, "Invalid parameter: Message Structure"),
    ],
    ids=["empty", "subject", "too-long", "attribute", "structure"],
)
def test_publish_refuses_invalid_messages(sns, make_topic, params, message):
    topic = make_topic()

    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.publish(TopicArn=topic, **params)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert excinfo.value.response["Error"]["Message"].startswith(message)


def test_publish_to_a_topic_that_does_not_exist_is_not_found(sns, topic_name):
    with pytest.raises(sns.exceptions.NotFoundException) as excinfo:
        sns.publish(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}", Message="x")

    assert refused(excinfo) == ("NotFound", 404)


def test_publish_to_a_phone_number_says_sms_is_not_supported(sns):
    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.publish(PhoneNumber="+15555550100", Message="x")

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert "SMS is not supported by Roost" in excinfo.value.response["Error"]["Message"]


def test_publish_without_a_target_is_refused(sns):
    with pytest.raises(sns.exceptions.InvalidParameterException) as excinfo:
        sns.publish(Message="x")

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert "TopicArn" in excinfo.value.response["Error"]["Message"]


# PublishBatch


def test_publish_batch_reports_successes_and_failures_by_id(sns, make_topic):
    topic = make_topic()

    answer = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "ok-1", "Message": "one"},
            {"Id": "bad", "Message": "two", "Subject": "line\nbreak"},
            {
                "Id": "ok-2",
                "Message": "three",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
        ],
    )

    assert [entry["Id"] for entry in answer["Successful"]] == ["ok-1", "ok-2"]
    assert all(uuid.UUID(entry["MessageId"]) for entry in answer["Successful"])
    [failed] = answer["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "bad",
        "InvalidParameter",
        True,
    )
    assert failed["Message"].startswith("Invalid parameter: Subject")


def test_publish_batch_to_a_fifo_topic_returns_sequence_numbers(sns, make_topic):
    topic = make_topic(FifoTopic=True, ContentBasedDeduplication=True)

    answer = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": f"e{number}", "Message": f"m{number}", "MessageGroupId": "g"}
            for number in range(3)
        ],
    )

    numbers = [int(entry["SequenceNumber"]) for entry in answer["Successful"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert answer["Failed"] == []


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "EmptyBatchRequest"),
        (
            [{"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}],
            "BatchEntryIdsNotDistinct",
        ),
        ([{"Id": f"e{n}", "Message": "a"} for n in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "no spaces", "Message": "a"}], "InvalidBatchEntryId"),
    ],
    ids=["empty", "duplicate-ids", "too-many", "bad-id"],
)
def test_publish_batch_refuses_malformed_batches(sns, make_topic, entries, code):
    topic = make_topic()

    with pytest.raises(ClientError) as excinfo:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)

    assert refused(excinfo) == (code, 400)


def test_publish_batch_too_long_altogether_is_refused(sns, make_topic):
    topic = make_topic()
    entries = [{"Id": f"e{n}", "Message": "x" * 100_000} for n in range(3)]

    with pytest.raises(sns.exceptions.BatchRequestTooLongException) as excinfo:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)

    assert refused(excinfo) == ("BatchRequestTooLong", 400)


# Data protection policies, kept verbatim


def test_data_protection_policy_round_trip(sns, make_topic):
    topic = make_topic()
    policy = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})

    assert sns.get_data_protection_policy(ResourceArn=topic)["DataProtectionPolicy"] == ""
    sns.put_data_protection_policy(ResourceArn=topic, DataProtectionPolicy=policy)

    assert sns.get_data_protection_policy(ResourceArn=topic)["DataProtectionPolicy"] == policy


# What Roost does not do, and requests botocore would never send


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("list_platform_applications", {}),
        ("create_platform_application", {"Name": "a", "Platform": "GCM", "Attributes": {}}),
        ("get_sms_attributes", {}),
        ("check_if_phone_number_is_opted_out", {"phoneNumber": "+15555550100"}),
        (
            "add_permission",
            {
                "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
                "Label": "l",
                "AWSAccountId": ["1"],
                "ActionName": ["Publish"],
            },
        ),  # fmt: skip
    ],
)
def test_operations_roost_does_not_support_answer_a_clear_error(sns, operation, params):
    with pytest.raises(ClientError) as excinfo:
        getattr(sns, operation)(**params)

    assert refused(excinfo) == ("InvalidParameter", 400)
    assert "not supported by Roost" in excinfo.value.response["Error"]["Message"]


def test_hand_signed_request_missing_a_required_parameter_gets_sns_error(roost_server):
    response = signed_post(roost_server, {"Action": "GetTopicAttributes"})

    assert response.status_code == 400
    assert sns_error(response) == ("Sender", "InvalidParameter", "Invalid parameter: TopicArn")


def test_hand_signed_request_with_an_unknown_action_is_invalid_action(roost_server):
    response = signed_post(roost_server, {"Action": "FeedThePigeons"})

    assert response.status_code == 400
    assert sns_error(response)[:2] == ("Sender", "InvalidAction")


def test_hand_signed_request_reads_flattened_maps_and_lists(roost_server, sns, topic_name):
    response = signed_post(
        roost_server,
        {
            "Action": "CreateTopic",
            "Name": topic_name,
            "Attributes.entry.1.key": "DisplayName",
            "Attributes.entry.1.value": "Flat",
            "Tags.member.1.Key": "team",
            "Tags.member.1.Value": "ops",
        },
    )

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    arn = root.find(f"{NS}CreateTopicResult/{NS}TopicArn").text
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId").text
    assert topic_attributes(sns, arn)["DisplayName"] == "Flat"
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]


def test_a_bad_signature_is_reported_in_sns_error_shape(roost_server):
    response = signed_post(roost_server, {"Action": "ListTopics"}, secret="not-the-secret")

    assert response.status_code == 403
    assert sns_error(response)[:2] == ("Sender", "SignatureDoesNotMatch")
