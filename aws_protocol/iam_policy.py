"""IAM identity policies: the grammar Roost accepts, its validation, and IAM's evaluation.

A subset of IAM's policy language, checked as IAM checks it on save (its MalformedPolicyDocument
messages) and evaluated as IAM evaluates an identity policy: an explicit Deny wins, then an
Allow, else the request is implicitly denied. Supported: `Version`, `Id`, `Statement` (one
object or a list) with `Sid`, `Effect`, `Action` / `NotAction` and `Resource` / `NotResource`,
each a string or a list, with the `*` and `?` wildcards. Actions match case-insensitively,
resources case-sensitively, as in IAM. Conditions and principals are refused rather than
ignored: ignoring a condition would grant more than the policy says.

A parsed policy is immutable and compiled to one regular expression per element, so a check of
a ten-statement policy costs a few microseconds; `compiled(text)` keeps parsed policies by text.
"""

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from aws_protocol.errors import ClientError

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_SIZE = 6144  # IAM's quota for a managed policy, counted without whitespace

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

_TOP_LEVEL = {"Version", "Id", "Statement"}
_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
}
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[A-Za-z0-9.-]+")
_ACTION_NAME = re.compile(r"[A-Za-z0-9*?]+")


class MalformedPolicyDocument(ClientError):
    code = "MalformedPolicyDocument"
    default_message = "Syntax errors in policy."


@dataclass(frozen=True)
class Statement:
    """One statement as written, with its place in the policy (0-based) for explanations."""

    index: int
    sid: str
    effect: str
    document: dict = field(repr=False, compare=False)
    _actions: re.Pattern = field(repr=False)
    _actions_negated: bool = field(repr=False)
    _resources: re.Pattern = field(repr=False)
    _resources_negated: bool = field(repr=False)

    def applies_to(self, action, resource):
        action_hit = self._actions.fullmatch(action) is not None
        if action_hit == self._actions_negated:
            return False
        resource_hit = self._resources.fullmatch(resource) is not None
        return resource_hit != self._resources_negated

    @property
    def label(self):
        """How people refer to the statement: its Sid, else its position."""
        return self.sid or f"Statement {self.index + 1}"


@dataclass(frozen=True)
class Decision:
    """IAM's verdict on one request: allowed, explicitDeny or implicitDeny, and the statement
    that decided it (None for an implicit deny, or when there is no policy at all)."""

    verdict: str
    statement: Statement | None = None

    @property
    def allowed(self):
        return self.verdict == ALLOWED


FULL_ACCESS = Decision(ALLOWED)


class Policy:
    """A validated identity policy, ready to evaluate requests against."""

    def __init__(self, text, statements):
        self.text = text
        self.statements = tuple(statements)
        self._decisions = {}

    def evaluate(self, action, resource):
        """IAM's decision for `action` (e.g. "sqs:SendMessage") on the resource ARN."""
        key = (action, resource)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._evaluate(action, resource)
            if len(self._decisions) >= 4096:  # a key touching many queues: start again
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def _evaluate(self, action, resource):
        allowed_by = None
        for statement in self.statements:
            if not statement.applies_to(action, resource):
                continue
            if statement.effect == "Deny":
                return Decision(EXPLICIT_DENY, statement)
            if allowed_by is None:
                allowed_by = statement
        if allowed_by is not None:
            return Decision(ALLOWED, allowed_by)
        return Decision(IMPLICIT_DENY)


def parse(text):
    """Validate a policy document (JSON text) and compile it; raises MalformedPolicyDocument."""
    if not isinstance(text, str):
        raise MalformedPolicyDocument()
    if len("".join(text.split())) > MAX_POLICY_SIZE:
        raise MalformedPolicyDocument(f"Cannot exceed quota for PolicySize: {MAX_POLICY_SIZE}")
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except (ValueError, RecursionError):
        raise MalformedPolicyDocument("Syntax errors in policy.") from None
    if not isinstance(document, dict) or not set(document) <= _TOP_LEVEL:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    if "Version" in document and document["Version"] not in VERSIONS:
        raise MalformedPolicyDocument("The policy must contain a valid version string")
    if "Id" in document and not isinstance(document["Id"], str):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    statements = [_statement(index, raw) for index, raw in enumerate(raw_statements)]
    sids = [statement.sid for statement in statements if statement.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyDocument("Statement IDs (SID) in a single policy must be unique.")
    return Policy(text, statements)


@lru_cache(maxsize=1024)
def compiled(text):
    """`parse(text)`, kept: every access key holding the same document shares one Policy."""
    return parse(text)


def pretty(text):
    """The document indented the way the console shows it; the text itself if it is not JSON."""
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def _refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _statement(index, raw):
    if not isinstance(raw, dict) or not set(raw) <= _STATEMENT_KEYS:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    if "Principal" in raw or "NotPrincipal" in raw:
        raise MalformedPolicyDocument("Policy document should not specify a principal.")
    if "Condition" in raw:
        raise MalformedPolicyDocument(
            "Conditions are not supported: Roost evaluates Effect, Action, NotAction, Resource "
            "and NotResource only."
        )
    sid = raw.get("Sid", "")
    if not isinstance(sid, str):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    if not _SID.fullmatch(sid):
        raise MalformedPolicyDocument(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
            "regular expression [0-9A-Za-z]*"
        )
    effect = raw.get("Effect")
    if not isinstance(effect, str):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    if effect not in ("Allow", "Deny"):  # IAM's words for "allow" and any other spelling
        raise MalformedPolicyDocument("The policy failed legacy parsing")
    actions, actions_negated = _either(
        raw, "Action", "NotAction", "Policy statement must contain actions."
    )
    resources, resources_negated = _either(
        raw, "Resource", "NotResource", "Policy statement must contain resources."
    )
    for action in actions:
        _check_action(action)
    for resource in resources:
        _check_resource(resource)
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        document=raw,
        _actions=_pattern(actions, re.IGNORECASE),
        _actions_negated=actions_negated,
        _resources=_pattern(resources, 0),
        _resources_negated=resources_negated,
    )


def _either(raw, positive, negative, missing):
    """The values of the one element of a pair a statement has (Action or NotAction)."""
    if positive in raw and negative in raw:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    name = positive if positive in raw else negative if negative in raw else None
    if name is None:
        raise MalformedPolicyDocument(missing)
    values = raw[name]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise MalformedPolicyDocument("Syntax errors in policy." if values != [] else missing)
    return values, name == negative


def _check_action(action):
    if action == "*":
        return
    vendor, colon, name = action.partition(":")
    if not colon:
        raise MalformedPolicyDocument(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        )
    if ":" in name:
        raise MalformedPolicyDocument("Actions/Condition can contain only one colon.")
    if not _VENDOR.fullmatch(vendor):
        raise MalformedPolicyDocument(f"Vendor {vendor} is not valid")
    if not _ACTION_NAME.fullmatch(name):
        raise MalformedPolicyDocument(f"Action {action} is not valid")


def _check_resource(resource):
    if resource == "*":
        return
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        raise MalformedPolicyDocument(f'Resource {resource} must be in ARN format or "*".')


def _pattern(globs, flags):
    """One expression matching any of the globs, where * is any run and ? any one character."""
    alternatives = (
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
        for glob in globs
    )
    return re.compile("(?:" + "|".join(alternatives) + ")", flags | re.DOTALL)
