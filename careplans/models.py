"""Care plans tailored to the person: profile, preferences, plans, immutable revisions, concerns.

A plan is a sequence of revisions. Each revision is an immutable snapshot of all items, with the
reason the patient reads. An item keeps its ``key`` across revisions, which is how diffs,
check-ins and adherence follow "the same step" through plan changes.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

# Currency is defined with the clinic (a clinic's money); profiles and the demo use it from here.
from accounts.models import Clinic, Currency, ImmutableModel, Patient

from .fit import stored_warning_message

MAX_MINUTES_PER_ROUTINE = 180
MAX_MONTHLY_MONEY = Decimal("100000")


class ConflictRule(models.TextChoices):
    """What in a plan goes against a preference; the fit check evaluates these."""

    ORAL = "oral", _("Contains oral medication")
    INJECTION = "injection", _("Contains injections")
    FRAGRANCE = "fragrance", _("Contains a fragranced product")
    ANIMAL_DERIVED = "animal_derived", _("Contains an animal-derived or animal-tested product")
    PREGNANCY_UNSAFE = "pregnancy_unsafe", _("Contains something not advised in pregnancy")
    MANY_STEPS = "many_steps", _("More daily steps than the patient wants")
    NONE = "", _("No automatic check (free-text guidance)")


# The labels the default preferences are seeded with (migrations 0002 and 0005), so each reads
# in the reader's language; a label a clinic wrote or changed reads as written.
DEFAULT_PREFERENCE_LABELS = (
    gettext_noop("Creams and gels rather than pills"), gettext_noop("No needles or injections"),
    gettext_noop("Fragrance-free products only"), gettext_noop("Vegan and cruelty-free products"),
    gettext_noop("Pregnant, planning pregnancy or breastfeeding"),
    gettext_noop("As few steps as possible"),
)


class Preference(models.Model):
    """One structured preference a patient can hold. The list lives here, in the database.

    Global preferences (no clinic) are seeded by migration; a clinic adds its own in the admin.
    """

    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=120)
    conflict = models.CharField(
        max_length=20, choices=ConflictRule.choices, blank=True,
        help_text="Which plan property the fit check flags against this preference.",
    )
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="preferences",
        help_text="Leave empty to offer it in every clinic.",
    )
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.shown_label

    @property
    def shown_label(self) -> str:
        """The label in the reader's language (as written when the catalogue lacks it)."""
        return gettext(self.label)


class DailyPattern(models.TextChoices):
    REGULAR = "regular", _("Regular days")
    SHIFT_WORK = "shift_work", _("Shift work")
    CAREGIVING = "caregiving", _("Caregiving")
    TRAVEL = "travel", _("Frequent travel")
    IRREGULAR = "irregular", _("Irregular or unpredictable")


