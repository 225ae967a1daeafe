"""SNS HTTP/S delivery policies: validated as SNS validates them, resolved, turned into retry delays.

A topic's DeliveryPolicy sets defaults for its HTTP/S subscriptions under "http"; a subscription's
DeliveryPolicy overrides them section by section (retry, throttle, request) unless the topic sets
`disableSubscriptionOverrides`. A retry section is taken whole from one level and its absent fields
take SNS's defaults, because SNS validates each policy on its own: mixing fields from two levels
could pair a subscription's `numRetries` with a topic's larger phase counts that neither level
would have been allowed to set.

SNS also caps the total retry time of an HTTP/S delivery at `MAX_RETRY_SECONDS`: `retry_delays`
returns the policy's whole schedule, and `max_attempts` stops where its waits add up to more.
SNS adds jitter to retries; the delays here are the policy's targets, before any jitter.
"""

import json
from dataclasses import dataclass

from aws_protocol import json_input
from notifications.errors import InvalidParameter

MAX_DELAY_TARGET = 3600
MAX_RETRIES = 100
MAX_RETRY_SECONDS = 3600
BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
CONTENT_TYPES = frozenset(
    base + charset
    for base in ("text/plain", "application/json", "application/xml")
    for charset in ("", "; charset=UTF-8")
)

# The retry fields in the order SNS writes them, with SNS's defaults for HTTP/S.
DEFAULT_RETRY = {
    "minDelayTarget": 20,
    "maxDelayTarget": 20,
    "numRetries": 3,
    "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0,
    "numMinDelayRetries": 0,
    "backoffFunction": "linear",
}
PHASE_COUNTS = ("numNoDelayRetries", "numMinDelayRetries", "numMaxDelayRetries")


@dataclass(frozen=True)
class DeliveryPolicy:
    """The policy one HTTP/S subscription is delivered with: its retry schedule and request shape."""

    min_delay: int
    max_delay: int
    num_retries: int
    num_no_delay_retries: int
    num_min_delay_retries: int
    num_max_delay_retries: int
    backoff_function: str
    max_receives_per_second: int | None
    header_content_type: str = DEFAULT_CONTENT_TYPE
    # SNS stops retrying an HTTP/S delivery once the waits add up to more than this.
    max_retry_seconds: int | None = MAX_RETRY_SECONDS

    @property
    def max_attempts(self):
        """The first attempt and every retry that starts within the total retry time."""
        if self.max_retry_seconds is None:
            return 1 + self.num_retries
        waited, retries = 0.0, 0
        for delay in self.retry_delays():
            waited += delay
            if waited > self.max_retry_seconds:
                break
            retries += 1
        return 1 + retries

    def retry_delays(self):
        """Return the seconds to wait before each retry, in SNS's four phases.

        Immediate retries wait 0, pre-backoff retries `min_delay`, then the backoff retries grow from
        `min_delay` (the first) to `max_delay` (the last), and post-backoff retries wait `max_delay`.
        """
        backoff = (
            self.num_retries
            - self.num_no_delay_retries
            - self.num_min_delay_retries
            - self.num_max_delay_retries
        )
        delays = (
            [0.0] * self.num_no_delay_retries
            + [float(self.min_delay)] * self.num_min_delay_retries
            + [self._backoff_delay(step, backoff) for step in range(max(backoff, 0))]
            + [float(self.max_delay)] * self.num_max_delay_retries
        )
        return delays[: self.num_retries]

    def _backoff_delay(self, step, steps):
        """The delay of backoff retry `step` (0-based) of `steps`, on the policy's curve.

        Each curve runs from min to max; they differ in how the steps between delays grow:
        linear keeps them equal; arithmetic grows them by a constant amount (1, 2, 3, ...);
        geometric doubles them (1, 2, 4, ...); exponential makes each delay a constant multiple of
        the one before, as classic exponential backoff does. A lone backoff retry waits min.
        """
        low, high, last = self.min_delay, self.max_delay, steps - 1
        if step == 0 or last <= 0:
            return float(low)
        if step == last:
            return float(high)
        if self.backoff_function == "exponential":
            return round(low * (high / low) ** (step / last), 3)
        if self.backoff_function == "arithmetic":
            fraction = step * (step + 1) / (last * (last + 1))
        elif self.backoff_function == "geometric":
            fraction = (2**step - 1) / (2**last - 1)
        else:
            fraction = step / last
        return round(low + (high - low) * fraction, 3)


DEFAULT = DeliveryPolicy(
    min_delay=20,
    max_delay=20,
    num_retries=3,
    num_no_delay_retries=0,
    num_min_delay_retries=0,
    num_max_delay_retries=0,
    backoff_function="linear",
    max_receives_per_second=None,
)


# Validation. Reasons are worded after "Invalid parameter: DeliveryPolicy: ", as SNS words
# "healthyRetryPolicy.minDelayTarget must be greater than or equal to 1".

