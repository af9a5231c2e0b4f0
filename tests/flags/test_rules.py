"""Each rule on hand-built histories, through both evaluators (set-based sweep and naive loop),
with the boundaries of its thresholds; and the pure rule functions on plain numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flags import rules
from flags.models import FlagSettings, Rule, Severity
from flags.rules import Counts
from tests.factories import backdated_revision, item_draft
from tests.flags.conftest import NOW, YESTERDAY, ago, log, log_days, make_patient, only, pulse

pytestmark = pytest.mark.django_db

DEFAULTS = FlagSettings()
RECENT = range(0, 7)  # days before yesterday
BASELINE = range(7, 35)


# --- Pure functions ------------------------------------------------------------------------


@pytest.mark.parametrize(("week", "expected"), [
    (1, 85.0), (2, 80.0), (5, 65.0), (8, 50.0), (9, 50.0), (30, 50.0),
])
def test_expected_curve_falls_linearly_from_85_to_50_by_week_8(week, expected):
    assert rules.expected_percent(week, DEFAULTS) == expected


def test_windows_end_yesterday_recent_7_days_baseline_the_28_before():
    # given / when
    w = rules.windows_for(YESTERDAY, DEFAULTS)
    # then
    assert w.recent == (date(2026, 3, 4), YESTERDAY)
    assert w.baseline == (date(2026, 2, 4), date(2026, 3, 3))
    assert w.quiet == (date(2026, 3, 7), YESTERDAY)
    assert w.prior == (date(2026, 2, 28), date(2026, 3, 6))


@pytest.mark.parametrize(("starts_on", "weeks"), [
    (YESTERDAY - timedelta(days=13), [1, 2]),  # exactly two weeks ended yesterday
    (YESTERDAY - timedelta(days=12), []),  # week 2 ends today: only one complete
    (YESTERDAY - timedelta(days=40), [4, 5]),  # week 6 is under way
])
def test_compared_plan_weeks_are_the_last_two_complete(starts_on, weeks):
    assert rules.compared_plan_weeks(starts_on, YESTERDAY, DEFAULTS) == weeks


@pytest.mark.parametrize(("recent", "drop", "severity"), [
    (60.0, 20.0, Severity.MEDIUM), (45.0, 39.9, Severity.MEDIUM), (45.0, 40.0, Severity.HIGH),
    (24.9, None, Severity.HIGH), (25.0, None, Severity.MEDIUM),
])
def test_adherence_drop_severity(recent, drop, severity):
    assert rules.adherence_drop_severity(recent, drop) == severity


@pytest.mark.parametrize(("below", "severity"), [(16.0, Severity.LOW), (30.0, Severity.LOW),
                                                 (30.1, Severity.MEDIUM)])
def test_below_expected_severity(below, severity):
    assert rules.below_expected_severity(below) == severity


@pytest.mark.parametrize(("total", "drop", "severity"), [
    (27, None, Severity.MEDIUM), (20, 9, Severity.MEDIUM), (19, None, Severity.HIGH),
    (30, 10, Severity.HIGH),
])
def test_alliance_drop_severity(total, drop, severity):
    assert rules.alliance_drop_severity(total, drop) == severity


def test_satisfaction_and_quiet_severity():
    assert rules.satisfaction_drop_severity(1) == Severity.HIGH
    assert rules.satisfaction_drop_severity(2) == Severity.MEDIUM
    assert rules.gone_quiet_severity(7, 7) == Severity.MEDIUM
    assert rules.gone_quiet_severity(6, 7) == Severity.LOW


def test_adherence_drop_decides_on_the_percentages_it_shows():
    # given: 80.0 % before, 60.0 % now (exactly 20 points, as shown)
    w = rules.windows_for(YESTERDAY, DEFAULTS)
    # when
    verdict = rules.adherence_drop(Counts(24, 40, 4), Counts(80, 100, 10), w, DEFAULTS)
    # then
    assert verdict is not None
    assert verdict.numbers["drop_points"] == 20.0
    assert verdict.numbers["triggered_by"] == ["drop"]


# --- 1. Adherence drop ---------------------------------------------------------------------


def adherence_history(patient, *, recent_days: int, recent_done: int, baseline_days: int,
                      baseline_done: int = 8) -> None:
    """Baseline days at ``baseline_done``/10, recent days at ``recent_done``/10."""
    log_days(patient, list(BASELINE)[:baseline_days], done=baseline_done, due=10)
    log_days(patient, list(RECENT)[:recent_days], done=recent_done, due=10)


@pytest.mark.parametrize(("recent_done", "flagged"), [(6, True), (7, False)])
def test_adherence_drop_of_exactly_20_points_flags(evaluate, derm, recent_done, flagged):
    # given: 80 % over 10 baseline days; 60 % (20 points lower) or 70 % over 4 recent days
    patient = make_patient(derm)
    adherence_history(patient, recent_days=4, recent_done=recent_done, baseline_days=10)
    # when
    found = only(evaluate(), Rule.ADHERENCE_DROP, patient)
    # then
    assert (found is not None) is flagged
    if flagged:
        assert found.severity == Severity.MEDIUM
        numbers = found.evidence["numbers"]
        assert (numbers["recent_percent"], numbers["baseline_percent"]) == (60.0, 80.0)
        assert numbers["drop_points"] == 20.0
        assert (numbers["recent_logged_days"], numbers["baseline_logged_days"]) == (4, 10)


def test_adherence_drop_of_17_5_points_does_not_flag(evaluate, derm):
    # given: 80 % before, 62.5 % over 4 recent days (25 of 40)
    patient = make_patient(derm)
    log_days(patient, list(BASELINE)[:10], done=8, due=10)
    log_days(patient, [0, 1, 2], done=6, due=10)
    log_days(patient, [3], done=7, due=10)
    log(patient, ago(4), done=0, due=0)  # a fifth day with nothing due changes nothing
    # when / then
    assert only(evaluate(), Rule.ADHERENCE_DROP, patient) is None


@pytest.mark.parametrize(("recent_days", "flagged"), [(3, False), (4, True)])
def test_adherence_drop_needs_4_logged_recent_days(evaluate, derm, recent_days, flagged):
    # given: a 50-point drop, but only 3 or 4 recent days logged
    patient = make_patient(derm)
    adherence_history(patient, recent_days=recent_days, recent_done=3, baseline_days=20)
    # when / then
    assert (only(evaluate(), Rule.ADHERENCE_DROP, patient) is not None) is flagged


@pytest.mark.parametrize(("baseline_days", "flagged"), [(9, False), (10, True)])
def test_adherence_drop_needs_10_logged_baseline_days(evaluate, derm, baseline_days, flagged):
    # given: 90 % before, 60 % now (30 points, above the 50 % floor)
    patient = make_patient(derm)
    adherence_history(patient, recent_days=5, recent_done=6, baseline_days=baseline_days,
                      baseline_done=9)
    # when / then
    assert (only(evaluate(), Rule.ADHERENCE_DROP, patient) is not None) is flagged


@pytest.mark.parametrize(("recent_done", "flagged"), [(4, True), (5, False)])
def test_adherence_below_50_percent_flags_without_a_baseline(evaluate, derm, recent_done,
                                                              flagged):
    # given: a new plan (no baseline), 40 % or exactly 50 % over 4 recent days
    patient = make_patient(derm, plan_days=6)
    log_days(patient, range(4), done=recent_done, due=10)
    # when
    found = only(evaluate(), Rule.ADHERENCE_DROP, patient)
    # then
    assert (found is not None) is flagged
    if flagged:
        assert found.evidence["numbers"]["triggered_by"] == ["floor"]
        assert found.evidence["numbers"]["baseline_percent"] is None


def test_adherence_drop_high_and_its_evidence(evaluate, derm):
    # given: 90 % before, 20 % now; a check-in today is not counted (today may not be done)
    patient = make_patient(derm)
    baseline = log_days(patient, list(BASELINE)[:12], done=9, due=10)
    recent = log_days(patient, range(5), done=2, due=10)
    log(patient, YESTERDAY + timedelta(days=1), done=10, due=10)
    log(patient, ago(40), done=10, due=10)  # before the baseline window
    # when
    found = only(evaluate(), Rule.ADHERENCE_DROP, patient)
    # then
    assert found.severity == Severity.HIGH
    evidence = found.evidence
    assert evidence["as_of"] == "2026-03-10"
    assert evidence["windows"] == [
        {"label": "last 7 days", "start": "2026-03-04", "end": "2026-03-10", "signal": "steps"},
        {"label": "the 28 days before", "start": "2026-02-04", "end": "2026-03-03",
         "signal": "steps"},
    ]
    assert evidence["checkin_ids"] == sorted(c.pk for c in baseline + recent)
    assert found.evidence_at == max(c.updated_at for c in baseline + recent)
    assert evidence["title"] == "Adherence fell"
    assert evidence["summary"] == ("Adherence fell 70 points, from 90% in the 28 days before "
                                   "(12 logged) to 20% in the last 7 days (5 days logged).")


def test_plan_revision_inside_the_window_counts_steps_as_logged(evaluate, derm):
    # given: one step until 3 days ago, then a revision with three (the plan start stays)
    patient = make_patient(derm)
    backdated_revision(patient, author=derm, number=2, effective_from=ago(2), items=[
        item_draft(name="Cleanser", kind="skincare", time_of_day="both"), item_draft()])
    log_days(patient, list(BASELINE)[:10], done=1, due=1)
    log_days(patient, [5, 4, 3], done=1, due=1)  # revision 1: 3 of 3
    log_days(patient, [2, 1, 0], done=1, due=3)  # revision 2: 3 of 9
    # when
    found = only(evaluate(), Rule.ADHERENCE_DROP, patient)
    # then: 6 of 12 steps = 50 % (not the mean of day rates, 66.7 %)
    assert found.evidence["numbers"]["recent_percent"] == 50.0
    assert found.evidence["numbers"]["recent_steps"] == [6, 12]
    assert patient.care_plan.starts_on == ago(60)


# --- 2. Below the expected curve ----------------------------------------------------------

# The plan started 44 days before yesterday: weeks 5 (expected 65 %) and 6 (60 %) are the last
# complete ones (week 6 ended 3 days before yesterday); week 7 is under way.
WEEK_5, WEEK_6 = range(10, 17), range(3, 10)


def below_history(derm, *, week5: int, week6: int, logged5: int = 4, logged6: int = 4):
    patient = make_patient(derm, plan_days=44)
    log_days(patient, list(WEEK_5)[:logged5], done=week5, due=20)
    log_days(patient, list(WEEK_6)[:logged6], done=week6, due=20)
    log_days(patient, range(0, 3), done=0, due=20)  # week 7, not complete: not compared
    return patient


def test_below_expected_in_the_last_two_complete_weeks(evaluate, derm):
    # given: 40 % in week 5 (25 below 65) and 40 % in week 6 (20 below 60)
    patient = below_history(derm, week5=8, week6=8)
    # when
    found = only(evaluate(), Rule.BELOW_EXPECTED, patient)
    # then
    assert found.severity == Severity.LOW
    weeks = found.evidence["numbers"]["weeks"]
    assert [(w["week"], w["percent"], w["expected_percent"], w["below_points"])
            for w in weeks] == [(5, 40.0, 65.0, 25.0), (6, 40.0, 60.0, 20.0)]
    assert found.evidence["windows"] == [
        {"label": "plan week 5", "start": "2026-02-22", "end": "2026-02-28", "signal": "steps"},
        {"label": "plan week 6", "start": "2026-03-01", "end": "2026-03-07", "signal": "steps"},
    ]
    assert len(found.evidence["checkin_ids"]) == 8


def test_below_expected_by_exactly_15_points_does_not_flag(evaluate, derm):
    # given: 50 % in week 5 (15 below), 40 % in week 6
    patient = below_history(derm, week5=10, week6=8)
    # when / then
    assert only(evaluate(), Rule.BELOW_EXPECTED, patient) is None


def test_below_expected_needs_enough_logged_days_each_week(evaluate, derm):
    # given: week 6 has only 3 logged days
    patient = below_history(derm, week5=8, week6=8, logged6=3)
    # when / then
    assert only(evaluate(), Rule.BELOW_EXPECTED, patient) is None


def test_below_expected_medium_when_latest_week_more_than_30_below(evaluate, derm):
    # given: week 6 at 25 % (35 below 60)
    patient = below_history(derm, week5=8, week6=5)
    # when / then
    assert only(evaluate(), Rule.BELOW_EXPECTED, patient).severity == Severity.MEDIUM


def test_plan_weeks_count_from_the_plan_start_not_the_latest_revision(evaluate, derm):
    # given: a revision 5 days ago (inside week 6) does not restart the weeks
    patient = below_history(derm, week5=8, week6=8)
    backdated_revision(patient, author=derm, number=2, effective_from=ago(5),
                       items=[item_draft(name="Moisturiser", kind="skincare")])
    # when
    found = only(evaluate(), Rule.BELOW_EXPECTED, patient)
    # then
    assert [w["week"] for w in found.evidence["numbers"]["weeks"]] == [5, 6]


# --- 3. Satisfaction drop ------------------------------------------------------------------


def ratings(patient, values_newest_first: list[int]) -> list:
    return [log(patient, ago(n), satisfaction=value)
            for n, value in enumerate(values_newest_first)]


@pytest.mark.parametrize(("last", "flagged"), [([3, 3, 3], True), ([3, 3, 4], False)])
def test_satisfaction_drop_of_exactly_one_point_flags(evaluate, derm, last, flagged):
    # given: ten ratings of 4, then three of mean 3.0 (or 3.33)
    patient = make_patient(derm)
    ratings(patient, [*last, *[4] * 10])
    # when
    found = only(evaluate(), Rule.SATISFACTION_DROP, patient)
    # then
    assert (found is not None) is flagged
    if flagged:
        assert found.severity == Severity.MEDIUM
        numbers = found.evidence["numbers"]
        assert (numbers["last_mean"], numbers["previous_mean"]) == (3.0, 4.0)
        assert numbers["previous_count"] == 10


def test_satisfaction_compares_only_the_10_ratings_before_the_last_3(evaluate, derm):
    # given: last 3 at 3; the 10 before at 4; older ratings at 5 (not compared); unrated days
    patient = make_patient(derm)
    rated = ratings(patient, [3, 3, 3, *[4] * 10, 5, 5, 5])
    log_days(patient, [20, 21])  # no rating
    # when
    found = only(evaluate(), Rule.SATISFACTION_DROP, patient)
    # then
    assert found.evidence["numbers"]["previous_mean"] == 4.0
    assert found.evidence["checkin_ids"] == sorted(c.pk for c in rated[:13])
    assert found.evidence["windows"][1] == {"label": "the 10 ratings before",
                                           "start": "2026-02-26", "end": "2026-03-07",
                                           "signal": "ratings"}


def test_satisfaction_low_flags_without_previous_and_high_when_all_1(evaluate, derm):
    # given: a patient rating 2, 1, 2 and one rating 1, 1, 1; neither has earlier ratings
    low, lowest = make_patient(derm), make_patient(derm)
    ratings(low, [2, 1, 2])
    ratings(lowest, [1, 1, 1])
    # when
    findings = evaluate()
    # then
    assert only(findings, Rule.SATISFACTION_DROP, low).severity == Severity.MEDIUM
    assert only(findings, Rule.SATISFACTION_DROP, lowest).severity == Severity.HIGH


def test_satisfaction_needs_3_ratings_up_to_yesterday(evaluate, derm):
    # given: two ratings of 1 by yesterday; a third one today does not count yet
    patient = make_patient(derm)
    ratings(patient, [1, 1])
    log(patient, YESTERDAY + timedelta(days=1), satisfaction=1)
    # when / then
    assert only(evaluate(), Rule.SATISFACTION_DROP, patient) is None


def test_satisfaction_ratings_far_back_are_still_found(evaluate, derm):
    # given: a rare rater: previous ratings 2 and 3 months back, last three recent
    patient = make_patient(derm, plan_days=120)
    for n, value in ((0, 2), (20, 3), (40, 2), (70, 5), (100, 5)):
        log(patient, ago(n), satisfaction=value)
    # when
    found = only(evaluate(), Rule.SATISFACTION_DROP, patient)
    # then: mean 2.33 vs 5.0
    assert found.evidence["numbers"]["previous_count"] == 2
    assert found.evidence["numbers"]["previous_mean"] == 5.0
    assert found.evidence["windows"][1]["start"] == ago(100).isoformat()


# --- 4. Alliance drop ----------------------------------------------------------------------


@pytest.mark.parametrize(("total", "severity"), [(27, Severity.MEDIUM), (28, None),
                                                 (19, Severity.HIGH)])
def test_alliance_below_28_flags(evaluate, derm, total, severity):
    # given: a single pulse
    patient = make_patient(derm)
    pulse(patient, ago(3), total)
    # when
    found = only(evaluate(), Rule.ALLIANCE_DROP, patient)
    # then
    assert (found.severity if found else None) == severity


@pytest.mark.parametrize(("previous", "latest", "severity"), [
    (35, 29, Severity.MEDIUM), (35, 30, None), (39, 29, Severity.HIGH),
])
def test_alliance_drop_of_6_points_flags(evaluate, derm, previous, latest, severity):
    # given: an older pulse, the previous one, the latest one; a pulse today does not count
    patient = make_patient(derm)
    pulse(patient, ago(30), 10)
    older, newer = pulse(patient, ago(16), previous), pulse(patient, ago(2), latest)
    pulse(patient, YESTERDAY + timedelta(days=1), 5)
    # when
    found = only(evaluate(), Rule.ALLIANCE_DROP, patient)
    # then
    assert (found.severity if found else None) == severity
    if found:
        assert found.evidence["numbers"]["drop_points"] == previous - latest
        assert found.evidence["checkin_ids"] == sorted([older.checkin_id, newer.checkin_id])


# --- 5. Gone quiet -------------------------------------------------------------------------


@pytest.mark.parametrize(("prior_logged", "severity"), [
    (4, None), (5, Severity.LOW), (6, Severity.LOW), (7, Severity.MEDIUM),
])
def test_gone_quiet_after_logging_most_days(evaluate, derm, prior_logged, severity):
    # given: nothing in the last 4 days; some of the 7 days before logged
    patient = make_patient(derm)
    prior = log_days(patient, list(range(4, 11))[:prior_logged])
    log_days(patient, [12, 13])  # older check-ins are not behind it
    # when
    found = only(evaluate(), Rule.GONE_QUIET, patient)
    # then
    assert (found.severity if found else None) == severity
    if found:
        assert found.evidence["checkin_ids"] == sorted(c.pk for c in prior)
        assert found.evidence["numbers"]["last_checkin_date"] == ago(4).isoformat()


def test_gone_quiet_needs_4_days_without_a_check_in(evaluate, derm):
    # given: logged daily until 3 days before yesterday
    patient = make_patient(derm)
    log_days(patient, range(3, 11))
    # when / then
    assert only(evaluate(), Rule.GONE_QUIET, patient) is None


# --- 7. Alliance at risk -------------------------------------------------------------------


def test_at_risk_when_adherence_and_satisfaction_drop_together(evaluate, derm):
    # given: adherence 90 % -> 30 %, satisfaction 4 -> 2 (latest rating yesterday)
    patient = make_patient(derm)
    log_days(patient, BASELINE, done=9, due=10, satisfaction=4)
    log_days(patient, RECENT, done=3, due=10, satisfaction=2)
    # when
    findings = evaluate()
    # then
    at_risk = only(findings, Rule.ALLIANCE_AT_RISK, patient)
    adherence = only(findings, Rule.ADHERENCE_DROP, patient)
    satisfaction = only(findings, Rule.SATISFACTION_DROP, patient)
    assert at_risk.severity == Severity.HIGH
    assert at_risk.evidence["numbers"]["components"] == [Rule.ADHERENCE_DROP,
                                                         Rule.SATISFACTION_DROP]
    assert at_risk.evidence["checkin_ids"] == sorted(
        set(adherence.evidence["checkin_ids"]) | set(satisfaction.evidence["checkin_ids"]))
    assert at_risk.evidence_at == max(adherence.evidence_at, satisfaction.evidence_at)


@pytest.mark.parametrize(("pulse_days_ago", "at_risk"), [(14, True), (15, False)])
def test_at_risk_needs_the_companion_data_within_14_days(evaluate, derm, pulse_days_ago,
                                                         at_risk):
    # given: an adherence drop and a low pulse 14 or 15 days before yesterday
    patient = make_patient(derm)
    log_days(patient, BASELINE, done=9, due=10)
    log_days(patient, RECENT, done=3, due=10)
    pulse(patient, ago(pulse_days_ago), 20)
    # when
    findings = evaluate()
    # then
    assert only(findings, Rule.ALLIANCE_DROP, patient) is not None
    assert (only(findings, Rule.ALLIANCE_AT_RISK, patient) is not None) is at_risk


def test_no_at_risk_without_an_adherence_drop(evaluate, derm):
    # given: satisfaction and alliance fall while adherence holds
    patient = make_patient(derm)
    log_days(patient, BASELINE, done=9, due=10, satisfaction=5)
    log_days(patient, RECENT, done=9, due=10, satisfaction=1)
    pulse(patient, ago(1), 15)
    # when
    rules_found = {f.rule for f in evaluate()}
    # then
    assert rules_found == {Rule.SATISFACTION_DROP, Rule.ALLIANCE_DROP}


# --- Time zones ----------------------------------------------------------------------------


def test_same_instant_different_yesterday_in_auckland_and_los_angeles(evaluate, derm):
    # given: at 12:00 UTC on 11 Mar it is already 12 Mar in Auckland (yesterday: 11 Mar) and
    # still 11 Mar in Los Angeles (yesterday: 10 Mar); both logged daily from 1 to 7 Mar
    auckland = make_patient(derm, zone="Pacific/Auckland")
    los_angeles = make_patient(derm, zone="America/Los_Angeles")
    for patient in (auckland, los_angeles):
        for day in range(1, 8):
            log(patient, date(2026, 3, day))
    # when
    findings = evaluate(now=NOW)
    # then: Auckland's last 4 days (8-11 Mar) are empty; Los Angeles' (7-10 Mar) are not
    quiet = only(findings, Rule.GONE_QUIET, auckland)
    assert quiet.evidence["as_of"] == "2026-03-11"
    assert quiet.evidence["windows"][0] == {"label": "days without a check-in",
                                            "signal": "steps", "start": "2026-03-08",
                                            "end": "2026-03-11"}
    assert quiet.severity == Severity.MEDIUM
    assert only(findings, Rule.GONE_QUIET, los_angeles) is None


def test_patients_in_three_local_dates_at_once(evaluate, derm):
    # given: at 10:30 UTC it is 11 Mar in London, 12 Mar in Kiritimati and 10 Mar in Pago
    # Pago; each logged 4 days of 10 % ending on their own yesterday
    now = NOW.replace(hour=10, minute=30)
    zones = {"Europe/London": date(2026, 3, 10), "Pacific/Kiritimati": date(2026, 3, 11),
             "Pacific/Pago_Pago": date(2026, 3, 9)}
    patients = {}
    for zone, yesterday in zones.items():
        patients[zone] = make_patient(derm, zone=zone)
        log_days(patients[zone], range(4), done=1, due=10, from_day=yesterday)
        log(patients[zone], yesterday + timedelta(days=1), done=10, due=10)  # their today
    # when
    findings = evaluate(now=now)
    # then
    for zone, yesterday in zones.items():
        found = only(findings, Rule.ADHERENCE_DROP, patients[zone])
        assert found.evidence["as_of"] == yesterday.isoformat()
        assert found.evidence["numbers"]["recent_percent"] == 10.0


# --- Who is evaluated ----------------------------------------------------------------------


def test_only_active_patients_with_a_plan_are_evaluated(evaluate, derm):
    # given: an inactive patient and one without a plan, both with low adherence
    from tests.factories import PatientFactory

    inactive = make_patient(derm)
    inactive.is_active = False
    inactive.save()
    log_days(inactive, range(5), done=0, due=10)
    without_plan = PatientFactory(dermatologist=derm)
    # when
    findings = evaluate()
    # then
    assert not [f for f in findings if f.patient_id in (inactive.pk, without_plan.pk)]


def test_clinic_thresholds_come_from_its_flag_settings(evaluate, derm, clinic):
    # given: a clinic that flags adherence only below 30 %
    FlagSettings.objects.create(clinic=clinic, adherence_floor_percent=30)
    patient = make_patient(derm, plan_days=6)
    log_days(patient, range(4), done=4, due=10)
    # when
    findings = evaluate(clinic_ids=[clinic.pk])
    # then
    assert only(findings, Rule.ADHERENCE_DROP, patient) is None


def test_the_sweep_never_raises_severe_side_effects(evaluate, derm):
    # given: a severe side effect reported yesterday (raised at check-in time, not here)
    patient = make_patient(derm)
    checkin = log(patient, ago(0))
    checkin.side_effect = "severe"
    checkin.save()
    # when / then
    assert {f.rule for f in evaluate()} == set()


# --- What a finding says: its title follows the branch that fired --------------------------


def test_satisfaction_that_stayed_low_while_rising_is_not_called_a_fall(evaluate, derm):
    # given: ten ratings averaging 1.1, then 1, 1, 2 (mean 1.33: low, and a little higher)
    patient = make_patient(derm)
    ratings(patient, [2, 1, 1, 2, *[1] * 9])
    # when
    found = only(evaluate(), Rule.SATISFACTION_DROP, patient)
    # then
    evidence = found.evidence
    assert evidence["numbers"]["triggered_by"] == ["low"]
    assert evidence["title"] == "Satisfaction has stayed low"
    assert evidence["summary"] == ("The last 3 ratings were all 2/5 or lower (mean 1.33/5); "
                                   "the 10 before averaged 1.1/5.")


@pytest.mark.parametrize(("values", "title"), [
    ([1] * 13, "Satisfaction has stayed low"),  # 1/5 then 1/5
    ([2, 2, 2, *[3] * 8, 2, 2], "Satisfaction is low"),  # 2.8 before: lower, not by 1
    ([2, 1, 2], "Satisfaction is low"),  # nothing before
    ([3, 3, 3, *[4] * 10], "Satisfaction fell"),
    ([1, 1, 1, *[4] * 10], "Satisfaction fell"),  # fell and low: the fall is the news
])
def test_satisfaction_title_follows_the_branch(evaluate, derm, values, title):
    # given
    patient = make_patient(derm)
    ratings(patient, values)
    # when
    found = only(evaluate(), Rule.SATISFACTION_DROP, patient)
    # then
    assert found.evidence["title"] == title
    assert ("fell" in found.evidence["summary"]) is (title == "Satisfaction fell")


@pytest.mark.parametrize(("baseline_done", "recent_done", "title"), [
    (3, 4, "Adherence has stayed low"),  # 30 % then 40 %: under 50 %, yet higher
    (5, 4, "Adherence is low"),  # 50 % then 40 %: lower, not by 20 points
    (9, 4, "Adherence fell"),
])
def test_adherence_title_follows_the_branch(evaluate, derm, baseline_done, recent_done, title):
    # given
    patient = make_patient(derm)
    adherence_history(patient, recent_days=5, recent_done=recent_done, baseline_days=12,
                      baseline_done=baseline_done)
    # when
    found = only(evaluate(), Rule.ADHERENCE_DROP, patient)
    # then
    assert found.evidence["title"] == title
    assert ("fell" in found.evidence["summary"]) is (title == "Adherence fell")


@pytest.mark.parametrize(("previous", "latest", "title"), [
    (20, 25, "Alliance pulse has stayed low"),  # under 28, yet higher
    (30, 27, "Alliance pulse is low"),
    (None, 27, "Alliance pulse is low"),
    (36, 30, "Alliance pulse fell"),
])
def test_alliance_title_follows_the_branch(evaluate, derm, previous, latest, title):
    # given
    patient = make_patient(derm)
    if previous is not None:
        pulse(patient, ago(16), previous)
    pulse(patient, ago(2), latest)
    # when
    found = only(evaluate(), Rule.ALLIANCE_DROP, patient)
    # then
    assert found.evidence["title"] == title
    assert ("fell" in found.evidence["summary"]) is (title == "Alliance pulse fell")


def test_at_risk_says_which_signals_in_words(evaluate, derm):
    # given: adherence 90 % -> 30 %, satisfaction 4 -> 2
    patient = make_patient(derm)
    log_days(patient, BASELINE, done=9, due=10, satisfaction=4)
    log_days(patient, RECENT, done=3, due=10, satisfaction=2)
    # when
    found = only(evaluate(), Rule.ALLIANCE_AT_RISK, patient)
    # then
    assert found.evidence["title"] == "Alliance at risk"
    assert found.evidence["summary"] == "Adherence fell and satisfaction fell, at the same time."
    assert found.evidence["numbers"]["component_titles"] == ["Adherence fell",
                                                             "Satisfaction fell"]
    assert [w["signal"] for w in found.evidence["windows"]] == [
        "steps", "steps", "ratings", "ratings"]


def test_a_zero_threshold_never_calls_an_unchanged_number_a_fall():
    # given: a clinic that set every "fell by" threshold to 0, and numbers that did not move
    zero = FlagSettings(adherence_drop_points=0, satisfaction_drop=0, alliance_drop_points=0)
    w = rules.windows_for(YESTERDAY, zero)
    same_ratings = rules.Ratings(last_sum=12, last_count=3, last_max=4, last_first=ago(2),
                                 latest=ago(0), previous_sum=40, previous_count=10,
                                 previous_first=ago(12), previous_last=ago(3))
    same_pulses = rules.Pulses(latest_total=30, latest_date=ago(1), latest_checkin=1,
                               previous_total=30, previous_date=ago(15), previous_checkin=2)
    # when / then
    assert rules.adherence_drop(Counts(32, 40, 4), Counts(80, 100, 10), w, zero) is None
    assert rules.satisfaction_drop(same_ratings, YESTERDAY, zero) is None
    assert rules.alliance_drop(same_pulses, YESTERDAY, zero) is None


def test_at_risk_names_all_three_parts_in_one_sentence(evaluate, derm):
    # given: adherence, ratings and the pulse fall together
    patient = make_patient(derm)
    log_days(patient, BASELINE, done=9, due=10, satisfaction=4)
    log_days(patient, RECENT, done=3, due=10, satisfaction=2)
    pulse(patient, ago(16), 36)
    pulse(patient, ago(2), 22)
    # when
    found = only(evaluate(), Rule.ALLIANCE_AT_RISK, patient)
    # then
    assert found.evidence["summary"] == ("Adherence fell, satisfaction fell and the alliance "
                                         "pulse fell, at the same time.")
