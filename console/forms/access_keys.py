"""The access key forms: creating a key (from a starter policy or a custom one), editing its
policy, and asking the policy simulator about it."""

import re

from django import forms

from console import starter_policies
from console.access_keys import NAME_MAX_LENGTH

CUSTOM = "custom"
# Queue names with the * and ? wildcards; topic names as SNS takes them.
_QUEUE_PATTERN = re.compile(r"[A-Za-z0-9_.*?-]{1,80}")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_ACTION = re.compile(r"[A-Za-z0-9.-]+:[A-Za-z0-9*?]+")
POLICY_HELP = (
    "An IAM identity policy in JSON: Version, and Statements with Sid, Effect, Action or "
    "NotAction, Resource or NotResource (the * and ? wildcards work). Blank: full access."
)


def _policy_field(label="Policy", help_text=POLICY_HELP):
    return forms.CharField(
        required=False,
        strip=False,
        label=label,
        help_text=help_text,
        widget=forms.Textarea(
            attrs={"rows": 14, "spellcheck": "false", "autocomplete": "off", "class": "code"}
        ),
    )


class CreateAccessKeyForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=NAME_MAX_LENGTH,
        label="Name",
        help_text="What the key is for, e.g. “billing worker” (optional).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    starter = forms.ChoiceField(
        required=False,  # none chosen: full access, as before keys carried policies
        label="Permissions",
        initial=starter_policies.STARTERS[0].key,
        choices=[(starter.key, starter.label) for starter in starter_policies.STARTERS]
        + [(CUSTOM, "Custom policy (write it below)")],
        # Shows only the fields the chosen starter needs; without JavaScript every field shows.
        widget=forms.Select(attrs={"data-protocol-switch": ""}),
    )
    pattern = forms.CharField(
        required=False,
        max_length=80,
        label="Queues matching",
        help_text="For producer and consumer keys: the queues they may use, e.g. orders-* "
        "(* and ? are wildcards).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    topic = forms.CharField(
        required=False,
        max_length=256,
        label="Topic",
        help_text="For publisher keys: the one topic they may publish to.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    policy = _policy_field("Custom policy", "With “Custom policy”: " + POLICY_HELP)

    # Which fields show for which starter ([data-protocols] in the template).
    field_starters = {"pattern": "producer consumer", "topic": "publisher", "policy": CUSTOM}
    parameters = {"access key name": "name"}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "key-%s")
        super().__init__(*args, **kwargs)

    @property
    def error_field(self):
        """A refused policy is shown beside the field it came from."""
        starter = starter_policies.BY_KEY.get(self.cleaned_data.get("starter", ""))
        return starter.needs if starter and starter.needs else "policy"

    def clean(self):
        cleaned = super().clean()
        starter = starter_policies.BY_KEY.get(cleaned.get("starter", ""))
        if starter is None or not starter.needs:
            return cleaned
        value = (cleaned.get(starter.needs) or "").strip()
        if starter.needs == "pattern" and not _QUEUE_PATTERN.fullmatch(value):
            self.add_error(
                "pattern",
                "Give the queues' name pattern: letters, digits, - _ . and the wildcards * "
                "and ?, e.g. orders-*.",
            )
        if starter.needs == "topic" and not _TOPIC_NAME.fullmatch(value):
            self.add_error("topic", "Give the topic's name: letters, digits, - _ and .")
        cleaned[starter.needs] = value
        return cleaned

    def policy_text(self):
        """The policy the new key gets, as JSON text; blank for full access."""
        data = self.cleaned_data
        if data["starter"] == CUSTOM:
            return data["policy"]
        starter = starter_policies.BY_KEY[data["starter"] or starter_policies.STARTERS[0].key]
        argument = data.get(starter.needs, "") if starter.needs else ""
        return starter_policies.render(starter.document(argument))


class PolicyForm(forms.Form):
    """A key's policy, edited as JSON; IAM's message for a malformed one shows beside it."""

    policy = _policy_field("Policy document")

    parameters = {}
    error_field = "policy"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "policy-%s")
        super().__init__(*args, **kwargs)


class SimulatorForm(forms.Form):
    """“Can this key do this action on this resource?”"""

    action = forms.CharField(
        max_length=128,
        label="Action",
        help_text="An IAM action, e.g. sqs:SendMessage or sns:Publish.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "sqs:SendMessage"}
        ),
    )
    resource = forms.CharField(
        max_length=2048,
        label="Resource",
        help_text="The ARN of a queue or a topic; suggestions come as you type a name.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "list": "resource-suggestions",
                "placeholder": "arn:aws:sqs:…:orders",
            }
        ),
    )

    parameters = {}
    error_field = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "simulate-%s")
        super().__init__(*args, **kwargs)

    def clean_action(self):
        action = self.cleaned_data["action"].strip()
        if not _ACTION.fullmatch(action):
            raise forms.ValidationError(
                "Give an action as service:Name, e.g. sqs:SendMessage (wildcards * and ?)."
            )
        return action

    def clean_resource(self):
        resource = self.cleaned_data["resource"].strip()
        if resource != "*" and not resource.startswith("arn:"):
            raise forms.ValidationError('Give a resource ARN (arn:aws:sqs:…:name) or "*".')
        return resource
