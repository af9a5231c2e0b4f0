"""The per-patient statistics (flags/detect.py), checked against SciPy on many rows at once."""

from __future__ import annotations

import numpy as np
from scipy import stats

from flags import detect


def rows_with_gaps(seed: int, rows: int = 40, columns: int = 56) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.8, 0.1, (rows, columns))
    values[rng.random((rows, columns)) < 0.3] = np.nan
    return values


def test_slope_and_its_error_match_scipy_linregress_row_by_row():
    # given rows with a trend, noise and missing days
    values = rows_with_gaps(1) + np.linspace(0, -0.2, 56)[None, :]
    # when
    trend = detect.slope(values)
    # then
    for row in range(values.shape[0]):
        present = ~np.isnan(values[row])
        expected = stats.linregress(np.flatnonzero(present), values[row, present])
        assert np.isclose(trend.value[row], expected.slope)
        assert np.isclose(trend.error[row], expected.stderr)


def test_slope_needs_two_values_and_its_error_three():
    # given
    values = np.full((3, 5), np.nan)
    values[1, [0, 4]] = [0.9, 0.5]
    values[2, [0, 2, 4]] = [0.9, 0.8, 0.5]
    # when
    trend = detect.slope(values)
    # then
    assert np.isnan(trend.value[0])
    assert np.isnan(trend.error[0])
    assert np.isclose(trend.value[1], -0.1)
    assert np.isnan(trend.error[1])
    assert np.isfinite(trend.error[2])


def test_thin_data_widens_the_spread_by_the_student_t_ratio():
    # given the same observed spread from 10 and from 50 values
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 1.0, 50)
    base = (base - base.mean()) / base.std(ddof=1)
    few = np.full((1, 50), np.nan)
    few[0, :10] = (base[:10] - base[:10].mean()) / base[:10].std(ddof=1)
    many = base[None, :]
    # when
    thin, rich = detect.usual(few, floor=0.01), detect.usual(many, floor=0.01)
    # then: each is its sd times t(n-1)/z at the tail times the prediction factor
    tail = detect.SPREAD_TAIL
    for usual, n in ((thin, 10), (rich, 50)):
        widening = stats.t.ppf(1 - tail, n - 1) / stats.norm.ppf(1 - tail)
        assert np.isclose(usual.scale[0], widening * np.sqrt(1 + 1 / n))
    assert thin.scale[0] > rich.scale[0] * 1.2


def test_the_floor_holds_for_a_patient_who_never_varies():
    # given a patient at exactly 100 % every day
    values = np.ones((1, 30))
    # when
    usual = detect.usual(values, floor=0.15)
    # then: the spread divided by is at least the floor
    assert usual.sd[0] == 0
    assert usual.scale[0] >= 0.15


def test_cusum_adds_sustained_shortfalls_and_forgets_a_single_bad_day():
    # given two rows: one bad day among usual days, and four days each one spread low
    values = np.array([[0.9, 0.9, 0.0, 0.9, 0.9, 0.9],
                       [0.9, 0.9, 0.8, 0.8, 0.8, 0.8]])
    # when
    cusum = detect.cusum_below(values, expected=np.array([0.9, 0.9]),
                               scale=np.array([0.1, 0.1]), k=0.5, first_col=0, clip=3.0)
    # then: the bad day adds at most clip - k and each usual day after it takes k off
    assert np.isclose(cusum.score[0], (3.0 - 0.5) - 3 * 0.5)
    assert np.isclose(cusum.score[1], 4 * (1.0 - 0.5))
    assert cusum.run_start[1] == 2
