"""SNS subscription filter policies: SNS's validation messages and its matching rules."""

import gzip
import inspect
import json
from pathlib import Path

import botocore
import pytest

from notifications import errors
from notifications.errors import InvalidParameter
from notifications.filter_policy import parse_filter_policy

BODY = "MessageBody"
ATTRIBUTES = "MessageAttributes"


def policy(document, scope=ATTRIBUTES):
    return parse_filter_policy(json.dumps(document), scope)


def string(value):
    return {"DataType": "String", "StringValue": value}


def number(value):
    return {"DataType": "Number", "StringValue": str(value)}


def array(*values):
    return {"DataType": "String.Array", "StringValue": json.dumps(list(values))}


def binary():
    return {"DataType": "Binary", "BinaryValue": b"\x00\x01"}


def passes(document, attributes):
    return policy(document).matches_attributes(attributes)


def body_passes(document, message):
    text = message if isinstance(message, str) else json.dumps(message)
    return policy(document, BODY).matches_body(text)


def rejection(text, scope=ATTRIBUTES, **kwargs):
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_policy(text, scope, **kwargs)
    return caught.value.message


# No policy.


@pytest.mark.parametrize("text", ["", "  ", "{}"])
def test_empty_policy_matches_every_message(text):
    for scope in (ATTRIBUTES, BODY):
        compiled = parse_filter_policy(text, scope)
        assert compiled.is_empty
        assert compiled.matches_attributes({})
        assert compiled.matches_attributes({"a": string("x")})
        assert compiled.matches_body("not json at all")
        assert compiled.matches_body('{"a": 1}')


# Exact matching, AND across keys, OR within a key.


def test_exact_string_matches_only_the_same_string():
    assert passes({"store": ["example_corp"]}, {"store": string("example_corp")})
    assert not passes({"store": ["example_corp"]}, {"store": string("other_corp")})


def test_string_matching_is_case_sensitive():
    assert not passes({"store": ["example_corp"]}, {"store": string("Example_Corp")})


def test_values_of_one_key_are_alternatives():
    document = {"customer_interests": ["rugby", "football", "baseball"]}
    assert passes(document, {"customer_interests": string("football")})
    assert not passes(document, {"customer_interests": string("tennis")})


def test_every_key_must_match():
    document = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    assert passes(document, {"customer_interests": string("rugby"), "price_usd": number(101)})
    assert not passes(document, {"customer_interests": string("rugby"), "price_usd": number(99)})
    assert not passes(document, {"customer_interests": string("soccer"), "price_usd": number(101)})


def test_a_policy_key_without_that_attribute_fails():
    assert not passes(
        {"store": ["example_corp"], "encrypted": [False]}, {"store": string("example_corp")}
    )


def test_attributes_the_policy_does_not_name_are_ignored():
    assert passes({"store": ["a"]}, {"store": string("a"), "other": string("b"), "blob": binary()})


def test_null_in_a_policy_never_matches_a_missing_attribute():
    document = {"attr1": [None, {"anything-but": "whatever"}]}
    assert not passes(document, {})
    assert passes(document, {"attr1": string("anything")})


# Numbers.


@pytest.mark.parametrize("sent", ["5", "5.0", "5e0", "5.00000"])
def test_exact_number_matches_number_attributes_numerically(sent):
    assert passes({"size": [5]}, {"size": number(sent)})


def test_exact_number_does_not_match_a_string_attribute_or_other_numbers():
    assert not passes({"size": [5]}, {"size": string("5")})
    assert not passes({"size": [5]}, {"size": number("5.1")})
    assert not passes({"size": ["5"]}, {"size": number("5")})


