"""seed_demo gives every demo patient a profile and a back-dated, realistic care plan."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max

from accounts.models import Patient
from careplans import selectors
from careplans.fit import check_fit
from careplans.models import CarePlan, Concern, PatientProfile, PlanItem, PlanRevision

pytestmark = pytest.mark.django_db

# An item that only one condition's plans contain, in every revision.
CONDITION_MARKERS = {
    "acne": "Benzoyl peroxide 4% wash",
    "eczema": "Hydrocortisone 1% cream",
    "rosacea": "Azelaic acid 15% gel",
    "psoriasis": "Calcipotriol/betamethasone foam",
}


@pytest.fixture
def demo_patient() -> Patient:
    call_command("seed_demo", stdout=StringIO())
    return Patient.objects.get(user__email="patient@demo.test")


def _row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (PatientProfile, CarePlan, PlanRevision, PlanItem, Concern)
    }


def test_every_demo_patient_has_a_profile_and_a_plan_with_revision_history(demo_patient):
    # given
    patients = Patient.objects.filter(user__email__endswith="@demo.test")
    # when
    plans = CarePlan.objects.filter(patient__in=patients).annotate(
        revision_count=Count("revisions"), last_number=Max("revisions__number")
    )
    # then
    assert PatientProfile.objects.filter(patient__in=patients).count() == patients.count() >= 33
    assert plans.count() == patients.count()
    for plan in plans:
        assert plan.revision_count >= 2
        assert plan.last_number == plan.current_number == plan.revision_count


def test_profiles_hold_a_goal_time_budget_and_preferences(demo_patient):
    # when
    profiles = list(PatientProfile.objects.prefetch_related("preferences"))
    # then
    assert all(p.what_matters and p.monthly_budget > 0 for p in profiles)
    assert all(p.morning_minutes > 0 and p.evening_minutes > 0 for p in profiles)
    assert sum(1 for p in profiles if p.preferences.all()) >= len(profiles) // 3
    assert demo_patient.profile.what_matters == "Clear skin for my wedding in June."


def test_all_four_conditions_occur():
    # when
    call_command("seed_demo", stdout=StringIO())
    # then
    names = set(PlanItem.objects.values_list("name", flat=True))
    assert {c for c, marker in CONDITION_MARKERS.items() if marker in names} == set(
        CONDITION_MARKERS
    )


def test_the_demo_patient_has_an_acne_plan_with_an_accepted_trade_off_and_an_open_concern(
    demo_patient,
):
    # given
    plan = demo_patient.care_plan
    # when
    current = selectors.current_revision(plan)
    concerns = list(selectors.open_concerns(demo_patient))
    # then
    assert plan.current_number >= 2
    assert CONDITION_MARKERS["acne"] in {item.name for item in current.items.all()}
    assert any(w["note"] for w in current.accepted_warnings)
    assert [(c.category, c.text) for c in concerns] == [
        ("irritating", "It stings after a few nights")
    ]
    assert concerns[0].item_key in {item.key for item in current.items.all()}
    assert concerns[0].raised_on_revision == current


def test_the_demo_patient_has_steps_due_today(demo_patient):
    # when
    revision, steps = selectors.steps_due_on(demo_patient, demo_patient.local_today())
    # then
    assert revision.number == demo_patient.care_plan.current_number
    assert {step.slot for step in steps} == {"morning", "evening"}


def test_the_demo_patients_plan_was_already_in_effect_eight_weeks_ago(demo_patient):
    # given
    today = demo_patient.local_today()
    # when
    earlier = selectors.revision_in_effect(demo_patient.care_plan, today - timedelta(weeks=8))
    # then
    assert earlier is not None
    assert earlier.number < demo_patient.care_plan.current_number


def test_plans_start_eight_to_twelve_weeks_before_the_patients_today(demo_patient):
    # when
    plans = CarePlan.objects.select_related("patient")
    # then
    for plan in plans:
        weeks_ago = (plan.patient.local_today() - plan.starts_on).days / 7
        assert 8 <= weeks_ago <= 12
        first = plan.revisions.get(number=1)
        assert first.effective_from == plan.starts_on < first.reviews_on


def test_a_step_keeps_its_key_and_start_across_revisions(demo_patient):
    # given
    revisions = list(selectors.revisions_newest_first(demo_patient.care_plan))
    # when
    adapalene = [
        next(i for i in revision.items.all() if i.name.startswith("Adapalene"))
        for revision in revisions
    ]
    # then
    assert len({item.key for item in adapalene}) == 1
    assert len({item.starts_on for item in adapalene}) == 1
    assert adapalene[-1].ramp_every_n_days == 2
    assert adapalene[-1].ramp_days == 14


def test_saved_fit_warnings_and_costs_match_the_fit_check(demo_patient):
    # given
    plans = CarePlan.objects.select_related("patient__profile")
    # when / then
    for plan in plans:
        profile = selectors.fit_profile(plan.patient.profile)
        for revision in plan.revisions.prefetch_related("items"):
            report = check_fit(profile, list(revision.items.all()))
            assert revision.total_monthly_cost == report.total_monthly_cost
            assert [w["code"] for w in revision.fit_warnings] == [w.code for w in report.warnings]
            assert all(w["accepted"] == bool(w["note"]) for w in revision.fit_warnings)


def test_the_cohort_mixes_fitting_plans_accepted_trade_offs_and_open_warnings(demo_patient):
    # when
    current = [selectors.current_revision(plan) for plan in CarePlan.objects.all()]
    # then
    fitting = [r for r in current if not r.fit_warnings]
    accepted = [r for r in current if r.accepted_warnings and not r.open_warnings]
    unaccepted = [r for r in current if r.open_warnings]
    assert len(fitting) > len(current) / 2
    assert accepted
    assert unaccepted


def test_other_patients_raise_concerns_and_the_dermatologist_answers_some(demo_patient):
    # when
    others = Concern.objects.exclude(patient=demo_patient)
    # then
    assert others.filter(status=Concern.Status.OPEN).values("patient").distinct().count() >= 3
    answered = others.filter(status=Concern.Status.ANSWERED)
    assert answered.exists()
    assert all(c.reply and c.replied_by.email == "derm@demo.test" for c in answered)


def test_re_running_seed_demo_adds_no_rows(demo_patient):
    # given
    before = _row_counts()
    # when
    call_command("seed_demo", stdout=StringIO())
    # then
    assert _row_counts() == before


def test_seeding_reports_counts_but_no_health_data():
    # given
    out, err = StringIO(), StringIO()
    # when
    call_command("seed_demo", stdout=out, stderr=err)
    # then
    printed = out.getvalue() + err.getvalue()
    assert "33 new care plans" in printed
    for health_text in ("wedding", "Adapalene", "stings", "acne", "eczema"):
        assert health_text.lower() not in printed.lower()
