from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Patient
from accounts.timezones import timezone_choices

from .describe import WEEKDAY_NAMES
from .fit import FitWarning
from .models import (
    MAX_MINUTES_PER_ROUTINE,
    MAX_MONTHLY_MONEY,
    MAX_PLAN_ITEMS,
    WINDOWED_FREQUENCIES,
    Concern,
    ConcernCategory,
    Currency,
    DailyPattern,
    Frequency,
    ItemKind,
    PatientProfile,
    PlanItem,
    TimeOfDay,
)
from .selectors import preferences_offered
from .services import ItemDraft

MAX_PLAN_DAYS = 3 * 365
MAX_ITEM_COST = Decimal("10000")
BIGINT = 2**63


class ModelIdsField(forms.ModelMultipleChoiceField):
    """Ids too big for any id column are invalid choices, not a database error (SQLite raises
    OverflowError on them inside Django's ``pk__in`` check)."""

    def clean(self, value: object) -> object:
        for pk in value if isinstance(value, list | tuple) else ():
            try:
                too_big = not -BIGINT <= int(str(pk).strip()) < BIGINT
            except ValueError:
                continue  # not a number: Django reports it
            if too_big:
                raise forms.ValidationError(self.error_messages["invalid_choice"],
                                            code="invalid_choice", params={"value": pk})
        return super().clean(value)


# Labels and help as each reader reads them: (the patient's own page, the clinician's editor).
PROFILE_WORDING: dict[str, dict[str, tuple[str, str]]] = {
    "label": {
        "what_matters": (
            _("What matters to me"),
            _("What matters to the patient"),
        ),
        "daily_pattern": (
            _("My usual days"),
            _("Daily pattern"),
        ),
        "morning_minutes": (
            _("Minutes for my morning routine"),
            _("Minutes for the morning routine"),
        ),
        "evening_minutes": (
            _("Minutes for my evening routine"),
            _("Minutes for the evening routine"),
        ),
        "lifestyle_notes": (
            _("More about my days"),
            _("About their days"),
        ),
        "monthly_budget": (
            _("My monthly budget for skin care"),
            _("Monthly budget for skin care"),
        ),
        "currency": (
            _("Currency"),
            _("Currency"),
        ),
        "preferences": (
            _("What I prefer"),
            _("Preferences"),
        ),
        "preference_notes": (
            _("Anything else I prefer"),
            _("Other preferences"),
        ),
        "timezone": (
            _("My time zone"),
            _("Time zone"),
        ),
    },
    "help_text": {
        "what_matters": (
            _("Your own goal, in your words."),
            _("The patient's own goal, in their words."),
        ),
        "morning_minutes": (
            _("How many minutes you can spend each morning. Leave it empty if "
              "you are not sure yet."),
            _("Minutes the patient is willing to spend each morning."),
        ),
        "evening_minutes": (
            _("How many minutes you can spend each evening. Leave it empty if "
              "you are not sure yet."),
            _("Minutes the patient is willing to spend each evening."),
        ),
        "monthly_budget": (
            _("The most you can spend out of pocket each month. Leave it empty if "
              "you would rather not say yet."),
            _("The most the patient can spend out of pocket each month."),
        ),
        "currency": (
            "",
            _("New profiles start in the clinic's currency."),
        ),
        "timezone": (
            _("Your day (check-ins and reminders) follows this time zone."),
            _("The patient's day (check-ins and reminders) follows this time zone."),
        ),
    },
}
NOT_GIVEN_CHOICE = _("Not given yet")