@pytest.mark.parametrize(
    ("condition", "sent", "expected"),
    [
        ([">", 0, "<=", 5], "0", False),
        ([">", 0, "<=", 5], "0.00001", True),
        ([">", 0, "<=", 5], "5", True),
        ([">", 0, "<=", 5], "5.00001", False),
        ([">", 0, "<=", 5], "-1", False),
        ([">=", 0, "<", 5], "0", True),
        ([">=", 0, "<", 5], "5", False),
        (["<", 0], "-0.5", True),
        (["<", 0], "0", False),
        (["<=", 0], "0", True),
        ([">", 100], "1e3", True),
        ([">=", 100], "100", True),
        ([">=", 100], "99.99999", False),
        (["=", 301.5], "3.015e2", True),
        (["=", 301.5], "301.50001", False),
        ([">", -1000000000, "<", 1000000000], "999999999.99999", True),
    ],
)
def test_numeric_conditions_compare_number_attributes(condition, sent, expected):
    assert passes({"price": [{"numeric": condition}]}, {"price": number(sent)}) is expected


def test_numeric_conditions_ignore_string_attributes():
    assert not passes({"price": [{"numeric": [">", 0]}]}, {"price": string("5")})


def test_numeric_conditions_ignore_a_number_attribute_that_is_not_a_number():
    assert not passes({"price": [{"numeric": [">", 0]}]}, {"price": number("lots")})


def test_numeric_anything_but_excludes_listed_numbers():
    document = {"price": [{"anything-but": [100, 500]}]}
    assert passes(document, {"price": number("101")})
    assert passes(document, {"price": number("100.1")})
    assert not passes(document, {"price": number("100.0")})
    assert not passes(document, {"price": number("5e2")})


# String.Array attributes.


def test_string_array_matches_when_any_element_matches():
    document = {"customer_interests": ["rugby", "tennis"]}
    assert passes(document, {"customer_interests": array("soccer", "rugby", "hockey")})
    assert not passes(document, {"customer_interests": array("baseball")})


def test_string_array_elements_keep_their_json_types():
    assert passes({"sizes": [{"numeric": [">", 10]}]}, {"sizes": array(1, 20)})
    assert passes({"flags": [True]}, {"flags": array(False, True)})
    assert not passes({"flags": [True]}, {"flags": array("true")})
    assert passes({"labels": [None]}, {"labels": array(None)})
    assert not passes({"sizes": [{"prefix": "2"}]}, {"sizes": array(20)})


def test_anything_but_on_a_string_array_needs_no_element_excluded():
    document = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert passes(document, {"customer_interests": array("baseball", "football")})
    assert not passes(document, {"customer_interests": array("rugby", "baseball")})


def test_a_string_array_that_is_not_json_exists_but_matches_no_value():
    assert passes(
        {"tags": [{"exists": True}]}, {"tags": {"DataType": "String.Array", "StringValue": "[oops"}}
    )
    assert not passes(
        {"tags": ["oops"]}, {"tags": {"DataType": "String.Array", "StringValue": "[oops"}}
    )


# Key matching.


def test_exists_true_matches_any_present_attribute():
    document = {"store": [{"exists": True}]}
    assert passes(document, {"store": string("fans")})
    assert passes(document, {"store": number(99)})
    assert passes(document, {"store": array()})
    assert not passes(document, {"customer_interests": array("baseball")})


def test_exists_false_matches_only_when_the_attribute_is_absent():
    document = {"store": [{"exists": False}]}
    assert passes(document, {"def": number(99)})
    assert passes(document, {})
    assert not passes(document, {"store": number(99)})


def test_binary_attributes_are_ignored_even_by_exists():
    assert not passes({"blob": [{"exists": True}]}, {"blob": binary()})
    assert passes({"blob": [{"exists": False}]}, {"blob": binary()})
    assert not passes({"blob": [{"anything-but": "x"}]}, {"blob": binary()})


def test_anything_but_combined_with_exists_false_also_accepts_a_missing_attribute():
    document = {"event": [{"anything-but": ["order_cancelled"]}, {"exists": False}]}
    assert passes(document, {})
    assert passes(document, {"event": string("order_placed")})
    assert not passes(document, {"event": string("order_cancelled")})


