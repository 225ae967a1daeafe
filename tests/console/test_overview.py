import pytest
from django.contrib.auth import get_user_model

from queues import service


@pytest.mark.django_db
def test_overview_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_overview_lists_queues_with_their_depth(client):
    user = get_user_model().objects.create_user("ops", password="a-long-password")
    queue = service.create_queue("orders")
    service.send_message(queue, service.SendEntry(body="<script>alert(1)</script>"))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "orders" in page
    assert '<td class="num">1</td>' in page


@pytest.mark.django_db
def test_login_then_lands_on_overview(client):
    get_user_model().objects.create_user("ops", password="a-long-password")
    response = client.post("/login/", {"username": "ops", "password": "a-long-password"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
