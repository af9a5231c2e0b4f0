"""Per-patient, noise-aware statistics behind the early-warning rules (docs/flags.md).

Every function works on many patients at once: a 2-D array with one row per patient and one
column per day (oldest first; the last column is ``as_of``), NaN where that day holds no value.
No queries and no clock here: ``flags.rules`` decides with these numbers and writes the
evidence.

- ``usual``: each patient's own usual level and day-to-day spread from their reference days,
  with the amount of data behind it. Thin data *widens* the spread the detector divides by
  (the Student t predictive distribution of a new value from few values, and the uncertainty
  of the mean itself) instead of firing.
- ``cusum_below``: a one-sided lower CUSUM (Page 1954; Montgomery, *Introduction to Statistical
  Quality Control*, ch. 9) of the standardised shortfall below the usual level: it adds up
  evidence of a sustained fall day by day, so a slow slide is caught after a few days while a
  single bad day on a noisy patient is not. It can restart after a day (a resolved flag).
- ``trailing_gap`` / ``longest_gap``: runs of days without a check-in.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

# Thin data widens the spread by the ratio of a Student t quantile to the normal one at this
# tail: a new value's standardised distance from a mean and sd estimated from n values follows
# t with n - 1 degrees of freedom (the predictive distribution), so the widened spread makes a
# rare day as rare for a patient with ten values as for one with fifty. From 10 values the
# spread is widened 1.26 times, from 40 values 1.05 times.
SPREAD_TAIL = 0.005


@dataclass(frozen=True)
class Usual:
    """Per patient (arrays of one value per row): the usual level, its observed spread, how
    many values are behind them, and the scale the detector divides by."""

    mean: np.ndarray
    sd: np.ndarray  # observed (ddof=1); NaN with fewer than two values
    count: np.ndarray
    scale: np.ndarray  # max(sd, floor), widened for thin data; NaN when count < 2


def usual(values: np.ndarray, *, floor: float, mean: np.ndarray | None = None) -> Usual:
    """Each row's usual level (``mean`` when given, e.g. a pooled ratio; else the row mean)
    and spread over its non-NaN values."""
    count = np.sum(~np.isnan(values), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without values give NaN
        row_mean = np.nanmean(values, axis=1)
        sd = np.nanstd(values, axis=1, ddof=1)
    level = row_mean if mean is None else mean
    dof = np.maximum(count - 1, 1)
    widening = stats.t.ppf(1 - SPREAD_TAIL, dof) / stats.norm.ppf(1 - SPREAD_TAIL)
    # The usual level is itself uncertain by sd/sqrt(n): a new value differs from it by
    # sd·sqrt(1 + 1/n) (a prediction interval).
    scale = np.maximum(np.nan_to_num(sd, nan=0.0), floor) * widening * np.sqrt(
        1 + 1 / np.maximum(count, 1))
    scale = np.where(count >= 2, scale, np.nan)
    return Usual(mean=level, sd=sd, count=count, scale=scale)


@dataclass(frozen=True)
class Slope:
    """Per row: the least-squares slope of the values against their column (units per day)
    and its standard error; NaN with too few values (two for the slope, three for its error)."""

    value: np.ndarray
    error: np.ndarray


def slope(values: np.ndarray) -> Slope:
    """Each row's least-squares trend over the columns that hold a value."""
    columns = np.arange(values.shape[1], dtype=float)
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = np.where(present, columns, 0).sum(axis=1) / count
        v_mean = np.nansum(values, axis=1) / count
        t_dev = np.where(present, columns - t_mean[:, None], 0.0)
        v_dev = np.where(present, np.nan_to_num(values) - v_mean[:, None], 0.0)
        spread = (t_dev ** 2).sum(axis=1)
        value = (t_dev * v_dev).sum(axis=1) / spread
        residual = np.where(present, v_dev - value[:, None] * t_dev, 0.0)
        error = np.sqrt((residual ** 2).sum(axis=1) / (count - 2) / spread)
    return Slope(value=np.where(count >= 2, value, np.nan),
                 error=np.where(count >= 3, error, np.nan))


@dataclass(frozen=True)
class Cusum:
    """Per patient after the last day: the CUSUM score, the column where its current run
    started (-1 when the score is 0), and the values the run holds."""

    score: np.ndarray
    run_start: np.ndarray


def cusum_below(values: np.ndarray, *, expected: np.ndarray, scale: np.ndarray, k: float,
                first_col: int, restart_after: np.ndarray | None = None,
                clip: float = np.inf) -> Cusum:
    """One-sided lower CUSUM over columns ``first_col``.. of each row:
    ``S = max(0, S + (expected - x) / scale - k)`` on each day with a value (days without one
    leave S as it is). ``expected``: one value per row, or one per row and column (a level
    that moves). ``restart_after``: per row, a column; days up to it are not counted
    (-1: none). Rows whose ``expected`` or ``scale`` is NaN score 0. ``clip``: no single day
    adds more than this many spreads (a winsorised CUSUM, Hawkins & Olwell 1998): one
    exceptional day cannot fire alone, two can."""
    rows, columns = values.shape
    score = np.zeros(rows)
    run_start = np.full(rows, -1)
    by_day = expected.ndim == 2
    usable = ~np.isnan(scale)
    safe_scale = np.where(usable, scale, 1.0)
    for col in range(first_col, columns):
        x = values[:, col]
        level = expected[:, col] if by_day else expected
        counted = usable & ~np.isnan(x) & ~np.isnan(level)
        if restart_after is not None:
            counted &= col > restart_after
        shortfall = np.minimum((np.nan_to_num(level) - np.nan_to_num(x)) / safe_scale, clip)
        step = np.where(counted, shortfall - k, 0.0)
        new = np.where(counted, np.maximum(score + step, 0.0), score)
        run_start = np.where(counted & (score == 0) & (new > 0), col,
                             np.where(new == 0, -1, run_start))
        score = new
    return Cusum(score=score, run_start=run_start)


def trailing_gap(logged: np.ndarray) -> np.ndarray:
    """Per row: days without a check-in at the end of the row (0 when the last day is logged;
    the row length when none is)."""
    columns = logged.shape[1]
    reversed_logged = logged[:, ::-1]
    any_logged = reversed_logged.any(axis=1)
    return np.where(any_logged, np.argmax(reversed_logged, axis=1), columns)


def longest_gap(logged: np.ndarray, *, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Per row: the longest run of days without a check-in between columns ``first`` and
    ``last`` (inclusive, per row)."""
    rows, columns = logged.shape
    longest = np.zeros(rows, dtype=int)
    run = np.zeros(rows, dtype=int)
    for col in range(columns):
        inside = (col >= first) & (col <= last)
        run = np.where(inside & ~logged[:, col], run + 1, 0)
        longest = np.maximum(longest, run)
    return longest


def logging_rate_low(logged_days: np.ndarray, days: np.ndarray, *, confidence: float
                     ) -> np.ndarray:
    """A lower confidence bound of each patient's share of days logged (Beta posterior with a
    uniform prior; Clopper & Pearson 1934 in spirit): few days observed give a low bound,
    so a short history cannot make a gap look improbable."""
    days = np.maximum(days, 0)
    return stats.beta.ppf(1 - confidence, logged_days + 1, days - logged_days + 1)
