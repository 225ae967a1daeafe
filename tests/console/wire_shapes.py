"""Build the wire doors' tables of input field types from botocore's service models.

The server must not need botocore at run time, so `queues/wire/sqs_shapes.py` and
`notifications/wire/sns_shapes.py` hold these tables as literals; test_wire_shapes checks them
against what botocore ships and prints the table to paste when a model changes.
"""

import pprint

import botocore.session

SCALARS = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "blob": "blob",
    "timestamp": "string",
    "double": "string",
    "float": "string",
}


def _spec(shape, service, seen=()):
    kind = shape.type_name
    if kind in SCALARS:
        return SCALARS[kind]
    if shape.name in seen:
        raise ValueError(f"recursive shape {shape.name}")
    seen = (*seen, shape.name)
    if kind == "list":
        spec = ["list", _spec(shape.member, service, seen)]
        if service == "sns":
            spec.append(shape.member.serialization.get("name", "member"))
        return spec
    if kind == "map":
        spec = ["map", _spec(shape.value, service, seen)]
        if service == "sns":
            spec += [
                shape.key.serialization.get("name", "key"),
                shape.value.serialization.get("name", "value"),
            ]
        return spec
    return {name: _spec(member, service, seen) for name, member in shape.members.items()}


def build(service, operations):
    """{operation: {member: spec}} for the named operations of `service` ("sqs" or "sns")."""
    model = botocore.session.get_session().get_service_model(service)
    table = {}
    for name in sorted(operations):
        shape = model.operation_model(name).input_shape
        table[name] = _spec(shape, service) if shape is not None else {}
    return table


def render(service, operations):
    """The table as the Python literal the wire module holds."""
    return pprint.pformat(build(service, operations), width=100, sort_dicts=True)
