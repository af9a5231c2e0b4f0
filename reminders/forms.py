from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careplans.describe import WEEKDAY_NAMES

from .models import ReminderSettings


class ReminderSettingsForm(forms.ModelForm):
    weekdays = forms.MultipleChoiceField(
        choices=[(str(n), name) for n, name in enumerate(WEEKDAY_NAMES)],
        widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("On these days"),
    )

    class Meta:
        model = ReminderSettings
        fields = ["enabled", "local_time", "weekdays", "channel", "include_goal"]
        widgets = {"local_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "channel": forms.RadioSelect}
        labels = {"channel": gettext_lazy("Channel")}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.initial["weekdays"] = list(self.instance.weekdays)

    def clean_weekdays(self) -> str:
        days = "".join(sorted(set(self.cleaned_data["weekdays"])))
        if self.cleaned_data.get("enabled") and not days:
            raise forms.ValidationError(_("Choose at least one day, or turn reminders off."))
        return days
