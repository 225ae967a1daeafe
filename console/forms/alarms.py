"""The queue page's alarm form: what to watch, the line, for how long, and the topic to tell."""

from django import forms

from notifications.models import Alarm, Topic


class AlarmForm(forms.Form):
    name = forms.CharField(
        max_length=255, label="Name", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    kind = forms.ChoiceField(label="When", choices=Alarm.Kind.choices)
    threshold = forms.IntegerField(
        label="Threshold",
        min_value=0,
        help_text="Messages (depth, dead-lettered) or seconds (oldest message's age).",
    )
    minutes = forms.IntegerField(
        label="For minutes",
        min_value=1,
        max_value=24 * 60,
        initial=1,
        help_text="How many one-minute samples in a row (dead letters: within how many minutes).",
    )
    topic = forms.ChoiceField(label="Publish to topic", choices=())

    # Where the service's refusals go: the first of these its message mentions.
    parameters = {
        "threshold": "threshold",
        "minutes": "minutes",
        "dead-letter": "kind",
        "kind": "kind",
        "topic": "topic",
        "name": "name",
    }
    error_field = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "alarm-%s")
        super().__init__(*args, **kwargs)
        standard = Topic.objects.filter(fifo_topic=False).order_by("name")
        self.fields["topic"].choices = [
            (name, name) for name in standard.values_list("name", flat=True)
        ]
