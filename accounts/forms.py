from datetime import date, datetime, timedelta

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .caregiving import Tier, tier_on
from .models import Clinic, Relationship
from .timezones import timezone_choices, zone_or_utc

# The earliest date of birth a form accepts (a typo such as 0201 is refused, not stored).
EARLIEST_BIRTH = date(1900, 1, 1)


def birth_date_field(**kwargs: object) -> forms.DateField:
    return forms.DateField(
        label=_("Date of birth"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}), **kwargs)


def clean_birth_date(born: date | None, *, today: date) -> date | None:
    if born is not None and born > today:
        raise forms.ValidationError(_("The date of birth is in the future."))
    if born is not None and born < EARLIEST_BIRTH:
        raise forms.ValidationError(_("Enter a date of birth after 1900."))
    return born


class PatientInviteForm(forms.Form):
    """A patient with their own email; or a young child (under the clinic's teenager age)
    without one, whose parent or guardian is invited in the same step."""

    CAREGIVER_FIELDS = ("caregiver_first_name", "caregiver_last_name", "caregiver_email",
                        "relationship")

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    date_of_birth = birth_date_field(
        help_text=_("Needed for a child: it sets what a parent or guardian can see as the "
                    "child grows up."))
    email = forms.EmailField(
        label=_("Email"), max_length=254, required=False,
        help_text=_("Leave empty for a young child without a login of their own; then invite "
                    "a parent or guardian below."))
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Reminders and daily check-ins follow the patient's own calendar day."),
    )
    caregiver_first_name = forms.CharField(label=_("Parent's or guardian's first name"),
                                           max_length=150, required=False)
    caregiver_last_name = forms.CharField(label=_("Parent's or guardian's last name"),
                                          max_length=150, required=False)
    caregiver_email = forms.EmailField(label=_("Parent's or guardian's email"), max_length=254,
                                       required=False)
    relationship = forms.ChoiceField(
        label=_("Relationship to the child"),
        choices=[("", _("Choose…")), *Relationship.choices], required=False)
    called = forms.CharField(
        label=_("What the child calls them"), max_length=40, required=False,
        help_text=_("For example “Mum” or “Grandpa”. The clinic's pages then say “logged by "
                    "Mum”."))

    def __init__(self, *args: object, clinic: Clinic, now: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.clinic, self.now = clinic, now
        self.fields["timezone"].choices = timezone_choices(
            first=clinic.timezone, first_group=gettext("This clinic's time zone"))
        self.fields["timezone"].initial = clinic.timezone if clinic.zone_is_known else None

    @property
    def patient_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("first_name", "last_name", "date_of_birth", "email",
                                        "timezone")]

    @property
    def caregiver_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in (*self.CAREGIVER_FIELDS, "called")]

    def clean_email(self) -> str:
        # Whether the address already has an account is not checked here: the answer must not
        # tell a dermatologist about a user of another clinic (patient_invite handles it).
        return self.cleaned_data["email"].strip().lower()

    def clean_caregiver_email(self) -> str:
        return self.cleaned_data["caregiver_email"].strip().lower()

    def clean_called(self) -> str:
        return self.cleaned_data["called"].strip()

    def today(self) -> date:
        zone = zone_or_utc(self.cleaned_data.get("timezone") or self.clinic.timezone)
        return self.now.astimezone(zone).date()

    def clean_date_of_birth(self) -> date | None:
        # The latest zone on Earth: a birth "today" anywhere is not refused as future here.
        return clean_birth_date(self.cleaned_data["date_of_birth"],
                                today=self.now.date() + timedelta(days=1))

    @property
    def is_child_without_login(self) -> bool:
        return not self.cleaned_data.get("email")

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        born = data.get("date_of_birth")
        teen_age = self.clinic.caregiver_teen_age
        if not data.get("email"):
            if born is None:
                self.add_error("email", _("Enter the patient's email, or their date of birth "
                                          "if they are a young child without one."))
                return data
            if born > self.today():
                self.add_error("date_of_birth", _("The date of birth is in the future."))
                return data
            if tier_on(born=born, day=self.today(), teen_age=teen_age,
                       adult_age=self.clinic.caregiver_adult_age) != Tier.CHILD:
                self.add_error("email", _("From age %(age)s a patient needs their own email "
                                          "address.") % {"age": teen_age})
                return data
            self._require_caregiver(data)
        elif any(data.get(name) for name in (*self.CAREGIVER_FIELDS, "called")):
            self._require_caregiver(data)
            if data.get("caregiver_email") == data["email"]:
                self.add_error("caregiver_email",
                               _("The parent's or guardian's email must differ from the "
                                 "patient's."))
        return data

    def _require_caregiver(self, data: dict) -> None:
        messages = {
            "caregiver_first_name": _("Enter the parent's or guardian's first name."),
            "caregiver_last_name": _("Enter the parent's or guardian's last name."),
            "caregiver_email": _("Enter the parent's or guardian's email: they sign in for "
                                 "the child."),
            "relationship": _("Choose how they are related to the child."),
        }
        for name, message in messages.items():
            if not data.get(name):
                self.add_error(name, message)

    @property
    def has_caregiver(self) -> bool:
        return bool(self.cleaned_data.get("caregiver_email"))


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
        help_text=_("For example “Mum”: the portal and your care team will use it."))

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()
