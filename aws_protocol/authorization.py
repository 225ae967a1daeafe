"""Who may do what: the one check every door (SQS, SNS, REST, the console) asks before it acts.

`authorize(principal, action, resource)` answers an action such as "sqs:SendMessage" on a
resource ARN for whoever made the request, raising `AccessDenied` with the message AWS uses; the
policy simulator asks `decide` for the same verdict with the statement that made it. The
evaluation itself is IAM's (`iam_policy`).

This kernel knows no app, so the project tells it what a principal is: `register(type,
policy_of, name_of)` for each kind (access keys, console users). `policy_of(principal)` returns
an `iam_policy.Policy`, or None for full access; `name_of` is the name in the IAM user ARN that
error messages show.
"""

from django.conf import settings

from aws_protocol import iam_policy
from aws_protocol.errors import AccessDenied

_kinds = {}


def register(principal_type, policy_of, name_of):
    """Teach the check a kind of principal (see the module's docstring)."""
    _kinds[principal_type] = (policy_of, name_of)


def decide(principal, action, resource):
    """IAM's Decision for this principal doing `action` on `resource`.

    A principal of no registered kind (None: an unsigned request) is denied implicitly.
    """
    policy = _policy_of(principal)
    if policy is None:
        return iam_policy.FULL_ACCESS
    if policy is False:
        return iam_policy.Decision(iam_policy.IMPLICIT_DENY)
    return policy.evaluate(action, resource)


def has_full_access(principal):
    """Whether the principal may do anything (no policy): doors skip working out resources."""
    return _policy_of(principal) is None


def authorize(principal, action, resource, spelled=None):
    """Return the Decision if the principal may do `action` on `resource`; else raise
    AccessDenied.

    `spelled` is the action as the door's AWS service writes it in the message (SQS writes
    "sqs:sendmessage", SNS "SNS:Publish"); the action itself by default.
    """
    decision = decide(principal, action, resource)
    if not decision.allowed:
        raise AccessDenied(denial_message(principal, spelled or action, resource, decision))
    return decision


def denial_message(principal, action, resource, decision):
    """AWS's wording for a refused call, naming the principal, the action and the resource."""
    reason = (
        "with an explicit deny in an identity-based policy"
        if decision.verdict == iam_policy.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return (
        f"User: {principal_arn(principal)} is not authorized to perform: {action} "
        f"on resource: {resource} {reason}"
    )


def principal_arn(principal):
    """The IAM user ARN that stands for the principal in messages (Roost keys have no users)."""
    kind = _kind(principal)
    return user_arn(kind[1](principal) if kind else "anonymous")


def user_arn(name):
    """The IAM user ARN of this name in Roost's account (`*` for every user)."""
    return f"arn:aws:iam::{settings.ROOST_ACCOUNT_ID}:user/{name}"


def account_resource(service):
    """The resource an account-wide action (ListQueues, ListTopics) is checked against."""
    return f"arn:aws:{service}:{settings.ROOST_REGION}:{settings.ROOST_ACCOUNT_ID}:*"


def _policy_of(principal):
    kind = _kind(principal)
    if kind is None:
        return False
    return kind[0](principal)


def _kind(principal):
    kind = _kinds.get(type(principal))
    if kind is None:
        for principal_type, found in _kinds.items():
            if isinstance(principal, principal_type):
                return found
    return kind
