"""Profiles, care plans, revisions (with their items and fit warnings), concerns and recorded
clinic visits: for every demo patient without a plan, the rows their story makes, back-dated
from ``now`` and written in bulk, 1,000 patients per transaction. A course (``course_days``)
gets its end date from the day its step started.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, Patient, User
from careplans.fit import FitPreference, FitProfile, FitWarning, check_fit, saved_warnings
from careplans.models import (
    CarePlan,
    ClinicVisit,
    Concern,
    PatientProfile,
    PlanItem,
    PlanRevision,
    Preference,
)
from careplans.selectors import fit_profile
from demo.seed.bulk import _insert
from demo.seed.people import CHUNK, DemoPatient, Progress, _patient_number
from demo.seed.stories import (
    ACCEPTANCE_NOTES,
    ConcernSeed,
    Story,
    _cohort_story,
    _demo_patient_story,
    _first_revision_of_step,
    _item_fields,
)

# --- Rows ----------------------------------------------------------------------------------------


def _saved_at(day: date, zone_name: str, now: datetime) -> datetime:
    """When a back-dated row was saved: late morning that day, patient-local, never later than
    now."""
    return min(datetime.combine(day, time(11, 0), tzinfo=ZoneInfo(zone_name)), now)


def _plan_items(story: Story, index: int) -> list[PlanItem]:
    currency = story.profile.currency
    first = _first_revision_of_step(story.template)
    items = []
    for position, spec in enumerate(story.template.revisions[index].steps, start=1):
        starts_on = story.effective[first[spec.step]]
        ends_on = starts_on + timedelta(days=spec.course_days - 1) if spec.course_days else None
        items.append(PlanItem(
            key=story.keys[spec.step], position=position, starts_on=starts_on, ends_on=ends_on,
            **_item_fields(spec, currency),
        ))
    return items


def _acceptance_note(code: str) -> str:
    """The note for a warning code: 'budget', 'time:evening', 'pref:vegan:<item key>' ..."""
    parts = code.split(":")
    family = ":".join(parts[:2]) if parts[0] == "pref" else parts[0]
    return ACCEPTANCE_NOTES.get(family, "")


def _warning_rows(story: Story, warnings: list[FitWarning]) -> list[dict[str, object]]:
    """The fit warnings as a revision saves them, accepted with a note where the story says so."""
    notes = {warning.code: _acceptance_note(warning.code) for warning in warnings
             } if story.accept_trade_offs else {}
    return saved_warnings(warnings, notes)


def _reviews_on(story: Story, index: int) -> date:
    """A revision runs until the review that made the next one (the latest: a future visit)."""
    is_latest = index == len(story.effective) - 1
    return story.reviews_on if is_latest else story.effective[index + 1]


def _revision_with_items(
    story: Story, index: int, plan_id: int, profile: FitProfile, now: datetime
) -> tuple[PlanRevision, list[PlanItem]]:
    items = _plan_items(story, index)
    report = check_fit(profile, items)
    revision = PlanRevision(
        plan_id=plan_id, number=index + 1, author_id=story.patient.dermatologist_id,
        created_at=_saved_at(story.effective[index], story.patient.timezone, now),
        effective_from=story.effective[index], reviews_on=_reviews_on(story, index),
        reason=story.template.revisions[index].reason,
        fit_warnings=_warning_rows(story, report.warnings),
        total_monthly_cost=report.total_monthly_cost, photo_every_weeks=story.photo_every_weeks,
    )
    return revision, items


def _profile_row(story: Story, now: datetime) -> PatientProfile:
    seed = story.profile
    return PatientProfile(
        patient_id=story.patient.pk, daily_pattern=seed.daily_pattern,
        lifestyle_notes=seed.lifestyle_notes, morning_minutes=seed.morning_minutes,
        evening_minutes=seed.evening_minutes, monthly_budget=seed.monthly_budget,
        currency=seed.currency, preference_notes="", what_matters=seed.what_matters,
        updated_at=_saved_at(story.effective[0], story.patient.timezone, now),
    )


def _reply_fields(seed: ConcernSeed, replier_id: int, now: datetime) -> dict[str, object]:
    if not seed.answered:
        return {"status": Concern.Status.OPEN, "reply": "", "replied_by_id": None,
                "replied_at": None}
    return {"status": Concern.Status.ANSWERED, "reply": seed.spec.reply,
            "replied_by_id": replier_id,
            "replied_at": min(seed.raised_at + timedelta(hours=20), now)}


def _concern_row(
    story: Story, seed: ConcernSeed, revision_id: int, replier_id: int, now: datetime
) -> Concern:
    """A concern about a step of the latest revision, open or answered by ``replier_id``."""
    latest = story.template.revisions[-1].steps  # a concern names a step of the latest
    name = next(spec.name for spec in latest if spec.step == seed.spec.step)
    return Concern(
        patient_id=story.patient.pk, item_key=story.keys[seed.spec.step], item_name=name,
        raised_on_revision_id=revision_id, category=seed.spec.category, text=seed.spec.text,
        created_at=seed.raised_at, resolved_by_revision_id=None,
        **_reply_fields(seed, replier_id, now),
    )


# --- Writing -------------------------------------------------------------------------------------


def _insert_profiles(
    stories: list[Story], preferences: dict[str, Preference], now: datetime
) -> None:
    """Profiles for patients who have none yet (a patient may have opened theirs already)."""
    by_patient = {story.patient.pk: story for story in stories}
    existing = set(PatientProfile.objects.filter(patient_id__in=by_patient)
                   .values_list("patient_id", flat=True))
    new = [story for pk, story in by_patient.items() if pk not in existing]
    _insert(PatientProfile, [_profile_row(story, now) for story in new])
    profile_ids = dict(PatientProfile.objects.filter(patient_id__in=[s.patient.pk for s in new])
                       .values_list("patient_id", "pk"))
    through = PatientProfile.preferences.through
    _insert(through, [
        through(patientprofile_id=profile_ids[story.patient.pk], preference_id=preferences[key].pk)
        for story in new for key in story.profile.preference_keys if key in preferences
    ])


def _fit_profiles(patient_ids: list[int]) -> dict[int, FitProfile]:
    profiles = PatientProfile.objects.filter(patient_id__in=patient_ids)
    return {p.patient_id: fit_profile(p) for p in profiles.prefetch_related("preferences")}


def _insert_plans(stories: list[Story], now: datetime) -> dict[int, int]:
    """Care plans with ``current_number`` set to their latest revision; patient id -> plan id."""
    _insert(CarePlan, [
        CarePlan(
            patient_id=story.patient.pk, starts_on=story.effective[0],
            current_number=len(story.effective),
            created_at=_saved_at(story.effective[0], story.patient.timezone, now),
        )
        for story in stories
    ])
    return dict(CarePlan.objects.filter(patient_id__in=[s.patient.pk for s in stories])
                .values_list("patient_id", "pk"))


def _insert_revisions(
    stories: list[Story], plan_ids: dict[int, int], now: datetime
) -> dict[tuple[int, int], int]:
    """Every revision and its items; returns (plan id, number) -> revision id."""
    fit_profiles = _fit_profiles(list(plan_ids))
    built = [
        _revision_with_items(story, index, plan_ids[story.patient.pk],
                             fit_profiles[story.patient.pk], now)
        for story in stories for index in range(len(story.effective))
    ]
    _insert(PlanRevision, [revision for revision, _ in built])
    revision_ids = {
        (plan_id, number): pk for plan_id, number, pk in PlanRevision.objects
        .filter(plan_id__in=plan_ids.values()).values_list("plan_id", "number", "pk")
    }
    for revision, items in built:
        for item in items:
            item.revision_id = revision_ids[revision.plan_id, revision.number]
    _insert(PlanItem, [item for _, items in built for item in items])
    return revision_ids


def _insert_concerns(
    stories: list[Story], plan_ids: dict[int, int], revision_ids: dict[tuple[int, int], int],
    replier_id: int, now: datetime,
) -> None:
    _insert(Concern, [
        _concern_row(story, story.concern,
                     revision_ids[plan_ids[story.patient.pk], len(story.effective)],
                     replier_id, now)
        for story in stories if story.concern is not None
    ])


VISIT_NOTE = "Seen in clinic: much calmer. Plan to be reviewed and stepped down."


def _insert_visits(stories: list[Story], recorder_id: int, now: datetime) -> None:
    """The clinic visits the stories record, as ``careplans.visits.visit_record`` saves them
    (recorded that day, by the patient's dermatologist)."""
    _insert(ClinicVisit, [
        ClinicVisit(
            patient_id=story.patient.pk, happened_on=story.visit_on,
            recorded_by_id=story.patient.dermatologist_id or recorder_id,
            recorded_at=_saved_at(story.visit_on, story.patient.timezone, now), note=VISIT_NOTE,
        )
        for story in stories if story.visit_on is not None
    ])


def _seed_plan_chunk(
    patients: list[DemoPatient], preferences: dict[str, Preference], replier_id: int,
    now: datetime,
) -> None:
    fit_preferences = tuple(
        FitPreference(key=p.key, label=p.label, conflict=p.conflict) for p in preferences.values()
    )
    stories = [_story(patient, now, fit_preferences) for patient in patients]
    _insert_profiles(stories, preferences, now)
    plan_ids = _insert_plans(stories, now)
    revision_ids = _insert_revisions(stories, plan_ids, now)
    _insert_concerns(stories, plan_ids, revision_ids, replier_id, now)
    _insert_visits(stories, replier_id, now)


def _story(
    patient: DemoPatient, now: datetime, fit_preferences: tuple[FitPreference, ...]
) -> Story:
    today = timezone.localdate(now, timezone=ZoneInfo(patient.timezone))
    if patient.number == 0:
        return _demo_patient_story(patient, today, now)
    return _cohort_story(patient, today, now, fit_preferences)


def _patients_without_plan(clinic: Clinic) -> list[DemoPatient]:
    rows = (
        Patient.objects.filter(clinic=clinic, user__email__endswith="@demo.test",
                               care_plan__isnull=True)
        .order_by("pk").values_list("pk", "user__email", "timezone", "dermatologist_id")
    )
    return [DemoPatient(pk, _patient_number(pk, email), zone, derm_id)
            for pk, email, zone, derm_id in rows]


def seed_plans(
    *, clinic: Clinic, replier: User, now: datetime, progress: Progress | None = None
) -> int:
    """Give every demo patient without a care plan a profile and a plan back-dated from
    ``now``, in bulk.

    ``replier`` answers the concerns that the demo shows as answered. Returns how many plans
    were new.
    """
    patients = _patients_without_plan(clinic)
    preferences = {p.key: p for p in Preference.objects.filter(clinic__isnull=True)}
    done = 0
    for start in range(0, len(patients), CHUNK):
        chunk = patients[start:start + CHUNK]
        with transaction.atomic():
            _seed_plan_chunk(chunk, preferences, replier.pk, now)
        done += len(chunk)
        if progress:
            progress(done, len(patients))
    return done
