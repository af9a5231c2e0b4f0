"""Reads for care plans. Callers pass a patient they already obtained through accounts' scoped
selectors, so these functions never widen access."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Patient

from .fit import FitPreference, FitProfile, FitReport, check_fit
from .models import CarePlan, Concern, PatientProfile, PlanItem, PlanRevision, Preference
from .schedule import DueStep, due_steps


def profile_for(patient: Patient) -> PatientProfile:
    """The patient's profile; a new one is empty, in the currency of the patient's clinic."""
    profile, _ = PatientProfile.objects.get_or_create(
        patient=patient, defaults={"currency": patient.clinic.currency}
    )
    return profile


def preferences_offered(clinic_id: int) -> QuerySet[Preference]:
    return Preference.objects.filter(Q(clinic__isnull=True) | Q(clinic_id=clinic_id))


def fit_profile(profile: PatientProfile) -> FitProfile:
    return FitProfile(
        monthly_budget=profile.monthly_budget,
        currency=profile.currency,
        morning_minutes=profile.morning_minutes,
        evening_minutes=profile.evening_minutes,
        preferences=tuple(
            FitPreference(key=p.key, label=p.label, conflict=p.conflict)
            for p in profile.preferences.all()
        ),
    )


def plan_of(patient: Patient) -> CarePlan | None:
    return CarePlan.objects.filter(patient=patient).first()


def current_revision(plan: CarePlan | None) -> PlanRevision | None:
    if plan is None or plan.current_number == 0:
        return None
    return plan.revisions.prefetch_related("items").get(number=plan.current_number)


def revision_in_effect(plan: CarePlan, on: date) -> PlanRevision | None:
    """The revision that applied on the patient-local date ``on`` (None before the first)."""
    return (
        plan.revisions.filter(effective_from__lte=on)
        .order_by("-effective_from", "-number")
        .prefetch_related("items")
        .first()
    )


def steps_due_on(patient: Patient, on: date) -> tuple[PlanRevision | None, list[DueStep]]:
    """The revision in effect on ``on`` and its steps due that day, in routine order."""
    revision = (
        PlanRevision.objects.filter(plan__patient=patient, effective_from__lte=on)
        .select_related("plan").order_by("-effective_from", "-number")
        .prefetch_related("items").first()
    )  # the same choice as revision_in_effect, with the plan joined: two queries in all
    if revision is None:
        return None, []
    return revision, due_steps(
        list(revision.items.all()), on, plan_starts_on=revision.plan.starts_on
    )


def fit_report(patient: Patient, items: list[PlanItem]) -> FitReport:
    return check_fit(fit_profile(profile_for(patient)), items)


def revisions_newest_first(plan: CarePlan) -> QuerySet[PlanRevision]:
    return plan.revisions.select_related("author").prefetch_related("items").order_by("-number")


def revision_history(plan: CarePlan, *, currency: str) -> list[tuple[PlanRevision, list]]:
    """Every revision, newest first, each with what changed since the one before it."""
    from .describe import revision_changes

    revisions = list(revisions_newest_first(plan))
    older = [*revisions[1:], None]
    return [
        (revision, revision_changes(previous, revision, currency=currency))
        for revision, previous in zip(revisions, older, strict=True)
    ]


def concerns_of(patient: Patient) -> QuerySet[Concern]:
    return patient.concerns.select_related("replied_by", "resolved_by_revision")


def open_concerns(patient: Patient) -> QuerySet[Concern]:
    return patient.concerns.filter(status=Concern.Status.OPEN).select_related("replied_by")


def with_plan_summary(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate a patient list with the current revision's fit warnings, whether the profile
    gives what the fit check needs, and open concerns, in the same query (no per-row lookups)."""
    current = PlanRevision.objects.filter(
        plan__patient=OuterRef("pk"), number=OuterRef("care_plan__current_number")
    )
    # Subqueries, not joins: other apps annotate the same list without multiplying rows.
    open_concerns = (
        Concern.objects.filter(patient=OuterRef("pk"), status=Concern.Status.OPEN)
        .order_by().values("patient").annotate(n=Count("pk")).values("n")
    )
    # The fit check could compare the plan with the patient's budget and both routines' time.
    profile_given = PatientProfile.objects.filter(
        patient=OuterRef("pk"), monthly_budget__isnull=False, morning_minutes__isnull=False,
        evening_minutes__isnull=False,
    )
    return patients.annotate(
        plan_fit_warnings=Subquery(current.values("fit_warnings")[:1]),
        profile_given=Exists(profile_given),
        open_concern_count=Coalesce(Subquery(open_concerns), 0),
    ).order_by("user__last_name", "user__first_name", "pk")
