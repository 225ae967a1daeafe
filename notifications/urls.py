"""The pages subscribers reach, under /sns/: the signing certificate and the email links."""

from django.urls import path, re_path

from notifications import views

app_name = "notifications"

urlpatterns = [
    # The name signing.signing_cert_url gives the certificate, as SNS names its own.
    re_path(
        r"^SimpleNotificationService-(?P<fingerprint>[0-9a-f]+)\.pem$",
        views.signing_certificate,
        name="signing-certificate",
    ),
    path("confirmation/", views.confirm_subscription, name="confirm-subscription"),
    path("unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
