"""SNS HTTP/S delivery policies: SNS's validation rules, the retry schedule, and resolution."""

import json
from dataclasses import replace

import pytest

from notifications.delivery import EMAIL_POLICY
from notifications.delivery_policy import (
    DEFAULT,
    MAX_RETRY_SECONDS,
    DeliveryPolicy,
    effective_policy,
    effective_policy_json,
    parse_subscription_policy,
    parse_topic_policy,
    subscription_effective_policy_json,
)
from notifications.errors import InvalidParameter

DEFAULT_TOPIC_JSON = (
    '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,'
    '"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,'
    '"backoffFunction":"linear"},"disableSubscriptionOverrides":false,'
    '"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}'
)


def policy(**fields):
    return replace(DEFAULT, **fields)


def backoff(function, minimum=5, maximum=260, retries=10):
    return policy(
        min_delay=minimum, max_delay=maximum, num_retries=retries, backoff_function=function
    )


def topic(**http):
    return json.dumps({"http": http})


def retry_topic(**retry):
    return topic(defaultHealthyRetryPolicy=retry)


def retry_subscription(**retry):
    return json.dumps({"healthyRetryPolicy": retry})


def invalid_topic(**http):
    with pytest.raises(InvalidParameter) as caught:
        parse_topic_policy(topic(**http))
    return caught.value


def invalid_subscription(document):
    with pytest.raises(InvalidParameter) as caught:
        parse_subscription_policy(json.dumps(document))
    return caught.value


# The retry schedule.


def test_default_policy_retries_three_times_twenty_seconds_apart():
    assert DEFAULT.retry_delays() == [20.0, 20.0, 20.0]
    assert DEFAULT.max_attempts == 4


def test_retries_stop_once_their_waits_add_up_to_more_than_an_hour():
    """SNS's hard limit on an HTTP/S delivery's total retry time, whatever the policy says."""
    hourly = policy(min_delay=600, max_delay=600, num_retries=10, num_min_delay_retries=10)

    assert hourly.retry_delays() == [600.0] * 10
    assert hourly.max_attempts == 1 + 6  # 6 waits of 600 s make the hour; the 7th would pass it
    assert policy(min_delay=1, max_delay=1, num_retries=100).max_attempts == 101


def test_email_retries_are_not_held_to_the_http_limit():
    assert sum(EMAIL_POLICY.retry_delays()) > MAX_RETRY_SECONDS
    assert EMAIL_POLICY.max_attempts == 1 + EMAIL_POLICY.num_retries


def test_no_retries_means_one_attempt():
    assert policy(num_retries=0).retry_delays() == []
    assert policy(num_retries=0).max_attempts == 1


def test_linear_backoff_matches_snss_documented_example():
    # Developer Guide: min 20, max 40, 3 retries -> "after 20 seconds, ... 30 ..., ... 40".
    assert policy(max_delay=40).retry_delays() == [20.0, 30.0, 40.0]


def test_schedule_runs_the_four_phases_in_order():
    documented = policy(
        min_delay=1,
        max_delay=60,
        num_retries=50,
        num_no_delay_retries=3,
        num_min_delay_retries=2,
        num_max_delay_retries=35,
        backoff_function="exponential",
    )

    delays = documented.retry_delays()

    assert len(delays) == 50
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:5] == [1.0, 1.0]
    assert delays[5] == 1.0 and delays[14] == 60.0
    assert delays[15:] == [60.0] * 35


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_backoff_grows_from_min_to_max(function):
    delays = backoff(function).retry_delays()

    assert len(delays) == 10
    assert delays[0] == 5.0
    assert delays[-1] == 260.0
    assert all(earlier < later for earlier, later in zip(delays, delays[1:], strict=False))


@pytest.mark.parametrize("function", ["arithmetic", "geometric", "exponential"])
def test_curved_backoff_stays_below_linear_between_the_ends(function):
    linear = backoff("linear").retry_delays()
    curved = backoff(function).retry_delays()

    assert all(c < s for c, s in zip(curved[1:-1], linear[1:-1], strict=True))


def test_arithmetic_steps_grow_by_a_constant_amount():
    assert backoff("arithmetic", minimum=1, maximum=7, retries=4).retry_delays() == [
        1.0,
        2.0,
        4.0,
        7.0,
    ]


def test_geometric_steps_double():
    assert backoff("geometric", minimum=1, maximum=8, retries=4).retry_delays() == [
        1.0,
        2.0,
        4.0,
        8.0,
    ]