TOPIC_KEYS = ("http",)
TOPIC_HTTP_KEYS = (
    "defaultHealthyRetryPolicy",
    "disableSubscriptionOverrides",
    "defaultThrottlePolicy",
    "defaultRequestPolicy",
)
# sicklyRetryPolicy and guaranteed are legacy fields SNS still returns (as null and false) in a
# subscription's policy, so a client that writes back what it read must not be refused.
SUBSCRIPTION_KEYS = (
    "healthyRetryPolicy",
    "sicklyRetryPolicy",
    "throttlePolicy",
    "requestPolicy",
    "guaranteed",
)


class _PolicyError(Exception):
    """A rule the policy breaks, worded as it follows "DeliveryPolicy: "."""


def parse_topic_policy(text):
    """Validate a topic's DeliveryPolicy as SetTopicAttributes does; return it ({} when empty)."""
    try:
        document = _load(text)
        _check_keys(document, "", TOPIC_KEYS)
        http = document.get("http")
        if http is not None:
            _check_keys(http, "http", TOPIC_HTTP_KEYS)
            _check_retry(http.get("defaultHealthyRetryPolicy"), "http.defaultHealthyRetryPolicy")
            _check_boolean(http, "http", "disableSubscriptionOverrides")
            _check_throttle(http.get("defaultThrottlePolicy"), "http.defaultThrottlePolicy")
            _check_request(http.get("defaultRequestPolicy"), "http.defaultRequestPolicy")
    except _PolicyError as error:
        raise InvalidParameter(f"Invalid parameter: DeliveryPolicy: {error}") from None
    return document


def parse_subscription_policy(text, *, subscribing=False):
    """Validate a subscription's DeliveryPolicy as SNS does; return it ({} when empty).

    `subscribing` words errors as Subscribe reports them ("Invalid parameter: Attributes Reason:
    DeliveryPolicy: ..."); SetSubscriptionAttributes leaves out "Attributes Reason: ".
    """
    try:
        document = _load(text)
        _check_keys(document, "", SUBSCRIPTION_KEYS)
        _check_retry(document.get("healthyRetryPolicy"), "healthyRetryPolicy")
        _check_retry(document.get("sicklyRetryPolicy"), "sicklyRetryPolicy")
        _check_throttle(document.get("throttlePolicy"), "throttlePolicy")
        _check_request(document.get("requestPolicy"), "requestPolicy")
        _check_boolean(document, "", "guaranteed")
    except _PolicyError as error:
        reason = "Attributes Reason: " if subscribing else ""
        raise InvalidParameter(f"Invalid parameter: {reason}DeliveryPolicy: {error}") from None
    return document


def _load(text):
    if not text or not text.strip():
        return {}
    try:
        document = json_input.loads(text)
    except ValueError:
        raise _PolicyError("failed to parse JSON.") from None
    if not isinstance(document, dict):
        raise _PolicyError("policy must be a JSON object")
    return document


def _path(parent, key):
    return f"{parent}.{key}" if parent else key


def _check_keys(section, path, known):
    if not isinstance(section, dict):
        raise _PolicyError(f"{path} must be a JSON object")
    for key in section:
        if key not in known:
            raise _PolicyError(f"{_path(path, key)} is not a recognized field")


def _check_boolean(section, path, key):
    if section.get(key) is not None and not isinstance(section[key], bool):
        raise _PolicyError(f"{_path(path, key)} must be a boolean")


