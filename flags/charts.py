"""The flag page's charts: the signal each rule is about, across its evidence windows, as
server-rendered SVG.

Each evidence window names its signal (``flags.findings``): steps done on check-ins (adherence,
the expected curve, check-ins stopping), satisfaction ratings, or alliance pulse totals. One
chart per signal the evidence holds, so "alliance at risk" shows each of its parts. Geometry
comes from ``checkins.charts.line_chart`` (one drawing code for every chart); this module adds
the shaded windows, their numbers (spread so no two labels overlap) and the text alternative
(a sentence and a table). Adherence is the one definition of ``checkins.adherence``: done ÷ due
over logged days; a day without a check-in is a gap, never 0 %. Nothing here logs: these are
health data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from checkins.charts import LineChart, Scale, day_label, days_between, line_chart, percent
from checkins.models import AlliancePulse, CheckIn

from . import wording
from .findings import PARTNERSHIP, PULSES, RATINGS, STEPS
from .models import Flag, Rule

BAND_FILLS = ("#e3f1f3", "#f3f6f8")
# Window numbers under the chart: centres at least this far apart (viewBox units; a digit at
# 11px is about 7 wide) and a shaded band at least this wide, so a one-day window shows.
LABEL_GAP = 14.0
MIN_BAND = 4.0
# Before windows named their signal, a rule's windows were about its own signal.
RULE_SIGNAL = {Rule.SATISFACTION_DROP: RATINGS, Rule.ALLIANCE_DROP: PULSES}


@dataclass(frozen=True)
class Signal:
    title: str | Promise
    scale: Scale
    column: str | Promise  # the text alternative's value column
    max_days: int  # the chart shows at most this many days, ending with the evidence
    min_days: int  # and at least this many (sparse signals: some context before the windows)
    max_gap_days: int  # a longer gap between two values breaks the line


# A long "expected curve" evidence could span many weeks: a steps chart shows the last 16.
# Ratings and pulses are sparse: up to a year, and at least four weeks.
SIGNALS = {
    STEPS: Signal(_("Steps done each day"), Scale(0, 100, (0, 50, 100), "%"), _("Steps done"),
                  max_days=112, min_days=1, max_gap_days=1),
    RATINGS: Signal(_("Satisfaction ratings (1 = low, 5 = high)"), Scale(1, 5, (1, 3, 5)),
                    _("Rating (1 to 5)"), max_days=366, min_days=28, max_gap_days=7),
    PULSES: Signal(_("Alliance pulse totals (0 to 40)"), Scale(0, 40, (0, 20, 40)),
                   _("Total (0 to 40)"), max_days=366, min_days=28, max_gap_days=366),
    PARTNERSHIP: Signal(_("Partnership answers (0 = not at all, 10 = completely)"),
                        Scale(0, 10, (0, 5, 10)), _("Answer (0 to 10)"), max_days=366,
                        min_days=28, max_gap_days=366),
}


@dataclass(frozen=True)
class Window:
    number: int
    label: str
    start: date
    end: date
    text: str  # "4 of 7 days logged; 40% of steps done"
    band_x: float
    band_width: float
    fill: str
    number_x: float = 0.0  # where its number is printed under the chart

    @property
    def period(self) -> str:
        if self.start == self.end:
            return day_label(self.start)
        return gettext("%(start)s to %(end)s") % {"start": day_label(self.start),
                                                   "end": day_label(self.end)}


@dataclass(frozen=True)
class DataRow:
    label: str
    window: str
    text: str


@dataclass(frozen=True)
class EvidenceChart:
    signal: str
    chart: LineChart
    windows: list[Window]
    rows: list[DataRow]

    @property
    def key(self) -> str:
        return self.chart.key

    @property
    def title(self) -> str:
        return self.chart.title

    @property
    def column(self) -> str:
        return SIGNALS[self.signal].column

    @property
    def band_height(self) -> float:
        return round(self.chart.bottom - self.chart.top, 1)


def evidence_charts(flag: Flag) -> list[EvidenceChart]:
    """One chart per signal of the evidence's windows (steps, ratings, pulses, in that order);
    none when the evidence has no date windows (e.g. a severe side effect)."""
    spans = _windows(flag.evidence)
    as_of = _iso(flag.evidence.get("as_of"))
    return [
        _chart(flag.patient_id, signal, [s[1:] for s in spans if s[0] == signal], as_of)
        for signal in SIGNALS if any(s[0] == signal for s in spans)
    ]


def _windows(evidence: dict[str, Any]) -> list[tuple[str, str, date, date]]:
    """(signal, label, start, end) of the evidence's windows, oldest first; malformed entries
    are left out."""
    default = RULE_SIGNAL.get(evidence.get("rule"), STEPS)
    spans = []
    for entry in evidence.get("windows") or []:
        start, end = _iso(_get(entry, "start")), _iso(_get(entry, "end"))
        if start is None or end is None or start > end:
            continue
        signal = _get(entry, "signal") or default
        spans.append((signal if signal in SIGNALS else STEPS,
                      wording.window_label(_get(entry, "label"), start), start, end))
    return sorted(spans, key=lambda s: (s[2], s[3]))


def _get(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, dict) else None


def _iso(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _chart(patient_id: int, signal: str, spans: list[tuple[str, date, date]],
           as_of: date | None) -> EvidenceChart:
    spec = SIGNALS[signal]
    end = max([s[2] for s in spans] + ([as_of] if as_of and signal != STEPS else []))
    start = min([s[1] for s in spans] + [end - timedelta(days=spec.min_days - 1)])
    start = max(start, end - timedelta(days=spec.max_days - 1))
    values = _values(patient_id, signal, start, end)
    series = (
        [(day, _day_percent(values.get(day))) for day in days_between(start, end)]
        if signal == STEPS
        else sorted(values.items())
    )
    line = line_chart(series, start=start, end=end, scale=spec.scale, key=f"ev-{signal}",
                      title=spec.title, summary="", height=140, value_name=spec.column,
                      max_gap_days=spec.max_gap_days)
    windows = _spread([
        _window(n, label, max(w_start, start), w_end, line, start, end,
                WINDOW_TEXT[signal](max(w_start, start), w_end, values))
        for n, (label, w_start, w_end) in enumerate(spans, 1) if w_end >= start
    ], line)
    summary = " ".join(gettext("%(label)s (%(period)s): %(text)s.") % {
        "label": w.label, "period": w.period, "text": w.text} for w in windows)
    return EvidenceChart(signal=signal, chart=replace(line, summary=summary), windows=windows,
                         rows=_rows(signal, start, end, windows, values))


# --- The data of each signal ---------------------------------------------------------------


def _values(patient_id: int, signal: str, start: date, end: date) -> dict[date, Any]:
    """Per day: the steps (due, done) of the check-in; the rating; the pulse total; the
    partnership answer (the week's question, or a full pulse's mean answer: the numbers the
    rule read, flags.sweep)."""
    if signal == RATINGS:
        return dict(CheckIn.objects.filter(
            patient_id=patient_id, local_date__range=(start, end), satisfaction__isnull=False,
        ).values_list("local_date", "satisfaction"))
    if signal == PULSES:
        return dict(AlliancePulse.objects.filter(
            patient_id=patient_id, local_date__range=(start, end),
        ).values_list("local_date", "total"))
    if signal == PARTNERSHIP:
        rows = CheckIn.objects.filter(
            Q(partnership__isnull=False) | Q(pulse__isnull=False),
            patient_id=patient_id, local_date__range=(start, end),
        ).values_list("local_date", "partnership", "pulse__total")
        return {day: round(total / 4, 2) if total is not None else answer
                for day, answer, total in rows}
    return {day: (due, done) for day, due, done in CheckIn.objects.filter(
        patient_id=patient_id, local_date__range=(start, end),
    ).values_list("local_date", "steps_due", "steps_done")}


def _day_percent(steps: tuple[int, int] | None) -> int | None:
    """A day's steps done in percent; None (a gap) when not logged or nothing was due."""
    if steps is None or not steps[0]:
        return None
    due, done = steps
    return percent(done, due)


