"""How demo patients log their check-ins, as data: the adherence patterns a clinic meets, which
patient follows which (so each flag rule has patients to show), the skip reasons, notes and side
effects they report, and the curves (ramp, decline, fall) their timelines follow.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from careplans.models import ItemKind
from checkins.models import SideEffect, SkipReason

# Each demo patient logs most days against the revision in effect that day. The patterns a clinic
# meets are assigned by patient number, so even the default cohort holds each of them: steady;
# weekend gaps (weekends often unlogged or partial, cf. Carroll et al. 2004); a decline after the
# first three weeks; satisfaction and alliance falling over the last weeks; and a severe side
# effect that leaves a pending attention request. Days without a check-in are simply absent.


@dataclass(frozen=True)
class Pattern:
    """How a patient logs: the chance a day is logged and the chance a due step is done."""

    name: str
    done: tuple[float, float]  # the patient's own done rate is drawn from this range
    logged: float
    weekend_logged: float
    weekend_done: float  # factor on the done rate at weekends
    declines: bool = False  # the done rate falls between weeks 3 and 8 ...
    decline_to: float = 0.48  # ... to this (Carroll et al. 2004: ~50 % by week 8)
    decline_weeks: tuple[int, int] = (3, 8)  # (the first falling week, the week it ends)
    logging_falls: bool = True  # while declining, fewer days are logged too
    alliance_falls: bool = False  # satisfaction and pulse fall over the last weeks
    late_drop: bool = False  # the done rate falls to ~35 % over the last ten days
    quiet_days: int = 0  # logs nothing over the last this many days


STEADY = Pattern("steady", (0.86, 0.95), 0.94, 0.9, 1.0)
WEEKEND_GAPS = Pattern("weekend gaps", (0.82, 0.92), 0.93, 0.35, 0.6)
DECLINING = Pattern("declining", (0.84, 0.9), 0.95, 0.9, 0.95, declines=True)
# Falls much faster than the published curve, by plan week 5, and keeps logging what it
# skips: the "below expected" story. (Fewer logged days would leave plan weeks under the
# rule's minimum of logged days on some calendar dates, and the demo without the flag.)
STEEP_DECLINE = Pattern("steep decline", (0.84, 0.9), 0.95, 0.9, 0.95, declines=True,
                        decline_to=0.25, decline_weeks=(2, 5), logging_falls=False)
PATCHY = Pattern("patchy", (0.6, 0.8), 0.7, 0.6, 0.9)
FALLING_ALLIANCE = Pattern("falling alliance", (0.8, 0.9), 0.95, 0.9, 0.95, alliance_falls=True)
DEMO_ROUTINE = Pattern("demo routine", (0.93, 0.93), 0.97, 0.55, 0.65)
# A steady logger who has logged nothing for the last five days ("gone quiet").
GONE_QUIET = Pattern("gone quiet", (0.86, 0.95), 0.97, 0.95, 1.0, quiet_days=5)
# Falling satisfaction and alliance, and then adherence too: the "alliance at risk" story.
AT_RISK = Pattern("alliance at risk", (0.84, 0.9), 0.97, 0.95, 0.95, alliance_falls=True,
                  late_drop=True)
# Synthetic patient N follows COHORT_PATTERNS[N % 8]; when N % 16 == 12 (a steady patient) they
# also report one severe side effect in the last weeks. Every sixteenth patient from 9 goes
# quiet, from 15 has the alliance-at-risk story and from 3 declines steeply (so each flag rule
# has patients to show).
COHORT_PATTERNS = (
    STEADY, STEADY, WEEKEND_GAPS, DECLINING, STEADY, PATCHY, WEEKEND_GAPS, FALLING_ALLIANCE,
)
SEVERE_EVERY, SEVERE_AT = 16, 12
STORY_EVERY, STORY_PATTERNS = 16, {3: STEEP_DECLINE, 9: GONE_QUIET, 15: AT_RISK}

SLOT_SKIP_SHARE = 0.4  # of the skipped steps, the share skipped as a whole morning/evening


@dataclass(frozen=True)
class Weighted:
    """Options and their cumulative weights, for ``random.choices``."""

    options: tuple[str, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, weights: dict[str, int]) -> Weighted:
        return cls(tuple(weights), tuple(itertools.accumulate(weights.values())))


SLOT_SKIP_REASONS = Weighted.of(
    {SkipReason.FORGOT: 45, SkipReason.NO_TIME: 40, SkipReason.OTHER: 15}
)
STEP_SKIP_REASONS = Weighted.of({
    SkipReason.FORGOT: 30, SkipReason.NO_TIME: 22, SkipReason.CHOSE_NOT_TO: 10,
    SkipReason.RAN_OUT: 6, SkipReason.SIDE_EFFECTS: 6, SkipReason.OTHER: 5,
    SkipReason.TOO_EXPENSIVE: 4,
})
SATISFACTION_RATE, ITCH_RATE, NOTE_RATE = 0.88, 0.85, 0.05
PARTNERSHIP_SKIP_RATE = 0.15  # the week's question left blank (asked again next check-in)
MODERATE_RATE, MILD_RATE = 0.005, 0.035  # per check-in (mild includes moderate)
NOTES = (
    "Busy day, but got it done.",
    "Skin feels calmer this week.",
    "Hot weather, skin felt a bit oily.",
    "The reminder helped today.",
    "Slept badly, itchy at night.",
    "Away overnight, did what I could.",
    "New tube feels a bit thicker than the last one.",
)
SIDE_EFFECT_TEXTS = {
    (SideEffect.MILD, False): ("A little stinging after putting it on.",
                               "Skin felt dry and tight afterwards.",
                               "Some redness for an hour or so.", "Mild peeling around the nose."),
    (SideEffect.MILD, True): ("Felt a bit queasy after taking it.",
                              "Slight stomach upset this morning."),
    (SideEffect.MODERATE, False): ("Red and sore where I put it on; it lasted all evening.",),
    (SideEffect.MODERATE, True): ("Queasy most of the morning after taking it.",),
    (SideEffect.SEVERE, False): ("Blistering and swelling where I put it on; I have stopped "
                                 "using it.",),
    (SideEffect.SEVERE, True): ("Hives and a swollen lip after taking it; I have stopped it.",),
}
MEDICINES = (ItemKind.TOPICAL, ItemKind.ORAL)


def history_pattern(number: int) -> Pattern:
    """The logging pattern of demo patient ``number`` (0 is patient@demo.test)."""
    if number == 0:
        return DEMO_ROUTINE
    return STORY_PATTERNS.get(number % STORY_EVERY) or COHORT_PATTERNS[
        number % len(COHORT_PATTERNS)]


def _ramp(value: float, start: float, end: float) -> float:
    """0 up to ``start``, 1 from ``end``, linear in between."""
    if end <= start:
        return float(value >= end)
    return min(max((value - start) / (end - start), 0.0), 1.0)


def _decline(index: int, length: int, weeks: tuple[int, int] = (3, 8)) -> float:
    """From the start of the first of ``weeks`` of the history to the end of the second;
    proportionally earlier in a history shorter than that."""
    first, last = weeks
    scale = min(1.0, length / (7 * last))
    return _ramp(index, 7 * (first - 1) * scale, 7 * last * scale)


def _fall(index: int, length: int) -> float:
    """Ten days ending three days before the history ends: a recent fall, against weeks of a
    steady partnership, that the weekly answers and ratings show (docs/flags.md)."""
    end = max(length - 3, 1)
    return _ramp(index, max(end - 10, 0), end)


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def _pulse_answers(rng: random.Random, total: int) -> tuple[int, ...]:
    """Four 0-10 answers adding up to ``total``, a little spread between the questions."""
    answers = [total // 4 + (1 if index < total % 4 else 0) for index in range(4)]
    for _ in range(2):
        up, down = rng.sample(range(4), 2)
        if answers[up] < 10 and answers[down] > 0:
            answers[up] += 1
            answers[down] -= 1
    return tuple(answers)