# String operators.


def test_anything_but_matches_values_not_listed_and_not_missing_ones():
    document = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert passes(document, {"customer_interests": string("baseball")})
    assert not passes(document, {"customer_interests": string("rugby")})
    assert not passes(document, {})


def test_anything_but_accepts_a_single_value():
    document = {"event": [{"anything-but": "order_cancelled"}]}
    assert passes(document, {"event": string("order_placed")})
    assert not passes(document, {"event": string("order_cancelled")})


def test_anything_but_prefix_rejects_values_with_that_prefix():
    document = {"event": [{"anything-but": {"prefix": "order-"}}]}
    assert passes(document, {"event": string("data-entry")})
    assert passes(document, {"event": string("order_number")})
    assert not passes(document, {"event": string("order-cancelled")})


def test_prefix_matches_the_start_of_strings_only():
    document = {"customer_interests": [{"prefix": "bas"}]}
    assert passes(document, {"customer_interests": string("baseball")})
    assert passes(document, {"customer_interests": string("basketball")})
    assert not passes(document, {"customer_interests": string("rugby")})
    assert not passes(document, {"customer_interests": string("Baseball")})
    assert not passes({"code": [{"prefix": "12"}]}, {"code": number(123)})


def test_suffix_matches_the_end_of_strings():
    document = {"file": [{"suffix": ".png"}]}
    assert passes(document, {"file": string("cat.png")})
    assert not passes(document, {"file": string("cat.png.txt")})


def test_equals_ignore_case_ignores_case_only():
    document = {"name": [{"equals-ignore-case": "Example_Corp"}]}
    assert passes(document, {"name": string("EXAMPLE_corp")})
    assert not passes(document, {"name": string("example corp")})


@pytest.mark.parametrize(
    ("cidr", "sent", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.0", True),
        ("10.0.0.0/24", "10.0.0.255", True),
        ("10.0.0.0/24", "10.1.1.0", False),
        ("10.0.0.0/24", "not-an-ip", False),
        ("10.0.0.0/24", "::ffff:10.0.0.1", False),
        ("192.168.1.7/32", "192.168.1.7", True),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("2001:db8::/32", "10.0.0.1", False),
    ],
)
def test_cidr_matches_ip_addresses_in_the_network(cidr, sent, expected):
    assert passes({"source_ip": [{"cidr": cidr}]}, {"source_ip": string(sent)}) is expected


def test_cidr_with_host_bits_set_means_its_network():
    assert passes({"source_ip": [{"cidr": "10.0.0.7/24"}]}, {"source_ip": string("10.0.0.200")})


def test_mixed_values_of_one_key_are_alternatives():
    document = {"key": [{"prefix": "auto-"}, "hardcoded", {"numeric": ["=", 7]}]}
    assert passes(document, {"key": string("auto-x")})
    assert passes(document, {"key": string("hardcoded")})
    assert passes(document, {"key": number(7)})
    assert not passes(document, {"key": string("manual")})


# The $or operator.


def test_or_operator_needs_one_of_its_alternatives():
    document = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    source = string("aws.cloudwatch")
    assert passes(document, {"source": source, "metricName": string("CPUUtilization")})
    assert passes(document, {"source": source, "namespace": string("AWS/EC2")})
    assert not passes(document, {"source": source, "namespace": string("AWS/ES")})
    assert not passes(document, {"metricName": string("CPUUtilization")})


def test_or_alternatives_can_hold_several_keys():
    document = {"$or": [{"a": ["1"], "b": ["2"]}, {"c": [{"exists": True}]}]}
    assert passes(document, {"a": string("1"), "b": string("2")})
    assert not passes(document, {"a": string("1")})
    assert passes(document, {"c": string("anything")})