def _steps_text(start: date, end: date, values: dict[date, Any]) -> str:
    days = [day for day in days_between(start, end) if day in values]
    length = (end - start).days + 1
    if not days:
        return ngettext("no check-in on this day", "no check-ins in these %(count)s days",
                        length) % {"count": length}
    due = sum(values[day][0] for day in days)
    done = sum(values[day][1] for day in days)
    steps = (gettext("%(percent)s%% of steps done") % {"percent": percent(done, due)} if due
             else gettext("no steps due on logged days"))
    logged = ngettext("%(logged)s of %(count)s day logged", "%(logged)s of %(count)s days logged",
                      length) % {"logged": len(days), "count": length}
    return gettext("%(logged)s; %(steps)s") % {"logged": logged, "steps": steps}


def _ratings_text(start: date, end: date, values: dict[date, Any]) -> str:
    ratings = [values[day] for day in sorted(values) if start <= day <= end]
    if not ratings:
        return gettext("no ratings")
    mean = round(sum(ratings) / len(ratings), 2)
    return ngettext("%(count)s rating (%(listed)s), mean %(mean)s out of 5",
                    "%(count)s ratings (%(listed)s), mean %(mean)s out of 5", len(ratings)) % {
        "count": len(ratings), "listed": wording.numbers_listed(ratings),
        "mean": wording.num(mean)}


