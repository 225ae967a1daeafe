"""The pages subscribers reach without logging in: the signing certificate and the email links."""

import hashlib
import json
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.test import Client

from notifications import envelopes, service, signing
from notifications.models import Subscription, Topic
from queues.models import now_ms
from tests.notifications.receivers import wait_until

CERTIFICATE_PATH = "/sns/SimpleNotificationService-{}.pem"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture(autouse=True)
def _fresh_topic_cache():
    """Start each test with an empty topic cache, as a new process would."""
    service.topic_cache.clear()
    yield
    service.topic_cache.clear()


@pytest.fixture
def signing_files(settings, tmp_path_factory):
    """Sign with a key made for these tests, never a developer's var/ one."""
    folder = tmp_path_factory.getbasetemp() / "sns-signing"
    settings.ROOST_SNS_SIGNING_KEY_FILE = str(folder / "key.pem")
    settings.ROOST_SNS_SIGNING_CERT_FILE = str(folder / "cert.pem")


@pytest.fixture
def pending(db):
    """A pending email subscription to the topic `orders`."""
    topic = service.create_topic("orders")
    subscription, _ = service.subscribe(topic, "email", "ada@example.com")
    return subscription


@pytest.fixture
def confirmed(db):
    """A confirmed email subscription to the topic `orders`."""
    topic = service.create_topic("orders")
    subscription, _ = service.subscribe(topic, "email", "ada@example.com")
    return service.confirm_subscription(topic.arn, subscription.confirmation_token)


def confirmation_link(subscription, **changes):
    params = {"TopicArn": subscription.topic.arn, "Token": subscription.confirmation_token}
    return "/sns/confirmation/", {**params, **changes}


def unsubscribe_params(subscription, **changes):
    params = {"SubscriptionArn": subscription.arn, "Token": subscription.unsubscribe_token}
    return {**params, **changes}


def reloaded(subscription):
    return Subscription.objects.filter(pk=subscription.pk).first()


# The signing certificate


def test_signing_certificate_is_served_under_its_fingerprint(signing_files):
    fingerprint = signing.certificate_fingerprint()
    path = urlsplit(signing.signing_cert_url("http://testserver")).path

    response = Client().get(path)

    assert path == CERTIFICATE_PATH.format(fingerprint)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    certificate = x509.load_pem_x509_certificate(response.content)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert hashlib.sha256(der).hexdigest()[:32] == fingerprint


@pytest.mark.parametrize("name", ["0" * 32, "not-hex", ""])
def test_other_certificate_names_are_not_found(signing_files, name):
    response = Client().get(CERTIFICATE_PATH.format(name))

    assert response.status_code == 404


def test_signing_cert_url_of_a_delivery_serves_the_certificate_that_signed_it(
    rest, roost_server, roost_worker, topic_name
):
    queue = rest.post("/queues", json={"name": topic_name}).json()
    rest.post("/topics", json={"name": topic_name})
    rest.post(
        f"/topics/{topic_name}/subscriptions", json={"protocol": "sqs", "endpoint": queue["arn"]}
    )
    rest.post(f"/topics/{topic_name}/publish", json={"message": "signed", "subject": "Hi"})

    [message] = wait_until(
        lambda: rest.post(
            f"/queues/{topic_name}/messages/receive", json={"wait_seconds": 5}
        ).json()["messages"],
        what="the notification in the queue",
    )
    envelope = json.loads(message["body"])
    url = envelope["SigningCertURL"]
    response = httpx.get(url)  # no credentials: subscribers fetch it anonymously

    assert url.startswith(f"{roost_server.url}/sns/SimpleNotificationService-")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-pem-file"
    certificate = x509.load_pem_x509_certificate(response.content)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert url.endswith(f"-{hashlib.sha256(der).hexdigest()[:32]}.pem")
    assert signing.verify(envelope, response.content)


# The confirmation link


def test_confirmation_link_confirms_the_subscription(pending):
    path, params = confirmation_link(pending, Endpoint=pending.endpoint)

    response = Client().get(path, params)

    assert response.status_code == 200
    assert b"Subscription confirmed" in response.content
    assert pending.arn.encode() in response.content
    subscription = reloaded(pending)
    assert subscription.is_confirmed
    assert subscription.confirmation_was_authenticated is False


def test_confirmation_page_links_to_unsubscribe(pending):
    path, params = confirmation_link(pending)
    content = Client().get(path, params).content.decode()

    link = envelopes.unsubscribe_page_url(pending).replace("&", "&amp;")

    assert f'href="{link}"' in content


def test_confirmation_link_followed_twice_still_confirms(pending):
    path, params = confirmation_link(pending)
    client = Client()

    client.get(path, params)
    again = client.get(path, params)

    assert again.status_code == 200
    assert b"Subscription confirmed" in again.content


def test_confirmation_link_with_wrong_token_is_refused(pending):
    path, params = confirmation_link(pending, Token="0" * 128)

    response = Client().get(path, params)

    assert response.status_code == 400
    assert b"Subscription not confirmed" in response.content
    assert b"Invalid parameter: Token" in response.content
    assert not reloaded(pending).is_confirmed