def test_or_with_operator_names_is_an_ordinary_attribute_name():
    document = {"$or": [{"prefix": "abc"}, {"suffix": "xyz"}]}
    assert passes(document, {"$or": string("abcdef")})
    assert not passes(document, {"other": string("abcdef")})


def test_or_with_a_single_alternative_is_an_ordinary_attribute_name():
    assert (
        rejection('{"$or": [{"a": ["b"]}]}')
        == "Invalid parameter: FilterPolicy: Unrecognized match type a"
    )


def test_nested_or_in_a_message_body():
    document = {
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]},
        ],
        "detail": {
            "scope": ["Service"],
            "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}],
        },
    }
    rejected = [
        {
            "metricName": "CPUUtilization",
            "detail": {"scope": "aws.cloudwatch", "type": "CloudWatch Alarm State Change"},
        },
        {"metricName": "CPUUtilization", "detail": {"scope": "Service", "type": "CPUUtilization"}},
        {"metricName": "CPUUtilization", "detail": {"type": "CloudWatch Alarm State Change"}},
        {"metricName": "CPUUtilization", "detail": {"scope": "Service"}},
        {"metricName": "CPUUtilization", "scope": "Service"},
    ]
    accepted = [
        {
            "metricName": "CPUUtilization",
            "detail": {"scope": "Service", "source": "aws.cloudwatch"},
        },
        {"metricName": "ReadLatency", "detail": {"scope": "Service", "source": "aws.cloudwatch"}},
        {"namespace": "AWS/EC2", "detail": {"scope": "Service", "source": "aws.cloudwatch"}},
        {"namespace": "AWS/ES", "detail": {"scope": "Service", "source": "aws.cloudwatch"}},
        {
            "metricName": "CPUUtilization",
            "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"},
        },
    ]
    assert [body_passes(document, message) for message in rejected] == [False] * len(rejected)
    assert [body_passes(document, message) for message in accepted] == [True] * len(accepted)


# Message body scope.


def test_nested_body_policy_walks_the_object():
    document = {
        "object": {
            "key": [{"prefix": "auto-"}, "hardcodedvalue"],
            "nested_key": [{"exists": False}],
        },
        "test": [{"exists": False}],
    }
    assert body_passes(document, {"object": {"key": "auto-test"}})
    assert body_passes(document, {"object": {"key": "hardcodedvalue"}})
    assert not body_passes(document, {"object": {"key": "test-auto"}})
    assert not body_passes(document, {"object": {"key": "auto-test"}, "test": "just-exists"})
    assert not body_passes(document, {"object": {"key": "auto-test", "nested_key": "just-exists"}})
    assert not body_passes(document, {"object": {"test": "auto-test"}})
    assert not body_passes(document, {"test": "auto-test"})


def test_body_that_is_not_a_json_object_never_matches_a_policy():
    document = {"a": [{"exists": False}]}
    assert not body_passes(document, "Regular string message")
    assert not body_passes(document, json.dumps("Regular string message"))
    assert not body_passes(document, "[1, 2]")
    assert body_passes(document, "{}")


def test_body_arrays_match_when_any_element_matches():
    document = {"headers": {"route-to": ["queue1"]}}
    assert body_passes(document, {"headers": {"route-to": ["queue1"]}})
    assert body_passes(document, {"headers": {"route-to": ["queue2", "queue1"]}})
    assert not body_passes(document, {"headers": {"route-to": ["queue3"]}})
    assert not body_passes(document, {"headers": {"route-to": []}})


def test_body_anything_but_matches_an_array_with_any_value_not_excluded():
    document = {"price": [{"anything-but": [100, 500]}]}
    assert body_passes(document, {"price": [100, 50]})
    assert not body_passes(document, {"price": [100, 500]})
    assert not body_passes(document, {"price": 100})


