"""Forms of the clinician workspace that belong to no other app's model editing."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import birth_date_field, clean_birth_date
from accounts.models import Relationship, User
from careplans.models import MAX_VISIT_NOTE
from flags.forms import ClinicianChoiceField
from flags.selectors import flag_assignees
from messaging.models import BODY_MAX_LENGTH, ReplyTemplate
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


class ClinicMessageForm(forms.Form):
    """A message of the clinic to the patient: a reply in a thread, or the first of a new one."""

    body = forms.CharField(
        label=_("Your message"), max_length=BODY_MAX_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Write your message first.")},
    )


class ThreadAssignForm(forms.Form):
    """Whom a conversation goes to: one of the clinic's dermatologists or staff."""

    assignee = ClinicianChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False,
        empty_label=_("Nobody"),
        error_messages={"invalid_choice": _("Choose someone at this clinic.")},
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = flag_assignees(user)


class ReplyTemplateForm(forms.Form):
    """A clinic's ready answer: its title (unique in the clinic) and text."""

    title = forms.CharField(label=_("Title"),
                            max_length=ReplyTemplate._meta.get_field("title").max_length,
                            help_text=_("What staff see in the “Use a template” list."))
    body = forms.CharField(label=_("Text"), max_length=BODY_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 6}))
    active = forms.BooleanField(label=_("In use (offered when replying)"), required=False,
                                initial=True)


class BirthDateForm(forms.Form):
    """The clinic records or corrects a patient's date of birth (empty: not known)."""

    date_of_birth = birth_date_field(
        help_text=_("Sets what a parent or guardian can see as the patient grows up."))

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["date_of_birth"].widget.attrs["max"] = today.isoformat()

    def clean_date_of_birth(self) -> date | None:
        return clean_birth_date(self.cleaned_data["date_of_birth"], today=self.today)


class PatientLoginForm(forms.Form):
    """The clinic gives a patient without a login (a child grown old enough) their own."""

    email = forms.EmailField(label=_("Their own email"), max_length=254)


class CaregiverInviteForm(forms.Form):
    """The clinic invites a parent, a guardian or another caregiver for a patient."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email"), max_length=254)
    relationship = forms.ChoiceField(label=_("Relationship"), choices=[
        ("", _("Choose…")), *Relationship.choices])
    called = forms.CharField(
        label=_("What the patient calls them (optional)"), max_length=40, required=False,
        help_text=_("For example “Mum”: this page then says “logged by Mum”."))

    def clean_email(self) -> str:
        # Whether the address has an account is not checked here (caregiver_invite answers
        # the same either way).
        return self.cleaned_data["email"].strip().lower()

    def clean_called(self) -> str:
        return self.cleaned_data["called"].strip()
