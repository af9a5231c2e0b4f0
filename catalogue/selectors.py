"""Reads of the catalogue and templates, scoped to the requesting clinic member's clinic.

Who may read: the clinic's dermatologists, staff and administrators (a catalogue holds no
patient data). Who may change: dermatologists and clinic administrators. Another clinic's item
or template is not found (404), never forbidden.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import Clinic, User
from accounts.selectors import membership_of, role_of
from careplans.fit import FitProfile, check_fit
from careplans.models import WINDOWED_FREQUENCIES, PlanItem
from careplans.schedule import EVENING, MORNING
from careplans.services import ITEM_FIELDS, ItemDraft

from .models import SCHEDULE_FIELDS, CatalogueItem, RegimenTemplate, TemplateStep

READER_ROLES = ("dermatologist", "staff", "admin")
EDITOR_ROLES = ("dermatologist", "admin")
MAX_QUERY = 100


def clinic_of_member(user: User) -> Clinic:
    membership = membership_of(user)
    if membership is None:
        raise Http404
    return membership.clinic


def may_change_catalogue(user: User) -> bool:
    return role_of(user) in EDITOR_ROLES


def catalogue_items_for(user: User) -> QuerySet[CatalogueItem]:
    membership = membership_of(user)
    if membership is None or role_of(user) not in READER_ROLES:
        return CatalogueItem.objects.none()
    return CatalogueItem.objects.filter(clinic_id=membership.clinic_id)


def templates_for(user: User) -> QuerySet[RegimenTemplate]:
    membership = membership_of(user)
    if membership is None or role_of(user) not in READER_ROLES:
        return RegimenTemplate.objects.none()
    return RegimenTemplate.objects.filter(clinic_id=membership.clinic_id)


def catalogue_search(user: User, *, query: str = "", kind: str = "",
                     include_retired: bool = False) -> QuerySet[CatalogueItem]:
    """The clinic's items whose name contains ``query`` (any case), of ``kind`` if given."""
    items = catalogue_items_for(user).select_related("generic_alternative")
    query = query.replace("\x00", "").strip()[:MAX_QUERY]
    if query:
        items = items.filter(name__icontains=query)
    if kind:
        items = items.filter(kind=kind)
    if not include_retired:
        items = items.filter(active=True)
    return items.order_by("name", "id")


def catalogue_item_for(user: User, item_id: int) -> CatalogueItem:
    item = catalogue_items_for(user).select_related("generic_alternative").filter(
        pk=item_id).first()
    if item is None:
        raise Http404
    return item


def steps_of(template: RegimenTemplate) -> list[TemplateStep]:
    return list(template.steps.select_related("catalogue_item").order_by("position", "id"))


def template_for(user: User, template_id: int) -> RegimenTemplate:
    template = templates_for(user).filter(pk=template_id).prefetch_related(
        Prefetch("steps", queryset=TemplateStep.objects.select_related("catalogue_item")
                 .order_by("position", "id"))
    ).first()
    if template is None:
        raise Http404
    return template


def template_step_for(template: RegimenTemplate, step_id: int) -> TemplateStep:
    step = template.steps.filter(pk=step_id).first()
    if step is None:
        raise Http404
    return step


@dataclass(frozen=True)
class TemplateSummary:
    """What a template costs and takes: the fit check's own arithmetic (busiest day)."""

    total_monthly_cost: Decimal
    morning_minutes: int
    evening_minutes: int
    daily_steps: int
    currency: str


def template_summary(template: RegimenTemplate, *, currency: str) -> TemplateSummary:
    report = check_fit(
        FitProfile(monthly_budget=None, currency=currency, morning_minutes=None,
                   evening_minutes=None),
        template_plan_items(template),
    )
    return TemplateSummary(
        total_monthly_cost=report.total_monthly_cost, morning_minutes=report.morning_minutes,
        evening_minutes=report.evening_minutes, daily_steps=report.daily_steps,
        currency=currency,
    )


