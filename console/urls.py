from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from console import views
from console.api import api
from queues import localstack

console_patterns = [
    path("", views.overview, name="overview"),
]

urlpatterns = [
    path("", include((console_patterns, "console"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("_aws/sqs/messages", localstack.list_messages, name="localstack-sqs-messages"),
    path(
        "_aws/sqs/messages/<str:region>/<str:account>/<str:queue_name>",
        localstack.list_messages,
        name="localstack-sqs-queue-messages",
    ),
]
