"""Access keys: the credentials SDKs sign SigV4 requests with and the REST API's bearer tokens.

The secret is kept Fernet-encrypted (see `console.access_keys`): SigV4 needs the plain secret to
recompute signatures, so it cannot be hashed like a password, but a copied database alone must
not hand out working credentials.
"""

from django.conf import settings
from django.db import models


class AccessKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class AccessKey(models.Model):
    access_key_id = models.CharField(max_length=128, unique=True, editable=False)
    secret_encrypted = models.TextField(editable=False)
    name = models.CharField(max_length=100, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute (see access_keys.record_use), so it is approximate.
    last_used_at = models.DateTimeField(null=True, blank=True)
    # An IAM identity policy (JSON text, kept as written); blank means full access, as every
    # key had before keys carried policies.
    policy = models.TextField(blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_keys",
    )

    objects = AccessKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.access_key_id} ({self.name})" if self.name else self.access_key_id

    @property
    def has_full_access(self):
        return not self.policy.strip()


class UserScope(models.Model):
    """The queues and topics a console user may see and change, by name pattern.

    A user without a scope (and every superuser) sees everything. A scoped user sees only the
    queues and topics whose names match one of their patterns (one per line, with the * and ?
    wildcards); an empty list means none of that kind. The role (operator or read-only) still
    decides whether they may change what they see.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_scope"
    )
    queue_patterns = models.TextField(blank=True, default="")
    topic_patterns = models.TextField(blank=True, default="")

    def __str__(self):
        return f"scope of {self.user}"

    @staticmethod
    def patterns(text):
        return [line.strip() for line in text.splitlines() if line.strip()]


class ConsoleAccess(models.Model):
    """Carries the console's own permissions; it has no table and no rows.

    `console.operate` lets a user change things from the console (create, edit, send, delete,
    purge, redrive, manage access keys); without it a logged-in user sees the same pages, read
    only. The "Operators" group holds it; superusers have it implicitly.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("operate", "Can change queues, topics, messages and access keys in the console"),
        ]

    def __str__(self):
        return "console access"