def routine_groups(steps: list[TemplateStep]) -> list[tuple[str, list[TemplateStep]]]:
    """Steps in routine order: the morning routine, then the evening one, each by position
    (a morning-and-evening step is in both)."""
    return [
        (slot, [s for s in steps if s.time_of_day in (slot, "both")])
        for slot in (MORNING, EVENING)
    ]


def templates_listing(user: User) -> QuerySet[RegimenTemplate]:
    return templates_for(user).prefetch_related(
        Prefetch("steps", queryset=TemplateStep.objects.select_related("catalogue_item")
                 .order_by("position", "id"))
    ).order_by("-active", "name", "id")


def items_offered(clinic_id: int, *, keep: int | None = None) -> QuerySet[CatalogueItem]:
    """Active items of a clinic (plus ``keep``, an item already chosen, even if retired)."""
    return CatalogueItem.objects.filter(
        Q(active=True) | Q(pk=keep or 0), clinic_id=clinic_id).order_by("name", "id")


# --- What the plan editor and ``careplans.services.plan_revise`` take --------------------------

def _dated_values(obj: CatalogueItem | TemplateStep, starts_on: date | None
                  ) -> dict[str, object]:
    """A catalogue item's or template step's dated schedule and course in real dates, from the
    plan's start ``starts_on`` (None: left undated, as for the fit check's arithmetic)."""
    frequency = obj.frequency
    used = SCHEDULE_FIELDS.get(frequency, ())
    first = None
    if starts_on is not None and frequency in WINDOWED_FREQUENCIES:
        first = starts_on + timedelta(days=getattr(obj, "first_dose_after_days", 0) or 0)
    course = obj.course_weeks if "course_weeks" in used else None
    ends_on = None
    if course and starts_on is not None:
        ends_on = (first or starts_on) + timedelta(days=7 * course - 1)
    return {
        "starts_on": first,
        "every_n_weeks": obj.every_n_weeks if "every_n_weeks" in used else None,
        "day_of_month": obj.day_of_month if "day_of_month" in used else None,
        "window_days": (obj.window_days or None) if "window_days" in used else None,
        "ends_on": ends_on,
    }


def _draft(item: CatalogueItem, schedule: CatalogueItem | TemplateStep, *, position: int,
           starts_on: date | None, instructions: str, ramp: tuple[int | None, int | None]
           ) -> ItemDraft:
    """A new plan step: ``item``'s name, cost and properties on ``schedule``'s timing (the
    item's usual one, or a template step's), a dated one in real dates from ``starts_on``."""
    return ItemDraft(
        key=None, position=position, kind=item.kind, name=item.name,
        instructions=instructions, time_of_day=schedule.time_of_day,
        frequency=schedule.frequency,
        weekdays=schedule.weekdays if schedule.frequency == "weekdays" else "",
        every_n_days=schedule.every_n_days if schedule.frequency == "every_n_days" else None,
        ramp_every_n_days=ramp[0], ramp_days=ramp[1], minutes=item.minutes,
        monthly_cost=item.monthly_cost, contains_fragrance=item.contains_fragrance,
        animal_derived=item.animal_derived, pregnancy_unsafe=item.pregnancy_unsafe,
        **_dated_values(schedule, starts_on),
    )


def catalogue_item_draft(item: CatalogueItem, *, position: int = 1,
                         starts_on: date | None = None) -> ItemDraft:
    """A new plan step made of one catalogue item, on the item's usual schedule; a dated one
    and a course in real dates from ``starts_on`` (the plan's start, or the new revision's)."""
    return _draft(item, item, position=position, starts_on=starts_on,
                  instructions=item.instructions, ramp=(None, None))


def template_step_draft(step: TemplateStep, *, position: int,
                        starts_on: date | None = None) -> ItemDraft:
    """A new plan step made of one template step: the item, with the step's own schedule,
    ramp-up and (when given) instructions; its first dose ``first_dose_after_days`` after
    ``starts_on`` and a course ``course_weeks`` long from it."""
    ramp = (step.ramp_every_n_days if step.ramp_days else None,
            step.ramp_days if step.ramp_every_n_days else None)
    return _draft(step.catalogue_item, step, position=position, starts_on=starts_on,
                  instructions=step.effective_instructions, ramp=ramp)