class PatientProfile(models.Model):
    """The person the plan is built around. Patients edit it too (their goal, time, budget).

    A new profile starts empty (in the clinic's currency): an unanswered field is None or "",
    and reads "not given yet", never a made-up default. The timezone lives on
    :class:`accounts.models.Patient`.
    """

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="profile")
    daily_pattern = models.CharField(max_length=20, choices=DailyPattern.choices, blank=True)
    morning_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_MINUTES_PER_ROUTINE)],
        help_text="Minutes the patient is willing to spend on the morning routine.",
    )
    evening_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_MINUTES_PER_ROUTINE)],
        help_text="Minutes the patient is willing to spend on the evening routine.",
    )
    lifestyle_notes = models.TextField(max_length=1000, blank=True)
    monthly_budget = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_MONEY)],
        help_text="Most the patient can spend out of pocket each month.",
    )
    currency = models.CharField(
        max_length=3, choices=Currency.choices, help_text="Set from the clinic's on creation."
    )
    preferences = models.ManyToManyField(Preference, blank=True, related_name="profiles")
    preference_notes = models.TextField(max_length=1000, blank=True)
    what_matters = models.TextField(
        "What matters to me", max_length=500, blank=True,
        help_text="The patient's own goal, in their words.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of patient {self.patient_id}"


class CarePlan(models.Model):
    """The one active plan of a patient; its content is in its revisions."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="care_plan")
    starts_on = models.DateField()
    current_number = models.PositiveIntegerField(
        default=0, help_text="Number of the latest revision; the optimistic-lock check."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Plan of patient {self.patient_id}"


class PlanRevision(ImmutableModel):
    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    effective_from = models.DateField(help_text="Patient-local date the revision applies from.")
    reviews_on = models.DateField(help_text="Review visit: the plan runs until then.")
    reason = models.TextField(max_length=1000)
    # The fit check as saved: [{code, message, accepted, note}]. Kept so the patient sees the
    # accepted conflicts and their notes exactly as they were when the revision was made.
    fit_warnings = models.JSONField(default=list, blank=True)
    total_monthly_cost = models.DecimalField(max_digits=9, decimal_places=2)
    # The photo diary: Today asks for a photo every this many weeks (with the patient's consent);
    # empty: the plan asks for none.
    photo_every_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(26)])

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="unique_revision_number"),
        ]
        indexes = [models.Index(fields=["plan", "effective_from", "number"])]

    def __str__(self) -> str:
        return f"Revision {self.number} of plan {self.plan_id}"

    @property
    def open_warnings(self) -> list[dict]:
        """The warnings left open, each message in the reader's language."""
        return [_read(w) for w in self.fit_warnings if not w.get("accepted")]

    @property
    def accepted_warnings(self) -> list[dict]:
        """The trade-offs agreed, each message in the reader's language."""
        return [_read(w) for w in self.fit_warnings if w.get("accepted")]


def _read(warning: dict) -> dict:
    return {**warning, "message": stored_warning_message(warning)}


class ItemKind(models.TextChoices):
    SKINCARE = "skincare", _("Skincare step")
    TOPICAL = "topical", _("Topical medication")
    ORAL = "oral", _("Oral medication")
    INJECTION = "injection", _("Injection")
    PROCEDURE = "procedure", _("Procedure or appointment")
    LIFESTYLE = "lifestyle", _("Lifestyle")


class TimeOfDay(models.TextChoices):
    MORNING = "morning", _("Morning")
    EVENING = "evening", _("Evening")
    BOTH = "both", _("Morning and evening")


class Frequency(models.TextChoices):
    """How often a step is due (``careplans/schedule.py`` says on which dates)."""

    DAILY = "daily", _("Every day")
    WEEKDAYS = "weekdays", _("On chosen days of the week")
    EVERY_N_DAYS = "every_n_days", _("Every few days")
    EVERY_N_WEEKS = "every_n_weeks", _("Every few weeks")
    MONTHLY = "monthly", _("Once a month")
    ONCE = "once", _("Once, on a date")
    AS_NEEDED = "as_needed", _("When needed")


# Frequencies whose due dates may carry a window of days in which a late dose still counts.
WINDOWED_FREQUENCIES = (Frequency.EVERY_N_WEEKS, Frequency.MONTHLY, Frequency.ONCE)


# The most items one plan revision holds: the editor refuses more (and builds no more rows than
# this whatever a POST claims), and so does the service.
MAX_PLAN_ITEMS = 40


class PlanItem(ImmutableModel):
    revision = models.ForeignKey(PlanRevision, on_delete=models.PROTECT, related_name="items")
    key = models.UUIDField(default=uuid.uuid4, help_text="Same step across revisions.")
    position = models.PositiveSmallIntegerField(help_text="Order within the routine.")
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    name = models.CharField(max_length=120)
    instructions = models.TextField(max_length=1000, blank=True)
    time_of_day = models.CharField(max_length=10, choices=TimeOfDay.choices)
    frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.DAILY)
    weekdays = models.CharField(
        max_length=7, blank=True, help_text="Digits of due weekdays, Monday=0 (e.g. '024')."
    )
    every_n_days = models.PositiveSmallIntegerField(null=True, blank=True)
    ramp_every_n_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="During ramp-up, due every N days (2 = alternate days)."
    )
    ramp_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Length of the ramp-up from the item's start date."
    )
    starts_on = models.DateField(help_text="When this step began; anchors ramp-ups and every-N.")
    every_n_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For every_n_weeks: due every N weeks from starts_on."
    )
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="For monthly: the day of the month (past a short month's end: its last day).",
    )
    window_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Days after a due date in which a late dose still counts (0/empty: none).",
    )
    ends_on = models.DateField(
        null=True, blank=True, help_text="A course's last day (inclusive); never due after it."
    )
    minutes = models.PositiveSmallIntegerField(default=1)
    monthly_cost = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0"))
    contains_fragrance = models.BooleanField(default=False)
    animal_derived = models.BooleanField(
        "Animal-derived or animal-tested", default=False
    )
    pregnancy_unsafe = models.BooleanField("Not advised in pregnancy/breastfeeding", default=False)

    class Meta:
        ordering = ["revision", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "key"], name="unique_item_key_per_revision"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weekday_set(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.weekdays)

    @property
    def is_oral(self) -> bool:
        return self.kind == ItemKind.ORAL

    @property
    def is_injection(self) -> bool:
        return self.kind == ItemKind.INJECTION

    def slots(self) -> list[str]:
        if self.time_of_day == TimeOfDay.BOTH:
            return [TimeOfDay.MORNING, TimeOfDay.EVENING]
        return [self.time_of_day]

    def ramp_ends_on(self) -> date | None:
        if not self.ramp_days:
            return None
        from datetime import timedelta

        return self.starts_on + timedelta(days=self.ramp_days)


