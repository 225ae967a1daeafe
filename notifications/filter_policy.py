"""SNS subscription filter policies: validated and compiled once, matched on every publish.

`parse_filter_policy` checks a policy against SNS's rules and raises `InvalidParameter` with SNS's
messages; the `FilterPolicy` it returns holds compiled matchers, so publishing never re-reads the
JSON. A policy is compiled to disjunctive normal form: `$or` is expanded into branches, each a
conjunction of key matchers, and a message passes when every key of some branch matches. SNS's
complexity cap (150 combinations) bounds the number of branches.

Matching is typed, as SNS's is: strings match strings, numbers match numbers (numerically, so 5
matches "5.0" of a Number attribute), booleans and null match only JSON booleans and null (found in
String.Array attributes and message bodies). Arrays match when any element matches, except that
`anything-but` on a String.Array attribute needs none of its elements to be excluded.
"""

import ipaddress
import json
import math
from functools import lru_cache

from aws_protocol import json_input
from notifications.errors import InvalidParameter

MESSAGE_ATTRIBUTES = "MessageAttributes"
MESSAGE_BODY = "MessageBody"
SCOPES = (MESSAGE_ATTRIBUTES, MESSAGE_BODY)

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024

OR = "$or"
OPERATORS = frozenset(
    {"anything-but", "numeric", "prefix", "suffix", "equals-ignore-case", "exists", "cidr"}
)
LOWER_BOUNDS = (">", ">=")
UPPER_BOUNDS = ("<", "<=")
NUMERIC_OPERATORS = ("=", *LOWER_BOUNDS, *UPPER_BOUNDS)


class _PolicyError(Exception):
    """A rule the policy breaks, worded as SNS words it after "Invalid parameter: "."""


def _invalid(reason):
    return _PolicyError(f"FilterPolicy: {reason}")


def parse_filter_policy(text, scope=MESSAGE_ATTRIBUTES, *, subscribing=False):
    """Validate a filter policy as SNS does and compile it for matching.

    An empty text or `{}` means no filtering. `subscribing` words errors as Subscribe reports them
    ("Invalid parameter: Attributes Reason: FilterPolicy: ..."); SetSubscriptionAttributes leaves
    out "Attributes Reason: ".
    """
    if scope not in SCOPES:
        raise InvalidParameter(
            f"Invalid parameter: FilterPolicyScope: Invalid value [{scope}]. "
            "Please use either MessageBody or MessageAttributes"
        )
    try:
        return _compile(text, scope)
    except _PolicyError as error:
        reason = f"Attributes Reason: {error}" if subscribing else str(error)
        raise InvalidParameter(f"Invalid parameter: {reason}") from None


class FilterPolicy:
    """A compiled filter policy; `matches_*` run on the publish path, once per subscription."""

    __slots__ = ("scope", "_branches", "_keys")

    def __init__(self, scope, branches):
        self.scope = scope
        self._branches = branches
        self._keys = {matcher for branch in branches for matcher in branch}

    @property
    def is_empty(self):
        return not self._keys

    def matches(self, *, body, attributes):
        """Match the part of a message this policy's scope filters on."""
        if self.scope == MESSAGE_BODY:
            return self.matches_body(body)
        return self.matches_attributes(attributes)

    def matches_attributes(self, message_attributes):
        """Match SNS-shaped attributes: {"name": {"DataType": ..., "StringValue": ...}}."""
        if not self._keys:
            return True
        message_attributes = message_attributes or {}
        facts = {}
        for branch in self._branches:
            for matcher in branch:
                fact = facts.get(matcher)
                if fact is None:
                    fact = facts[matcher] = matcher.match(
                        *_attribute_values(message_attributes.get(matcher.name))
                    )
                if not fact:
                    break
            else:
                return True
        return False

    def matches_body(self, body):
        """Match a message body that is a JSON object; any other body matches only `{}`."""
        if not self._keys:
            return True
        fields = _body_fields(body)
        if fields is None:
            return False
        facts = {}
        for branch in self._branches:
            for matcher in branch:
                fact = facts.get(matcher)
                if fact is None:
                    values = fields.get(matcher.name, ())
                    fact = facts[matcher] = matcher.match(bool(values), values, False)
                if not fact:
                    break
            else:
                return True
        return False

    def explain(self, *, body, attributes):
        """Say why a message does not match: None when it matches, else the failing clause.

        A slower path than `matches`, for people testing a policy: every clause of every branch
        is evaluated. For an `$or` policy the branch with the fewest failing clauses is the
        closest, and its first failing clause is reported.
        """
        if not self._keys:
            return None
        if self.scope == MESSAGE_BODY:
            fields = _body_fields(body)
            if fields is None:
                return "message body is not a JSON object"

            def facts_of(matcher):
                values = fields.get(matcher.name, ())
                return bool(values), values, False

        else:
            attributes = attributes or {}

            def facts_of(matcher):
                return _attribute_values(attributes.get(matcher.name))

        closest = None
        for branch in self._branches:
            failing = [matcher for matcher in branch if not matcher.match(*facts_of(matcher))]
            if not failing:
                return None
            if closest is None or len(failing) < len(closest):
                closest = failing
        matcher = closest[0]
        return f"{matcher.describe()} — {_describe_values(self.scope, matcher.name, *facts_of(matcher))}"

    def __repr__(self):
        return f"<FilterPolicy {self.scope} branches={len(self._branches)}>"


