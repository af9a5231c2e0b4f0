"""One demo patient's days, drawn from their logging pattern and their own random stream: which
days are logged, which due steps are done or skipped and why, satisfaction, itch, side effects,
notes, the alliance pulse and the week's partnership question. Nothing here touches the database:
``history`` reads the plans in and writes the check-ins out.

Dated doses and as-needed steps follow ``careplans/schedule.py`` as a check-in saves them: a
windowed dose (the injection every 2 weeks, the monthly blood test) is logged done once, on the
first logged day of its window the patient does it (counted that day, ``taken_on`` that day),
and not logged on the days before ("not yet"); on its window's last day it is logged skipped if
still not done. An as-needed use (hydrocortisone on a flare) is logged uncounted now and then,
a few days running. Synthetic patients N % 64 == 8 never log their latest injection whose window
closed before today ("Missed injection"). The patient seen 2 days ago (``stories``) has not
checked in since, answered no alliance question in the week before, and had their last pulse
three weeks ago, so the visit makes the pulse due today.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from careplans.models import Frequency, ItemKind, PlanItem
from careplans.schedule import dose_for, due_steps, window_of
from checkins.models import SideEffect, SkipReason
from checkins.services import ALLIANCE_GAP_DAYS, next_partnership_question
from demo.seed.patterns import (
    ITCH_RATE,
    MEDICINES,
    MILD_RATE,
    MODERATE_RATE,
    NOTE_RATE,
    NOTES,
    PARTNERSHIP_SKIP_RATE,
    SATISFACTION_RATE,
    SEVERE_AT,
    SEVERE_EVERY,
    SIDE_EFFECT_TEXTS,
    SLOT_SKIP_REASONS,
    SLOT_SKIP_SHARE,
    STEP_SKIP_REASONS,
    Weighted,
    _clamp,
    _decline,
    _fall,
    _pulse_answers,
    _ramp,
    history_pattern,
)
from demo.seed.people import DemoPatient
from demo.seed.plan_templates import EVENING, MORNING
from demo.seed.stories import MISSED_INJECTION_AT, VISIT_EVERY

AS_NEEDED_SLOT = "as_needed"
AS_NEEDED_RATE = 0.08  # chance a logged day starts a flare that needs the as-needed step ...
AS_NEEDED_AGAIN = 0.6  # ... and that it is used again the next logged day
MISSED_INJECTION_NOTE = "My pens didn't come this time; the homecare delivery is late."
VISIT_QUIET_WEEK = 6  # before a visit's pulse: no alliance answer in these days before today


@dataclass(frozen=True)
class _Step:
    item_id: int
    key: object  # PlanItem.key as the database stores it
    slot: str
    kind: str
    scheduled_on: date | None = None  # a windowed dose: the day it was due ...
    last_day: date | None = None  # ... and the last day it counts


class _RevisionSteps:
    """The steps one revision makes due, by day. Once every item has started and every ramp-up
    is over, the routine repeats every ``period`` days (while each course runs); each day of
    that cycle is computed once. Windowed doses and as-needed steps are looked up per day."""

    def __init__(
        self, pk: int, effective_from: date, items: list[PlanItem], plan_starts_on: date,
        keys: dict[int, object],
    ) -> None:
        self.pk, self.effective_from = pk, effective_from
        self.plan_starts_on, self.keys = plan_starts_on, keys
        self.windowed = [item for item in items if window_of(item)]
        self.as_needed = [item for item in items if item.frequency == Frequency.AS_NEEDED]
        self.items = [item for item in items
                      if not window_of(item) and item.frequency != Frequency.AS_NEEDED]
        self.ends = tuple(sorted({item.ends_on for item in self.items if item.ends_on}))
        self.repeats_from = max([plan_starts_on, *(
            item.starts_on + timedelta(days=item.ramp_days or 0) for item in self.items
        )])
        self.period = math.lcm(7, *(max(item.every_n_days or 1, 1) for item in self.items
                                    if item.frequency == Frequency.EVERY_N_DAYS))
        self.cycle: dict[tuple[int, int], tuple[_Step, ...]] = {}

    def on(self, day: date) -> tuple[_Step, ...]:
        """The routine steps due on ``day`` (not the windowed doses)."""
        if day < self.repeats_from:
            return self._due(day)
        position = (day.toordinal() % self.period, sum(day > end for end in self.ends))
        if position not in self.cycle:
            self.cycle[position] = self._due(day)
        return self.cycle[position]

    def doses(self, day: date) -> list[_Step]:
        """The windowed doses whose window holds ``day``, done or not."""
        doses = []
        for item in self.windowed:
            dose = dose_for(item, day, plan_starts_on=self.plan_starts_on)
            if dose is not None:
                doses += [_Step(item.id, self.keys[item.id], slot, item.kind, *dose)
                          for slot in item.slots()]
        return doses

    def uses(self, day: date) -> list[_Step]:
        """The as-needed steps the patient may log on ``day``."""
        return [_Step(item.id, self.keys[item.id], AS_NEEDED_SLOT, item.kind)
                for item in self.as_needed if item.starts_on <= day
                and day >= self.plan_starts_on and not (item.ends_on and day > item.ends_on)]

    def _due(self, day: date) -> tuple[_Step, ...]:
        return tuple(
            _Step(step.item.id, self.keys[step.item.id], step.slot, step.item.kind)
            for step in due_steps(self.items, day, plan_starts_on=self.plan_starts_on)
        )


@dataclass(frozen=True)
class _PatientPlan:
    patient: DemoPatient
    starts_on: date
    revisions: tuple[_RevisionSteps, ...]  # by effective date, then number
    today: date | None = None  # the patient's local today
    visit_on: date | None = None  # their latest recorded clinic visit

    def revision_on(self, day: date) -> _RevisionSteps | None:
        """As ``careplans.selectors.revision_in_effect``: the latest to take effect by ``day``."""
        in_effect = None
        for revision in self.revisions:
            if revision.effective_from > day:
                break
            in_effect = revision
        return in_effect


@dataclass(slots=True)
class _DayLog:
    day: date
    revision_id: int
    answers: list[tuple[_Step, bool, str]]  # counted steps: step, done, skip reason
    uses: list[_Step] = field(default_factory=list)  # as-needed uses (logged, not counted)
    satisfaction: int | None = None
    itch: int | None = None
    side_effect: str = SideEffect.NONE
    side_effect_item_id: int | None = None
    side_effect_text: str = ""
    note: str = ""
    pulse: tuple[int, ...] | None = None
    partnership_question: str = ""  # the week's question, when the check-in asked it
    partnership: int | None = None  # its answer (None: skipped)

    @property
    def steps_done(self) -> int:
        return sum(1 for _, done, _ in self.answers if done)


class _Timeline:
    """One patient's days, decided by the patient's own random stream (seeded by number)."""

    def __init__(self, plan: _PatientPlan, days: list[date], pulse_interval: int) -> None:
        self.plan, self.days, self.pulse_interval = plan, days, pulse_interval
        self.pattern = history_pattern(plan.patient.number)
        self.rng = random.Random(f"history:{plan.patient.number}")
        self.done_rate = self.rng.uniform(*self.pattern.done)
        self.satisfaction = self.rng.uniform(3.8, 4.8)
        self.itch = self.rng.uniform(1.5, 6.0)
        self.pulse_total = self.rng.randint(30, 36)
        self.severe_index = self._severe_index()
        self.stopped: set[int] = set()  # items stopped after a severe side effect
        self.ran_out: dict[int, tuple[date, date]] = {}  # item id -> (ran out on, back on)
        self.last_pulse: date | None = None
        # The week's partnership question draws from its own stream, so adding it left every
        # other answer (and the flags they raise) as it was.
        self.partnership_rng = random.Random(f"partnership:{plan.patient.number}")
        self.last_alliance: date | None = None  # the last pulse or answered weekly question
        self.last_question: str | None = None  # the last weekly question answered
        # patient@demo.test never logs today, and the demo shows them the pulse on Today: they
        # log every day a whole number of pulse intervals before today (and nothing before the
        # first), so their pulses fall on those days and the next is due today. A patient
        # seen in clinic lately had theirs three weeks ago: the visit makes the next one due.
        self.pulse_today = days[-1] + timedelta(days=1) if (
            days and plan.patient.number == 0) else None
        self.visit_on = plan.visit_on if plan.today and plan.visit_on and (
            plan.today - plan.visit_on).days < VISIT_QUIET_WEEK else None
        if self.visit_on and days:
            self.pulse_today = plan.today + timedelta(days=7)
        self.doses_done: set[tuple[object, str, date]] = set()
        self.unlogged_dose = self._unlogged_dose()
        self.using: int | None = None  # an as-needed item in use on the last logged day
        self.first_pulse_day = next((d for d in days if self._pulse_day(d)), days[0] if days
                                    else None)

    def logs(self) -> list[_DayLog]:
        logs = (self._day(index, day) for index, day in enumerate(self.days))
        return [log for log in logs if log is not None]

    def _unlogged_dose(self) -> tuple[int, date] | None:
        """(item id, scheduled date) of the latest injection whose window closed before today,
        for the patients who miss it; or None."""
        plan = self.plan
        if plan.patient.number % VISIT_EVERY != MISSED_INJECTION_AT or plan.today is None:
            return None
        day = plan.today - timedelta(days=1)
        while day >= plan.starts_on:
            revision = plan.revision_on(day)
            for dose in revision.doses(day) if revision else ():
                if dose.last_day == day and dose.kind == ItemKind.INJECTION:
                    return dose.item_id, dose.scheduled_on
            day -= timedelta(days=1)
        return None

    def _severe_index(self) -> int | None:
        if self.plan.patient.number % SEVERE_EVERY != SEVERE_AT or len(self.days) < 5:
            return None
        return len(self.days) - 1 - self.rng.randint(3, min(17, len(self.days) - 1))

    def _day(self, index: int, day: date) -> _DayLog | None:
        revision = self.plan.revision_on(day)
        steps = revision.on(day) if revision else ()
        severe = index == self.severe_index
        logged, done = self._rates(index, day)
        forced = severe or self._pulse_day(day) or self._before_visit(day)
        if revision is None or not steps or (not forced and self.rng.random() >= logged):
            return None
        if self.pulse_today and day < self.first_pulse_day:
            return None
        if index >= len(self.days) - self.pattern.quiet_days:
            return None
        if self.visit_on and day >= self.visit_on:
            return None
        answers = self._answers(steps, done, day)
        if revision.windowed:
            answers += self._doses(revision.doses(day), done, day)
        log = _DayLog(day, revision.pk, answers,
                      uses=self._uses(revision.uses(day)) if revision.as_needed else [])
        self._wellbeing(log, index, severe)
        if self.unlogged_dose and any(
                (step.item_id, step.scheduled_on) == self.unlogged_dose and not done
                for step, done, _ in log.answers):
            log.note = MISSED_INJECTION_NOTE
        self._pulse(log, index)
        self._partnership(log, index)
        return log

    def _before_visit(self, day: date) -> bool:
        """The days between a week before today and the visit: logged, no alliance answer."""
        return bool(self.visit_on) and (
            self.plan.today - day).days <= VISIT_QUIET_WEEK and day < self.visit_on

    def _doses(self, doses: list[_Step], done_rate: float, day: date
               ) -> list[tuple[_Step, bool, str]]:
        """The windowed doses logged on ``day``: done once, when the patient does it; skipped
        on the window's last day if still not done; otherwise not logged ("not yet")."""
        answers = []
        for dose in doses:
            once = (dose.key, dose.slot, dose.scheduled_on)
            if once in self.doses_done:
                continue
            missed = self.unlogged_dose == (dose.item_id, dose.scheduled_on)
            if not missed and self.rng.random() < done_rate:
                self.doses_done.add(once)
                answers.append((dose, True, ""))
            elif day == dose.last_day:
                reason = SkipReason.RAN_OUT if missed else self._reason(STEP_SKIP_REASONS)
                answers.append((dose, False, reason))
        return answers

    def _uses(self, steps: list[_Step]) -> list[_Step]:
        """Now and then a flare: the as-needed step used a few logged days running."""
        if not steps:
            return []
        if self.using is not None and self.rng.random() < AS_NEEDED_AGAIN:
            return [step for step in steps if step.item_id == self.using] or [steps[0]]
        self.using = None
        if self.rng.random() < AS_NEEDED_RATE:
            self.using = steps[0].item_id
            return [steps[0]]
        return []

    def _pulse_day(self, day: date) -> bool:
        return bool(self.pulse_today) and (self.pulse_today - day).days % self.pulse_interval == 0

    def _rates(self, index: int, day: date) -> tuple[float, float]:
        """(chance the day is logged, chance a due step is done)."""
        pattern, length = self.pattern, len(self.days)
        logged, done = pattern.logged, self.done_rate
        if day.weekday() >= 5:
            logged, done = pattern.weekend_logged, done * pattern.weekend_done
        if pattern.declines:
            drop = _decline(index, length, pattern.decline_weeks)
            logged -= 0.2 * drop if pattern.logging_falls else 0.0
            done -= (done - pattern.decline_to) * drop
        if pattern.alliance_falls:
            done -= 0.15 * _fall(index, length)
        if pattern.late_drop:
            done -= (done - 0.35) * _ramp(index, length - 12, length - 5)
        return logged, done

    def _answers(
        self, steps: tuple[_Step, ...], done_rate: float, day: date
    ) -> list[tuple[_Step, bool, str]]:
        skip = 1 - done_rate
        whole = skip * SLOT_SKIP_SHARE
        skipped_slots = {slot: self._reason(SLOT_SKIP_REASONS) for slot in (MORNING, EVENING)
                         if self.rng.random() < whole}
        single = (skip - whole) / (1 - whole)
        return [self._answer(step, day, skipped_slots, single) for step in steps]

    def _answer(
        self, step: _Step, day: date, skipped_slots: dict[str, str], single: float
    ) -> tuple[_Step, bool, str]:
        reason = self._forced_skip(step, day) or skipped_slots.get(step.slot, "")
        if not reason and self.rng.random() < single:
            reason = self._reason(STEP_SKIP_REASONS)
            if reason == SkipReason.RAN_OUT:
                self.ran_out[step.item_id] = (day, day + timedelta(days=self.rng.randint(1, 3)))
        return step, not reason, reason

    def _forced_skip(self, step: _Step, day: date) -> str:
        if step.item_id in self.stopped:
            return SkipReason.SIDE_EFFECTS
        ran_out = self.ran_out.get(step.item_id)
        return SkipReason.RAN_OUT if ran_out and day < ran_out[1] else ""

    def _reason(self, reasons: Weighted) -> str:
        return self.rng.choices(reasons.options, cum_weights=reasons.cumulative)[0]

    def _wellbeing(self, log: _DayLog, index: int, severe: bool) -> None:
        length = len(self.days)
        fall = _fall(index, length) if self.pattern.alliance_falls else 0.0
        decline = (_decline(index, length, self.pattern.decline_weeks)
                   if self.pattern.declines else 0.0)
        if self.rng.random() < SATISFACTION_RATE:
            mood = self.satisfaction - 3.2 * fall - 0.8 * decline - 2 * severe
            log.satisfaction = _clamp(round(mood + self.rng.gauss(0, 0.5)), 1, 5)
        if self.rng.random() < ITCH_RATE:
            itch = self.itch * (1 - 0.4 * index / length) + 3 * severe
            log.itch = _clamp(round(itch + self.rng.gauss(0, 1.2)), 0, 10)
        self._side_effect(log, severe)
        log.note = self._note(log)

    def _side_effect(self, log: _DayLog, severe: bool) -> None:
        roll = self.rng.random()
        if severe:
            level = SideEffect.SEVERE
        elif roll < MODERATE_RATE:
            level = SideEffect.MODERATE
        elif roll < MILD_RATE:
            level = SideEffect.MILD
        else:
            return
        due = [step for step, _, _ in log.answers]
        step = self.rng.choice([s for s in due if s.kind in MEDICINES] or due)
        log.side_effect, log.side_effect_item_id = level, step.item_id
        log.side_effect_text = self.rng.choice(
            SIDE_EFFECT_TEXTS[level, step.kind == ItemKind.ORAL]
        )
        if severe:
            self.stopped.add(step.item_id)

    def _note(self, log: _DayLog) -> str:
        """A note on the day a step that ran out is done again; otherwise, now and then, a
        short everyday one."""
        done_items = {step.item_id for step, done, _ in log.answers if done}
        for item_id, (ran_out_on, back_on) in list(self.ran_out.items()):
            if back_on <= log.day and item_id in done_items:
                del self.ran_out[item_id]
                return f"Ran out on {ran_out_on:%A}, picked up more today."
        return self.rng.choice(NOTES) if self.rng.random() < NOTE_RATE else ""

    def _pulse(self, log: _DayLog, index: int) -> None:
        """Asked on a logged day when none was answered in the last ``pulse_interval`` days."""
        if self.last_pulse and (log.day - self.last_pulse).days < self.pulse_interval:
            return
        self.last_pulse = log.day
        log.pulse = _pulse_answers(self.rng, self._pulse_total(index))

    def _partnership(self, log: _DayLog, index: int) -> None:
        """The week's question, as ``checkins.services.partnership_question_due`` asks it: on a
        logged day without the pulse, when no pulse or answer lies in the 6 days before; the
        question after the last one answered. Answered near the patient's pulse level (its
        total / 4), so a falling alliance answers lower; now and then skipped."""
        if log.pulse is not None:
            self.last_alliance = log.day
            return
        if self.last_alliance and (log.day - self.last_alliance).days < ALLIANCE_GAP_DAYS:
            return
        log.partnership_question = next_partnership_question(self.last_question)
        if self.partnership_rng.random() < PARTNERSHIP_SKIP_RATE or self._before_visit(log.day):
            return
        level = self._alliance_level(index) / 4 + self.partnership_rng.gauss(0, 0.7)
        log.partnership = _clamp(round(level), 0, 10)
        self.last_alliance, self.last_question = log.day, log.partnership_question

    def _alliance_level(self, index: int) -> float:
        """The pulse total this patient would give on day ``index`` (out of 40), without
        the day's noise: ``_pulse_total``'s story."""
        length = len(self.days)
        if self.pattern.alliance_falls:
            return self.pulse_total + 1 - 14 * _fall(index, length)
        if self.pattern.declines:
            return self.pulse_total - 4 * _decline(index, length, self.pattern.decline_weeks)
        return self.pulse_total

    def _pulse_total(self, index: int) -> int:
        length = len(self.days)
        if self.pattern.alliance_falls:  # from 31-37 to 24 or less
            total = self.pulse_total + 1 - round(14 * _fall(index, length))
            return _clamp(total + self.rng.randint(-1, 1), 0, 40)
        drop = (round(4 * _decline(index, length, self.pattern.decline_weeks))
                if self.pattern.declines else 0)
        return _clamp(self.pulse_total - drop + self.rng.randint(-2, 2), 0, 40)
