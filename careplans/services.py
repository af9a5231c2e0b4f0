"""Writes for profiles, plans and concerns. Each change by a clinician is audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Patient, User
from accounts.selectors import membership_of
from accounts.services import audit_record

from .fit import saved_warnings
from .models import MAX_PLAN_ITEMS, CarePlan, Concern, PatientProfile, PlanItem, PlanRevision
from .selectors import fit_report, profile_for

ITEM_FIELDS = (
    "position", "kind", "name", "instructions", "time_of_day", "frequency", "weekdays",
    "every_n_days", "ramp_every_n_days", "ramp_days", "minutes", "monthly_cost",
    "contains_fragrance", "animal_derived", "pregnancy_unsafe", "every_n_weeks",
    "day_of_month", "window_days", "ends_on",
)


class PlanChangedError(Exception):
    """Someone saved a newer revision since this editor loaded the plan."""

    def __init__(self, latest: PlanRevision | None) -> None:
        self.latest = latest
        who = latest.author.display_name if latest else "Another dermatologist"
        when = timezone.localtime(latest.created_at).strftime("%H:%M") if latest else ""
        super().__init__(
            f"{who} saved revision {latest.number if latest else ''} at {when} while you were "
            "editing. Your changes were not saved: review their version, then edit again."
        )


@dataclass(frozen=True)
class ItemDraft:
    """One item as the editor submitted it (validated by the form)."""

    key: uuid.UUID | None
    position: int
    kind: str
    name: str
    instructions: str
    time_of_day: str
    frequency: str
    weekdays: str
    every_n_days: int | None
    ramp_every_n_days: int | None
    ramp_days: int | None
    minutes: int
    monthly_cost: Decimal
    contains_fragrance: bool
    animal_derived: bool
    pregnancy_unsafe: bool
    starts_on: date | None = None  # the first dose, the date of a one-off (None: kept/plan)
    every_n_weeks: int | None = None
    day_of_month: int | None = None
    window_days: int | None = None
    ends_on: date | None = None  # a course's last day, inclusive


def _audit_change(actor: User, patient: Patient, object_type: str, object_id: object) -> None:
    if membership_of(actor) is not None:
        audit_record(
            actor=actor, patient=patient, action=AuditEvent.Action.CHANGE,
            object_type=object_type, object_id=str(object_id),
        )


@transaction.atomic
def profile_update(
    *, patient: Patient, actor: User, data: dict[str, Any], preferences: Iterable[Any] | None,
    timezone_name: str | None = None,
) -> PatientProfile:
    profile = profile_for(patient)
    for field, value in data.items():
        setattr(profile, field, value)
    profile.save(update_fields=[*data.keys(), "updated_at"])
    if preferences is not None:
        profile.preferences.set(preferences)
    if timezone_name and timezone_name != patient.timezone:
        patient.timezone = timezone_name
        patient.save(update_fields=["timezone"])
    _audit_change(actor, patient, "patient_profile", profile.pk)
    return profile


def _drafts_to_items(
    drafts: list[ItemDraft], previous: PlanRevision | None, default_start: date
) -> list[PlanItem]:
    previous_starts = {i.key: i.starts_on for i in previous.items.all()} if previous else {}
    items = []
    for index, draft in enumerate(sorted(drafts, key=lambda d: d.position), start=1):
        key = draft.key or uuid.uuid4()
        item = PlanItem(key=key, **{f: getattr(draft, f) for f in ITEM_FIELDS})
        item.position = index
        item.starts_on = draft.starts_on or previous_starts.get(key) or default_start
        items.append(item)
    return items


@transaction.atomic
def plan_revise(
    *,
    patient: Patient,
    author: User,
    base_number: int,
    items: list[ItemDraft],
    reason: str,
    reviews_on: date,
    now: datetime,
    starts_on: date | None = None,
    accepted: dict[str, str] | None = None,
    resolve_concern_ids: Iterable[int] = (),
    photo_every_weeks: int | None = None,
) -> PlanRevision:
    """Save the plan as a new immutable revision; refuse if it changed since ``base_number``.

    ``photo_every_weeks``: how often Today asks for a photo (None: never).

    ``accepted`` maps a fit-warning code to the dermatologist's note for the patient.
    The revision takes effect on the patient's calendar date at ``now``.
    """
    if len(items) > MAX_PLAN_ITEMS:  # the editor refuses this with a message first
        raise ValueError(f"A plan holds at most {MAX_PLAN_ITEMS} items.")
    today = patient.local_date(now)
    plan = CarePlan.objects.select_for_update().filter(patient=patient).first()
    if plan is None:
        if base_number != 0:
            raise PlanChangedError(None)
        try:
            with transaction.atomic():
                plan = CarePlan.objects.create(patient=patient, starts_on=starts_on or today)
        except IntegrityError as exc:  # a first plan created concurrently
            raise PlanChangedError(None) from exc
    if plan.current_number != base_number:
        raise PlanChangedError(plan.revisions.select_related("author").order_by("-number").first())
    previous = plan.revisions.filter(number=plan.current_number).first()
    # New steps start with the plan on its first revision, and on the day they are added later.
    default_start = plan.starts_on if previous is None else max(today, plan.starts_on)
    plan_items = _drafts_to_items(items, previous, default_start=default_start)
    report = fit_report(patient, plan_items)
    revision = PlanRevision.objects.create(
        plan=plan,
        number=plan.current_number + 1,
        author=author,
        effective_from=today,
        reviews_on=reviews_on,
        reason=reason.strip(),
        fit_warnings=saved_warnings(report.warnings, accepted or {}),
        total_monthly_cost=report.total_monthly_cost,
        photo_every_weeks=photo_every_weeks,
    )
    for item in plan_items:
        item.revision = revision
    PlanItem.objects.bulk_create(plan_items)
    plan.current_number = revision.number
    plan.save(update_fields=["current_number"])
    Concern.objects.filter(
        patient=patient, pk__in=list(resolve_concern_ids),
        status__in=[Concern.Status.OPEN, Concern.Status.ANSWERED],
    ).update(status=Concern.Status.RESOLVED, resolved_by_revision=revision)
    _audit_change(author, patient, "plan_revision", revision.pk)
    return revision


@transaction.atomic
def concern_raise(
    *, patient: Patient, revision: PlanRevision, item: PlanItem, category: str, text: str,
    raised_by: User | None = None,
) -> Concern:
    return Concern.objects.create(
        patient=patient, item_key=item.key, item_name=item.name, raised_on_revision=revision,
        category=category, text=text.strip(), raised_by=raised_by,
    )


@transaction.atomic
def concern_reply(*, concern: Concern, author: User, reply: str, now: datetime) -> Concern:
    concern.reply = reply.strip()
    concern.replied_by = author
    concern.replied_at = now
    concern.status = Concern.Status.ANSWERED
    concern.save(update_fields=["reply", "replied_by", "replied_at", "status"])
    _audit_change(author, concern.patient, "concern", concern.pk)
    return concern