# Compiling: JSON -> DNF branches of (path, match values) -> branches of key matchers.


def _compile(text, scope):
    if not text or not text.strip():
        return FilterPolicy(scope, ((),))
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise _invalid("Filter policy is too long")
    try:
        document = json_input.loads(text, parse_constant=_reject_constant)
    except json_input.TooDeep:
        raise _invalid("Filter policy is too complex") from None
    except ValueError:
        raise _invalid("failed to parse JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Filter is not an object")

    # SNS counts keys before it looks any deeper, so a wide policy fails on keys, not complexity.
    top_level = [key for key, value in document.items() if not (key == OR and _is_or(value))]
    if len(top_level) > MAX_KEYS:
        raise _invalid(f"Filter policy can not have more than {MAX_KEYS} keys")

    branches = _expand(document, (), scope, [_Branch((), 1)])
    for branch in branches:
        if len({path[0] for path, _ in branch.leaves}) > MAX_KEYS:
            raise _invalid(f"Filter policy can not have more than {MAX_KEYS} keys")

    matchers = {}
    compiled = []
    for branch in branches:
        keys = []
        for path, values in branch.leaves:
            # $or branches share the leaves outside them: compile (and validate) each array once.
            matcher = matchers.get(id(values))
            if matcher is None:
                matcher = matchers[id(values)] = _KeyMatcher(".".join(path), values)
            keys.append(matcher)
        compiled.append(tuple(keys))
    return FilterPolicy(scope, tuple(compiled))


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


class _Branch:
    __slots__ = ("leaves", "combinations")

    def __init__(self, leaves, combinations):
        self.leaves = leaves
        self.combinations = combinations


def _expand(node, path, scope, branches):
    """Fold one policy object into the branches so far, checking SNS's structural rules.

    Combinations follow SNS's rule: the product, over every array, of its number of values times
    how deep its key is nested (1 at the top level); `$or` alternatives add up. Every step can only
    grow the total, so it is checked as we go and a policy built to explode is refused early.
    """
    if len(path) >= MAX_COMBINATIONS:
        # Any array this deep counts more than the cap on its own; stop before recursing further.
        raise _invalid("Filter policy is too complex")
    for key, value in node.items():
        if key == OR and _is_or(value):
            alternatives = []
            for alternative in value:
                alternatives.extend(_expand(alternative, path, scope, branches))
                _check_complexity(alternatives)
            branches = alternatives
        elif isinstance(value, dict):
            branches = _expand(value, (*path, key), scope, branches)
            if scope == MESSAGE_ATTRIBUTES:
                raise _PolicyError(
                    "Filter policy scope MessageAttributes does not support nested filter policy"
                )
        elif isinstance(value, list):
            if not value:
                raise _invalid("Empty arrays are not allowed")
            leaf = ((*path, key), value)
            factor = len(value) * (len(path) + 1)
            branches = [
                _Branch((*branch.leaves, leaf), branch.combinations * factor) for branch in branches
            ]
            _check_complexity(branches)
        else:
            raise _invalid(f'"{key}" must be an object or an array')
    return branches


def _is_or(value):
    """Whether a "$or" key is SNS's OR operator rather than a plain attribute name."""
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(item, dict) and not OPERATORS.intersection(item) for item in value)
    )


def _check_complexity(branches):
    if sum(branch.combinations for branch in branches) > MAX_COMBINATIONS:
        raise _invalid("Filter policy is too complex")


