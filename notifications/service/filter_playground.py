"""The filter-policy playground: a policy tried on the topic's latest published messages.

Nothing changes: the policy is validated as SetSubscriptionAttributes would validate it, then
matched against the last PLAYGROUND_MESSAGES messages of the topic, each non-match explained by the
clause that failed (FilterPolicy.explain). The prune keeps each topic's latest messages for this
(notifications.delivery_sql.delete_unowed_messages).
"""

from dataclasses import dataclass, field

from notifications.errors import InvalidParameter
from notifications.filter_policy import MESSAGE_ATTRIBUTES, parse_filter_policy
from notifications.models import PublishedMessage

PLAYGROUND_MESSAGES = 100
EXCERPT = 160


@dataclass
class PlaygroundResult:
    """How a policy fares: `error` (SNS's InvalidParameter message) when it is not valid."""

    valid: bool
    error: str | None = None
    matched: int = 0
    total: int = 0
    results: list = field(default_factory=list)


def try_filter_policy(topic, policy_text, scope=None):
    """Match a policy (text, as a subscription would hold it) against the topic's latest messages.

    Return a PlaygroundResult whose results are newest first: {"message_id", "published_at",
    "subject", "excerpt", "attributes" ({name: value}), "matched", "reason"}.
    """
    try:
        policy = parse_filter_policy(policy_text or "", scope or MESSAGE_ATTRIBUTES)
    except InvalidParameter as error:
        return PlaygroundResult(valid=False, error=error.message)
    messages = PublishedMessage.objects.filter(topic=topic).order_by("-published_at", "-id")[
        :PLAYGROUND_MESSAGES
    ]
    result = PlaygroundResult(valid=True)
    for message in messages.only(
        "message_id", "subject", "message", "attributes", "published_at"
    ).iterator():
        reason = policy.explain(body=message.message, attributes=message.attributes)
        result.total += 1
        result.matched += reason is None
        result.results.append(
            {
                "message_id": message.message_id,
                "published_at": message.published_at,
                "subject": message.subject or None,
                "excerpt": _excerpt(message.message),
                "attributes": _attribute_values(message.attributes),
                "matched": reason is None,
                "reason": reason,
            }
        )
    return result


def _excerpt(text):
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _attribute_values(attributes):
    """{"name": value} for display: a string's or number's text, or "(binary)"."""
    shown = {}
    for name, attribute in (attributes or {}).items():
        value = attribute.get("StringValue")
        shown[name] = value if value is not None else "(binary)"
    return shown