def _pulses_text(start: date, end: date, values: dict[date, Any]) -> str:
    totals = [values[day] for day in sorted(values) if start <= day <= end]
    if not totals:
        return gettext("no pulse")
    return ngettext("total %(totals)s out of 40", "totals %(totals)s, each out of 40",
                    len(totals)) % {"totals": wording.numbers_listed(totals)}


def _partnership_text(start: date, end: date, values: dict[date, Any]) -> str:
    answers = [values[day] for day in sorted(values) if start <= day <= end]
    if not answers:
        return gettext("no answers")
    mean = round(sum(answers) / len(answers), 2)
    return ngettext("%(count)s answer (%(listed)s), mean %(mean)s out of 10",
                    "%(count)s answers (%(listed)s), mean %(mean)s out of 10", len(answers)) % {
        "count": len(answers), "listed": wording.numbers_listed(answers),
        "mean": wording.num(mean)}


WINDOW_TEXT = {STEPS: _steps_text, RATINGS: _ratings_text, PULSES: _pulses_text,
               PARTNERSHIP: _partnership_text}


# --- Geometry --------------------------------------------------------------------------------


def _window(number: int, label: str, start: date, end: date, chart: LineChart, first: date,
            last: date, text: str) -> Window:
    per_day = (chart.right - chart.left) / max((last - first).days, 1)
    left = chart.left + ((start - first).days - 0.5) * per_day
    right = chart.left + ((end - first).days + 0.5) * per_day
    if right - left < MIN_BAND:
        middle = (left + right) / 2
        left, right = middle - MIN_BAND / 2, middle + MIN_BAND / 2
    left, right = max(chart.left, left), min(chart.right, right)
    return Window(
        number=number, label=label, start=start, end=end, text=text,
        band_x=round(left, 1), band_width=round(right - left, 1),
        fill=BAND_FILLS[(number - 1) % len(BAND_FILLS)],
    )


def _spread(windows: Sequence[Window], chart: LineChart) -> list[Window]:
    """Each window's number under the middle of its band, pushed apart where bands are close
    or overlap (numbers stay in the order of their bands) and kept within the plot."""
    order = sorted(windows, key=lambda w: (w.band_x + w.band_width / 2, w.number))
    xs: list[float] = []
    for w in order:
        centre = w.band_x + w.band_width / 2
        xs.append(max(centre, xs[-1] + LABEL_GAP) if xs else centre)
    overflow = xs[-1] - chart.right if xs else 0
    if overflow > 0:  # pushed past the right edge: slide back, keeping the gaps
        xs = [x - overflow for x in xs]
        for n in range(len(xs) - 2, -1, -1):
            xs[n] = min(xs[n], xs[n + 1] - LABEL_GAP)
    placed = {w.number: round(max(x, chart.left), 1) for w, x in zip(order, xs, strict=True)}
    return [replace(w, number_x=placed[w.number]) for w in windows]


# --- The text alternative --------------------------------------------------------------------


def _rows(signal: str, start: date, end: date, windows: list[Window],
          values: dict[date, Any]) -> list[DataRow]:
    """Steps: every day of the chart (a day not logged says so). Ratings and pulses: every
    answer shown."""
    days = days_between(start, end) if signal == STEPS else sorted(values)
    rows = []
    for day in days:
        labels = ", ".join(w.label for w in windows if w.start <= day <= w.end)
        rows.append(DataRow(label=day_label(day),
                            window=labels or gettext("outside the periods compared"),
                            text=_day_text(signal, values.get(day))))
    return rows


def _day_text(signal: str, value: Any) -> str:
    if signal == RATINGS:
        return gettext("%(value)s out of 5") % {"value": value}
    if signal == PULSES:
        return gettext("%(value)s out of 40") % {"value": value}
    if signal == PARTNERSHIP:
        return gettext("%(value)s out of 10") % {"value": wording.num(value)}
    if value is None:
        return gettext("not logged")
    due, done = value
    if not due:
        return gettext("nothing due")
    return ngettext("%(done)s of %(due)s step (%(percent)s%%)",
                    "%(done)s of %(due)s steps (%(percent)s%%)", due) % {
        "done": done, "due": due, "percent": percent(done, due)}
