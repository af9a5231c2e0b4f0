"""How well could *any* detector do on the labelled cohort? An upper bound on recall.

    .venv/bin/python -m benchmarks.flag_bounds [--seeds 5] [--per-shape 30] [--draws 20000]

Not a test: a script run by hand that prints figures measured in one run, next to
``benchmarks/flag_quality.py``. For every decline patient of the cohort (``benchmarks/cohort.py``,
the same seeds and shapes) it computes the recall within 3 and 7 days of onset of an *oracle*:
a detector that is told the onset day and knows everything the generator drew for the patient
(their usual adherence, day-to-day spread, the slow wander of their level on each day, their
logging rate, rating and answer levels and spreads, and the size of the change), and that may
spend the whole false-flag budget of the goal on that one decline.

Why it bounds every real detector: caught within N days means a flag on one of the N nights
``onset .. onset + N - 1``. On a patient who is not declining, a detector within the goal
(``GOAL_FALSE_PER_MONTH`` flags per patient-month, all rules together) opens a flag on one of
N given nights with probability at most ``N × GOAL / 30``. By the Neyman-Pearson lemma no test
of that size on the patient's data has more power than the likelihood-ratio test of "no change"
against "this change from this day", whose likelihoods the oracle knows exactly (days before
the onset are distributed alike under both, so they cancel). Across patients the budget is
shared at one likelihood-ratio threshold (the Lagrangian optimum of mean power at a given mean
size, since each patient's curve of power against size is concave). A real detector does not
know the onset, the parameters or the size of the change, and shares the budget among rules,
so it can only do worse than this figure.

How: for each patient, ``--draws`` simulated values of the window's data under the change
(binomial steps done with Beta day-to-day variation, ratings and answers as the generator draws
them, on the days the patient actually logged, rated and answered); the size of a threshold is
estimated from the same draws by importance weighting (``E_change[exp(-LLR); LLR > c]``).
Drop-out is exact: the only evidence is no check-in on the window's days.

Prints the bound per decline shape for 3 and 7 days beside the goals. Counts and rates only.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import optimize, stats

from benchmarks import cohort
from benchmarks.flag_quality import END, GOAL_FALSE_PER_MONTH, GOAL_RECALL_3, GOAL_RECALL_7

WINDOWS = (3, 7)


@dataclass
class Drawn:
    """What the generator drew for one patient (captured while it generates)."""

    profile: cohort._Profile
    change: dict[str, float]


def generate_with_parameters(seed: int, per_shape: int, nights: int
                             ) -> list[tuple[cohort.Patient, Drawn]]:
    """The cohort of ``flag_quality`` for this seed, with each patient's drawn parameters."""
    profiles: list[cohort._Profile] = []
    changes: list[dict[str, float]] = []
    real_profile, real_change = cohort._profile, cohort._change

    def profile(rng, shape):
        profiles.append(real_profile(rng, shape))
        return profiles[-1]

    def change(rng, shape):
        changes.append(real_change(rng, shape))
        return changes[-1]

    cohort._profile, cohort._change = profile, change
    try:
        patients = cohort.generate(seed=seed, per_shape=per_shape, end=END, nights=nights)
    finally:
        cohort._profile, cohort._change = real_profile, real_change
    return [(p, Drawn(profile, change))
            for p, profile, change in zip(patients, profiles, changes, strict=True)]


# --- Log-likelihood ratios of one window -----------------------------------------------------


