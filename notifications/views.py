"""Pages SNS subscribers reach without an account: the signing certificate and the email links.

Nobody logs in here: the certificate is public, and each link carries the token that authorises
what it does, so these views trust the token and nothing else.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from aws_protocol.errors import RoostError
from notifications import envelopes, service, signing

# The certificate's name is its fingerprint, so what a name serves never changes.
CERTIFICATE_MAX_AGE = 24 * 3600


@require_safe
def signing_certificate(request, fingerprint):
    """Serve the certificate SigningCertURL names; any other fingerprint is not found."""
    if fingerprint != signing.certificate_fingerprint():
        raise Http404("No such certificate")
    response = HttpResponse(
        signing.signing_certificate_pem(), content_type="application/x-pem-file"
    )
    patch_cache_control(response, public=True, max_age=CERTIFICATE_MAX_AGE)
    return response


@never_cache
@require_safe
def confirm_subscription(request):
    """Confirm an email subscription from the link in its confirmation email.

    Confirming on GET is what SNS does and what a person clicking the link expects; a mail
    scanner that follows the link confirms a subscription someone asked for, and every
    notification carries the link to undo it.
    """
    try:
        subscription = service.confirm_subscription(
            request.GET.get("TopicArn", ""), request.GET.get("Token", ""), authenticated=False
        )
    except RoostError as error:
        return _link_error(
            request,
            error,
            "Subscription not confirmed",
            "This confirmation link is not valid. It may be incomplete, it may have expired "
            "(links work for three days), or its topic may have been deleted. Subscribe again "
            "to get a new link.",
        )
    return render(
        request,
        "notifications/subscription_confirmed.html",
        {
            "subscription": subscription,
            "unsubscribe_url": envelopes.unsubscribe_page_url(subscription),
        },
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request):
    """Unsubscribe through the link in a notification email: GET asks, POST unsubscribes.

    SNS unsubscribes on GET. Roost asks first because mail scanners and link previews (Outlook
    Safe Links, security gateways) fetch every link in a message: an unsubscribing GET would end
    someone's notifications without a word, which is worse than one more click. The POST needs
    no CSRF token: the unsubscribe token it carries is what authorises it, not a cookie a forged
    request could ride on. So mail clients may also POST `List-Unsubscribe=One-Click` to the
    link itself (RFC 8058).
    """
    arn = request.POST.get("SubscriptionArn") or request.GET.get("SubscriptionArn", "")
    token = request.POST.get("Token") or request.GET.get("Token", "")
    explanation = (
        "This unsubscribe link is not valid, or the subscription was already removed. If you "
        "still receive notifications, use the link in the latest one."
    )
    if request.method == "POST":
        try:
            subscription = service.unsubscribe_with_token(arn, token)
        except RoostError as error:
            return _link_error(request, error, "Not unsubscribed", explanation)
        return render(
            request, "notifications/unsubscribe.html", {"subscription": subscription, "done": True}
        )
    try:
        subscription = service.subscription_for_unsubscribe_link(arn, token)
    except RoostError as error:
        return _link_error(request, error, "Not unsubscribed", explanation)
    return render(
        request, "notifications/unsubscribe.html", {"subscription": subscription, "token": token}
    )


def _link_error(request, error, heading, explanation):
    return render(
        request,
        "notifications/link_error.html",
        {"error": error, "heading": heading, "explanation": explanation},
        status=error.status,
    )
