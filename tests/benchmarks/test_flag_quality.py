"""The flag-quality benchmark: the cohort generator's labelled shapes, and its measuring loop."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from benchmarks import cohort, flag_quality

END = date(2026, 11, 29)  # a fixed last as_of: nothing here reads the clock
NIGHTS = 35


def adherence(patient: cohort.Patient, first: date, last: date) -> float:
    days = [d for d in patient.days if first <= d.local_date <= last]
    return sum(d.steps_done for d in days) / sum(d.steps_due for d in days)


@pytest.fixture(scope="module")
def patients() -> list[cohort.Patient]:
    return cohort.generate(seed=7, per_shape=20, end=END, nights=NIGHTS)


def of(patients: list[cohort.Patient], shape: str) -> list[cohort.Patient]:
    return [p for p in patients if p.shape == shape]


def test_same_seed_same_cohort_and_another_seed_another():
    # given / when
    first = cohort.generate(seed=3, per_shape=2, end=END, nights=NIGHTS)
    again = cohort.generate(seed=3, per_shape=2, end=END, nights=NIGHTS)
    other = cohort.generate(seed=4, per_shape=2, end=END, nights=NIGHTS)
    # then
    assert first == again
    assert first != other
    assert {p.shape for p in first} == set(cohort.SHAPES)


def test_abrupt_decline_falls_at_least_25_points_after_onset(patients):
    # given
    declines = of(patients, "abrupt_adherence")
    # when
    falls = [adherence(p, p.onset - timedelta(days=28), p.onset - timedelta(days=1))
             - adherence(p, p.onset, p.onset + timedelta(days=6)) for p in declines]
    # then: 30-60 points drawn; day-to-day noise may blur a week, not the median
    assert statistics.median(falls) >= 0.30
    assert min(falls) >= 0.15
    assert statistics.mean(falls) >= 0.25


def test_onsets_leave_a_week_before_and_after_in_the_observed_nights(patients):
    # given
    first = cohort.first_night(END, NIGHTS)
    # when
    onsets = [p.onset for p in patients if p.kind == "decline"]
    # then
    assert all(first + timedelta(days=7) <= onset <= END - timedelta(days=6) for onset in onsets)
    assert all(p.onset is None for p in patients if p.kind != "decline")
    assert len(set(onsets)) > 5  # onsets vary


def test_drop_out_stops_logging_at_onset(patients):
    # given / when
    drop_outs = of(patients, "drop_out")
    # then
    assert all(d.local_date < p.onset for p in drop_outs for d in p.days)


def test_sparse_logger_logs_50_to_70_percent_of_days(patients):
    # given / when
    shares = [len(p.days) / ((END - p.plan_start).days + 1)
              for p in of(patients, "sparse_logger")]
    # then
    assert 0.50 <= statistics.mean(shares) <= 0.70


def test_new_patient_has_under_two_weeks_of_data(patients):
    # given / when
    firsts = [p.days[0].local_date for p in of(patients, "new_patient") if p.days]
    # then
    assert firsts
    assert all((END - day).days < 14 for day in firsts)


def test_weekend_gaps_never_log_on_weekends_and_plan_cut_lowers_steps_due(patients):
    # given / when
    weekend_days = [d for p in of(patients, "weekend_gaps") for d in p.days
                    if d.local_date.weekday() >= 5]
    cut = of(patients, "plan_cut")
    # then
    assert weekend_days == []
    for p in cut:
        before = [d.steps_due for d in p.days if d.revision == 1]
        after = [d.steps_due for d in p.days if d.revision == 2]
        assert max(after) < min(before)


def test_answers_are_on_their_scales(patients):
    # given / when
    days = [d for p in patients for d in p.days]
    # then
    assert all(d.steps_done <= d.steps_due for d in days)
    assert {d.satisfaction for d in days} <= {None, 1, 2, 3, 4, 5}
    assert all(0 <= a <= 10 for d in days if d.pulse for a in d.pulse)
    assert all(d.partnership_question for d in days if d.partnership is not None)
    assert not any(d.pulse and d.partnership is not None for d in days)


@pytest.mark.django_db
def test_the_measuring_loop_counts_the_flag_of_an_obvious_abrupt_decline():
    # given: one stable patient and one who does nothing from onset on, every day logged
    nights = 10
    [decline, stable] = cohort.generate(seed=1, per_shape=1, end=END, nights=nights,
                                        shapes=("abrupt_adherence", "stable_high"))
    kept = [d for d in decline.days if d.local_date < decline.onset]
    days_after = (END - decline.onset).days + 1
    decline.days = kept + [
        replace(kept[-1], local_date=decline.onset + timedelta(days=n), steps_due=3,
                steps_done=0, satisfaction=None, partnership_question="", partnership=None,
                pulse=None)
        for n in range(days_after)]
    loaded = flag_quality.load([decline, stable], seed=1, sensitivity="balanced")
    first = cohort.first_night(END, nights)
    onsets = {pk: p.onset for pk, p in loaded.patients.items() if p.onset}
    # when
    opened = flag_quality.run_nights(first=first, last=END, onsets=onsets)
    figures = flag_quality.figures(loaded, opened, first=first, last=END)
    # then
    abrupt = figures["abrupt_adherence"]
    assert abrupt.patients == 1
    assert abrupt.caught7 == 1
    assert abrupt.never == 0
    assert 1 <= abrupt.delays[0] <= 7
    assert "adherence_drop" in abrupt.rules
    assert figures["stable_high"].nights == nights


def test_the_recall_bound_is_the_neyman_pearson_power_of_a_known_shift():
    # given a one-sided shift of 2.5 spreads: under the change x ~ N(2.5, 1), and the
    # log-likelihood ratio of N(2.5, 1) against N(0, 1) at x
    from scipy import stats

    from benchmarks import flag_bounds

    rng = np.random.default_rng(5)
    shift, size = 2.5, 0.01
    x = rng.normal(shift, 1.0, 200_000)
    llr = shift * x - shift ** 2 / 2
    # when
    bound = flag_bounds.bound_from_draws([llr], size)
    # then: the power of the best test of that size, Phi(shift - z)
    assert bound == pytest.approx(stats.norm.cdf(shift - stats.norm.ppf(1 - size)), abs=0.01)


def test_the_drop_out_bound_spends_the_budget_on_the_likeliest_catches_first():
    # given three patients whose quiet windows happen by chance 0.001, 0.002 and 0.1 of the time
    from benchmarks import flag_bounds

    chances = [0.001, 0.002, 0.1]
    # when: a mean budget of 0.002 per patient (0.006 in all)
    bound = flag_bounds.quiet_bound(chances, 0.002)
    # then: the first two are caught (0.003 spent) and the third in 3 % of windows (0.003 / 0.1)
    assert bound == pytest.approx((1 + 1 + 0.03) / 3)