def template_item_drafts(template: RegimenTemplate, *, first_position: int = 1,
                         starts_on: date | None = None) -> list[ItemDraft]:
    """The template's steps as ``plan_revise(items=...)`` takes them, in the template's order
    (positions from ``first_position``: 1 for a new plan, after the last step to append), with
    dated schedules and courses from ``starts_on``, the plan's start (or the new revision's)."""
    return [template_step_draft(step, position=first_position + index, starts_on=starts_on)
            for index, step in enumerate(_ordered_steps(template))]


def draft_values(draft: ItemDraft) -> dict[str, object]:
    """One step as the editor's item form takes it as ``initial`` (``careplans.forms.
    item_initial``'s shape), with a fresh key: a step from a template is a new step."""
    return {
        "key": draft.key or uuid.uuid4(),
        **{field: getattr(draft, field) for field in ITEM_FIELDS},
        "starts_on": draft.starts_on,
        "weekdays": list(draft.weekdays),
    }


def template_step_values(template: RegimenTemplate, *, first_position: int = 1,
                         starts_on: date | None = None) -> list[dict[str, object]]:
    """The template's steps as the plan editor's formset ``initial`` rows (dated from
    ``starts_on``, the plan's start)."""
    return [draft_values(d) for d in template_item_drafts(
        template, first_position=first_position, starts_on=starts_on)]


def template_plan_items(template: RegimenTemplate, *, starts_on: date | None = None
                        ) -> list[PlanItem]:
    """Unsaved plan items of the template, for the fit check's arithmetic (cost, minutes)."""
    return [
        PlanItem(key=uuid.uuid4(), **{f: getattr(d, f) for f in ITEM_FIELDS})
        for d in template_item_drafts(template, starts_on=starts_on)
    ]


def _ordered_steps(template: RegimenTemplate) -> list[TemplateStep]:
    # Uses the prefetched steps when the template came through ``template_for``.
    if "steps" in getattr(template, "_prefetched_objects_cache", {}):
        return sorted(template.steps.all(), key=lambda s: (s.position, s.pk or 0))
    return steps_of(template)


@dataclass(frozen=True)
class GenericOffer:
    """A step's catalogue item that has a cheaper generic alternative."""

    item: CatalogueItem
    generic: CatalogueItem

    @property
    def saving(self) -> Decimal:
        return self.item.monthly_cost - self.generic.monthly_cost


def generic_offers(user: User, rows: list[tuple[int | None, str]]) -> list[GenericOffer | None]:
    """For each (catalogue item id, step name): the cheaper active generic of the step's item,
    found by the id the step came with or else by its name (any case), or None. One query."""
    items = list(catalogue_items_for(user).filter(
        generic_alternative__isnull=False, generic_alternative__active=True,
    ).select_related("generic_alternative"))
    by_id = {item.pk: item for item in items}
    by_name = {item.name.casefold(): item for item in items}
    offers: list[GenericOffer | None] = []
    for item_id, name in rows:
        item = by_id.get(item_id) if item_id else None
        item = item or by_name.get((name or "").strip().casefold())
        generic = item.generic_alternative if item else None
        offers.append(GenericOffer(item=item, generic=generic)
                      if item and generic and item.monthly_cost > generic.monthly_cost else None)
    return offers


def generic_values(generic: CatalogueItem) -> dict[str, object]:
    """What "swap for the generic" changes in a step: what it is, what it costs and the
    properties the fit check reads; the step's schedule and minutes stay as tailored."""
    return {
        "catalogue_item": generic.pk, "name": generic.name, "kind": generic.kind,
        "monthly_cost": generic.monthly_cost, "contains_fragrance": generic.contains_fragrance,
        "animal_derived": generic.animal_derived, "pregnancy_unsafe": generic.pregnancy_unsafe,
    }
