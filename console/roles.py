"""The console's two roles: every logged-in user reads; operators also change things.

An operator is a superuser or a user with the `console.operate` permission, which the
"Operators" group (created by a migration) carries: add people to that group in the admin.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden

from console.views.responses import with_toast

OPERATE_PERMISSION = "console.operate"
OPERATORS_GROUP = "Operators"
REFUSED = "Only operators can change this; ask an administrator to add you to Operators."


def is_operator(user):
    """Whether this user may change things from the console (superusers always may)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm(OPERATE_PERMISSION))
    )


def operator_required(view):
    """Let only operators through: anonymous users go to the login page, others get a 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            return with_toast(HttpResponseForbidden(REFUSED), REFUSED, level="error")
        return view(request, *args, **kwargs)

    return wrapped
