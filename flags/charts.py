"""The flag page's chart: steps done each day across the evidence windows, server-rendered SVG.

Geometry comes from ``checkins.charts.line_chart`` (one drawing code for every chart); this
module adds the shaded windows and the text alternative (a sentence and a day-by-day table).
Adherence is the one definition of ``checkins.adherence``: done ÷ due over logged days; a day
without a check-in is a gap, never 0 %. Nothing here logs: these are health data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from checkins.charts import LineChart, Scale, day_label, days_between, line_chart, percent
from checkins.models import CheckIn

from .models import Flag

# A long "expected curve" evidence could span many weeks; a phone-sized chart shows the last 16.
MAX_DAYS = 112
SCALE = Scale(0, 100, (0, 50, 100), "%")
BAND_FILLS = ("#e3f1f3", "#f3f6f8")


@dataclass(frozen=True)
class Window:
    number: int
    label: str
    start: date
    end: date
    logged_days: int
    text: str  # "4 of 7 days logged; 40% of steps done"
    band_x: float
    band_width: float
    fill: str

    @property
    def period(self) -> str:
        return f"{day_label(self.start)} to {day_label(self.end)}"

    @property
    def number_x(self) -> float:
        return round(self.band_x + self.band_width / 2, 1)


@dataclass(frozen=True)
class DayRow:
    label: str
    window: str
    text: str


@dataclass(frozen=True)
class EvidenceChart:
    chart: LineChart
    windows: list[Window]
    rows: list[DayRow]

    @property
    def band_height(self) -> float:
        return round(self.chart.bottom - self.chart.top, 1)


def evidence_chart(flag: Flag) -> EvidenceChart | None:
    """None when the evidence has no date windows (e.g. a severe side effect)."""
    spans = _windows(flag.evidence)
    if not spans:
        return None
    end = max(s[2] for s in spans)
    start = max(min(s[1] for s in spans), end - timedelta(days=MAX_DAYS - 1))
    logged = {
        day: (due, done) for day, due, done in CheckIn.objects.filter(
            patient_id=flag.patient_id, local_date__range=(start, end),
        ).values_list("local_date", "steps_due", "steps_done")
    }
    series = [(day, _day_percent(logged.get(day))) for day in days_between(start, end)]
    chart = line_chart(series, start=start, end=end, scale=SCALE, key="evidence",
                       title="Steps done each day", summary="", height=140,
                       value_name="Steps done")
    windows = [_window(n, label, max(w_start, start), w_end, chart, start, end, logged)
               for n, (label, w_start, w_end) in enumerate(spans, 1) if w_end >= start]
    summary = " ".join(f"{w.label} ({w.period}): {w.text}." for w in windows)
    return EvidenceChart(
        chart=replace(chart, summary=summary),
        windows=windows, rows=_rows(start, end, windows, logged),
    )


def _day_percent(entry: tuple[int, int] | None) -> int | None:
    """A day's steps done in percent; None (a gap) when not logged or nothing was due."""
    if entry is None or not entry[0]:
        return None
    due, done = entry
    return percent(done, due)


def _windows(evidence: dict[str, Any]) -> list[tuple[str, date, date]]:
    """The evidence's windows as dates, oldest first; malformed entries are left out."""
    spans = []
    for entry in evidence.get("windows") or []:
        try:
            start, end = date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if start <= end:
            label = str(entry.get("label") or "window")
            spans.append((label[:1].upper() + label[1:], start, end))
    return sorted(spans, key=lambda s: (s[1], s[2]))


def _window(
    number: int, label: str, start: date, end: date, chart: LineChart, first: date, last: date,
    logged: dict[date, tuple[int, int]],
) -> Window:
    days = [day for day in days_between(start, end) if day in logged]
    due = sum(logged[day][0] for day in days)
    done = sum(logged[day][1] for day in days)
    span = max((last - first).days, 1)
    per_day = (chart.right - chart.left) / span
    left = max(chart.left, chart.left + ((start - first).days - 0.5) * per_day)
    right = min(chart.right, chart.left + ((end - first).days + 0.5) * per_day)
    total = (end - start).days + 1
    steps = f"{percent(done, due)}% of steps done" if due else "no steps due on logged days"
    return Window(
        number=number, label=label, start=start, end=end, logged_days=len(days),
        text=f"{len(days)} of {total} days logged; {steps}",
        band_x=round(left, 1), band_width=round(right - left, 1),
        fill=BAND_FILLS[(number - 1) % len(BAND_FILLS)],
    )


def _rows(
    start: date, end: date, windows: list[Window], logged: dict[date, tuple[int, int]]
) -> list[DayRow]:
    rows = []
    for day in days_between(start, end):
        labels = ", ".join(w.label for w in windows if w.start <= day <= w.end)
        due, done = logged.get(day, (None, None))
        if due is None:
            text = "not logged"
        elif due:
            text = f"{done} of {due} steps ({percent(done, due)}%)"
        else:
            text = "nothing due"
        rows.append(DayRow(label=day_label(day), window=labels or "between windows", text=text))
    return rows
