from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Clinic, Relationship
from .timezones import timezone_choices


class PatientInviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email"), max_length=254)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Reminders and daily check-ins follow the patient's own calendar day."),
    )

    def __init__(self, *args: object, clinic: Clinic, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices(
            first=clinic.timezone, first_group=gettext("This clinic's time zone"))
        self.fields["timezone"].initial = clinic.timezone if clinic.zone_is_known else None

    def clean_email(self) -> str:
        # Whether the address already has an account is not checked here: the answer must not
        # tell a dermatologist about a user of another clinic (patient_invite handles it).
        return self.cleaned_data["email"].strip().lower()


def language_choices() -> list[tuple[str, str]]:
    """Blank first (follow the browser), then each language named in itself."""
    return [("", _("Same as my browser")), *settings.LANGUAGES]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices, required=False)


class CaregiverInviteForm(forms.Form):
    """An adult patient invites someone to help them (their invitation is also their grant)."""

    first_name = forms.CharField(label=_("Their first name"), max_length=150)
    last_name = forms.CharField(label=_("Their last name"), max_length=150)
    email = forms.EmailField(label=_("Their email"), max_length=254)
    relationship = forms.ChoiceField(label=_("Who they are to you"),
                                     choices=Relationship.choices)
    called = forms.CharField(
        label=_("What you call them (optional)"), max_length=40, required=False,
        help_text=_("For example \u201cMum\u201d: the portal and your care team will use it."))

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()
