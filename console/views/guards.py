"""Who gets through to a console view that changes things."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden

from console.roles import REFUSED, is_operator
from console.views.responses import with_toast


def operator_required(view):
    """Let only operators through: anonymous users go to the login page, others get a 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            return with_toast(HttpResponseForbidden(REFUSED), REFUSED, level="error")
        return view(request, *args, **kwargs)

    return wrapped
