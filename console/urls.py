from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from console import health
from console.api import api, authenticate, translate
from console.live import sse
from console.views import access_keys, alarms, consumers, messages, overview, queues, topics
from console.views.audit import audit_log
from console.views.redrive import plan_redrive, selective_redrive, start_redrive
from console.views.topics.playground import filter_playground
from console.views.trash import restore as restore_trash
from queues.wire import localstack

queue_patterns = [
    path("", queues.queue_page, name="queue"),
    path("stats", queues.queue_stats_region, name="queue-stats"),
    path("chart", queues.queue_chart_region, name="queue-chart"),
    path("alarms", alarms.create_alarm, name="create-alarm"),
    path("alarms/<int:alarm_id>/delete", alarms.delete_alarm, name="delete-alarm"),
    path("attributes/<str:attribute_name>", queues.attribute_row, name="attribute"),
    path("attributes/<str:attribute_name>/edit", queues.edit_attribute, name="edit-attribute"),
    path("tags", queues.add_tag, name="add-tag"),
    path("tags/remove", queues.remove_tag, name="remove-tag"),
    path("send", queues.send_message, name="send-message"),
    path("messages/<int:message_id>/delete", queues.delete_message, name="delete-message"),
    path("messages/delete", messages.delete_messages, name="delete-messages"),
    path("messages/<str:message_id>/", messages.message_page, name="message"),
    path("messages/<str:message_id>/body", messages.message_body, name="message-body"),
    path("messages/<str:message_id>/delete", messages.delete_one, name="delete-one-message"),
    path("purge", queues.purge, name="purge"),
    path("delete", queues.delete_queue, name="delete-queue"),
    path("redrive", queues.start_move_task, name="start-move-task"),
    path("redrive/selected", queues.redrive_selected, name="redrive-selected"),
    path("redrive/by-filter", selective_redrive, name="selective-redrive"),
    path("redrive/by-filter/plan", plan_redrive, name="redrive-plan"),
    path("redrive/by-filter/start", start_redrive, name="redrive-start"),
    path("move-tasks", queues.move_tasks_region, name="move-tasks"),
    path("move-tasks/cancel", queues.cancel_move_task, name="cancel-move-task"),
    path("trash/<str:batch>/restore", restore_trash, name="restore-trash"),
    path("consumers", consumers.consumers_region, name="queue-consumers"),
]

subscription_patterns = [
    path("", topics.subscription_panel, name="subscription-panel"),
    path("remove", topics.unsubscribe, name="unsubscribe"),
    path("raw-delivery", topics.set_raw_delivery, name="raw-delivery"),
    path("filter-policy", topics.save_filter_policy, name="filter-policy"),
    path("filter-policy/test", topics.test_filter_policy, name="test-filter-policy"),
    path("filter-policy/playground", filter_playground, name="filter-playground"),
    path("redrive-policy", topics.save_redrive_policy, name="subscription-redrive-policy"),
    path("deliveries", topics.delivery_log, name="delivery-log"),
    path("deliveries/<int:delivery_id>/replay", topics.replay_delivery, name="replay-delivery"),
    path("confirmation", topics.confirmation_region, name="confirmation"),
    path("confirmation/resend", topics.resend_confirmation, name="resend-confirmation"),
]

topic_patterns = [
    path("", topics.topic_page, name="topic"),
    path("stats", topics.topic_stats_region, name="topic-stats"),
    path("chart", topics.topic_chart_region, name="topic-chart"),
    path("subscriptions", topics.subscriptions_region, name="topic-subscriptions"),
    path("subscriptions/new", topics.subscribe, name="subscribe"),
    path("subscriptions/<str:subscription_id>/", include(subscription_patterns)),
    path("attributes/<str:attribute_name>", topics.attribute_row, name="topic-attribute"),
    path(
        "attributes/<str:attribute_name>/edit",
        topics.edit_attribute,
        name="edit-topic-attribute",
    ),
    path("publish", topics.publish, name="publish"),
    path("delete", topics.delete_topic, name="delete-topic"),
]

console_patterns = [
    path("", overview.overview, name="overview"),
    path("queues/new", overview.create_queue, name="create-queue"),
    path("topics/new", overview.create_topic, name="create-topic"),
    path("audit/", audit_log, name="audit"),
    path("queues/<str:name>/", include(queue_patterns)),
    path("topics/<str:name>/", include(topic_patterns)),
    path("access-keys/", access_keys.access_key_list, name="access-keys"),
    path("access-keys/new", access_keys.create_access_key, name="create-access-key"),
    path(
        "access-keys/<str:key_id>/disable",
        access_keys.disable_access_key,
        name="disable-access-key",
    ),
    path(
        "access-keys/<str:key_id>/enable", access_keys.enable_access_key, name="enable-access-key"
    ),
    path(
        "access-keys/<str:key_id>/delete", access_keys.delete_access_key, name="delete-access-key"
    ),
    path("access-keys/<str:key_id>/", access_keys.access_key_page, name="access-key"),
    path("access-keys/<str:key_id>/policy", access_keys.set_key_policy, name="key-policy"),
    path(
        "access-keys/<str:key_id>/policy/remove",
        access_keys.remove_key_policy,
        name="remove-key-policy",
    ),
    path("access-keys/<str:key_id>/simulate", access_keys.simulate_policy, name="simulate"),
    path(
        "access-keys/<str:key_id>/resources",
        access_keys.resource_suggestions,
        name="resource-suggestions",
    ),
]

# LocalStack's SQS developer endpoint, behind the REST API's credentials.
localstack_messages = localstack.messages_view(authenticate, translate)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include((console_patterns, "console"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("sns/", include("notifications.urls")),
    path("live/sse/", sse.live_events, name="live-sse"),
    path("_aws/sqs/messages", localstack_messages, name="localstack-sqs-messages"),
    path(
        "_aws/sqs/messages/<str:region>/<str:account>/<str:queue_name>",
        localstack_messages,
        name="localstack-sqs-queue-messages",
    ),
]

# A console page that finds the database gone answers 503 (try again), not 500.
handler500 = "console.views.errors.server_error"