def test_body_policy_reaches_into_arrays_of_objects():
    document = {
        "Records": {
            "s3": {"object": {"key": [{"prefix": "auto-"}]}},
            "eventName": [{"prefix": "ObjectCreated:"}],
        }
    }
    created = {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "auto-1.xml"}}}]
    }
    removed = {
        "Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "auto-1.xml"}}}]
    }
    home = {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "home-1.xml"}}}]
    }
    deep = {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": [[{"key": "auto-1.xml"}]]}}]
    }
    assert body_passes(document, created)
    assert body_passes(document, deep)
    assert not body_passes(document, removed)
    assert not body_passes(document, home)


def test_dotted_policy_keys_match_nested_and_dotted_body_keys():
    document = {"object.nested.test": ["string.value"]}
    for message in (
        {"object": {"nested": {"test": "string.value"}}},
        {"object.nested.test": "string.value"},
        {"object.nested": {"test": "string.value"}},
        {"object": {"nested.test": "string.value"}},
    ):
        assert body_passes(document, message)
    assert not body_passes(document, {"object": {"nested": {"test": "string.notvalue"}}})


def test_body_values_keep_their_json_types():
    assert body_passes({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": 3.015e2})
    assert body_passes({"n": [5]}, {"n": 5.0})
    assert not body_passes({"n": [5]}, {"n": "5"})
    assert not body_passes({"n": [{"numeric": [">", 1]}]}, {"n": "5"})
    assert body_passes({"flag": [True]}, {"flag": True})
    assert not body_passes({"flag": [True]}, {"flag": "true"})
    assert not body_passes({"flag": [1]}, {"flag": True})
    assert not body_passes({"flag": [{"numeric": ["=", 1]}]}, {"flag": True})
    assert body_passes({"gone": [None]}, {"gone": None})
    assert not body_passes({"gone": [None]}, {})


def test_exists_in_a_body_sees_leaf_values_only():
    assert body_passes({"a": {"b": [{"exists": True}]}}, {"a": {"b": None}})
    assert not body_passes({"a": [{"exists": True}]}, {"a": {"b": 1}})
    assert body_passes({"a": {"c": [{"exists": False}]}}, {"a": {"b": 1}})


def test_matches_dispatches_on_the_policy_scope():
    attributes = {"kind": string("x")}
    assert policy({"kind": ["x"]}).matches(body='{"kind": "y"}', attributes=attributes)
    assert not policy({"kind": ["x"]}, BODY).matches(body='{"kind": "y"}', attributes=attributes)


# Validation, with SNS's messages.


def test_rejection_is_sns_invalid_parameter():
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_policy("{invalidjson}")
    assert caught.value.code == "InvalidParameter"
    assert caught.value.status == 400
    assert caught.value.sender_fault


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{invalidjson}", "failed to parse JSON."),
        ('{"a": [NaN]}', "failed to parse JSON."),
        ('["a"]', "Filter is not an object"),
        ('{"key": [["value"]]}', "Match value must be String, number, true, false, or null"),
        ('{"key": []}', "Empty arrays are not allowed"),
        ('{"key_a": "value_one"}', '"key_a" must be an object or an array'),
        ('{"key": 5}', '"key" must be an object or an array'),
        ('{"key": [{"wrong-operator": true}]}', "Unrecognized match type wrong-operator"),
        ('{"key": [{"wildcard": "a*"}]}', "Unrecognized match type wildcard"),
        (
            '{"key": [{"suffix": "value", "prefix": "value2"}]}',
            "Only one key allowed in match expression",
        ),
        ('{"key": [{}]}', "Only one key allowed in match expression"),
        ('{"key": [{"suffix": 100}]}', "suffix match pattern must be a string"),
        ('{"key": [{"suffix": null}]}', "suffix match pattern must be a string"),
        ('{"key": [{"suffix": []}]}', "suffix match pattern must be a string"),
        ('{"key": [{"prefix": ["a"]}]}', "prefix match pattern must be a string"),
        (
            '{"key": [{"equals-ignore-case": 1}]}',
            "equals-ignore-case match pattern must be a string",
        ),
        ('{"key": [{"exists": null}]}', "exists match pattern must be either true or false."),
        ('{"key": [{"exists": "no"}]}', "exists match pattern must be either true or false."),
        (
            '{"key": [{"anything-but": {"suffix": "x"}}]}',
            "Unsupported anything-but pattern: suffix",
        ),
        ('{"key": [{"anything-but": {"prefix": 1}}]}', "prefix match pattern must be a string"),
        (
            '{"key": [{"anything-but": [["a"]]}]}',
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        ('{"key": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
        ('{"key": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"),
        ('{"key": [{"cidr": "10.0.0.256/24"}]}', "Nonstandard IP address: 10.0.0.256"),
        ('{"key": [{"cidr": "10.0.0.0/33"}]}', "Nonstandard IP address: 10.0.0.0"),
        ('{"key": [{"cidr": 24}]}', "prefix match pattern must be a string"),
    ],
)
def test_malformed_policies_are_rejected_with_sns_messages(text, reason):
    assert rejection(text) == f"Invalid parameter: FilterPolicy: {reason}"


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ([], "Invalid member in numeric match: ]"),
        (["operator"], "Unrecognized numeric range operator: operator"),
        ([1, "<="], "Invalid member in numeric match: 1"),
        (["=", "000"], "Value of equals must be numeric"),
        ([">="], "Value of >= must be numeric"),
        (["=", True], "Value of equals must be numeric"),
        (["<", 100, ">", 10], "Too many elements in numeric expression"),
        (["=", 5, "<", 10], "Too many elements in numeric expression"),
        ([">=", 1, ">", 2], "Bad numeric range operator: >"),
        ([">", 5, "<", 1], "Bottom must be less than top"),
        ([">", 5, "<=", 5], "Bottom must be less than top"),
        ([">", 20, "<="], "Value of <= must be numeric"),
        ([">", 20, 30], "Bad value in numeric range: 30"),
        ([">", 20, "test"], "Bad numeric range operator: test"),
        ([">", "20", "<", "30"], "Value of > must be numeric"),
        ([">", 20, "<", "30"], "Value of < must be numeric"),
        ([">", 20, "<", 30, "<", 50], "Too many terms in numeric range expression"),
        (5, "Value of numeric must be an array."),
    ],
)
def test_malformed_numeric_conditions_are_rejected(condition, reason):
    text = json.dumps({"key": [{"numeric": condition}]})
    assert rejection(text) == f"Invalid parameter: FilterPolicy: {reason}"


def test_subscribe_words_the_same_errors_with_attributes_reason():
    assert (
        rejection('{"key": [{"wrong-operator": true}]}', subscribing=True)
        == "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type wrong-operator"
    )


def test_unknown_scope_is_rejected():
    assert rejection("{}", "Everything") == (
        "Invalid parameter: FilterPolicyScope: Invalid value [Everything]. "
        "Please use either MessageBody or MessageAttributes"
    )


def test_nested_policy_needs_the_message_body_scope():
    text = '{"object": {"key": [{"prefix": "auto-"}]}}'
    assert rejection(text) == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    assert rejection(text, subscribing=True) == (
        "Invalid parameter: Attributes Reason: "
        "Filter policy scope MessageAttributes does not support nested filter policy"
    )
    assert parse_filter_policy(text, BODY).matches_body('{"object": {"key": "auto-1"}}')


def test_nested_object_is_checked_before_the_scope():
    assert rejection('{"key": {"suffix": "value"}}') == (
        'Invalid parameter: FilterPolicy: "suffix" must be an object or an array'
    )


def keys(count):
    return {f"key_{index}": ["value"] for index in range(count)}


@pytest.mark.parametrize("scope", [ATTRIBUTES, BODY])
def test_five_keys_are_allowed_and_six_are_not(scope):
    parse_filter_policy(json.dumps(keys(5)), scope)
    assert rejection(json.dumps(keys(6)), scope) == (
        "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    )


def test_only_top_level_keys_count_in_a_nested_policy():
    document = {"finding": keys(6), "state": ["SUCCESS"]}
    assert policy(document, BODY).matches_body(
        json.dumps({"finding": dict.fromkeys(keys(6), "value"), "state": "SUCCESS"})
    )


def test_keys_inside_an_or_alternative_count_with_the_keys_beside_it():
    parse_filter_policy(json.dumps({"a": ["1"], "$or": [keys(4), {"z": ["1"]}]}))
    assert rejection(json.dumps({"a": ["1"], "$or": [keys(5), {"z": ["1"]}]})) == (
        "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    )


def values(count):
    return [f"value_{index}" for index in range(count)]


TOO_COMPLEX = "Invalid parameter: FilterPolicy: Filter policy is too complex"


def test_combinations_multiply_across_keys_up_to_150():
    parse_filter_policy(json.dumps({"a": values(10), "b": values(15)}))
    assert rejection(json.dumps({"a": values(10), "b": values(16)})) == TOO_COMPLEX
    assert rejection(json.dumps({"a": values(151)})) == TOO_COMPLEX


def test_nested_arrays_count_their_values_times_their_depth():
    # SNS's own example: 3 x 4 x 2 x 3 = 72.
    parse_filter_policy(
        json.dumps({"key_a": {"key_b": {"key_c": values(4)}}, "key_d": {"key_e": values(3)}}), BODY
    )
    # With a third array of three values at the top: 72 x 1 x 3 = 216.
    document = {
        "key_a": {"key_b": {"key_c": values(4)}},
        "key_d": {"key_e": values(3)},
        "key_f": values(3),
    }
    assert rejection(json.dumps(document), BODY) == TOO_COMPLEX


def test_or_alternatives_add_their_combinations():
    parse_filter_policy(json.dumps({"$or": [{"a": values(10), "b": values(8)}, {"c": values(70)}]}))
    assert (
        rejection(json.dumps({"$or": [{"a": values(10), "b": values(8)}, {"c": values(71)}]}))
        == TOO_COMPLEX
    )
    assert (
        rejection(json.dumps({"x": values(2), "$or": [{"a": values(40)}, {"b": values(36)}]}))
        == TOO_COMPLEX
    )


def test_a_policy_built_to_explode_is_refused_early():
    alternatives = [{"a": ["1"]}, {"b": ["2"]}]
    document = {"k": {f"n{index}": {"$or": alternatives} for index in range(40)}}
    assert rejection(json.dumps(document), BODY) == TOO_COMPLEX


def test_a_deeply_nested_policy_is_too_complex_rather_than_a_crash():
    document = ["x"]
    for _ in range(500):
        document = {"k": document}
    assert rejection(json.dumps(document), BODY) == TOO_COMPLEX


def test_a_policy_over_256_kb_is_rejected():
    text = json.dumps({"a": ["x" * (256 * 1024)]})
    assert rejection(text) == "Invalid parameter: FilterPolicy: Filter policy is too long"


COMMON_AWS_ERRORS = {"Throttling": 400}


def test_sns_errors_carry_the_codes_and_statuses_of_the_sns_model():
    model_file = (
        Path(botocore.__file__).parent / "data" / "sns" / "2010-03-31" / "service-2.json.gz"
    )
    shapes = json.loads(gzip.decompress(model_file.read_bytes()))["shapes"]
    by_code = {
        shape["error"]["code"]: shape["error"]["httpStatusCode"]
        for shape in shapes.values()
        if "error" in shape
    }
    # AWS's common errors, answered by every query API but not modelled per service.
    by_code.update(COMMON_AWS_ERRORS)
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if cls.__module__ == errors.__name__
    ]
    assert classes
    for cls in classes:
        assert by_code[cls.code] == cls.status, cls.__name__