def _check_integer(value, path, *, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _PolicyError(f"{path} must be an integer")
    if minimum is not None and value < minimum:
        raise _PolicyError(f"{path} must be greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        raise _PolicyError(f"{path} must be less than or equal to {maximum}")


def _check_retry(section, path):
    """Check a retry section with its absent fields at SNS's defaults, as SNS stores it."""
    if section is None:
        return
    _check_keys(section, path, DEFAULT_RETRY)
    backoff = section.get("backoffFunction")
    if backoff is not None and (
        not isinstance(backoff, str) or backoff.lower() not in BACKOFF_FUNCTIONS
    ):
        raise _PolicyError(f"{path}.backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")
    retry = _retry_fields(section)
    _check_integer(retry["minDelayTarget"], f"{path}.minDelayTarget", minimum=1)
    _check_integer(retry["maxDelayTarget"], f"{path}.maxDelayTarget", maximum=MAX_DELAY_TARGET)
    if retry["minDelayTarget"] > retry["maxDelayTarget"]:
        raise _PolicyError(f"{path}.minDelayTarget must be less than or equal to maxDelayTarget")
    _check_integer(retry["numRetries"], f"{path}.numRetries", minimum=0, maximum=MAX_RETRIES)
    for key in PHASE_COUNTS:
        _check_integer(retry[key], f"{path}.{key}", minimum=0)
    if sum(retry[key] for key in PHASE_COUNTS) > retry["numRetries"]:
        raise _PolicyError(
            f"{path}.numRetries must be greater than or equal to the sum of numNoDelayRetries, "
            "numMinDelayRetries and numMaxDelayRetries"
        )


def _check_throttle(section, path):
    if section is None:
        return
    _check_keys(section, path, ("maxReceivesPerSecond",))
    if section.get("maxReceivesPerSecond") is not None:
        _check_integer(section["maxReceivesPerSecond"], f"{path}.maxReceivesPerSecond", minimum=1)


def _check_request(section, path):
    if section is None:
        return
    _check_keys(section, path, ("headerContentType",))
    content_type = section.get("headerContentType")
    if content_type is not None and content_type not in CONTENT_TYPES:
        raise _PolicyError(
            f"{path}.headerContentType must be text/plain, application/json or application/xml, "
            "optionally followed by '; charset=UTF-8'"
        )


# Resolution: inputs are texts that already passed validation when they were set.


def effective_policy(topic_text, subscription_text=""):
    """Resolve the policy a subscription is delivered with: its own, the topic's, then SNS's."""
    topic, subscription = _resolve(topic_text, subscription_text)
    retry = _retry_fields(
        _pick(subscription, "healthyRetryPolicy", topic, "defaultHealthyRetryPolicy")
    )
    throttle = _pick(subscription, "throttlePolicy", topic, "defaultThrottlePolicy")
    request = _pick(subscription, "requestPolicy", topic, "defaultRequestPolicy")
    return DeliveryPolicy(
        min_delay=retry["minDelayTarget"],
        max_delay=retry["maxDelayTarget"],
        num_retries=retry["numRetries"],
        num_no_delay_retries=retry["numNoDelayRetries"],
        num_min_delay_retries=retry["numMinDelayRetries"],
        num_max_delay_retries=retry["numMaxDelayRetries"],
        backoff_function=retry["backoffFunction"],
        max_receives_per_second=throttle.get("maxReceivesPerSecond"),
        header_content_type=request.get("headerContentType") or DEFAULT_CONTENT_TYPE,
    )


def effective_policy_json(topic_text):
    """Render a topic's EffectiveDeliveryPolicy attribute: its policy merged over SNS's defaults."""
    topic, _ = _resolve(topic_text, "")
    policy = effective_policy(topic_text)
    http = {
        "defaultHealthyRetryPolicy": _retry_json(policy),
        "disableSubscriptionOverrides": bool(topic.get("disableSubscriptionOverrides")),
    }
    if policy.max_receives_per_second is not None:
        http["defaultThrottlePolicy"] = {"maxReceivesPerSecond": policy.max_receives_per_second}
    http["defaultRequestPolicy"] = {"headerContentType": policy.header_content_type}
    return _dump({"http": http})


def subscription_effective_policy_json(topic_text, subscription_text):
    """Render a subscription's EffectiveDeliveryPolicy attribute in the shape SNS returns.

    SNS writes a subscription's policy with the legacy `sicklyRetryPolicy` (null) and `guaranteed`
    (false) fields, and an unset throttle policy as null.
    """
    policy = effective_policy(topic_text, subscription_text)
    throttle = policy.max_receives_per_second
    return _dump(
        {
            "healthyRetryPolicy": _retry_json(policy),
            "sicklyRetryPolicy": None,
            "throttlePolicy": None if throttle is None else {"maxReceivesPerSecond": throttle},
            "requestPolicy": {"headerContentType": policy.header_content_type},
            "guaranteed": False,
        }
    )


def _resolve(topic_text, subscription_text):
    """The topic's "http" section, and the subscription's policy unless the topic disables it."""
    topic = _stored(topic_text).get("http") or {}
    if topic.get("disableSubscriptionOverrides"):
        return topic, {}
    return topic, _stored(subscription_text)


def _stored(text):
    return json.loads(text) if text and text.strip() else {}


def _pick(subscription, key, topic, topic_key):
    section = subscription.get(key)
    return section if section is not None else topic.get(topic_key) or {}


def _retry_fields(section):
    retry = {
        key: default if section.get(key) is None else section[key]
        for key, default in DEFAULT_RETRY.items()
    }
    if isinstance(retry["backoffFunction"], str):
        retry["backoffFunction"] = retry["backoffFunction"].lower()
    return retry


def _retry_json(policy):
    return {
        "minDelayTarget": policy.min_delay,
        "maxDelayTarget": policy.max_delay,
        "numRetries": policy.num_retries,
        "numMaxDelayRetries": policy.num_max_delay_retries,
        "numNoDelayRetries": policy.num_no_delay_retries,
        "numMinDelayRetries": policy.num_min_delay_retries,
        "backoffFunction": policy.backoff_function,
    }


def _dump(document):
    return json.dumps(document, separators=(",", ":"))