class _KeyMatcher:
    """One policy key: passes when an `exists` test holds or any match value finds a value."""

    __slots__ = ("name", "values", "exists", "exact", "conditions", "negations")

    def __init__(self, name, values):
        self.name = name
        self.values = values
        exists = []
        exact = []
        conditions = []
        negations = []
        for value in values:
            if isinstance(value, dict):
                operator, operand = _only_key(value)
                if operator == "exists":
                    if not isinstance(operand, bool):
                        raise _invalid("exists match pattern must be either true or false.")
                    exists.append(operand)
                elif operator == "anything-but":
                    negations.append(_anything_but(operand))
                else:
                    conditions.append(_condition(operator, operand))
            elif isinstance(value, list):
                raise _invalid("Match value must be String, number, true, false, or null")
            else:
                exact.append(value)
        self.exists = tuple(exists)
        self.exact = _ValueSet(exact) if exact else None
        self.conditions = tuple(conditions)
        self.negations = tuple(negations)

    def match(self, present, values, every_element):
        """Match a key's values; `every_element` makes `anything-but` hold for all of them."""
        for wanted in self.exists:
            if wanted is present:
                return True
        if not values:
            return False
        exact = self.exact
        if exact is not None:
            for value in values:
                if exact.has(value):
                    return True
        for condition in self.conditions:
            for value in values:
                if condition(value):
                    return True
        for negation in self.negations:
            if every_element:
                if all(negation(value) for value in values):
                    return True
            elif any(negation(value) for value in values):
                return True
        return False

    def describe(self):
        """Show this clause as the policy wrote it: `store: ["example_corp"]`."""
        return f"{self.name}: {json.dumps(self.values, ensure_ascii=False)}"

    def __repr__(self):
        return f"<_KeyMatcher {self.name!r}>"


def _describe_values(scope, name, present, values, every_element):
    """Word what a message holds under one policy key, for `FilterPolicy.explain`."""
    what = f'field "{name}"' if scope == MESSAGE_BODY else f'attribute "{name}"'
    if not present:
        return f"{what[: what.index(' ')]} missing"
    if not values:
        return f"{what} has no value"
    shown = [_show_value(value) for value in values[:5]]
    if len(values) > 5:
        shown.append("…")
    if len(values) == 1 and not every_element:
        return f"{what} is {shown[0]}"
    return f"{what} is [{', '.join(shown)}]"


def _show_value(value):
    if type(value) is float and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '…"'


def _only_key(expression):
    if len(expression) != 1:
        raise _invalid("Only one key allowed in match expression")
    return next(iter(expression.items()))


def _condition(operator, operand):
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str):
            raise _invalid(f"{operator} match pattern must be a string")
        if operator == "prefix":
            return lambda value: type(value) is str and value.startswith(operand)
        if operator == "suffix":
            return lambda value: type(value) is str and value.endswith(operand)
        folded = operand.lower()
        return lambda value: type(value) is str and value.lower() == folded
    if operator == "numeric":
        return _numeric(operand)
    if operator == "cidr":
        return _cidr(operand)
    raise _invalid(f"Unrecognized match type {operator}")


def _anything_but(operand):
    if isinstance(operand, dict):
        operator, prefix = _only_key(operand)
        if operator != "prefix":
            raise _invalid(f"Unsupported anything-but pattern: {operator}")
        if not isinstance(prefix, str):
            raise _invalid("prefix match pattern must be a string")
        return lambda value: not (type(value) is str and value.startswith(prefix))
    excluded = operand if isinstance(operand, list) else [operand]
    for value in excluded:
        if isinstance(value, dict | list):
            raise _invalid("Inside anything but list, start|null|boolean is not supported.")
    excluded = _ValueSet(excluded)
    return lambda value: not excluded.has(value)


def _numeric(operand):
    if not isinstance(operand, list):
        raise _invalid("Value of numeric must be an array.")
    if not operand:
        raise _invalid("Invalid member in numeric match: ]")
    operator = operand[0]
    if not isinstance(operator, str):
        raise _invalid(f"Invalid member in numeric match: {_show(operator)}")
    if operator not in NUMERIC_OPERATORS:
        raise _invalid(f"Unrecognized numeric range operator: {operator}")
    bottom = _number_after(operator, operand, 1)
    if len(operand) == 2:
        return _bounds(operator, bottom, None, None)
    if operator not in LOWER_BOUNDS:
        raise _invalid("Too many elements in numeric expression")
    top_operator = operand[2]
    if not isinstance(top_operator, str):
        raise _invalid(f"Bad value in numeric range: {_show(top_operator)}")
    if top_operator not in UPPER_BOUNDS:
        raise _invalid(f"Bad numeric range operator: {top_operator}")
    top = _number_after(top_operator, operand, 3)
    if top <= bottom:
        raise _invalid("Bottom must be less than top")
    if len(operand) > 4:
        raise _invalid("Too many terms in numeric range expression")
    return _bounds(operator, bottom, top_operator, top)


