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
# The schedules a catalogue item or template step can carry: the dated ones (every few weeks,
# monthly, once, with a late window) need a first dose in the patient's own calendar, which a
# template does not have yet; the dermatologist sets them in the plan editor.
CATALOGUE_FREQUENCIES = [(value, label) for value, label in Frequency.choices
                         if value not in WINDOWED_FREQUENCIES]


class _UndatedSchedule:
    """What the schedule wording (careplans.describe.when_text) reads of a dated schedule or a
    course: never set on a catalogue item or template step."""

    every_n_weeks = None
    day_of_month = None
    window_days = None
    ends_on = None


def _schedule_errors(frequency: str, weekdays: str, every_n_days: int | None) -> dict[str, str]:
    errors = {}
    if weekdays and (any(d not in "0123456" for d in weekdays)
                     or len(set(weekdays)) != len(weekdays)):
        errors["weekdays"] = gettext("Days of the week are digits 0 (Monday) to 6 (Sunday).")
    elif frequency == Frequency.WEEKDAYS and not weekdays:
        errors["weekdays"] = gettext("Choose at least one day of the week.")
    if frequency == Frequency.EVERY_N_DAYS and not every_n_days:
        errors["every_n_days"] = gettext("Say every how many days.")
    return errors


class CatalogueItem(_UndatedSchedule, models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="catalogue_items")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("type"), max_length=20, choices=ItemKind.choices)
    instructions = models.TextField(_("default instructions"), max_length=1000, blank=True)
    time_of_day = models.CharField(
        _("usual time of day"), max_length=10, choices=TimeOfDay.choices,
        default=TimeOfDay.EVENING,
    )
    frequency = models.CharField(
        _("usual frequency"), max_length=20, choices=CATALOGUE_FREQUENCIES,
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
        errors = _schedule_errors(self.frequency, self.weekdays, self.every_n_days)
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


class TemplateStep(_UndatedSchedule, models.Model):
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
        _("how often"), max_length=20, choices=CATALOGUE_FREQUENCIES, default=Frequency.DAILY
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
        errors = _schedule_errors(self.frequency, self.weekdays, self.every_n_days)
        if bool(self.ramp_days) != bool(self.ramp_every_n_days):
            errors["ramp_days"] = gettext("A ramp-up needs both its length and how often.")
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