class ProfileForm(forms.ModelForm):
    """The person behind the plan; dermatologists and the patient edit the same fields, each
    worded for its reader. Empty answers stay empty ("not given yet"), never a default."""

    timezone = forms.ChoiceField()

    class Meta:
        model = PatientProfile
        fields = [
            "what_matters", "daily_pattern", "morning_minutes", "evening_minutes",
            "lifestyle_notes", "monthly_budget", "currency", "preferences", "preference_notes",
        ]
        widgets = {
            "what_matters": forms.Textarea(attrs={"rows": 2}),
            "lifestyle_notes": forms.Textarea(attrs={"rows": 3}),
            "preference_notes": forms.Textarea(attrs={"rows": 2}),
            "preferences": forms.CheckboxSelectMultiple,
        }
        field_classes = {"preferences": ModelIdsField}

    def __init__(self, *args: object, patient: Patient, for_patient: bool,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        reader = 0 if for_patient else 1
        for attribute, wording in PROFILE_WORDING.items():
            for name, texts in wording.items():
                setattr(self.fields[name], attribute, texts[reader])
        self.fields["daily_pattern"].choices = [
            ("", NOT_GIVEN_CHOICE), *DailyPattern.choices]
        self.fields["currency"].choices = Currency.choices  # always set: no empty choice
        self.fields["preferences"].queryset = preferences_offered(patient.clinic_id)
        self.fields["timezone"].choices = timezone_choices(
            first=patient.clinic.timezone, keep=patient.timezone,
            first_group=(gettext("Your clinic's time zone") if for_patient
                         else gettext("The clinic's time zone")),
        )
        self.fields["timezone"].initial = patient.timezone
        self.fields["monthly_budget"].widget.attrs.update(step="0.01", min="0")
        for name in ("morning_minutes", "evening_minutes"):
            self.fields[name].widget.attrs.update(min="0", max=str(MAX_MINUTES_PER_ROUTINE))
        self.fields["monthly_budget"].validators.append(MaxValueValidator(MAX_MONTHLY_MONEY))

    def save_for(self, actor: object) -> None:
        """Save through the service (audited when the actor is a clinician)."""
        from .services import profile_update

        profile_update(
            patient=self.patient, actor=actor,
            data={f: self.cleaned_data[f] for f in self.Meta.fields if f != "preferences"},
            preferences=self.cleaned_data["preferences"],
            timezone_name=self.cleaned_data["timezone"],
        )


# Routine groups of the editor, in the order it lists them (and saves the steps' positions).
ROUTINE_GROUPS: list[tuple[str, str]] = [
    ("morning", _("Morning")),
    ("both", _("Morning and evening")),
    ("evening", _("Evening")),
    ("other", _("Other: every few weeks, monthly, once, when needed")),
    ("new", _("New steps")),
]
_GROUP_ORDER = {name: index for index, (name, _label) in enumerate(ROUTINE_GROUPS)}
_OUTSIDE_ROUTINE = frozenset({*WINDOWED_FREQUENCIES, Frequency.AS_NEEDED})


def routine_group(*, time_of_day: object, frequency: object, name: object) -> str:
    """The editor group of a row from its (possibly raw, unvalidated) values: a row without a
    name is new; dated and when-needed steps are "other"; the rest by time of day."""
    if not str(name or "").strip():
        return "new"
    if frequency in _OUTSIDE_ROUTINE:
        return "other"
    return str(time_of_day) if time_of_day in _GROUP_ORDER else "other"


class PlanItemForm(forms.Form):
    """One step. Its position is the row's place in the editor (moved with buttons or dragged),
    never a typed number; ``catalogue_item`` remembers which catalogue item it came from."""

    key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    catalogue_item = forms.IntegerField(required=False, min_value=1, max_value=BIGINT - 1,
                                        widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=ItemKind.choices, label=_("Type"))
    name = forms.CharField(max_length=120)
    instructions = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    time_of_day = forms.ChoiceField(choices=TimeOfDay.choices, label=_("When"))
    frequency = forms.ChoiceField(
        choices=Frequency.choices, label=_("How often"),
        help_text=_("Every few weeks: injections. Once a month: e.g. a blood test or a repeat "
                    "prescription. When needed: logged when used, never counted as missed."),
    )
    weekdays = forms.MultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)), required=False,
        widget=forms.CheckboxSelectMultiple, label=_("Days of the week"),
    )
    every_n_days = forms.IntegerField(
        min_value=2, max_value=30, required=False, label=_("Every how many days")
    )
    ramp_every_n_days = forms.IntegerField(
        min_value=2, max_value=7, required=False, label=_("Ramp-up: every how many days"),
        help_text=_("2 = alternate days."),
    )
    ramp_days = forms.IntegerField(
        min_value=1, max_value=MAX_PLAN_DAYS, required=False, label=_("Ramp-up length (days)")
    )
    every_n_weeks = forms.IntegerField(
        min_value=1, max_value=12, required=False, label=_("Every how many weeks"),
        help_text=_("2 or 4 for most injections."),
    )
    day_of_month = forms.IntegerField(
        min_value=1, max_value=31, required=False, label=_("Day of the month"),
        help_text=_("29, 30 or 31: the last day of shorter months."),
    )
    starts_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        label=_("First dose or date"),
        help_text=_("Every few weeks: the first dose. Once: its date. Other steps: leave "
                    "empty to start with the plan."),
    )
    window_days = forms.IntegerField(
        min_value=0, max_value=27, required=False, label=_("Days a late dose still counts"),
        help_text=_("The patient sees it as late but still counted for this many days after "
                    "it is due; 0 or empty: only on its day."),
    )
    ends_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Course ends on"),
        help_text=_("The last day (included); empty: until the plan changes."),
    )
    minutes = forms.IntegerField(min_value=0, max_value=120, initial=2)
    monthly_cost = forms.DecimalField(
        min_value=Decimal("0"), max_digits=9, decimal_places=2, initial=Decimal("0"),
        label=_("Monthly cost"), validators=[MaxValueValidator(MAX_ITEM_COST)],
    )
    contains_fragrance = forms.BooleanField(required=False, label=_("Contains fragrance"))
    animal_derived = forms.BooleanField(required=False, label=_("Animal-derived or tested"))
    pregnancy_unsafe = forms.BooleanField(required=False, label=_("Not for pregnancy"))

    # Fields whose change makes a blank extra row count as a new item (a row with only a cost
    # typed is a step that needs a name, not nothing).
    CONTENT_FIELDS = frozenset({
        "name", "instructions", "monthly_cost", "minutes", "every_n_days", "every_n_weeks",
        "day_of_month", "starts_on", "ends_on", "ramp_days", "ramp_every_n_days", "window_days",
        "weekdays",
    })
    # The fields each frequency needs beyond the common ones (the editor shows only these).
    SCHEDULE_FIELDS: dict[str, tuple[str, ...]] = {
        Frequency.DAILY: ("ramp_every_n_days", "ramp_days", "ends_on"),
        Frequency.WEEKDAYS: ("weekdays", "ramp_every_n_days", "ramp_days", "ends_on"),
        Frequency.EVERY_N_DAYS: ("every_n_days", "ramp_every_n_days", "ramp_days", "ends_on"),
        Frequency.EVERY_N_WEEKS: ("every_n_weeks", "starts_on", "window_days", "ends_on"),
        Frequency.MONTHLY: ("day_of_month", "starts_on", "window_days", "ends_on"),
        Frequency.ONCE: ("starts_on", "window_days"),
        Frequency.AS_NEEDED: ("ends_on",),
    }
    SCHEDULED = frozenset(f for fields in SCHEDULE_FIELDS.values() for f in fields)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("key"):
            self.initial["key"] = uuid.uuid4()

    def has_changed(self) -> bool:
        return bool(self.CONTENT_FIELDS & set(self.changed_data))

    def raw(self, name: str) -> object:
        return self[name].value()

    @property
    def group(self) -> str:
        return routine_group(time_of_day=self.raw("time_of_day"),
                             frequency=self.raw("frequency"), name=self.raw("name"))

    def preview_item(self, position: int = 1) -> PlanItem | None:
        """The row as an unsaved item (for its one-line summary), or None while invalid."""
        if not self.is_bound:  # as loaded: the current revision's or a template's step
            values = self.initial
            if not values.get("name"):
                return None
            return PlanItem(key=values.get("key") or uuid.uuid4(), **{
                f: "".join(values.get(f) or []) if f == "weekdays" else values.get(f)
                for f in ItemDraft.__dataclass_fields__ if f not in ("key", "position")})
        if not self.is_valid() or not self.cleaned_data.get("name"):
            return None
        draft = self.draft(position)
        return PlanItem(key=draft.key or uuid.uuid4(),
                        **{f: getattr(draft, f) for f in draft.__dataclass_fields__ if f != "key"})

    def schedule_fields(self) -> list[forms.BoundField]:
        """The fields the row's frequency needs, plus any with an error (never hidden)."""
        needed = set(self.SCHEDULE_FIELDS.get(str(self.raw("frequency")), ()))
        errors = set(self.errors) if self.is_bound else set()
        return [self[name] for name in self.fields
                if name in self.SCHEDULED and (name in needed or name in errors)]

    def clean(self) -> dict:
        data = super().clean()
        frequency = data.get("frequency")
        if frequency == Frequency.WEEKDAYS and not data.get("weekdays"):
            self.add_error("weekdays", gettext("Choose at least one day of the week."))
        if frequency == Frequency.EVERY_N_DAYS and not data.get("every_n_days"):
            self.add_error("every_n_days", gettext("Say every how many days."))
        if bool(data.get("ramp_days")) != bool(data.get("ramp_every_n_days")):
            self.add_error("ramp_days", gettext("A ramp-up needs both its length and how often."))
        elif data.get("ramp_days") and frequency in (*WINDOWED_FREQUENCIES, Frequency.AS_NEEDED):
            self.add_error("ramp_days", gettext(
                "A ramp-up is for daily, weekday or every-few-days steps only."))
        self._clean_dated(data, frequency)
        return data

    def _clean_dated(self, data: dict, frequency: str | None) -> None:
        """Every few weeks, monthly, once: each needs its own fields, and a window shorter
        than the time between doses. Fields a frequency does not use are ignored."""
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if frequency == Frequency.EVERY_N_WEEKS:
            if not data.get("every_n_weeks"):
                self.add_error("every_n_weeks", gettext("Say every how many weeks."))
            if not starts_on:
                self.add_error("starts_on", gettext("Give the date of the first dose."))
        if frequency == Frequency.MONTHLY and not data.get("day_of_month"):
            self.add_error("day_of_month", gettext("Choose the day of the month."))
        if frequency == Frequency.ONCE and not starts_on:
            self.add_error("starts_on", gettext("Give the date it is due."))
        window = data.get("window_days") or 0
        longest = {Frequency.EVERY_N_WEEKS: 7 * (data.get("every_n_weeks") or 1) - 1,
                   Frequency.MONTHLY: 27}.get(frequency)
        if longest is not None and window > longest:
            self.add_error("window_days", gettext(
                "A late dose must count for fewer days than there are between doses "
                "(%(most)s at most).") % {"most": longest})
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", gettext("The course must end on or after its first day."))

    def draft(self, position: int = 1) -> ItemDraft:
        data = self.cleaned_data
        frequency = data["frequency"]
        return ItemDraft(
            key=data.get("key") or None,
            position=position,
            kind=data["kind"],
            name=data["name"].strip(),
            instructions=data.get("instructions", "").strip(),
            time_of_day=data["time_of_day"],
            frequency=frequency,
            weekdays="".join(sorted(data["weekdays"])) if frequency == Frequency.WEEKDAYS else "",
            every_n_days=data["every_n_days"] if frequency == Frequency.EVERY_N_DAYS else None,
            ramp_every_n_days=data.get("ramp_every_n_days"),
            ramp_days=data.get("ramp_days"),
            every_n_weeks=data.get("every_n_weeks") if frequency == Frequency.EVERY_N_WEEKS
            else None,
            day_of_month=data.get("day_of_month") if frequency == Frequency.MONTHLY else None,
            window_days=(data.get("window_days") or None)
            if frequency in WINDOWED_FREQUENCIES else None,
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            minutes=data["minutes"],
            monthly_cost=data["monthly_cost"],
            contains_fragrance=data["contains_fragrance"],
            animal_derived=data["animal_derived"],
            pregnancy_unsafe=data["pregnancy_unsafe"],
        )


