"""Who gets through to a console view: the role check for changes, the scope check for queues
and topics, and the IAM check for access keys.

Every view that names a queue or a topic fetches it with `queue_for_user` / `topic_for_user`,
which ask `aws_protocol.authorization` (the evaluator every door uses) about the user: a name
outside the user's scope answers 404 exactly as a name that does not exist, so a scope does not
reveal other teams' queues; an action the scope does not allow answers 403. A subscription's
actions are checked against its topic's ARN: scopes are drawn by topic name.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseForbidden

from aws_protocol import authorization
from aws_protocol.errors import AccessDenied
from console.models import UserScope
from console.roles import REFUSED, is_operator, policy_for_user
from console.views.responses import with_toast
from notifications.models import Topic, topic_arn
from queues.models import Queue, queue_arn

# What seeing a queue's or a topic's page takes.
SEE_QUEUE = "sqs:GetQueueAttributes"
SEE_TOPIC = "sns:GetTopicAttributes"
KEYS_REFUSED = "Your console scope does not include managing access keys."


def operator_required(view):
    """Let only operators through: anonymous users go to the login page, others get a 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            return with_toast(HttpResponseForbidden(REFUSED), REFUSED, level="error")
        return view(request, *args, **kwargs)

    return wrapped


def can_see_queue(user, name):
    return authorization.decide(user, SEE_QUEUE, queue_arn(name)).allowed


def can_see_topic(user, name):
    return authorization.decide(user, SEE_TOPIC, topic_arn(name)).allowed


def queue_for_user(request, name, action=SEE_QUEUE):
    """The queue named `name` if the user may see it and do `action` (IAM's name) on it.

    Out of scope or missing: 404; in scope but the action not allowed: 403.
    """
    _check(request.user, action, queue_arn(name), can_see_queue(request.user, name))
    queue = Queue.objects.select_related("dead_letter_queue").filter(name=name).first()
    if queue is None:
        raise Http404(f"There is no queue named {name}.")
    return queue


def topic_for_user(request, name, action=SEE_TOPIC):
    """The topic named `name` if the user may see it and do `action` on it; 404 / 403 else."""
    _check(request.user, action, topic_arn(name), can_see_topic(request.user, name))
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        raise Http404(f"There is no topic named {name}.")
    return topic


def authorize(user, action, resource):
    """Raise AccessDenied (a RoostError, so an action's form shows it) unless the user may."""
    return authorization.authorize(user, action, resource)


def _check(user, action, resource, visible):
    if not visible:
        name = resource.rsplit(":", 1)[-1]
        kind = "queue" if resource.startswith("arn:aws:sqs:") else "topic"
        raise Http404(f"There is no {kind} named {name}.")
    try:
        authorization.authorize(user, action, resource)
    except AccessDenied as denied:
        raise PermissionDenied(denied.message) from None


def _scope(user):
    if policy_for_user(user) is None:
        return None
    return user.console_scope


def queue_scope(user):
    """The queue name patterns this user may see, or None for every queue."""
    scope = _scope(user)
    return None if scope is None else UserScope.patterns(scope.queue_patterns)


def topic_scope(user):
    """The topic name patterns this user may see, or None for every topic."""
    scope = _scope(user)
    return None if scope is None else UserScope.patterns(scope.topic_patterns)


def scope_key(user):
    """What decides which rows this user's pages show, for caches shared between viewers."""
    scope = _scope(user)
    return None if scope is None else (scope.queue_patterns, scope.topic_patterns)


def in_scope_choices(user, choices, kind="queue"):
    """Choices (value, label) whose value, a queue/topic name or ARN, the user may see; a blank
    value ("None") stays. For forms whose choices list queues: DLQ and redrive targets."""
    if _scope(user) is None:
        return list(choices)
    see = can_see_queue if kind == "queue" else can_see_topic
    return [
        (value, label)
        for value, label in choices
        if not value or see(user, str(value).rsplit(":", 1)[-1])
    ]


def narrow_choices(user, form, *fields):
    """Limit these queue choice fields of `form` to the user's scope; a posted value outside it
    is then refused like any unknown choice."""
    for name in fields:
        if name in form.fields:
            form.fields[name].choices = in_scope_choices(user, form.fields[name].choices)
    return form


def key_arn(key_id=None):
    """The IAM user ARN that stands for an access key (all keys: None), as in the REST API."""
    return authorization.user_arn(key_id or "*")


def key_manager_required(action):
    """Let through users the evaluator allows `action` (an iam: action) on access keys.

    Unscoped users and superusers may (their role still decides changes); a scoped user's
    generated policy has no iam:* action, so a scope cannot be escaped by minting a key.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            resource = key_arn(kwargs.get("key_id"))
            if not authorization.decide(request.user, action, resource).allowed:
                return with_toast(HttpResponseForbidden(KEYS_REFUSED), KEYS_REFUSED, level="error")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
