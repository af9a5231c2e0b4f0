"""A clinic's catalogue of products and medicines, and its regimen templates.

A catalogue item is what a plan step is usually made of: its name, type, default instructions
and schedule, minutes, typical monthly cost in the clinic's currency, a cheaper generic
alternative, and the properties the fit check reads. Items are retired (``active``), never
deleted: templates point at them. A regimen template is an ordered set of catalogue items with
their schedules and ramp-ups; the plan editor starts a plan from it
(``catalogue.services.template_item_drafts``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Clinic
from careplans.models import WINDOWED_FREQUENCIES, Frequency, ItemKind, TimeOfDay

MAX_ITEM_MINUTES = 120
MAX_ITEM_COST = Decimal("10000")
MAX_TEMPLATE_STEPS = 40  # a plan holds at most 40 items (careplans.models.MAX_PLAN_ITEMS)
MAX_COURSE_WEEKS = 156  # three years: the longest plan (careplans.forms.MAX_PLAN_DAYS)
MAX_FIRST_DOSE_AFTER_DAYS = 365
# The fields each schedule kind uses beyond when (the template page shows only these; the
# others are cleared on save): a template has no calendar of its own, so a dated schedule is
# relative to the plan's start, and a course is a number of weeks (careplans.forms.PlanItemForm
# says the same in real dates).
SCHEDULE_FIELDS: dict[str, tuple[str, ...]] = {
    Frequency.DAILY: ("course_weeks",),
    Frequency.WEEKDAYS: ("weekdays", "course_weeks"),
    Frequency.EVERY_N_DAYS: ("every_n_days", "course_weeks"),
    Frequency.EVERY_N_WEEKS: ("every_n_weeks", "first_dose_after_days", "window_days",
                              "course_weeks"),
    Frequency.MONTHLY: ("day_of_month", "first_dose_after_days", "window_days", "course_weeks"),
    Frequency.ONCE: ("first_dose_after_days", "window_days"),
    Frequency.AS_NEEDED: ("course_weeks",),
}
SCHEDULE_EMPTY: dict[str, object] = {
    "weekdays": "", "every_n_days": None, "every_n_weeks": None, "day_of_month": None,
    "window_days": None, "course_weeks": None, "first_dose_after_days": 0,
}


def schedule_errors(obj: CatalogueItem | TemplateStep) -> dict[str, str]:
    """Clears the fields ``obj``'s frequency does not use, and says what it lacks (as the plan
    editor does: careplans.forms.PlanItemForm)."""
    frequency = obj.frequency
    errors = {}
    weekdays = obj.weekdays
    malformed = weekdays and (any(d not in "0123456" for d in weekdays)
                              or len(set(weekdays)) != len(weekdays))
    used = SCHEDULE_FIELDS.get(frequency, ())
    for name, empty in SCHEDULE_EMPTY.items():
        if name not in used and hasattr(obj, name):
            setattr(obj, name, empty)
    if malformed:
        errors["weekdays"] = gettext("Days of the week are digits 0 (Monday) to 6 (Sunday).")
    elif frequency == Frequency.WEEKDAYS and not weekdays:
        errors["weekdays"] = gettext("Choose at least one day of the week.")
    if frequency == Frequency.EVERY_N_DAYS and not obj.every_n_days:
        errors["every_n_days"] = gettext("Say every how many days.")
    if frequency == Frequency.EVERY_N_WEEKS and not obj.every_n_weeks:
        errors["every_n_weeks"] = gettext("Say every how many weeks.")
    if frequency == Frequency.MONTHLY and not obj.day_of_month:
        errors["day_of_month"] = gettext("Choose the day of the month.")
    longest = {Frequency.EVERY_N_WEEKS: 7 * (obj.every_n_weeks or 1) - 1,
               Frequency.MONTHLY: 27}.get(frequency)
    if longest is not None and (obj.window_days or 0) > longest:
        errors["window_days"] = gettext(
            "A late dose must count for fewer days than there are between doses "
            "(%(most)s at most).") % {"most": longest}
    return errors


class _DatedSchedule(models.Model):
    """A dated schedule (every few weeks, monthly, with a late window) and a course's length,
    relative to the plan's start: a catalogue item's usual schedule or a template step's."""

    every_n_weeks = models.PositiveSmallIntegerField(
        _("every how many weeks"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Only for “Every few weeks”: 2 or 4 for most injections."),
    )
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Only for “Once a month”: 29, 30 or 31 is the last day of shorter months."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("days a late dose still counts"), null=True, blank=True,
        validators=[MaxValueValidator(27)],
        help_text=_("Every few weeks, monthly or once: the patient sees it as late but still "
                    "counted for this many days after it is due; empty: only on its day."),
    )
    course_weeks = models.PositiveSmallIntegerField(
        _("course length (weeks)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_COURSE_WEEKS)],
        help_text=_("A course stops asking after this many weeks; empty: until the plan "
                    "changes."),
    )

    class Meta:
        abstract = True

    # The schedule wording (careplans.describe.when_text) reads these of a plan step; a
    # catalogue item or template step has no calendar (it says "for 12 weeks" instead).
    starts_on = None
    ends_on = None


class CatalogueItem(_DatedSchedule):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="catalogue_items")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("type"), max_length=20, choices=ItemKind.choices)
    instructions = models.TextField(_("default instructions"), max_length=1000, blank=True)
    time_of_day = models.CharField(
        _("usual time of day"), max_length=10, choices=TimeOfDay.choices,
        default=TimeOfDay.EVENING,
    )
    frequency = models.CharField(
        _("usual frequency"), max_length=20, choices=Frequency.choices,
        default=Frequency.DAILY
    )
    weekdays = models.CharField(
        _("days of the week"), max_length=7, blank=True,
        help_text=_("Digits of due weekdays, Monday=0 (e.g. '024')."),
    )
    every_n_days = models.PositiveSmallIntegerField(
        _("every how many days"), null=True, blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(30)],
    )
    minutes = models.PositiveSmallIntegerField(
        _("minutes"), default=2, validators=[MaxValueValidator(MAX_ITEM_MINUTES)]
    )
    monthly_cost = models.DecimalField(
        _("typical monthly cost"), max_digits=9, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_ITEM_COST)],
        help_text=_("In the clinic's currency."),
    )
    generic_alternative = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaces",
        verbose_name=_("generic alternative"),
    )
    contains_fragrance = models.BooleanField(_("contains fragrance"), default=False)
    animal_derived = models.BooleanField(_("animal-derived or animal-tested"), default=False)
    pregnancy_unsafe = models.BooleanField(
        _("not advised in pregnancy or breastfeeding"), default=False
    )
    active = models.BooleanField(
        _("in use"), default=True, help_text=_("Retired items are kept but no longer offered.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue items")
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "clinic", name="unique_catalogue_item_name_per_clinic",
                violation_error_message=_("This clinic's catalogue already has an item of "
                                          "that name."),
            ),
        ]
        indexes = [models.Index(fields=["clinic", "active", "name"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = schedule_errors(self)
        alternative = self.generic_alternative
        if alternative is not None:
            if self.pk is not None and alternative.pk == self.pk:
                errors["generic_alternative"] = gettext("An item cannot be its own alternative.")
            elif self.clinic_id is not None and alternative.clinic_id != self.clinic_id:
                errors["generic_alternative"] = gettext(
                    "The alternative must be in the same clinic's catalogue.")
        if self.clinic_id is not None and self.name and CatalogueItem.objects.filter(
                clinic_id=self.clinic_id, name__iexact=self.name.strip()
        ).exclude(pk=self.pk).exists():
            errors["name"] = gettext("This clinic's catalogue already has an item of that name.")
        if errors:
            raise ValidationError(errors)

    @property
    def generic_saving(self) -> Decimal | None:
        """What switching to the generic alternative saves a month (None without one)."""
        if self.generic_alternative is None:
            return None
        return self.monthly_cost - self.generic_alternative.monthly_cost


class RegimenTemplate(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="regimen_templates")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(
        _("condition and description"), max_length=1000, blank=True,
        help_text=_("Who it is for and what it aims at, for the clinic's dermatologists."),
    )
    active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("regimen template")
        verbose_name_plural = _("regimen templates")
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "clinic", name="unique_regimen_template_name_per_clinic",
                violation_error_message=_("This clinic already has a template of that name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("template_detail", kwargs={"template_id": self.pk})

    def clean(self) -> None:
        if self.clinic_id is not None and self.name and RegimenTemplate.objects.filter(
                clinic_id=self.clinic_id, name__iexact=self.name.strip()
        ).exclude(pk=self.pk).exists():
            raise ValidationError(
                {"name": gettext("This clinic already has a template of that name.")})


class TemplateStep(_DatedSchedule):
    """One step of a template: a catalogue item with its schedule in this regimen."""

    template = models.ForeignKey(RegimenTemplate, on_delete=models.CASCADE, related_name="steps")
    # Set by the services (1, 2, 3…), never typed by anyone.
    position = models.PositiveSmallIntegerField()
    catalogue_item = models.ForeignKey(
        CatalogueItem, on_delete=models.PROTECT, related_name="template_steps",
        verbose_name=_("catalogue item"),
    )
    time_of_day = models.CharField(_("when"), max_length=10, choices=TimeOfDay.choices)
    frequency = models.CharField(
        _("how often"), max_length=20, choices=Frequency.choices, default=Frequency.DAILY
    )
    weekdays = models.CharField(_("days of the week"), max_length=7, blank=True)
    every_n_days = models.PositiveSmallIntegerField(
        _("every how many days"), null=True, blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(30)],
    )
    ramp_every_n_days = models.PositiveSmallIntegerField(
        _("ramp-up: every how many days"), null=True, blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(7)],
    )
    ramp_days = models.PositiveSmallIntegerField(
        _("ramp-up length (days)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    first_dose_after_days = models.PositiveSmallIntegerField(
        _("first dose: days after the plan starts"), default=0,
        validators=[MaxValueValidator(MAX_FIRST_DOSE_AFTER_DAYS)],
        help_text=_("Every few weeks or monthly: when the first dose is; once: when it is due. "
                    "0: the day the plan starts."),
    )
    instructions = models.TextField(
        _("instructions for this regimen"), max_length=1000, blank=True,
        help_text=_("Leave empty to use the catalogue item's instructions."),
    )

    class Meta:
        ordering = ["template", "position", "id"]
        verbose_name = _("template step")
        verbose_name_plural = _("template steps")

    def __str__(self) -> str:
        return f"{self.position}. {self.catalogue_item}"

    def clean(self) -> None:
        errors = schedule_errors(self)
        if bool(self.ramp_days) != bool(self.ramp_every_n_days):
            errors["ramp_days"] = gettext("A ramp-up needs both its length and how often.")
        elif self.ramp_days and self.frequency in (*WINDOWED_FREQUENCIES, Frequency.AS_NEEDED):
            errors["ramp_days"] = gettext(
                "A ramp-up is for daily, weekday or every-few-days steps only.")
        if errors:
            raise ValidationError(errors)

    # What the schedule wording (careplans.describe.when_text) reads of a step.
    @property
    def name(self) -> str:
        return self.catalogue_item.name

    @property
    def effective_instructions(self) -> str:
        return self.instructions or self.catalogue_item.instructions


# A catalogue item has no ramp-up of its own (a template step has); the schedule wording
# (careplans.describe.when_text) reads these.
CatalogueItem.ramp_days = None
CatalogueItem.ramp_every_n_days = None