def test_exponential_delays_grow_by_a_constant_factor():
    assert backoff("exponential", minimum=2, maximum=16, retries=4).retry_delays() == [
        2.0,
        4.0,
        8.0,
        16.0,
    ]


def test_a_lone_backoff_retry_waits_the_minimum_delay():
    assert policy(min_delay=5, max_delay=30, num_retries=1).retry_delays() == [5.0]


def test_equal_min_and_max_give_a_flat_backoff_for_every_function():
    for function in ("linear", "arithmetic", "geometric", "exponential"):
        assert backoff(function, minimum=7, maximum=7, retries=3).retry_delays() == [7.0] * 3


def test_phases_filling_every_retry_leave_no_backoff():
    phases = policy(
        min_delay=5,
        max_delay=30,
        num_retries=6,
        num_no_delay_retries=1,
        num_min_delay_retries=2,
        num_max_delay_retries=3,
    )

    assert phases.retry_delays() == [0.0, 5.0, 5.0, 30.0, 30.0, 30.0]


# Validation.


def test_empty_text_is_no_policy():
    assert parse_topic_policy("") == {}
    assert parse_subscription_policy("") == {}


def test_valid_policies_are_returned_as_documents():
    text = retry_topic(minDelayTarget=1, maxDelayTarget=60, numRetries=50, numNoDelayRetries=3)

    assert parse_topic_policy(text) == json.loads(text)
    assert parse_subscription_policy('{"throttlePolicy":{"maxReceivesPerSecond":10}}') == {
        "throttlePolicy": {"maxReceivesPerSecond": 10}
    }


def test_errors_are_invalid_parameter_400():
    error = invalid_topic(defaultHealthyRetryPolicy={"minDelayTarget": 0})

    assert error.code == "InvalidParameter"
    assert error.status == 400
    assert error.message == (
        "Invalid parameter: DeliveryPolicy: "
        "http.defaultHealthyRetryPolicy.minDelayTarget must be greater than or equal to 1"
    )


def test_subscribe_words_errors_with_attributes_reason():
    # The wording SNS gave for Subscribe (awsdocs/amazon-sns-developer-guide#5).
    with pytest.raises(InvalidParameter) as caught:
        parse_subscription_policy(retry_subscription(minDelayTarget=0), subscribing=True)

    assert caught.value.message == (
        "Invalid parameter: Attributes Reason: DeliveryPolicy: "
        "healthyRetryPolicy.minDelayTarget must be greater than or equal to 1"
    )


@pytest.mark.parametrize("text", ["{", "not json", "[]", "null", '"http"'])
def test_policy_must_be_a_json_object(text):
    with pytest.raises(InvalidParameter, match="^Invalid parameter: DeliveryPolicy: "):
        parse_topic_policy(text)
    with pytest.raises(InvalidParameter, match="^Invalid parameter: DeliveryPolicy: "):
        parse_subscription_policy(text)


@pytest.mark.parametrize(
    ("retry", "reason"),
    [
        ({"minDelayTarget": 0}, "minDelayTarget must be greater than or equal to 1"),
        ({"maxDelayTarget": 3601}, "maxDelayTarget must be less than or equal to 3600"),
        (
            {"minDelayTarget": 30, "maxDelayTarget": 20},
            "minDelayTarget must be less than or equal to maxDelayTarget",
        ),
        ({"minDelayTarget": 30}, "minDelayTarget must be less than or equal to maxDelayTarget"),
        ({"numRetries": -1}, "numRetries must be greater than or equal to 0"),
        ({"numRetries": 101}, "numRetries must be less than or equal to 100"),
        ({"numNoDelayRetries": -1}, "numNoDelayRetries must be greater than or equal to 0"),
        ({"numMinDelayRetries": -1}, "numMinDelayRetries must be greater than or equal to 0"),
        ({"numMaxDelayRetries": -1}, "numMaxDelayRetries must be greater than or equal to 0"),
        (
            {
                "numRetries": 5,
                "numNoDelayRetries": 2,
                "numMinDelayRetries": 2,
                "numMaxDelayRetries": 2,
            },
            "numRetries must be greater than or equal to the sum of numNoDelayRetries, "
            "numMinDelayRetries and numMaxDelayRetries",
        ),
        ({"numNoDelayRetries": 4}, "numRetries must be greater than or equal to the sum"),
        (
            {"backoffFunction": "quadratic"},
            "backoffFunction must be one of linear, arithmetic, geometric, exponential",
        ),
        ({"backoffFunction": 1}, "backoffFunction must be one of"),
        ({"numRetries": "3"}, "numRetries must be an integer"),
        ({"numRetries": 1.5}, "numRetries must be an integer"),
        ({"minDelayTarget": True}, "minDelayTarget must be an integer"),
        ({"retries": 3}, "retries is not a recognized field"),
    ],
)
def test_retry_rules_apply_to_topics_and_subscriptions(retry, reason):
    topic_error = invalid_topic(defaultHealthyRetryPolicy=retry)
    subscription_error = invalid_subscription({"healthyRetryPolicy": retry})

    prefix = "Invalid parameter: DeliveryPolicy: "
    assert topic_error.message.startswith(f"{prefix}http.defaultHealthyRetryPolicy.{reason}")
    assert subscription_error.message.startswith(f"{prefix}healthyRetryPolicy.{reason}")


