"""The console's two roles: every logged-in user reads; operators also change things.

An operator is a superuser or a user with the `console.operate` permission, which the
"Operators" group (created by a migration) carries: add people to that group in the admin.
`is_operator` is the one check every door asks before a change: the console's views (through
`console.views.guards.operator_required`) and the REST API's session authentication alike.
"""

import json

from django.contrib.auth import get_user_model

from aws_protocol import authorization, iam_policy
from console import access_keys
from console.models import AccessKey, UserScope

OPERATE_PERMISSION = "console.operate"
OPERATORS_GROUP = "Operators"
REFUSED = "Only operators can change this; ask an administrator to add you to Operators."


def is_operator(principal):
    """Whether this principal (a user or an access key) may change things.

    Superusers and holders of `console.operate` may; other users only read. An active access key
    may: keys are made by operators for programs, and the wire protocols have no read-only role.
    """
    if isinstance(principal, AccessKey):
        return principal.is_active
    return bool(
        getattr(principal, "is_authenticated", False)
        and principal.is_active
        and (principal.is_superuser or principal.has_perm(OPERATE_PERMISSION))
    )


def policy_for_user(user):
    """A console user's scope as an IAM policy, or None when they may see everything.

    Scoping a user writes their name patterns as Allow statements, so the console, the REST API
    and the policy simulator judge users and access keys with the one evaluator.
    """
    if getattr(user, "is_superuser", False):
        return None
    try:
        scope = user.console_scope
    except (UserScope.DoesNotExist, AttributeError):
        return None
    return iam_policy.compiled(scope_document(scope))


def scope_document(scope):
    """The policy document that stands for a user's scope."""
    queues = UserScope.patterns(scope.queue_patterns)
    topics = UserScope.patterns(scope.topic_patterns)
    statements = [
        {
            "Sid": "ListEverything",
            "Effect": "Allow",
            "Action": ["sqs:ListQueues", "sns:ListTopics", "sns:ListSubscriptions"],
            "Resource": "*",
        }
    ]
    if queues:
        statements.append(
            {
                "Sid": "ScopedQueues",
                "Effect": "Allow",
                "Action": ["sqs:*", "roost:GetAuditLog"],
                "Resource": [f"arn:aws:sqs:*:*:{pattern}" for pattern in queues],
            }
        )
    if topics:
        statements.append(
            {
                "Sid": "ScopedTopics",
                "Effect": "Allow",
                "Action": ["sns:*", "roost:GetAuditLog"],
                "Resource": [f"arn:aws:sns:*:*:{pattern}" for pattern in topics]
                + [f"arn:aws:sns:*:*:{pattern}:*" for pattern in topics],
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def register_principals():
    """Tell the authorization check what access keys and console users are."""
    authorization.register(AccessKey, access_keys.policy_of, lambda key: key.access_key_id)
    authorization.register(get_user_model(), policy_for_user, lambda user: user.get_username())