def _beta_parameters(mean: np.ndarray, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """The generator's Beta (``cohort._beta``) for these means and this sd."""
    mean = np.clip(mean, 0.02, 0.98)
    capped = np.minimum(sd, np.sqrt(mean * (1 - mean)) * 0.95)
    concentration = mean * (1 - mean) / capped ** 2 - 1
    return mean * concentration, (1 - mean) * concentration


def _drift_paths(rng: np.random.Generator, draws: int, days: int) -> np.ndarray:
    """The generator's slow wander of the level (AR(1), 0.9, sd 0.02 a day), stationary."""
    paths = np.empty((draws, days))
    current = rng.normal(0.0, 0.02 / math.sqrt(1 - 0.81), draws)
    for day in range(days):
        current = 0.9 * current + rng.normal(0.0, 0.02, draws)
        paths[:, day] = current
    return paths


def adherence_llr(rng: np.random.Generator, patient: cohort.Patient, drawn: Drawn,
                  window: list[cohort.Day], draws: int) -> np.ndarray:
    """Draws of the LLR of the window's steps done, under the change; the oracle knows the
    day's level including its wander (a drift path is drawn per draw, shared by both)."""
    total = np.zeros(draws)
    if not window:
        return total
    span = (window[-1].local_date - window[0].local_date).days + 1
    drift = _drift_paths(rng, draws, span)
    for day in window:
        if day.steps_due == 0:
            continue
        index = (day.local_date - patient.plan_start).days
        since = (day.local_date - patient.onset).days
        weekend = day.local_date.weekday() >= 5
        offset = drift[:, (day.local_date - window[0].local_date).days]
        before = cohort._level(patient.shape, drawn.profile, drawn.change, index, -1, weekend)
        after = cohort._level(patient.shape, drawn.profile, drawn.change, index, since, weekend)
        a0, b0 = _beta_parameters(before + offset, drawn.profile.day_sd)
        a1, b1 = _beta_parameters(after + offset, drawn.profile.day_sd)
        done = stats.betabinom.rvs(day.steps_due, a1, b1, random_state=rng)
        total += (stats.betabinom.logpmf(done, day.steps_due, a1, b1)
                  - stats.betabinom.logpmf(done, day.steps_due, a0, b0))
    return total


def _rounded_normal_pmf(level: float, sd: float, low: int, high: int) -> np.ndarray:
    """P(value) for value in low..high of ``clip(round(level + N(0, sd)), low, high)``."""
    edges = np.arange(low, high + 2) - 0.5
    cdf = stats.norm.cdf(edges, loc=level, scale=sd)
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.diff(cdf)


def _scale_llr(rng: np.random.Generator, before: float, after: float, sd: float, low: int,
               high: int, count: int, draws: int) -> np.ndarray:
    if count == 0:
        return np.zeros(draws)
    p0 = _rounded_normal_pmf(before, sd, low, high)
    p1 = _rounded_normal_pmf(after, sd, low, high)
    with np.errstate(divide="ignore"):
        llr = np.log(p1) - np.log(p0)
    values = rng.choice(len(p1), size=(draws, count), p=p1)
    return llr[values].sum(axis=1)


def ratings_llr(rng: np.random.Generator, drawn: Drawn, window: list[cohort.Day],
                draws: int) -> np.ndarray:
    rated = sum(1 for d in window if d.satisfaction is not None)
    fall = drawn.change.get("sat_fall", 0.0)
    if not fall:
        return np.zeros(draws)
    level = drawn.profile.sat_level
    return _scale_llr(rng, level, level - fall, drawn.profile.sat_sd, 1, 5, rated, draws)


def partnership_llr(rng: np.random.Generator, drawn: Drawn, window: list[cohort.Day],
                    draws: int) -> np.ndarray:
    fall = drawn.change.get("part_fall", 0.0)
    total = np.zeros(draws)
    if not fall:
        return total
    questions = [d.partnership_question for d in window if d.partnership is not None]
    questions += [q for d in window if d.pulse for q in cohort.QUESTIONS]
    for question in questions:
        level = drawn.profile.part_level - (0.7 if question == "fits_life" else 0.0)
        total += _scale_llr(rng, level, level - fall, drawn.profile.part_sd, 0, 10, 1, draws)
    return total


# --- The bound ---------------------------------------------------------------------------------


def window_of(patient: cohort.Patient, days: int) -> list[cohort.Day]:
    last = patient.onset + timedelta(days=days - 1)
    return [d for d in patient.days if patient.onset <= d.local_date <= last]


def quiet_chance(drawn: Drawn, onset: date, days: int) -> float:
    """The chance a patient who did not drop out logs nothing on the window's days."""
    chance = 1.0
    for n in range(days):
        weekend = (onset + timedelta(days=n)).weekday() >= 5
        chance *= 1 - drawn.profile.log_p * (0.9 if weekend else 1.0)
    return chance


def llr_draws(rng: np.random.Generator, patient: cohort.Patient, drawn: Drawn, days: int,
              draws: int) -> np.ndarray:
    window = window_of(patient, days)
    total = np.zeros(draws)
    if patient.shape in ("abrupt_adherence", "gradual_adherence", "combined"):
        total += adherence_llr(rng, patient, drawn, window, draws)
    total += ratings_llr(rng, drawn, window, draws)
    total += partnership_llr(rng, drawn, window, draws)
    return total


def bound_from_draws(llrs: list[np.ndarray], budget: float) -> float:
    """Mean power at one LLR threshold whose mean size (importance-weighted) is ``budget``."""

    def mean_size(threshold: float) -> float:
        return float(np.mean([np.mean(np.exp(-llr) * (llr > threshold)) for llr in llrs]))

    def mean_power(threshold: float) -> float:
        return float(np.mean([np.mean(llr > threshold) for llr in llrs]))

    low, high = -50.0, 200.0
    if mean_size(low) <= budget:
        return mean_power(low)
    threshold = optimize.brentq(lambda c: mean_size(c) - budget, low, high, xtol=1e-6)
    return mean_power(threshold)


def quiet_bound(chances: list[float], budget: float) -> float:
    """Drop-out: the best test flags exactly when nothing was logged (likelihood ratio
    infinite), taken for the patients whose quiet chance is smallest, until the mean size
    reaches the budget (the last one partly, a randomised test)."""
    spent, caught = 0.0, 0.0
    for chance in sorted(chances):
        share = min(1.0, (budget * len(chances) - spent) / chance) if chance > 0 else 1.0
        if share <= 0:
            break
        spent += share * chance
        caught += share
    return caught / len(chances)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--per-shape", type=int, default=30)
    parser.add_argument("--nights", type=int, default=35)
    parser.add_argument("--draws", type=int, default=20000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    llrs: dict[tuple[str, int], list[np.ndarray]] = defaultdict(list)
    quiet: dict[int, list[float]] = defaultdict(list)
    for seed in range(1, args.seeds + 1):
        for patient, drawn in generate_with_parameters(seed, args.per_shape, args.nights):
            if patient.onset is None:
                continue
            for days in WINDOWS:
                if patient.shape == "drop_out":
                    quiet[days].append(quiet_chance(drawn, patient.onset, days))
                else:
                    llrs[patient.shape, days].append(
                        llr_draws(rng, patient, drawn, days, args.draws))
    print(f"recall bound: {args.seeds} seeds x {args.per_shape} patients per decline shape; "
          f"an oracle told the onset and every drawn parameter, spending the whole budget of "
          f"{GOAL_FALSE_PER_MONTH} false flags per patient-month on one decline "
          f"(size per window of N nights: N x {GOAL_FALSE_PER_MONTH}/30)")
    print(f"{'shape':22} {'bound <=3d':>11} {'goal':>6} {'bound <=7d':>11} {'goal':>6}")
    for shape in cohort.DECLINE_SHAPES:
        bounds = []
        for days in WINDOWS:
            budget = days * GOAL_FALSE_PER_MONTH / 30
            bounds.append(quiet_bound(quiet[days], budget) if shape == "drop_out"
                          else bound_from_draws(llrs[shape, days], budget))
        goal3 = f"{GOAL_RECALL_3:.2f}" if shape in cohort.ABRUPT_SHAPES else "-"
        print(f"{shape:22} {bounds[0]:11.2f} {goal3:>6} {bounds[1]:11.2f} "
              f"{GOAL_RECALL_7:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