def _number_after(operator, operand, index):
    value = operand[index] if index < len(operand) else None
    if not _is_number(value):
        raise _invalid(f"Value of {'equals' if operator == '=' else operator} must be numeric")
    return float(value)


def _bounds(operator, bottom, top_operator, top):
    if operator == "=":
        return lambda value: type(value) is float and value == bottom
    if top_operator is None:
        if operator == "<":
            return lambda value: type(value) is float and value < bottom
        if operator == "<=":
            return lambda value: type(value) is float and value <= bottom
        if operator == ">":
            return lambda value: type(value) is float and value > bottom
        return lambda value: type(value) is float and value >= bottom
    above = bottom.__lt__ if operator == ">" else bottom.__le__
    below = top.__gt__ if top_operator == "<" else top.__ge__
    return lambda value: type(value) is float and above(value) and below(value)


def _cidr(operand):
    if not isinstance(operand, str):
        # SNS reports a non-string cidr with the prefix operator's message.
        raise _invalid("prefix match pattern must be a string")
    parts = operand.split("/")
    if len(parts) != 2:
        raise _invalid("Malformed CIDR, one '/' required")
    address, mask = parts
    if not mask.isdigit():
        raise _invalid("Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(operand, strict=False)
    except ValueError:
        raise _invalid(f"Nonstandard IP address: {address}") from None

    def in_network(value):
        if type(value) is not str:
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return in_network


class _ValueSet:
    """Exact values split by JSON type, so 1 never equals true and "1" never equals 1."""

    __slots__ = ("strings", "numbers", "booleans", "null")

    def __init__(self, values):
        self.strings = frozenset(value for value in values if isinstance(value, str))
        self.numbers = frozenset(float(value) for value in values if _is_number(value))
        self.booleans = frozenset(value for value in values if isinstance(value, bool))
        self.null = any(value is None for value in values)

    def has(self, value):
        kind = type(value)
        if kind is str:
            return value in self.strings
        if kind is float:
            return value in self.numbers
        if kind is bool:
            return value in self.booleans
        return value is None and self.null


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value):
    return value if isinstance(value, str) else json.dumps(value)


# Message values, normalised to str | float | bool | None (every number a float).


def _attribute_values(attribute):
    """Return (present, values, every_element) for one message attribute, or an absent one."""
    if not attribute:
        return False, (), False
    data_type = attribute.get("DataType") or ""
    if data_type.startswith("Binary"):
        # SNS ignores Binary attributes altogether: not even `exists` sees them.
        return False, (), False
    raw = attribute.get("StringValue")
    if raw is None:
        return True, (), False
    if data_type == "String.Array":
        return True, _string_array(raw), True
    if data_type.startswith("Number"):
        try:
            return True, (float(raw),), False
        except ValueError:
            return True, (raw,), False
    return True, (raw,), False


@lru_cache(maxsize=256)
def _string_array(raw):
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    values = []
    _collect(items, values)
    return tuple(values)


def _collect(items, values):
    for item in items:
        if isinstance(item, list):
            _collect(item, values)
        elif not isinstance(item, dict):
            values.append(_scalar(item))


@lru_cache(maxsize=32)
def _body_fields(body):
    """Flatten a JSON object body to {"dotted.path": (leaf values...)}; None when it isn't one.

    Cached because one publish checks the same body against every subscription of the topic;
    callers only read the result. Paths are joined with dots, so (as in SNS) a policy key
    "a.b" finds both {"a": {"b": 1}} and {"a.b": 1}.
    """
    try:
        document = json.loads(body)
        if not isinstance(document, dict):
            return None
        fields = {}
        _flatten(document, "", fields)
    except (ValueError, TypeError, RecursionError):
        return None
    return {path: tuple(values) for path, values in fields.items()}


def _flatten(node, path, fields):
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{path}.{key}" if path else key, fields)
    elif isinstance(node, list):
        for item in node:
            _flatten(item, path, fields)
    else:
        fields.setdefault(path, []).append(_scalar(node))


def _scalar(value):
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    return str(value)
