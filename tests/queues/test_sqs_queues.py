"""Queues through boto3 over both SQS protocols: create, attributes, list, URL, delete, tags."""

import json
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"


def refused(excinfo):
    """The (error code, HTTP status) botocore reports for a refused call."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def attributes_of(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names or ["All"]))[
        "Attributes"
    ]


# CreateQueue


def test_create_queue_returns_the_url_under_the_account(sqs, roost_server, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]

    assert url == f"{roost_server.url}/{ACCOUNT}/{queue_name}"
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == url


def test_create_queue_again_with_the_same_attributes_returns_the_same_queue(sqs, queue_name):
    first = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})
    sqs.send_message(QueueUrl=first["QueueUrl"], MessageBody="kept")

    second = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})

    assert second["QueueUrl"] == first["QueueUrl"]
    # The same queue, not a fresh one: its message is still there.
    assert attributes_of(sqs, first["QueueUrl"], "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "1"
    }


def test_create_queue_with_a_different_attribute_value_is_refused(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]

    with pytest.raises(sqs.exceptions.QueueNameExists) as excinfo:
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "60"})

    assert refused(excinfo) == ("QueueAlreadyExists", 400)
    assert attributes_of(sqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "45"}


def test_new_queue_has_sqs_default_attributes(sqs, queue_name):
    before = int(time.time())
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    after = int(time.time())

    attributes = attributes_of(sqs, url)

    assert {name: value for name, value in attributes.items() if "Timestamp" not in name} == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
        "DelaySeconds": "0",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0",
        "VisibilityTimeout": "30",
        "SqsManagedSseEnabled": "true",
    }
    assert before - 1 <= int(attributes["CreatedTimestamp"]) <= after + 1
    assert before - 1 <= int(attributes["LastModifiedTimestamp"]) <= after + 1


def test_create_queue_sets_the_given_attributes(sqs, queue_name):
    given = {
        "DelaySeconds": "5",
        "MaximumMessageSize": "2048",
        "MessageRetentionPeriod": "120",
        "ReceiveMessageWaitTimeSeconds": "3",
        "VisibilityTimeout": "7",
        "Policy": '{"Version": "2012-10-17", "Statement": []}',
    }
    url = sqs.create_queue(QueueName=queue_name, Attributes=given)["QueueUrl"]

    assert attributes_of(sqs, url, *given) == given


def test_get_queue_attributes_returns_only_the_names_asked_for(sqs, make_queue):
    url = make_queue(client=sqs)

    assert attributes_of(sqs, url, "VisibilityTimeout", "DelaySeconds") == {
        "VisibilityTimeout": "30",
        "DelaySeconds": "0",
    }


def test_get_queue_attributes_with_an_unknown_name_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "Colour"])

    assert refused(excinfo) == ("InvalidAttributeName", 400)


def test_fifo_queue_reports_its_fifo_attributes(sqs, make_queue):
    url = make_queue(client=sqs, FifoQueue=True)

    attributes = attributes_of(sqs, url)

    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"


def test_standard_queue_does_not_report_fifo_attributes(sqs, make_queue):
    url = make_queue(client=sqs)

    attributes = attributes_of(sqs, url)

    assert not {
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
    } & set(attributes)


# SetQueueAttributes


def test_set_queue_attributes_changes_what_get_returns(sqs, make_queue):
    url = make_queue(client=sqs)
    policy = '{"deadLetterTargetArn": "x"}'  # an arbitrary Policy string is stored verbatim

    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2", "Policy": policy},
    )

    assert attributes_of(sqs, url, "VisibilityTimeout", "DelaySeconds", "Policy") == {
        "VisibilityTimeout": "45",
        "DelaySeconds": "2",
        "Policy": policy,
    }


@pytest.mark.parametrize(
    "name, value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "soon"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
    ],
)
def test_set_queue_attributes_out_of_range_is_refused_and_changes_nothing(
    sqs, make_queue, name, value
):
    url = make_queue(client=sqs)
    before = attributes_of(sqs, url)

    with pytest.raises(ClientError) as excinfo:
        # A valid change in the same request must not be applied either.
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": "{}", name: value})

    assert refused(excinfo) == ("InvalidAttributeValue", 400)
    after = attributes_of(sqs, url)
    assert "Policy" not in after
    assert after[name] == before[name]


def test_set_queue_attributes_with_an_unknown_name_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Colour": "blue"})

    assert refused(excinfo) == ("InvalidAttributeName", 400)


def test_fifo_only_attribute_on_a_standard_queue_is_refused(sqs, queue_name):
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=queue_name, Attributes={"ContentBasedDeduplication": "true"})

    assert refused(excinfo) == ("InvalidAttributeName", 400)
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_redrive_policy_to_a_missing_queue_is_refused(sqs, make_queue):
    url = make_queue(client=sqs)
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-dlq"
    policy = json.dumps({"deadLetterTargetArn": missing, "maxReceiveCount": 3})

    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert "RedrivePolicy" not in attributes_of(sqs, url)


def test_redrive_policy_is_returned_as_given(sqs, make_queue, queue_arn):
    dead_letters = make_queue(client=sqs)
    url = make_queue(client=sqs)
    policy = f'{{"deadLetterTargetArn":"{queue_arn(dead_letters)}","maxReceiveCount":4}}'

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})

    assert attributes_of(sqs, url, "RedrivePolicy") == {"RedrivePolicy": policy}


# ListQueues and GetQueueUrl


def test_list_queues_returns_only_queues_with_the_prefix(sqs, make_queue, queue_name):
    urls = [make_queue(name=f"{queue_name}-{suffix}", client=sqs) for suffix in "abc"]
    make_queue(name=f"x{queue_name}", client=sqs)

    response = sqs.list_queues(QueueNamePrefix=queue_name)

    assert sorted(response["QueueUrls"]) == sorted(urls)
    assert "NextToken" not in response


def test_list_queues_pages_with_max_results_and_next_token(sqs, make_queue, queue_name):
    urls = sorted(make_queue(name=f"{queue_name}-{suffix}", client=sqs) for suffix in "abc")

    first = sqs.list_queues(QueueNamePrefix=queue_name, MaxResults=2)
    second = sqs.list_queues(QueueNamePrefix=queue_name, MaxResults=2, NextToken=first["NextToken"])

    assert len(first["QueueUrls"]) == 2
    assert len(second["QueueUrls"]) == 1
    assert "NextToken" not in second
    assert sorted(first["QueueUrls"] + second["QueueUrls"]) == urls


def test_list_queues_with_an_unmatched_prefix_returns_no_urls(sqs, queue_name):
    response = sqs.list_queues(QueueNamePrefix=f"{queue_name}-none")

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response.get("QueueUrls", []) == []


def test_get_queue_url_of_a_missing_queue_is_refused(sqs, queue_name):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as excinfo:
        sqs.get_queue_url(QueueName=queue_name)

    assert refused(excinfo) == ("AWS.SimpleQueueService.NonExistentQueue", 400)


def test_queue_does_not_exist_has_the_same_shape_on_every_operation(
    sqs, protocol, roost_server, queue_name
):
    url = f"{roost_server.url}/{ACCOUNT}/{queue_name}"
    calls = [
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=url),
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda: sqs.purge_queue(QueueUrl=url),
        lambda: sqs.delete_queue(QueueUrl=url),
    ]
    for call in calls:
        with pytest.raises(sqs.exceptions.QueueDoesNotExist) as excinfo:
            call()

        assert refused(excinfo) == ("AWS.SimpleQueueService.NonExistentQueue", 400)
        error = excinfo.value.response["Error"]
        assert error["Message"] == "The specified queue does not exist."
        if protocol == "json":
            # botocore keeps the JSON __type beside the legacy code it reports.
            assert error["QueryErrorCode"] == "QueueDoesNotExist"
        else:
            assert error["Type"] == "Sender"


# DeleteQueue


def test_deleted_queue_is_gone_from_every_operation(sqs, make_queue, queue_name):
    url = make_queue(client=sqs)
    sqs.send_message(QueueUrl=url, MessageBody="lost with the queue")

    sqs.delete_queue(QueueUrl=url)

    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=url)


def test_add_permission_is_refused_as_unsupported(sqs, make_queue):
    url = make_queue(client=sqs)

    with pytest.raises(sqs.exceptions.UnsupportedOperation) as excinfo:
        sqs.add_permission(
            QueueUrl=url, Label="share", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
        )

    assert refused(excinfo) == ("AWS.SimpleQueueService.UnsupportedOperation", 400)
    assert "Policy" not in attributes_of(sqs, url)


# Tags


def test_tags_given_at_creation_are_listed(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, tags={"team": "core", "env": "test"})["QueueUrl"]

    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "test"}


def test_tag_queue_merges_and_overwrites_tags(sqs, make_queue):
    url = make_queue(client=sqs, tags={"team": "core", "env": "test"})

    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "42"})

    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "team": "core",
        "env": "prod",
        "cost": "42",
    }


def test_untag_queue_removes_only_the_given_keys(sqs, make_queue):
    url = make_queue(client=sqs, tags={"team": "core", "env": "test", "cost": "42"})

    sqs.untag_queue(QueueUrl=url, TagKeys=["env", "cost", "never-set"])

    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core"}


def test_untagged_queue_lists_no_tags(sqs, make_queue):
    url = make_queue(client=sqs)

    response = sqs.list_queue_tags(QueueUrl=url)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response.get("Tags", {}) == {}


# FIFO naming


def test_fifo_queue_needs_the_fifo_suffix(sqs, queue_name):
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "true"})

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_fifo_suffix_without_fifo_queue_attribute_is_refused(sqs, queue_name):
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=f"{queue_name}.fifo")

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_fifo_queue_name_of_80_characters_with_the_suffix_is_accepted(sqs, queue_name):
    name = queue_name + "x" * (75 - len(queue_name)) + ".fifo"

    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]

    assert len(name) == 80
    assert url.endswith(f"/{name}")


@pytest.mark.parametrize("suffix", ["x" * 72, "has space", "dot.ted", "slash/ed", "ünï"])
def test_invalid_queue_name_is_refused(sqs, queue_name, suffix):
    name = f"{queue_name}{suffix}"

    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=name)

    assert refused(excinfo) == ("InvalidParameterValue", 400)
    assert sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", []) == []


def test_queue_name_of_80_characters_is_accepted(sqs, queue_name):
    name = queue_name + "-" * (80 - len(queue_name))

    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    assert url.endswith(f"/{name}")
