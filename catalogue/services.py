"""Writes to a clinic's catalogue and regimen templates. Each is audited (who changed which
item or template; never a patient's data: a catalogue holds none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import AuditEvent, Clinic, User
from accounts.services import audit_record

from .csv_io import ParsedFile
from .models import (
    MAX_TEMPLATE_STEPS,
    SCHEDULE_EMPTY,
    SCHEDULE_FIELDS,
    CatalogueItem,
    RegimenTemplate,
    TemplateStep,
)

ITEM_DATA_FIELDS = (
    "name", "kind", "instructions", "time_of_day", "frequency", "weekdays", "every_n_days",
    "every_n_weeks", "day_of_month", "window_days", "course_weeks", "minutes", "monthly_cost",
    "generic_alternative", "contains_fragrance", "animal_derived", "pregnancy_unsafe",
)
STEP_DATA_FIELDS = (
    "catalogue_item", "time_of_day", "frequency", "weekdays", "every_n_days",
    "every_n_weeks", "day_of_month", "first_dose_after_days", "window_days", "course_weeks",
    "ramp_every_n_days", "ramp_days", "instructions",
)


AUDIT_OBJECT_TYPES = {CatalogueItem: "catalogue_item", RegimenTemplate: "regimen_template"}


def _audit(actor: User, action: str, obj: CatalogueItem | RegimenTemplate) -> None:
    audit_record(actor=actor, patient=None, action=action,
                 object_type=AUDIT_OBJECT_TYPES[type(obj)], object_id=str(obj.pk))


def _normalised_schedule(data: dict[str, Any]) -> dict[str, Any]:
    """Clears the schedule fields the frequency does not use (``models.SCHEDULE_FIELDS``)."""
    frequency = data.get("frequency")
    if frequency is None:
        return data
    used = SCHEDULE_FIELDS.get(frequency, ())
    for field, empty in SCHEDULE_EMPTY.items():
        if field in data and field not in used:
            data[field] = empty
    return data


@transaction.atomic
def catalogue_item_save(*, clinic: Clinic, actor: User, data: dict[str, Any],
                        item: CatalogueItem | None = None) -> CatalogueItem:
    """Add an item (``item`` None) or change one; ``data`` is validated by the caller's form."""
    created = item is None
    item = item or CatalogueItem(clinic=clinic)
    if item.clinic_id != clinic.pk:
        raise ValueError("The item belongs to another clinic.")
    for field, value in _normalised_schedule(dict(data)).items():
        setattr(item, field, value)
    item.name = " ".join(item.name.split())
    item.save()
    _audit(actor, AuditEvent.Action.CREATE if created else AuditEvent.Action.CHANGE, item)
    return item


@transaction.atomic
def catalogue_item_set_active(*, item: CatalogueItem, actor: User, active: bool
                              ) -> CatalogueItem:
    """Retire (no longer offered) or restore an item; it is never deleted."""
    if item.active != active:
        item.active = active
        item.save(update_fields=["active", "updated_at"])
        _audit(actor, AuditEvent.Action.CHANGE, item)
    return item


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


@transaction.atomic
def catalogue_import(*, clinic: Clinic, actor: User, parsed: ParsedFile) -> ImportResult:
    """Save a file ``csv_io.parse_csv`` found valid: update items by name, add the others.

    All or nothing: a file with any error is refused before this is called, and a failure here
    rolls every row back."""
    if parsed.errors:
        raise ValueError("An import with errors saves nothing.")
    existing = {i.name.lower(): i for i in
                CatalogueItem.objects.select_for_update().filter(clinic=clinic)}
    added = updated = 0
    saved: dict[str, CatalogueItem] = {}
    for row in parsed.rows:
        item = existing.get(row.name.lower())
        if item is None:
            item = CatalogueItem(clinic=clinic)
            added += 1
        else:
            updated += 1
        item.name = row.name
        for field, value in _normalised_schedule(dict(row.values)).items():
            setattr(item, field, value)
        item.save()
        saved[row.name.lower()] = item
    known = {**existing, **saved}
    for row in parsed.rows:
        if row.generic_name is None:
            continue
        item = saved[row.name.lower()]
        item.generic_alternative = known[row.generic_name.lower()] if row.generic_name else None
        item.save(update_fields=["generic_alternative"])
    for item in saved.values():
        _audit(actor, AuditEvent.Action.CHANGE, item)
    return ImportResult(added=added, updated=updated)


@transaction.atomic
def template_save(*, clinic: Clinic, actor: User, data: dict[str, Any],
                  template: RegimenTemplate | None = None) -> RegimenTemplate:
    created = template is None
    template = template or RegimenTemplate(clinic=clinic)
    if template.clinic_id != clinic.pk:
        raise ValueError("The template belongs to another clinic.")
    for field, value in data.items():
        setattr(template, field, value)
    template.name = " ".join(template.name.split())
    template.save()
    _audit(actor, AuditEvent.Action.CREATE if created else AuditEvent.Action.CHANGE, template)
    return template


def _renumber(template: RegimenTemplate, steps: list[TemplateStep]) -> None:
    for position, step in enumerate(steps, start=1):
        if step.position != position:
            step.position = position
            step.save(update_fields=["position"])


def _locked_steps(template: RegimenTemplate) -> list[TemplateStep]:
    RegimenTemplate.objects.select_for_update().filter(pk=template.pk).first()
    return list(template.steps.order_by("position", "id"))


class TemplateFullError(Exception):
    pass


@transaction.atomic
def template_step_add(*, template: RegimenTemplate, actor: User, data: dict[str, Any]
                      ) -> TemplateStep:
    """Append a step (its position is the next one; nobody types it)."""
    steps = _locked_steps(template)
    if len(steps) >= MAX_TEMPLATE_STEPS:
        raise TemplateFullError
    if data["catalogue_item"].clinic_id != template.clinic_id:
        raise ValueError("The item belongs to another clinic.")
    step = TemplateStep(template=template, position=len(steps) + 1,
                        **_normalised_schedule(dict(data)))
    step.save()
    _audit(actor, AuditEvent.Action.CHANGE, template)
    return step


@transaction.atomic
def template_step_move(*, step: TemplateStep, actor: User, by: int) -> None:
    """Move a step one place up (``by=-1``) or down (``by=1``); the ends stay where they are."""
    steps = _locked_steps(step.template)
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    other = index + by
    if 0 <= other < len(steps):
        steps[index], steps[other] = steps[other], steps[index]
        _renumber(step.template, steps)
        _audit(actor, AuditEvent.Action.CHANGE, step.template)


@transaction.atomic
def template_step_take_out(*, step: TemplateStep, actor: User) -> None:
    """Take a step out of a template (plans already made from it keep theirs)."""
    template = step.template
    steps = [s for s in _locked_steps(template) if s.pk != step.pk]
    step.delete()
    _renumber(template, steps)
    _audit(actor, AuditEvent.Action.CHANGE, template)