def test_expired_confirmation_link_is_refused(pending):
    Subscription.objects.filter(pk=pending.pk).update(confirmation_sent_at=now_ms() - 4 * DAY_MS)
    path, params = confirmation_link(pending)

    response = Client().get(path, params)

    assert response.status_code == 400
    assert b"the token has expired" in response.content
    assert not reloaded(pending).is_confirmed


def test_confirmation_link_of_a_deleted_topic_is_not_found(pending):
    path, params = confirmation_link(pending)
    service.delete_topic(pending.topic)

    response = Client().get(path, params)

    assert response.status_code == 404
    assert b"Subscription not confirmed" in response.content


def test_confirmation_link_without_parameters_is_refused(db):
    response = Client().get("/sns/confirmation/")

    assert response.status_code == 400
    assert b"Invalid parameter: TopicArn" in response.content


def test_confirmation_link_does_not_take_posts(pending):
    path, params = confirmation_link(pending)

    response = Client().post(path, params)

    assert response.status_code == 405
    assert not reloaded(pending).is_confirmed


def test_confirmation_page_escapes_the_endpoint(db):
    topic = service.create_topic("orders")
    subscription, _ = service.subscribe(topic, "email", "<b>ada</b>@example.com")
    path, params = confirmation_link(subscription)

    content = Client().get(path, params).content

    assert b"&lt;b&gt;ada&lt;/b&gt;@example.com" in content
    assert b"<b>ada</b>" not in content


# The unsubscribe link


def test_unsubscribe_link_asks_before_unsubscribing(confirmed):
    response = Client().get("/sns/unsubscribe/", unsubscribe_params(confirmed))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Unsubscribe?" in content
    assert '<form method="post" action="/sns/unsubscribe/">' in content
    assert f'name="SubscriptionArn" value="{confirmed.arn}"' in content
    assert f'name="Token" value="{confirmed.unsubscribe_token}"' in content
    assert "ada@example.com" in content
    assert reloaded(confirmed) is not None


def test_unsubscribe_link_fetched_by_head_changes_nothing(confirmed):
    response = Client().head("/sns/unsubscribe/", unsubscribe_params(confirmed))

    assert response.status_code == 200
    assert reloaded(confirmed) is not None


def test_unsubscribe_form_unsubscribes_without_a_csrf_token(confirmed):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/sns/unsubscribe/", unsubscribe_params(confirmed))

    assert response.status_code == 200
    assert b"Unsubscribed" in response.content
    assert b"ada@example.com" in response.content
    assert reloaded(confirmed) is None
    assert Topic.objects.get(name="orders").subscriptions_deleted == 1


def test_one_click_unsubscribe_posts_to_the_link_itself(confirmed):
    url = urlsplit(envelopes.unsubscribe_page_url(confirmed))

    response = Client(enforce_csrf_checks=True).post(
        f"{url.path}?{url.query}",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert reloaded(confirmed) is None


def test_unsubscribe_link_with_wrong_token_changes_nothing(confirmed):
    params = unsubscribe_params(confirmed, Token="f" * 64)
    client = Client()

    shown = client.get("/sns/unsubscribe/", params)
    posted = client.post("/sns/unsubscribe/", params)

    assert shown.status_code == posted.status_code == 403
    assert b"Not unsubscribed" in shown.content
    assert b"Invalid token for this subscription" in posted.content
    assert b"<form" not in shown.content
    assert reloaded(confirmed) is not None


def test_unsubscribe_link_without_a_token_is_refused(confirmed):
    response = Client().get("/sns/unsubscribe/", unsubscribe_params(confirmed, Token=""))

    assert response.status_code == 403
    assert b"ada@example.com" not in response.content


def test_unsubscribe_link_of_a_removed_subscription_reveals_nothing(confirmed):
    """Links are unauthenticated: a removed subscription looks like a wrong token."""
    service.unsubscribe(confirmed)

    shown = Client().get("/sns/unsubscribe/", unsubscribe_params(confirmed))
    posted = Client().post("/sns/unsubscribe/", unsubscribe_params(confirmed))

    assert shown.status_code == posted.status_code == 403
    assert b"Invalid token for this subscription" in shown.content


def test_subscription_that_asked_for_authenticated_unsubscribe_keeps_its_link_refused(pending):
    topic_arn, token = pending.topic.arn, pending.confirmation_token
    subscription = service.confirm_subscription(topic_arn, token, authenticate_on_unsubscribe=True)

    response = Client().post("/sns/unsubscribe/", unsubscribe_params(subscription))

    assert response.status_code == 403
    assert reloaded(subscription) is not None


def test_unsubscribe_page_escapes_the_endpoint(db):
    topic = service.create_topic("orders")
    subscription, _ = service.subscribe(topic, "email", "<b>ada</b>@example.com")

    content = Client().get("/sns/unsubscribe/", unsubscribe_params(subscription)).content

    assert b"&lt;b&gt;ada&lt;/b&gt;@example.com" in content
    assert b"<b>ada</b>" not in content
