"""One row per audited action."""

import json

from django.db import models


class AuditEntry(models.Model):
    """An action someone (or Roost itself) took: what, on which resource, by whom, through which door.

    `resource` is the name people know the target by (a queue or topic name, an access key id);
    `details` holds what else the action was given, never a secret.
    """

    at = models.DateTimeField(db_index=True)
    door = models.CharField(max_length=8)  # aws_protocol.actor.DOORS
    key_id = models.CharField(max_length=128, blank=True, default="")
    username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=16)  # queue, topic, subscription, access-key...
    resource = models.CharField(max_length=2048)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The console and REST filter by resource, by actor and by action, newest first.
            models.Index(fields=["resource_type", "resource", "-at"], name="audit_resource_idx"),
            models.Index(fields=["key_id", "-at"], name="audit_key_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.action} {self.resource}"

    @property
    def actor(self):
        return self.username or self.key_id or self.door

    @property
    def details_text(self):
        """The details as compact JSON, for people to read."""
        return json.dumps(self.details, separators=(", ", ": "), sort_keys=True)
