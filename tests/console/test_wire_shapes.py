"""The wire doors' field-type tables match the botocore models they were generated from."""

import pytest

from aws_protocol import json_input, shapes
from notifications.wire import sns_query, sns_shapes
from queues.wire import operations, sqs_shapes
from tests.console.wire_shapes import build, render


@pytest.mark.parametrize(
    "service, module, implemented",
    [("sqs", sqs_shapes, operations.OPERATIONS), ("sns", sns_shapes, sns_query.OPERATIONS)],
)
def test_field_type_table_matches_botocore_model(service, module, implemented):
    assert build(service, implemented) == module.INPUTS, (
        f"regenerate {module.__name__}.INPUTS:\n{render(service, implemented)}"
    )


def test_json_nested_past_the_limit_is_refused_before_parsing():
    deep = "[" * 100_000 + "]" * 100_000

    with pytest.raises(json_input.TooDeep):
        json_input.loads(deep)
    assert json_input.loads("[" * 64 + "]" * 64) is not None


def test_brackets_inside_strings_do_not_count_toward_depth():
    text = '{"a": "' + "[" * 500 + '\\"[[[", "b": [[1]]}'

    assert json_input.depth(text) == 3
    assert json_input.loads(text)["b"] == [[1]]


@pytest.mark.parametrize("text", ["nul \x00", "surrogate \ud800", "\x08", "\ufffe"])
def test_strings_outside_xml_characters_are_refused(text):
    with pytest.raises(shapes.ShapeError) as raised:
        shapes.check_json({"QueueName": text}, {"QueueName": "string"})
    assert raised.value.reason == "text"
