"""A subscription's tokens: confirming it, unsubscribing it, and restoring it.

The confirmation message (sent again on request, and its attempts) and ConfirmSubscription; Unsubscribe, which keeps a removed confirmed
HTTP(S) subscription three days so its UnsubscribeConfirmation's token can restore it; and the
unauthenticated unsubscribe link every delivery carries.
"""

import secrets
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit import log as audit_log
from notifications import delivery, dispatch
from notifications.errors import AuthorizationError, InvalidParameter, NotFound, Throttling
from notifications.models import ConfirmationAttempt, RemovedSubscription, Subscription, Topic
from notifications.service.lookups import get_subscription, get_topic, topic_cache
from queues.models import now_ms

# SNS keeps a confirmation token valid for three days.
CONFIRMATION_TOKEN_TTL_MS = 3 * 24 * 3600 * 1000
# Subscriptions that stay pending until their endpoint confirms; queues are confirmed at once.
CONFIRMED_BY_ENDPOINT = ("http", "https", "email", "email-json")


# Someone asking for a confirmation to be sent again waits this long after the last one they (or
# anyone) asked for: an endpoint or inbox gets a few, not one per click.
RESEND_INTERVAL_MS = 30_000


def _send_confirmation(subscription, requested_by=""):
    """Ask for a confirmation message after commit; a fresh token if the old one expired.

    Returns whether one was asked for (not when the subscription is no longer pending).
    """
    now = now_ms()
    changes = {"confirmation_sent_at": 0}
    if subscription.confirmation_sent_at and (
        now - subscription.confirmation_sent_at > CONFIRMATION_TOKEN_TTL_MS
    ):
        changes["confirmation_token"] = secrets.token_hex(64)
    # One UPDATE, and only while pending: a subscription confirmed or unsubscribed since it was
    # read needs no message (and a save of the stale row would fail or undo the confirmation).
    pending = Subscription.objects.filter(pk=subscription.pk, status=Subscription.Status.PENDING)
    if not pending.update(**changes):
        return False
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription_id = subscription.pk
    transaction.on_commit(lambda: dispatch.confirmation(subscription_id, requested_by=requested_by))
    return True


def resend_confirmation(subscription, requested_by=""):
    """Send a pending subscription a fresh confirmation, the way Subscribe sends one; return it.

    Refused while one is still on its way (its attempt not logged yet), and within
    RESEND_INTERVAL_MS of the last one someone asked for.
    """
    if subscription.protocol not in CONFIRMED_BY_ENDPOINT:
        raise InvalidParameter(
            f"Invalid parameter: {subscription.protocol} subscriptions need no confirmation"
        )
    with transaction.atomic():
        locked = _locked_subscription(subscription)  # two clicks at once send one confirmation
        if locked.is_confirmed:
            raise InvalidParameter("Invalid parameter: the subscription is confirmed already")
        if not locked.confirmation_sent_at:
            raise Throttling(
                f"A confirmation to {locked.endpoint} is on its way already; it shows in the "
                "attempts once a worker has sent it."
            )
        last_asked = (
            ConfirmationAttempt.objects.filter(subscription=locked)
            .exclude(requested_by="")
            .order_by("-id")
            .values_list("attempted_at", flat=True)
            .first()
        )
        wait_ms = (last_asked or 0) + RESEND_INTERVAL_MS - now_ms()
        if wait_ms > 0:
            raise Throttling(
                f"A confirmation was resent to {locked.endpoint} moments ago; you can send "
                f"another in {-(-wait_ms // 1000)} s."
            )
        _send_confirmation(locked, requested_by or "someone")
    return locked


def confirmation_attempts(subscription):
    """A subscription's latest confirmation attempts, newest first."""
    return list(ConfirmationAttempt.objects.filter(subscription=subscription).order_by("-id"))


def confirm_subscription(topic_arn, token, authenticated=True, authenticate_on_unsubscribe=False):
    """Confirm the pending subscription a token names; return it (confirmed ones stay so)."""
    topic = get_topic(topic_arn)
    if not token:
        raise InvalidParameter("Invalid parameter: Token")
    with transaction.atomic():
        # Locked, and only the confirmation's fields written: an attribute change made while
        # this runs is kept, and two confirmations of one subscription confirm it once.
        subscription = (
            Subscription.objects.select_related("topic")
            .select_for_update(of=("self",))
            .filter(topic=topic, confirmation_token=token)
            .first()
        )
        if subscription is None:
            subscription = _restore(topic, token, authenticated)
        if subscription is None:
            raise InvalidParameter("Invalid parameter: Token")
        if subscription.is_confirmed:
            return subscription
        if (
            subscription.confirmation_sent_at
            and now_ms() - subscription.confirmation_sent_at > CONFIRMATION_TOKEN_TTL_MS
        ):
            raise InvalidParameter("Invalid parameter: Token Reason: the token has expired")
        subscription.status = Subscription.Status.CONFIRMED
        subscription.confirmed_at = timezone.now()
        subscription.confirmation_was_authenticated = authenticated
        fields = ["status", "confirmed_at", "confirmation_was_authenticated"]
        if authenticate_on_unsubscribe:
            subscription.extra_attributes = {
                **subscription.extra_attributes,
                "AuthenticateOnUnsubscribe": "true",
            }
            fields.append("extra_attributes")
        subscription.save(update_fields=fields)
        audit_log.record(
            "ConfirmSubscription",
            "subscription",
            subscription.arn,
            topic=topic.name,
            authenticated=authenticated,
        )
    topic_cache.forget(topic.name)
    return subscription