class ConcernCategory(models.TextChoices):
    TOO_EXPENSIVE = "too_expensive", _("Too expensive")
    IRRITATING = "irritating", _("Irritating my skin")
    NO_TIME = "no_time", _("I don't have time for it")
    UNCLEAR = "unclear", _("Instructions are unclear")
    OTHER = "other", _("Something else")


class Concern(models.Model):
    """A patient's concern about one plan item, answered by a reply or a revision."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        RESOLVED = "resolved", _("Resolved by a plan change")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="concerns")
    item_key = models.UUIDField()
    item_name = models.CharField(max_length=120, help_text="The item's name when raised.")
    raised_on_revision = models.ForeignKey(
        PlanRevision, on_delete=models.PROTECT, related_name="concerns_raised"
    )
    category = models.CharField(max_length=20, choices=ConcernCategory.choices)
    text = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who raised it: the patient, or a caregiver acting for them (empty: the patient, before
    # caregivers existed).
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    reply = models.TextField(max_length=2000, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    resolved_by_revision = models.ForeignKey(
        PlanRevision, null=True, blank=True, on_delete=models.PROTECT,
        related_name="concerns_resolved",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"Concern {self.pk} ({self.get_category_display()})"


# The longest note a recorded visit keeps: a line for the team, not a consultation record.
MAX_VISIT_NOTE = 300


class ClinicVisit(ImmutableModel):
    """A visit the clinic recorded as having happened (append-only, like the rest of the record).

    ``happened_on`` is the clinic-local date of the visit (never in the future). A visit recorded
    after the patient's last alliance pulse makes the pulse due (``checkins.services.pulse_due``),
    and one later than the current plan revision's date makes a plan review due
    (``careplans.visits``). Services and reads: ``careplans/visits.py``.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    happened_on = models.DateField(help_text="Clinic-local date of the visit.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    note = models.CharField(max_length=MAX_VISIT_NOTE, blank=True)

    class Meta:
        ordering = ["patient", "-happened_on", "-id"]
        indexes = [models.Index(fields=["patient", "-happened_on"], name="visit_patient_day")]

    def __str__(self) -> str:
        return f"Visit {self.happened_on} of patient {self.patient_id}"
