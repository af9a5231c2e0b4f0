"""A labelled synthetic cohort for measuring flag quality (``benchmarks/flag_quality.py``).

Pure functions, no Django: :func:`generate` returns plain per-patient day records and labels
(the shape, whether it is a decline, the onset day), the same for the same seed. Nothing here
knows the flag rules: the behaviour is drawn from per-patient distributions meant to look like
real patients, so that a detector tuned on it is not tuned to this generator alone.

Randomness: one ``random.Random(seed)`` (standard library; the project has no NumPy, and the
draws needed here are Beta, Gaussian and Bernoulli). Every patient gets its own sub-generator
seeded from the cohort's, so adding a shape does not change the patients of the others.

How a patient behaves (every figure drawn per patient, ranges below):

- **Plan**: 2-6 steps due a day (a third of patients have one more step on three weekdays);
  8-12 weeks of history before ``end`` (new patients: fewer than 14 days).
- **Logging**: each day is logged with the patient's own probability, most 0.75-1.0, a little
  less on weekends (x 0.9). A logged day is one check-in; unlogged days have none.
- **Adherence**: the patient's usual level (e.g. 0.75-0.95), wandering slowly (a mean-reverting
  AR(1) drift, sd about 4 points), and day-to-day variability: the day's probability
  ``p_day ~ Beta`` with mean = the day's level and the patient's own sd (0.06-0.15; noisy
  patients 0.2), then ``steps_done ~ Binomial(steps_due, p_day)``.
- **Satisfaction** (1-5, integers): rated on a share of check-ins (0.5-1.0 per patient), the
  patient's level (3.6-4.7) plus Gaussian noise (sd 0.4-0.8), rounded and clipped.
- **Partnership** (0-10, integers): the patient's level (7-9.5), noise (sd 0.5-1.2), "fits_life"
  0.7 lower. The full pulse (all four questions) is asked on the first check-in when no pulse
  was answered in the last 28 days (``Clinic.pulse_interval_days``), answered 90 % of the time
  (asked again next check-in when skipped); in the weeks between, one question a plan week,
  rotating (heard, shared_goals, fits_life, safe_to_raise), on the first check-in of the week
  with no pulse in the last 7 days, answered 90 % of the time (asked again that week if not).

Decline shapes (``onset``: the first day of the changed behaviour, drawn so that at least the
7 days ``onset .. onset + 6`` and at least a week before it lie in the observed nights):

- ``abrupt_adherence``: usual level 0.75-0.95 falls by 30-60 points at onset.
- ``gradual_adherence``: from 0.85-0.95 down to 0.35-0.50, linearly over 18-28 days.
- ``satisfaction``: the satisfaction level falls by 1.5-2.5 points at onset.
- ``alliance``: every partnership answer (weekly question and pulse) falls by 3-5 points.
- ``drop_out``: no check-in from onset on.
- ``combined``: adherence falls by 20-40 points, satisfaction by 1.0-2.0 and partnership
  answers by 2-4, all at onset.

Stable shapes (no onset; every flag on them is a false flag):

- ``stable_high``: usual adherence 0.85-0.97; ``stable_mid``: 0.65-0.80.
- ``noisy_mid``: 0.55-0.65 with a day-to-day sd of 0.18-0.22 (0.6 ± 0.2).
- ``sparse_logger``: logs 55-65 % of days.
- ``weekend_dips``: weekend adherence 20-40 points below the weekdays'.
- ``weekend_gaps``: never logs on Saturday or Sunday.
- ``back_from_break``: a 10-day break (no check-ins) that ended 1-7 days before the observed
  nights start; measured on the nights after the return.
- ``new_patient``: the plan started 5-13 days before ``end`` (first check-in under two weeks
  before the end); observed from the plan start.
- ``plan_cut``: a new plan revision during the observed nights drops the steps due from 4-6
  to 2-3 a day; adherence unchanged.
- ``published_curve``: adherence on the published curve for topical therapy, 85 % in plan
  week 1 falling 5 points a week to 50 % in week 8 and flat after (Carroll CL et al., J Am
  Acad Dermatol 2004; PMID 15280839), the patient within ±3 points of it; plans 8-10 weeks old.

Own row (neither a false flag nor a miss: whether it flags is a product decision):

- ``low_steady_satisfaction``: satisfaction level 1.5-2.3, steady (sd 0.3-0.5); the rest typical.

Severe side effects are not generated (they are not false flags, and not the sweep's).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

DECLINE_SHAPES = ("abrupt_adherence", "gradual_adherence", "satisfaction", "alliance",
                  "drop_out", "combined")
# Declines that happen from one day to the next: the 3-day recall goal applies to these.
ABRUPT_SHAPES = ("abrupt_adherence", "satisfaction", "drop_out", "combined")
STABLE_SHAPES = ("stable_high", "stable_mid", "noisy_mid", "sparse_logger", "weekend_dips",
                 "weekend_gaps", "back_from_break", "new_patient", "plan_cut", "published_curve")
OWN_ROW_SHAPES = ("low_steady_satisfaction",)
SHAPES = DECLINE_SHAPES + STABLE_SHAPES + OWN_ROW_SHAPES

QUESTIONS = ("heard", "shared_goals", "fits_life", "safe_to_raise")
PULSE_INTERVAL_DAYS = 28
MIN_DAYS_AFTER_ONSET = 7
MIN_DAYS_BEFORE_ONSET = 7
ANSWER_RATE = 0.9


@dataclass(frozen=True)
class Day:
    """One check-in (a logged day)."""

    local_date: date
    revision: int  # 1-based number of the plan revision in effect
    steps_due: int
    steps_done: int
    satisfaction: int | None = None
    partnership_question: str = ""
    partnership: int | None = None
    pulse: tuple[int, int, int, int] | None = None  # heard, shared_goals, fits_life, safe_to_raise


@dataclass
class Patient:
    """A simulated patient: labels, plan and check-ins (logged days only, ascending)."""

    number: int
    shape: str
    plan_start: date
    onset: date | None = None  # declines only
    revisions: list[date] = field(default_factory=list)  # effective_from of revision 1, 2, ...
    days: list[Day] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.shape in DECLINE_SHAPES:
            return "decline"
        return "stable" if self.shape in STABLE_SHAPES else "own_row"


@dataclass
class _Profile:
    """What is drawn once per patient."""

    level: float  # usual adherence
    day_sd: float  # day-to-day variability of p_day
    log_p: float  # chance a day is logged
    base_steps: int
    extra_step_days: frozenset[int]  # weekdays with one more step
    sat_share: float
    sat_level: float
    sat_sd: float
    part_level: float
    part_sd: float


def generate(*, seed: int, per_shape: int, end: date, nights: int,
             shapes: tuple[str, ...] = SHAPES) -> list[Patient]:
    """``per_shape`` patients of each shape, histories ending on ``end`` (the last ``as_of``
    the benchmark sweeps); ``nights`` is how many nights are observed (as_of from
    ``end - nights + 1`` to ``end``), which bounds the onsets. Same arguments, same cohort."""
    if nights < MIN_DAYS_AFTER_ONSET:
        raise ValueError(f"need at least {MIN_DAYS_AFTER_ONSET} observed nights")
    master = random.Random(seed)
    patients = []
    number = 0
    for shape in shapes:
        for _ in range(per_shape):
            number += 1
            rng = random.Random(master.getrandbits(64))
            patients.append(_patient(rng, number, shape, end, nights))
    return patients


def first_night(end: date, nights: int) -> date:
    """The first observed as_of."""
    return end - timedelta(days=nights - 1)


# --- One patient -------------------------------------------------------------------------------


def _profile(rng: random.Random, shape: str) -> _Profile:
    level = rng.uniform(0.75, 0.95)
    day_sd = rng.uniform(0.06, 0.15)
    log_p = rng.uniform(0.75, 1.0)
    if shape == "stable_high":
        level = rng.uniform(0.85, 0.97)
    elif shape == "stable_mid":
        level = rng.uniform(0.65, 0.80)
    elif shape == "noisy_mid":
        level, day_sd = rng.uniform(0.55, 0.65), rng.uniform(0.18, 0.22)
    elif shape == "sparse_logger":
        level, log_p = rng.uniform(0.6, 0.95), rng.uniform(0.55, 0.65)
    elif shape == "weekend_gaps":
        log_p = rng.uniform(0.85, 1.0)
    elif shape == "gradual_adherence":
        level = rng.uniform(0.85, 0.95)
    base_steps = rng.randint(4, 6) if shape == "plan_cut" else rng.randint(2, 6)
    extra = frozenset(rng.sample(range(7), 3)) if rng.random() < 1 / 3 and base_steps < 6 \
        else frozenset()
    sat_level, sat_sd = rng.uniform(3.6, 4.7), rng.uniform(0.4, 0.8)
    if shape == "low_steady_satisfaction":
        sat_level, sat_sd = rng.uniform(1.5, 2.3), rng.uniform(0.3, 0.5)
    return _Profile(level=level, day_sd=day_sd, log_p=log_p, base_steps=base_steps,
                    extra_step_days=extra, sat_share=rng.uniform(0.5, 1.0), sat_level=sat_level,
                    sat_sd=sat_sd, part_level=rng.uniform(7.0, 9.5),
                    part_sd=rng.uniform(0.5, 1.2))


def _patient(rng: random.Random, number: int, shape: str, end: date, nights: int) -> Patient:
    profile = _profile(rng, shape)
    window_start = first_night(end, nights)
    if shape == "new_patient":
        plan_start = end - timedelta(days=rng.randint(5, 13))
    elif shape == "published_curve":
        plan_start = end - timedelta(days=rng.randint(56, 70))
    else:
        plan_start = end - timedelta(days=rng.randint(56, 84))
    plan_start = min(plan_start, window_start) if shape != "new_patient" else plan_start
    patient = Patient(number=number, shape=shape, plan_start=plan_start, revisions=[plan_start])
    if shape in DECLINE_SHAPES:
        before = min(MIN_DAYS_BEFORE_ONSET, nights - MIN_DAYS_AFTER_ONSET)
        low = window_start + timedelta(days=before)
        high = end - timedelta(days=MIN_DAYS_AFTER_ONSET - 1)
        patient.onset = low + timedelta(days=rng.randint(0, (high - low).days))
    cut_on = None
    if shape == "plan_cut":
        low = window_start + timedelta(days=min(3, nights - 1))
        high = max(low, end - timedelta(days=7))
        cut_on = low + timedelta(days=rng.randint(0, (high - low).days))
        patient.revisions.append(cut_on)
    break_days: set[date] = set()
    if shape == "back_from_break":
        last = window_start - timedelta(days=rng.randint(1, 7))
        break_days = {last - timedelta(days=n) for n in range(10)}
    # The shape's change, drawn once.
    change = _change(rng, shape)
    drift = 0.0
    question_week = -1  # last plan week whose weekly question was answered
    last_pulse: date | None = None
    day = plan_start
    while day <= end:
        index = (day - plan_start).days
        drift = 0.9 * drift + rng.gauss(0.0, 0.02)
        weekend = day.weekday() >= 5
        after = patient.onset is not None and day >= patient.onset
        since = (day - patient.onset).days if after else -1
        logged = rng.random() < profile.log_p * (0.9 if weekend else 1.0)
        if day in break_days or (shape == "weekend_gaps" and weekend) or \
                (shape == "drop_out" and after):
            logged = False
        level = _level(shape, profile, change, index, since, weekend) + drift
        p_day = _beta(rng, min(max(level, 0.02), 0.98), profile.day_sd)
        revision = 2 if cut_on is not None and day >= cut_on else 1
        due = profile.base_steps + (1 if day.weekday() in profile.extra_step_days else 0)
        if revision == 2:
            due = change["cut_to"]
        done = sum(rng.random() < p_day for _ in range(due))
        # Draw the answers every day (logged or not) so the stream of draws does not depend
        # on which days were logged more than it must.
        sat_level = profile.sat_level - (change.get("sat_fall", 0.0) if after else 0.0)
        satisfaction = _clip(round(sat_level + rng.gauss(0.0, profile.sat_sd)), 1, 5)
        rated = rng.random() < profile.sat_share
        part_fall = change.get("part_fall", 0.0) if after else 0.0
        answers = tuple(
            _clip(round(profile.part_level - part_fall - (0.7 if q == "fits_life" else 0.0)
                        + rng.gauss(0.0, profile.part_sd)), 0, 10)
            for q in QUESTIONS)
        answered = rng.random() < ANSWER_RATE
        if logged:
            pulse, question, partnership = None, "", None
            if last_pulse is None or (day - last_pulse).days >= PULSE_INTERVAL_DAYS:
                if answered:
                    pulse, last_pulse = answers, day
            elif (day - last_pulse).days >= 7 and index // 7 != question_week and answered:
                question_week = index // 7
                question = QUESTIONS[question_week % len(QUESTIONS)]
                partnership = answers[QUESTIONS.index(question)]
            patient.days.append(Day(
                local_date=day, revision=revision, steps_due=due, steps_done=done,
                satisfaction=satisfaction if rated else None, partnership_question=question,
                partnership=partnership, pulse=pulse))
        day += timedelta(days=1)
    return patient


def _change(rng: random.Random, shape: str) -> dict[str, float]:
    if shape == "abrupt_adherence":
        return {"fall": rng.uniform(0.30, 0.60)}
    if shape == "gradual_adherence":
        return {"to": rng.uniform(0.35, 0.50), "over": rng.randint(18, 28)}
    if shape == "satisfaction":
        return {"sat_fall": rng.uniform(1.5, 2.5)}
    if shape == "alliance":
        return {"part_fall": rng.uniform(3.0, 5.0)}
    if shape == "combined":
        return {"fall": rng.uniform(0.20, 0.40), "sat_fall": rng.uniform(1.0, 2.0),
                "part_fall": rng.uniform(2.0, 4.0)}
    if shape == "weekend_dips":
        return {"dip": rng.uniform(0.20, 0.40)}
    if shape == "plan_cut":
        return {"cut_to": rng.randint(2, 3)}
    if shape == "published_curve":
        return {"offset": rng.uniform(-0.03, 0.03)}
    return {}


def _level(shape: str, profile: _Profile, change: dict[str, float], index: int, since: int,
           weekend: bool) -> float:
    """The day's mean adherence before the drift (``since``: days since onset, -1 before)."""
    level = profile.level
    if shape == "published_curve":
        week = index // 7 + 1
        return (85 - 5 * (min(week, 8) - 1)) / 100 + change["offset"]
    if shape == "weekend_dips" and weekend:
        return level - change["dip"]
    if since < 0:
        return level
    if "fall" in change:
        return level - change["fall"]
    if shape == "gradual_adherence":
        share = min(1.0, (since + 1) / change["over"])
        return level + (change["to"] - level) * share
    return level


def _beta(rng: random.Random, mean: float, sd: float) -> float:
    """A Beta draw with this mean and (at most) this sd."""
    sd = min(sd, math.sqrt(mean * (1 - mean)) * 0.95)
    concentration = mean * (1 - mean) / sd ** 2 - 1
    return rng.betavariate(mean * concentration, (1 - mean) * concentration)


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
