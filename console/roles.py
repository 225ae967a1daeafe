"""The console's two roles: every logged-in user reads; operators also change things.

An operator is a superuser or a user with the `console.operate` permission, which the
"Operators" group (created by a migration) carries: add people to that group in the admin.
`is_operator` is the one check every door asks before a change: the console's views (through
`console.views.guards.operator_required`) and the REST API's session authentication alike.
"""

from console.models import AccessKey

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
