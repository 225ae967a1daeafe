"""The REST API's audit log (GET /api/audit): who did what, when, through which door.

Read only. Each entry is judged as `roost:GetAuditLog` on its resource (console.audit_access); a
filter to one queue or topic the caller may not read answers 403.
"""

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from audit import log
from aws_protocol.actor import DOORS
from console import audit_access
from queues.schemas import TEXT, Error

router = Router(tags=["audit log"])

ERRORS = {frozenset({400, 401, 403}): Error}


class AuditEntry(Schema):
    id: int
    at: str = Field(description="ISO 8601, UTC.")
    door: str = Field(description="sqs, sns, rest, console or system.")
    actor: str = Field(description="The console user, else the access key id, else the door.")
    key_id: str
    username: str
    action: str = Field(description="AWS's operation name where there is one (PurgeQueue).")
    resource_type: str = Field(description="queue, topic, subscription, access-key...")
    resource: str = Field(description="A queue or topic name, a subscription ARN, a key id.")
    details: dict


class AuditPage(Schema):
    entries: list[AuditEntry]
    next_cursor: str | None


class AuditFilters(Schema):
    queue: str | None = Field(None, pattern=TEXT, description="Entries about this queue.")
    topic: str | None = Field(
        None, pattern=TEXT, description="Entries about this topic and its subscriptions."
    )
    actor: str | None = Field(None, pattern=TEXT, description="An access key id or user name.")
    action: str | None = Field(None, pattern=TEXT, description="e.g. PurgeQueue.")
    door: Literal[DOORS] | None = Field(None, description="The door the action came through.")
    since: datetime | None = Field(None, description="ISO 8601 (UTC if no zone); at or after.")
    until: datetime | None = Field(None, description="ISO 8601 (UTC if no zone); before.")
    cursor: str | None = Field(None, pattern=TEXT, description="next_cursor of the last page.")
    limit: int = Field(log.DEFAULT_PAGE, ge=1, le=log.MAX_PAGE)


@router.get("/audit", response={200: AuditPage, **ERRORS})
def audit_log(request, filters: Query[AuditFilters]):
    """The audit log, newest first: every destructive or administrative action.

    Only the entries the caller may `roost:GetAuditLog` on are listed; that filter runs on each
    page after it is cut, so a page may hold fewer than `limit` entries while `next_cursor`
    still leads on.
    """
    entries, cursor = audit_access.read(request.auth, filters.dict())
    return {"entries": [audit_access.as_json(entry) for entry in entries], "next_cursor": cursor}
