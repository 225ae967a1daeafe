from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Roost console"

    def ready(self):
        # Every process (web, workers, beat) connects Celery's task signals to the metrics, and
        # only now: prometheus_client must be imported after the settings chose its directory.
        from console import metrics, roles  # noqa: F401, PLC0415

        # The authorization check in aws_protocol knows no app: tell it about keys and users.
        roles.register_principals()