def test_limits_themselves_are_allowed():
    parse_topic_policy(
        retry_topic(
            minDelayTarget=1,
            maxDelayTarget=3600,
            numRetries=100,
            numNoDelayRetries=40,
            numMinDelayRetries=30,
            numMaxDelayRetries=30,
        )
    )
    parse_subscription_policy(retry_subscription(numRetries=0, minDelayTarget=20))


def test_backoff_function_is_case_insensitive():
    # The CDK writes its BackoffFunction enum values ("EXPONENTIAL") straight into the policy.
    parse_subscription_policy(retry_subscription(backoffFunction="EXPONENTIAL"))

    resolved = effective_policy("", retry_subscription(backoffFunction="Geometric"))

    assert resolved.backoff_function == "geometric"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/json",
        "application/xml",
        "text/plain; charset=UTF-8",
        "application/json; charset=UTF-8",
        "application/xml; charset=UTF-8",
    ],
)
def test_documented_content_types_are_allowed(content_type):
    parse_topic_policy(topic(defaultRequestPolicy={"headerContentType": content_type}))
    parse_subscription_policy(json.dumps({"requestPolicy": {"headerContentType": content_type}}))


@pytest.mark.parametrize(
    "content_type", ["application/yaml", "text/bogus", "application/json; charset=latin1", 3]
)
def test_other_content_types_are_refused(content_type):
    error = invalid_subscription({"requestPolicy": {"headerContentType": content_type}})

    assert "requestPolicy.headerContentType must be text/plain" in error.message


@pytest.mark.parametrize("rate", [0, -5, "10", 2.5])
def test_throttle_needs_a_positive_integer_rate(rate):
    error = invalid_topic(defaultThrottlePolicy={"maxReceivesPerSecond": rate})

    assert "http.defaultThrottlePolicy.maxReceivesPerSecond must be" in error.message


def test_disable_subscription_overrides_must_be_a_boolean():
    error = invalid_topic(disableSubscriptionOverrides="yes")

    assert error.message.endswith("http.disableSubscriptionOverrides must be a boolean")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"https": {}}, "https is not a recognized field"),
        ({"http": {"healthyRetryPolicy": {}}}, "http.healthyRetryPolicy is not a recognized field"),
        ({"http": []}, "http must be a JSON object"),
        (
            {"http": {"defaultThrottlePolicy": 5}},
            "http.defaultThrottlePolicy must be a JSON object",
        ),
    ],
)
def test_topic_policy_shape_is_checked(document, reason):
    with pytest.raises(InvalidParameter) as caught:
        parse_topic_policy(json.dumps(document))

    assert caught.value.message == f"Invalid parameter: DeliveryPolicy: {reason}"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"http": {}}, "http is not a recognized field"),
        ({"throttlePolicy": {"rate": 1}}, "throttlePolicy.rate is not a recognized field"),
        ({"guaranteed": "no"}, "guaranteed must be a boolean"),
        ({"sicklyRetryPolicy": {"numRetries": 101}}, "sicklyRetryPolicy.numRetries must be"),
    ],
)
def test_subscription_policy_shape_is_checked(document, reason):
    assert reason in invalid_subscription(document).message


def test_policy_as_sns_returns_it_can_be_written_back():
    # SNS writes a subscription's policy with nulls for what it doesn't set.
    returned = (
        '{"healthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":20,"numRetries":5,'
        '"numMaxDelayRetries":null,"numNoDelayRetries":null,"numMinDelayRetries":null,'
        '"backoffFunction":null},"sicklyRetryPolicy":null,"throttlePolicy":null,'
        '"guaranteed":false}'
    )

    parse_subscription_policy(returned)
    parse_topic_policy(DEFAULT_TOPIC_JSON)

    assert effective_policy("", returned).retry_delays() == [5.0, 8.75, 12.5, 16.25, 20.0]


# Resolution.


