"""Forms of the clinician workspace that belong to no other app's model editing."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from careplans.models import MAX_VISIT_NOTE
from photos.services import AREA_NAME_MAX_LENGTH, NOTE_MAX_LENGTH


class VisitForm(forms.Form):
    """Record that a visit happened: its date (default today in the clinic's zone, never later)
    and an optional short note for the team."""

    happened_on = forms.DateField(
        label=_("Visit date"), widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the visit date as a date, e.g. 2026-12-15.")},
    )
    note = forms.CharField(
        label=_("Note for the team (optional)"), required=False, max_length=MAX_VISIT_NOTE,
        help_text=_("A line, not the consultation record: it is shown on this page only."),
    )

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"happened_on": today})
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["happened_on"].widget.attrs["max"] = today.isoformat()

    def clean_happened_on(self) -> date:
        happened_on = self.cleaned_data["happened_on"]
        if happened_on > self.today:
            raise forms.ValidationError(
                _("A visit can only be recorded once it has happened."))
        return happened_on


class PhotoNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Your note for the patient"), max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you see in this photo. The patient reads it beside it."),
        error_messages={"required": _("Write the note first."),
                        "max_length": _("Keep the note to %(limit_value)d "
                                      "characters (it has %(show_value)d).")})


class BodyAreaForm(forms.Form):
    name = forms.CharField(
        label=_("New body area"), max_length=AREA_NAME_MAX_LENGTH,
        help_text=_("For example “Left elbow crease”. Every patient of the clinic "
                    "can then choose it."),
        error_messages={"required": _("Name the area first.")})
