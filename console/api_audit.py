"""The REST API's audit log (GET /api/audit): who did what, when, through which door.

Read only. Each entry is judged as `roost:GetAuditLog` on its resource (console.audit_access); a
filter to one queue or topic the caller may not read answers 403.
"""

from ninja import Field, Query, Router, Schema

from audit import log
from aws_protocol.actor import DOORS
from aws_protocol.errors import ClientError
from console import audit_access
from queues.schemas import TEXT, Error

router = Router(tags=["audit log"])

ERRORS = {frozenset({400, 401, 403}): Error}


class InvalidFilter(ClientError):
    code = "InvalidParameterValue"


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
    door: str | None = Field(None, pattern=TEXT, description="sqs, sns, rest, console, system.")
    since: str | None = Field(None, pattern=TEXT, description="ISO 8601; entries at or after.")
    until: str | None = Field(None, pattern=TEXT, description="ISO 8601; entries before.")
    cursor: str | None = Field(None, pattern=TEXT, description="next_cursor of the last page.")
    limit: int = Field(log.DEFAULT_PAGE, ge=1, le=log.MAX_PAGE)


def read(principal, filters):
    """A page of the entries `principal` may read, filtered; (entries, next cursor).

    Shared with the console's page. Raises AccessDenied for a filter to a queue or topic out of
    reach, InvalidFilter for a malformed one.
    """
    if filters.get("door") and filters["door"] not in DOORS:
        raise InvalidFilter(f"door: one of {', '.join(DOORS)}.")
    audit_access.authorize_filter(principal, filters.get("queue"), filters.get("topic"))
    try:
        since = log.parse_time("since", filters.get("since"))
        until = log.parse_time("until", filters.get("until"))
        entries, cursor = log.search(
            queue=filters.get("queue"),
            topic=filters.get("topic"),
            actor=filters.get("actor"),
            action=filters.get("action"),
            door=filters.get("door"),
            since=since,
            until=until,
            cursor=filters.get("cursor"),
            limit=filters.get("limit") or log.DEFAULT_PAGE,
        )
    except log.BadFilter as error:
        raise InvalidFilter(str(error)) from None
    return audit_access.readable(principal, entries), cursor


@router.get("/audit", response={200: AuditPage, **ERRORS})
def audit_log(request, filters: Query[AuditFilters]):
    """The audit log, newest first: every destructive or administrative action.

    Only the entries the caller may `roost:GetAuditLog` on are listed; that filter runs on each
    page after it is cut, so a page may hold fewer than `limit` entries while `next_cursor`
    still leads on.
    """
    entries, cursor = read(request.auth, filters.dict())
    return {"entries": [audit_access.as_json(entry) for entry in entries], "next_cursor": cursor}