def item_initial(item: PlanItem) -> dict:
    return {
        "key": item.key, "position": item.position, "kind": item.kind, "name": item.name,
        "instructions": item.instructions, "time_of_day": item.time_of_day,
        "frequency": item.frequency, "weekdays": list(item.weekdays),
        "every_n_days": item.every_n_days, "ramp_every_n_days": item.ramp_every_n_days,
        "ramp_days": item.ramp_days, "minutes": item.minutes, "monthly_cost": item.monthly_cost,
        "every_n_weeks": item.every_n_weeks, "day_of_month": item.day_of_month,
        "starts_on": item.starts_on, "window_days": item.window_days, "ends_on": item.ends_on,
        "contains_fragrance": item.contains_fragrance, "animal_derived": item.animal_derived,
        "pregnancy_unsafe": item.pregnancy_unsafe,
    }


class BasePlanItemFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "A plan holds at most %(num)d items: remove one to add another.",
    }

    def __init__(self, *args: object, plan_days: int | None = None, **kwargs: object) -> None:
        self.plan_days = plan_days
        super().__init__(*args, **kwargs)

    def kept_forms(self) -> list[PlanItemForm]:
        return [
            form for form in self.forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        kept = self.kept_forms()
        if not kept:
            raise forms.ValidationError(gettext("A plan needs at least one item."))
        keys = [form.cleaned_data.get("key") for form in kept if form.cleaned_data.get("key")]
        if len(keys) != len(set(keys)):
            raise forms.ValidationError(gettext("Two items share an identity; reload the editor."))
        if self.plan_days is not None:
            for form in kept:
                ramp = form.cleaned_data.get("ramp_days")
                if ramp and ramp > self.plan_days:
                    form.add_error(
                        "ramp_days",
                        gettext("The ramp-up (%(ramp)s days) is longer than the plan "
                                "(%(days)s days until the review).")
                        % {"ramp": ramp, "days": self.plan_days},
                    )
                    raise forms.ValidationError(gettext("A ramp-up is longer than the plan."))

    def in_routine_order(self) -> list[PlanItemForm]:
        """The rows as the editor lists them: by routine group, then by their place."""
        return sorted(self.forms, key=lambda form: _GROUP_ORDER[form.group])

    def drafts(self) -> list[ItemDraft]:
        """The kept steps, positioned by their place in the editor (never a typed number)."""
        kept = set(map(id, self.kept_forms()))
        ordered = [form for form in self.in_routine_order() if id(form) in kept]
        return [form.draft(position) for position, form in enumerate(ordered, start=1)]

    def incomplete(self) -> list[tuple[int, PlanItemForm]]:
        """Started rows that cannot be saved yet, with their step numbers as the editor shows
        them (the fit check names them rather than counting them as nothing)."""
        return [
            (number, form) for number, form in enumerate(self.in_routine_order(), start=1)
            if form.has_changed() and not self._should_delete_form(form) and not form.is_valid()
        ]

    def preview_items(self) -> list[PlanItem]:
        """Unsaved items from the rows that are valid, for a live fit check while editing."""
        items = []
        for position, form in enumerate(self.in_routine_order(), start=1):
            if form.is_valid() and form.has_changed() and not self._should_delete_form(form):
                draft = form.draft(position)
                items.append(PlanItem(
                    key=draft.key or uuid.uuid4(),
                    **{f: getattr(draft, f) for f in draft.__dataclass_fields__
                       if f != "key"},
                ))
        return items


# absolute_max: a POST's TOTAL_FORMS cannot make the formset build more rows than a plan may
# hold (Django's default allows max_num + 1000, which a tampered POST rendered as a 5 MB page).
PlanItemFormSet = forms.formset_factory(
    PlanItemForm, formset=BasePlanItemFormSet, extra=1, can_delete=True,
    max_num=MAX_PLAN_ITEMS, validate_max=True, absolute_max=MAX_PLAN_ITEMS,
)


class PlanMetaForm(forms.Form):
    base_number = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    starts_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Plan starts on"), help_text=_("Only for a new plan."),
    )
    reviews_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label=_("Review visit on"),
        help_text=_("The plan runs until this visit."),
    )
    # The photo diary: how often Today asks for a progress photo (with the patient's consent).
    photo_every_weeks = forms.IntegerField(
        required=False, min_value=1, max_value=26,
        label=_("Ask for a photo every … weeks"),
        help_text=_("Empty: never. Photos are asked for only if the patient agrees to them."),
        error_messages={"min_value": _("Ask every 1 to 26 weeks, or leave it empty."),
                        "max_value": _("Ask every 1 to 26 weeks, or leave it empty."),
                        "invalid": _("Ask every 1 to 26 weeks, or leave it empty.")},
    )
    reason = forms.CharField(
        min_length=5, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Reason for this change (the patient reads it)"),
    )
    resolve_concerns = ModelIdsField(
        queryset=Concern.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label=_("This change answers these concerns"),
    )

    def __init__(self, *args: object, patient: Patient, plan_starts_on: date | None,
                 today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.plan_starts_on = plan_starts_on
        self.today = today
        unresolved = patient.concerns.exclude(status=Concern.Status.RESOLVED)
        if unresolved.exists():
            self.fields["resolve_concerns"].queryset = unresolved
            self.fields["resolve_concerns"].label_from_instance = concern_label
        else:
            del self.fields["resolve_concerns"]
        if plan_starts_on is not None:
            del self.fields["starts_on"]

    def start(self) -> date:
        if self.plan_starts_on is not None:
            return self.plan_starts_on
        return self.cleaned_data.get("starts_on") or self.today

    def clean(self) -> dict:
        data = super().clean()
        starts_on = data.get("starts_on")
        if starts_on and not (self.today - timedelta(days=30) <= starts_on
                              <= self.today + timedelta(days=365)):
            self.add_error(
                "starts_on", gettext("Start within the next year (or the last 30 days)."))
        reviews_on = data.get("reviews_on")
        if reviews_on:
            start = self.start()
            if reviews_on <= max(start, self.today):
                self.add_error(
                    "reviews_on", gettext("The review must be after today and the plan start."))
            elif (reviews_on - start).days > MAX_PLAN_DAYS:
                self.add_error(
                    "reviews_on", gettext("Plans run for at most three years between reviews."))
        return data

    def plan_days(self) -> int | None:
        reviews_on = self.cleaned_data.get("reviews_on") if hasattr(self, "cleaned_data") else None
        return (reviews_on - self.start()).days if reviews_on else None


def concern_label(concern: Concern) -> str:
    """A concern as the dermatologist tells it apart: the item, the patient's own words (or
    the category they chose) and the day it was raised."""
    words = concern.text.strip() or concern.get_category_display()
    if len(words) > 120:
        words = words[:119] + "…"
    return gettext("%(item)s: “%(words)s” (raised %(day)s)") % {
        "item": concern.item_name, "words": words,
        "day": formats.date_format(timezone.localtime(concern.created_at), "j M"),
    }


class FitAcceptanceForm(forms.Form):
    """One "accept with a note" pair per fit warning, keyed by the warning's code."""

    def __init__(self, *args: object, warnings: list[FitWarning], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.warnings = warnings
        for warning in warnings:
            self.fields[f"accept:{warning.code}"] = forms.BooleanField(
                required=False, label=_("Accept this for the patient")
            )
            self.fields[f"note:{warning.code}"] = forms.CharField(
                required=False, max_length=500, label=_("Note for the patient"),
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def rows(self) -> list[tuple[FitWarning, forms.BoundField, forms.BoundField]]:
        return [(w, self[f"accept:{w.code}"], self[f"note:{w.code}"]) for w in self.warnings]

    def clean(self) -> dict:
        data = super().clean()
        for warning in self.warnings:
            note_field = f"note:{warning.code}"
            if data.get(f"accept:{warning.code}") and not data.get(note_field, "").strip():
                self.add_error(note_field, gettext("Write a note for the patient to accept this."))
        return data

    def accepted(self) -> dict[str, str]:
        return {
            w.code: self.cleaned_data[f"note:{w.code}"].strip()
            for w in self.warnings if self.cleaned_data.get(f"accept:{w.code}")
        }


class ConcernForm(forms.Form):
    category = forms.ChoiceField(
        choices=ConcernCategory.choices, widget=forms.RadioSelect, label=_("What is the problem?")
    )
    text = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Tell your dermatologist more"),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("category") == ConcernCategory.OTHER and not data.get("text", "").strip():
            self.add_error("text", gettext("Tell us what the problem is."))
        return data


class ConcernReplyForm(forms.Form):
    reply = forms.CharField(
        min_length=2, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Your answer to the patient"),
    )