def unsubscribe(subscription):
    """Remove a subscription; a confirmed HTTP(S) one's endpoint is told once this commits.

    SNS sends that endpoint a signed UnsubscribeConfirmation whose SubscribeURL restores the
    subscription: the removed subscription is kept (RemovedSubscription) for that, three days.
    """
    with transaction.atomic():
        # The topic's row first, as DeleteTopic locks it before its subscriptions: the other
        # order deadlocks against a DeleteTopic of the same topic.
        Topic.objects.filter(pk=subscription.topic_id).update(
            subscriptions_deleted=F("subscriptions_deleted") + 1
        )
        removed = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("topic")
            .filter(pk=subscription.pk)
            .first()
        )
        if removed is not None:
            removed.delete()
            audit_log.record("Unsubscribe", "subscription", removed.arn, topic=removed.topic.name)
            if removed.protocol in ("http", "https") and removed.is_confirmed:
                _keep_removed(removed)
    topic_cache.forget(subscription.topic.name)


# What a restored subscription gets back of the one removed.
_RESTORED_FIELDS = (
    "raw_message_delivery",
    "filter_policy",
    "filter_policy_scope",
    "redrive_policy",
    "delivery_policy",
    "extra_attributes",
    "unsubscribe_token",
)


def _keep_removed(subscription):
    """Record a removed HTTP(S) subscription and send its UnsubscribeConfirmation after commit."""
    removed = RemovedSubscription.objects.create(
        topic=subscription.topic,
        uuid=subscription.uuid,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint,
        token=secrets.token_hex(64),
        message_id=str(uuid.uuid4()),
        unsubscribed_at=now_ms(),
        settings={name: getattr(subscription, name) for name in _RESTORED_FIELDS},
    )
    removed_id = removed.pk
    transaction.on_commit(lambda: dispatch.unsubscribe_confirmation(removed_id))


def _restore(topic, token, authenticated):
    """The subscription an UnsubscribeConfirmation's token restores (confirmed, under its old
    ARN), or None if the token names no subscription removed in the last three days.

    If the endpoint subscribed again since, that subscription stands and is the answer.
    """
    with transaction.atomic():
        removed = (
            RemovedSubscription.objects.select_for_update()
            .filter(
                topic=topic,
                token=token,
                unsubscribed_at__gt=now_ms() - delivery.RESTORE_WINDOW_MS,
            )
            .first()
        )
        if removed is None:
            return None
        removed.delete()
        subscription = Subscription(
            topic=topic,
            uuid=removed.uuid,
            protocol=removed.protocol,
            endpoint=removed.endpoint,
            status=Subscription.Status.CONFIRMED,
            confirmation_token=removed.token,
            confirmation_was_authenticated=authenticated,
            confirmed_at=timezone.now(),
            **{name: value for name, value in removed.settings.items() if name in _RESTORED_FIELDS},
        )
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            # Subscribed again since: that subscription stands.
            subscription = Subscription.objects.filter(
                topic=topic, protocol=removed.protocol, endpoint=removed.endpoint
            ).first()
        name = topic.name
        transaction.on_commit(lambda: topic_cache.forget(name))
    return subscription


def unsubscribe_with_token(subscription_arn, token):
    """Unsubscribe through the link a delivery carried: only for the token it names."""
    subscription = subscription_for_unsubscribe_link(subscription_arn, token)
    unsubscribe(subscription)
    return subscription


def subscription_for_unsubscribe_link(subscription_arn, token):
    """The subscription an unsubscribe link may remove, or the error the link deserves.

    An unknown subscription gets the same answer as a wrong token: links are unauthenticated.
    """
    try:
        subscription = get_subscription(subscription_arn)
    except NotFound:
        raise AuthorizationError("Invalid token for this subscription") from None
    if not token or not secrets.compare_digest(
        subscription.unsubscribe_token.encode(), str(token).encode()
    ):
        raise AuthorizationError("Invalid token for this subscription")
    if subscription.extra_attributes.get("AuthenticateOnUnsubscribe") == "true":
        raise AuthorizationError(
            "This subscription can only be removed by an authenticated Unsubscribe call"
        )
    return subscription


def _locked_subscription(subscription):
    """The subscription's row, fresh and locked until the transaction ends, or NotFound."""
    locked = (
        Subscription.objects.select_related("topic")
        .select_for_update(of=("self",))
        .filter(pk=subscription.pk)
        .first()
    )
    if locked is None:
        raise NotFound("Subscription does not exist")
    return locked