def test_no_policies_resolve_to_snss_default():
    assert effective_policy("", "") == DEFAULT
    assert DEFAULT.header_content_type == "text/plain; charset=UTF-8"
    assert DEFAULT.max_receives_per_second is None


def test_topic_policy_applies_to_subscriptions_without_their_own():
    text = topic(
        defaultHealthyRetryPolicy={"numRetries": 5, "maxDelayTarget": 40},
        defaultThrottlePolicy={"maxReceivesPerSecond": 3},
        defaultRequestPolicy={"headerContentType": "application/json"},
    )

    resolved = effective_policy(text, "")

    assert resolved == policy(
        num_retries=5,
        max_delay=40,
        max_receives_per_second=3,
        header_content_type="application/json",
    )


def test_subscription_policy_overrides_the_topics():
    topic_text = retry_topic(numRetries=5, minDelayTarget=10, maxDelayTarget=40)
    subscription_text = retry_subscription(numRetries=2)

    resolved = effective_policy(topic_text, subscription_text)

    # The subscription's retry section wins whole; its absent fields take SNS's defaults.
    assert resolved.num_retries == 2
    assert (resolved.min_delay, resolved.max_delay) == (20, 20)


def test_subscription_overrides_section_by_section():
    topic_text = topic(
        defaultHealthyRetryPolicy={"numRetries": 5},
        defaultRequestPolicy={"headerContentType": "application/json"},
    )
    subscription_text = json.dumps({"throttlePolicy": {"maxReceivesPerSecond": 7}})

    resolved = effective_policy(topic_text, subscription_text)

    assert resolved.num_retries == 5
    assert resolved.max_receives_per_second == 7
    assert resolved.header_content_type == "application/json"


def test_disable_subscription_overrides_makes_the_topic_policy_win():
    topic_text = topic(
        defaultHealthyRetryPolicy={"numRetries": 5},
        disableSubscriptionOverrides=True,
    )
    subscription_text = json.dumps(
        {
            "healthyRetryPolicy": {"numRetries": 1},
            "requestPolicy": {"headerContentType": "application/xml"},
        }
    )

    resolved = effective_policy(topic_text, subscription_text)

    assert resolved.num_retries == 5
    assert resolved.header_content_type == "text/plain; charset=UTF-8"


def test_delivery_policy_is_immutable():
    with pytest.raises(AttributeError):
        DEFAULT.num_retries = 10
    assert isinstance(DEFAULT, DeliveryPolicy)


# The EffectiveDeliveryPolicy attributes.


def test_topic_effective_policy_json_is_snss_default_without_a_policy():
    assert effective_policy_json("") == DEFAULT_TOPIC_JSON


def test_topic_effective_policy_json_merges_the_topic_policy():
    text = topic(
        defaultHealthyRetryPolicy={"numRetries": 5, "backoffFunction": "exponential"},
        disableSubscriptionOverrides=True,
        defaultThrottlePolicy={"maxReceivesPerSecond": 4},
    )

    rendered = effective_policy_json(text)

    assert rendered == (
        '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,'
        '"numRetries":5,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,'
        '"backoffFunction":"exponential"},"disableSubscriptionOverrides":true,'
        '"defaultThrottlePolicy":{"maxReceivesPerSecond":4},'
        '"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}'
    )


def test_subscription_effective_policy_json_has_snss_shape():
    rendered = json.loads(subscription_effective_policy_json("", ""))

    assert list(rendered) == [
        "healthyRetryPolicy",
        "sicklyRetryPolicy",
        "throttlePolicy",
        "requestPolicy",
        "guaranteed",
    ]
    assert (
        rendered["healthyRetryPolicy"]
        == json.loads(DEFAULT_TOPIC_JSON)["http"]["defaultHealthyRetryPolicy"]
    )
    assert rendered["sicklyRetryPolicy"] is None
    assert rendered["throttlePolicy"] is None
    assert rendered["requestPolicy"] == {"headerContentType": "text/plain; charset=UTF-8"}
    assert rendered["guaranteed"] is False


def test_subscription_effective_policy_json_reflects_overrides():
    topic_text = topic(defaultThrottlePolicy={"maxReceivesPerSecond": 4})
    subscription_text = json.dumps(
        {
            "healthyRetryPolicy": {"numRetries": 7},
            "requestPolicy": {"headerContentType": "application/json"},
        }
    )

    rendered = json.loads(subscription_effective_policy_json(topic_text, subscription_text))

    assert rendered["healthyRetryPolicy"]["numRetries"] == 7
    assert rendered["throttlePolicy"] == {"maxReceivesPerSecond": 4}
    assert rendered["requestPolicy"] == {"headerContentType": "application/json"}
