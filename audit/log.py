"""Recording actions in the audit log and reading it back."""

from django.utils import timezone

from audit.models import AuditEntry
from aws_protocol import actor


def record(action, resource_type, resource, **details):
    """Log `action` on a resource as done by the current actor; part of the caller's transaction.

    Called inside the transaction that makes the change, so the log never claims an action that
    was rolled back, nor misses one that committed.
    """
    who = actor.current()
    return AuditEntry.objects.create(
        at=timezone.now(),
        door=who.door,
        key_id=who.key_id or "",
        username=who.username or "",
        action=action,
        resource_type=resource_type,
        resource=resource,
        details=details,
    )


def add_details(entry_id, **details):
    """Add to an entry's details what was known only once the action finished (a purge's count)."""
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is not None:
        entry.details = {**entry.details, **details}
        entry.save(update_fields=["details"])
