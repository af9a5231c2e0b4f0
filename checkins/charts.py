"""Server-rendered SVG charts of a patient's check-in history: the last 12 weeks.

Python computes all geometry (small dataclasses of coordinates, point strings and labels); the
templates in ``templates/checkins/_charts.html`` only print them. Adherence comes from
``checkins.adherence`` (the one definition), which days are due from ``careplans.schedule``.
Nothing here logs: these are health data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from django.utils import formats
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from accounts.caregiving import done_by
from accounts.models import Patient
from careplans import selectors as plans
from careplans.models import CarePlan, PlanRevision
from careplans.schedule import due_steps

from . import selectors
from .adherence import ItemAdherence, item_adherence, rolling_adherence
from .models import PARTNERSHIP_QUESTIONS, CheckIn, SkipReason

WEEKS = 12
ROLLING_DAYS = 7
COMPARE_DAYS_AGO = 28
# Weekly alliance answers a little over a week apart (a day or two unlogged) still join up.
ALLIANCE_LINE_GAP_DAYS = 10
AUDIENCES = ("patient", "clinician")
RECENT_SHOWN = {"patient": 14, "clinician": 30}
ID_PREFIX = "hist"

# Shared drawing box (viewBox units). 334 wide fits a 390px phone with page padding at ~1:1.
WIDTH = 334
LEFT, RIGHT = 34, 8
CELL, PITCH = 22, 25
HEATMAP_TOP = 18
class _Weekdays:
    """Short weekday names, Monday first, in the reader's language (read when shown)."""

    def __getitem__(self, weekday: int) -> str:
        return str(WEEKDAYS_ABBR[weekday])

    def __iter__(self) -> Iterator[str]:
        return (self[n] for n in range(7))


WEEKDAYS = _Weekdays()


def day_label(day: date) -> str:
    """'Mon 3 Nov', 'mié 3 nov', 'Mi 3 Nov': Django's localised names (the format itself is
    translatable, so a language can order it its own way)."""
    return formats.date_format(day, pgettext("chart day", "D j M"))


def month_name(day: date) -> str:
    """'Nov', 'nov', 'Nov' in the reader's language."""
    return formats.date_format(day, "M")


def percent(done: int, due: int) -> int:
    """Whole percent, half rounded up, in integers (no float or banker's rounding drift)."""
    return (200 * done + due) // (2 * due)


def grid_range(today: date) -> tuple[date, date]:
    """Monday of the first of 12 calendar weeks and Sunday of the week holding ``today``."""
    end = today + timedelta(days=6 - today.weekday())
    return end - timedelta(days=WEEKS * 7 - 1), end


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# --- Calendar heatmap --------------------------------------------------------------------------


class DayState(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    NONE_DONE = "none-done"
    NOT_LOGGED = "not-logged"
    NOTHING_DUE = "nothing-due"
    FUTURE = "future"


LEGEND_TEXT = {
    DayState.COMPLETE: gettext_lazy("Every step done (full square)"),
    DayState.PARTIAL: gettext_lazy("Some steps done (part-filled)"),
    DayState.NONE_DONE: gettext_lazy("Checked in, none done (cross)"),
    DayState.NOT_LOGGED: gettext_lazy("Not logged (dashed outline)"),
    DayState.NOTHING_DUE: gettext_lazy("Nothing due (small dot)"),
    DayState.FUTURE: gettext_lazy("Still to come (faint outline)"),
}


@dataclass(frozen=True)
class Logged:
    """A check-in's counts."""

    due: int
    done: int


def day_state(day: date, *, today: date, scheduled: int, logged: Logged | None) -> DayState:
    """The heatmap state of one day. A check-in's own counts win over the schedule."""
    if day > today:
        return DayState.FUTURE
    if logged is not None and logged.due:
        if logged.done == logged.due:
            return DayState.COMPLETE
        return DayState.PARTIAL if logged.done else DayState.NONE_DONE
    return DayState.NOT_LOGGED if scheduled else DayState.NOTHING_DUE


def day_text(state: DayState, logged: Logged | None) -> str:
    """Short text for a day: the cell tooltip and the data table."""
    if logged is not None and state in (DayState.COMPLETE, DayState.PARTIAL, DayState.NONE_DONE):
        return ngettext("%(done)s of %(due)s step", "%(done)s of %(due)s steps",
                        logged.due) % {"done": logged.done, "due": logged.due}
    return {
        DayState.NOT_LOGGED: _("not logged"),
        DayState.NOTHING_DUE: _("nothing due"),
        DayState.FUTURE: _("still to come"),
    }[state]


@dataclass(frozen=True)
class Cell:
    day: date | None
    state: DayState
    x: float
    y: float
    size: float
    fill_y: float  # the filled part grows from the bottom: done / due of the height
    fill_height: float
    mark_path: str  # a cross (none done) or a dot (nothing due), as an SVG path
    label: str  # "Mon 3 Nov: 2 of 3 steps", the cell's <title>
    text: str = ""  # "2 of 3 steps", for the text alternative
    is_today: bool = False

    @property
    def ring(self) -> tuple[float, float, float]:
        """x, y and size of the ring around today's cell (drawn outside, so the cell's own
        shape still shows its state)."""
        return self.x - 2, self.y - 2, self.size + 4


def cell_at(
    x: float, y: float, state: DayState, logged: Logged | None, *, size: float = CELL
) -> Cell:
    """Cell geometry for a state; shapes differ so colour is never the only signal."""
    fraction = {DayState.COMPLETE: 1.0}.get(state, 0.0)
    if state == DayState.PARTIAL and logged is not None:
        fraction = logged.done / logged.due
    fill_height = round(size * fraction, 1)
    return Cell(
        day=None, state=state, x=x, y=y, size=size,
        fill_y=round(y + size - fill_height, 1), fill_height=fill_height,
        mark_path=_mark(state, x, y, size), label="",
    )


def _mark(state: DayState, x: float, y: float, size: float) -> str:
    if state == DayState.NONE_DONE:
        a, b = size * 0.25, size * 0.75
        return f"M{x + a:g} {y + a:g}L{x + b:g} {y + b:g}M{x + a:g} {y + b:g}L{x + b:g} {y + a:g}"
    if state == DayState.NOTHING_DUE:
        cx, cy, r = x + size / 2, y + size / 2, size * 0.12
        return f"M{cx - r:g} {cy:g}a{r:g} {r:g} 0 1 0 {2 * r:g} 0a{r:g} {r:g} 0 1 0 {-2 * r:g} 0"
    return ""


@dataclass(frozen=True)
class Tick:
    pos: float
    text: str


@dataclass(frozen=True)
class LegendEntry:
    cell: Cell
    text: str
    count: int


@dataclass(frozen=True)
class WeekRow:
    label: str  # "Week of 3 Nov"
    text: str  # "Mon 3 of 3 steps; Tue not logged; ..." (days still to come left out)


@dataclass(frozen=True)
class Heatmap:
    width: int
    height: int
    cells: list[Cell]
    columns: list[Tick]  # month names above the first column of each month
    rows: list[Tick]  # weekday names
    legend: list[LegendEntry]
    weeks: list[WeekRow]  # the text alternative, one line a week (fits a phone)
    logged_days: int
    due_days: int
    complete_days: int
    row_label_x: float = LEFT - 5
    column_label_y: float = HEATMAP_TOP - 6

    @property
    def summary(self) -> str:
        return ngettext(
            "Logged %(logged)s of %(due)s day with steps due; %(complete)s complete.",
            "Logged %(logged)s of %(due)s days with steps due; %(complete)s complete.",
            self.due_days,
        ) % {"logged": self.logged_days, "due": self.due_days, "complete": self.complete_days}


def heatmap(
    *, today: date, scheduled: dict[date, int], logged: dict[date, Logged]
) -> Heatmap:
    """12 columns (weeks, oldest first) x 7 rows (Monday first)."""
    start, end = grid_range(today)
    cells = [_heatmap_cell(day, start, today, scheduled, logged)
             for day in days_between(start, end)]
    counts = {state: sum(1 for c in cells if c.state == state) for state in DayState}
    return Heatmap(
        width=LEFT + WEEKS * PITCH, height=HEATMAP_TOP + 7 * PITCH, cells=cells,
        columns=_month_ticks(start), rows=_weekday_ticks(), legend=_legend(counts),
        weeks=[_week_row(cells[n:n + 7]) for n in range(0, len(cells), 7)],
        logged_days=sum(counts[s] for s in (DayState.COMPLETE, DayState.PARTIAL,
                                             DayState.NONE_DONE)),
        due_days=sum(counts[s] for s in (DayState.COMPLETE, DayState.PARTIAL,
                                          DayState.NONE_DONE, DayState.NOT_LOGGED)),
        complete_days=counts[DayState.COMPLETE],
    )


def _heatmap_cell(
    day: date, start: date, today: date, scheduled: dict[date, int], logged: dict[date, Logged]
) -> Cell:
    offset = (day - start).days
    state = day_state(day, today=today, scheduled=scheduled.get(day, 0), logged=logged.get(day))
    cell = cell_at(LEFT + (offset // 7) * PITCH, HEATMAP_TOP + (offset % 7) * PITCH, state,
                   logged.get(day))
    text = day_text(state, logged.get(day))
    label = (_("%(day)s (today): %(text)s") if day == today else _("%(day)s: %(text)s")) % {
        "day": day_label(day), "text": text}
    return replace(cell, day=day, label=label, text=text,
                   is_today=day == today)


def _week_row(week: list[Cell]) -> WeekRow:
    days = [cell for cell in week if cell.state != DayState.FUTURE]
    if all(cell.state == DayState.NOTHING_DUE for cell in days):
        text = _("nothing due")
    else:
        text = "; ".join(f"{WEEKDAYS[cell.day.weekday()]} {cell.text}" for cell in days)
    monday = week[0].day
    return WeekRow(_("Week of %(day)s") % {"day": formats.date_format(monday, pgettext(
        "chart week", "j M"))}, text)


def _month_ticks(start: date) -> list[Tick]:
    """A month's name above the week holding its 1st. The first column gets its month too,
    unless the second column already starts one (the names would overlap)."""
    ticks = {}
    for week in range(WEEKS):
        sunday = start + timedelta(weeks=week, days=6)
        if sunday.day <= 7:
            ticks[week] = Tick(LEFT + week * PITCH, month_name(sunday))
    if 0 not in ticks and 1 not in ticks:
        ticks[0] = Tick(LEFT, month_name(start))
    return [ticks[week] for week in sorted(ticks)]


def _weekday_ticks() -> list[Tick]:
    return [Tick(HEATMAP_TOP + n * PITCH + CELL / 2, name) for n, name in enumerate(WEEKDAYS)]


def _legend(counts: dict[DayState, int]) -> list[LegendEntry]:
    """The states on show, with how many days each."""
    sample = Logged(due=3, done=1)
    return [
        LegendEntry(cell_at(1, 1, state, sample, size=14), LEGEND_TEXT[state], counts[state])
        for state in DayState if counts[state]
    ]


# --- Line charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class LineChart:
    key: str  # unique within the page; ids are built from it
    title: str
    summary: str
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    segments: list[str]  # SVG polyline "points", one per unbroken run
    dots: list[Point]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    table: list[tuple[str, ...]]  # (date, value[, more]) rows for the text alternative
    table_head: tuple[str, ...] = ("Date", "Answer")
    rings: tuple[Point, ...] = ()  # points drawn with a ring around them (explained by note)
    note: str = ""  # a line under the chart saying what the rings mark

    @property
    def y_label_x(self) -> float:
        return self.left - 5

    @property
    def x_label_y(self) -> float:
        return self.bottom + 15


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    ticks: tuple[float, ...]
    unit: str = ""


def line_chart(
    series: Sequence[tuple[date, float | None]],
    *,
    start: date,
    end: date,
    scale: Scale,
    key: str,
    title: str,
    summary: str,
    height: int = 120,
    max_gap_days: int = 1,
    dots: bool = True,
    value_name: str = "",
) -> LineChart:
    """Plot (day, value) pairs in date order. ``None`` values, and a jump of more than
    ``max_gap_days`` between known values, break the line: a gap is not a 0."""
    top, bottom, right = 10.0, height - 22.0, float(WIDTH - RIGHT)
    span = max((end - start).days, 1)

    def x_of(day: date) -> float:
        return round(LEFT + (day - start).days / span * (right - LEFT), 1)

    def y_of(value: float) -> float:
        return round(bottom - (value - scale.low) / (scale.high - scale.low) * (bottom - top), 1)

    known = [(day, value) for day, value in series if value is not None]
    runs = _runs(series, max_gap_days)
    points = [Point(x_of(d), y_of(v), f"{day_label(d)}: {_fmt(v)}{scale.unit}") for d, v in known]
    lone = [Point(x_of(r[0][0]), y_of(r[0][1]), "") for r in runs if len(r) == 1]
    return LineChart(
        key=key, title=title, summary=summary, width=WIDTH, height=height,
        left=LEFT, top=top, right=right, bottom=bottom,
        segments=[" ".join(f"{x_of(d):g},{y_of(v):g}" for d, v in run)
                  for run in runs if len(run) > 1],
        dots=points if dots else lone,
        y_ticks=[Tick(y_of(t), f"{_fmt(t)}{scale.unit}") for t in scale.ticks],
        x_ticks=[Tick(x_of(day), month_name(day))
                 for day in days_between(start, end) if day.day == 1],
        table=[(day_label(d), f"{_fmt(v)}{scale.unit}") for d, v in known],
        table_head=(_("Date"), value_name or _("Answer")),
    )


def _runs(
    series: Sequence[tuple[date, float | None]], max_gap_days: int
) -> list[list[tuple[date, float]]]:
    runs: list[list[tuple[date, float]]] = []
    previous: date | None = None
    for day, value in series:
        if value is None:
            previous = None
            continue
        if previous is None or (day - previous).days > max_gap_days:
            runs.append([])
        runs[-1].append((day, value))
        previous = day
    return runs


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


NO_ANSWERS = {  # by the answer's field; the weeks are WEEKS
    "satisfaction": gettext_lazy("No satisfaction answers in the last 12 weeks."),
    "itch": gettext_lazy("No itch answers in the last 12 weeks."),
    "partnership": gettext_lazy("No partnership answers in the last 12 weeks."),
}


def values_summary(values: Sequence[tuple[date, float]], *, out_of: int, what: str) -> str:
    """'Latest: 4 of 5 on Mon 3 Nov; average 3.6 from 12 answers.'"""
    if not values:
        return str(NO_ANSWERS[what])
    last_day, last = values[-1]
    average = sum(value for _day, value in values) / len(values)
    return ngettext(
        "Latest: %(last)s of %(out_of)s on %(day)s; average %(average)s from %(n)s answer.",
        "Latest: %(last)s of %(out_of)s on %(day)s; average %(average)s from %(n)s answers.",
        len(values),
    ) % {"last": _fmt(last), "out_of": out_of, "day": day_label(last_day),
         "average": formats.number_format(average, 1), "n": len(values)}


# --- Rolling adherence -------------------------------------------------------------------------


def rolling_rates(
    patient: Patient, days: Iterable[date], logged_days: set[date]
) -> list[tuple[date, float | None]]:
    """Window adherence over each day and the 6 before it, in percent (one query). A window
    without a logged day is a gap (None), not 0."""
    days = list(days)
    if not days:
        return []
    windows = rolling_adherence(patient, days[0], days[-1], days=ROLLING_DAYS)
    return [
        (window.end, None if not window.logged_days or window.rate is None
         else percent(window.steps_done, window.steps_due))
        for window in windows
    ]


def rolling_summary(rates: dict[date, float | None], today: date) -> str:
    def said(value: float | None) -> str:
        return _("no check-ins") if value is None else f"{_fmt(value)}%"

    earlier = rates.get(today - timedelta(days=COMPARE_DAYS_AGO))
    return _("Last 7 days: %(now)s. Four weeks ago: %(earlier)s.") % {
        "now": said(rates.get(today)), "earlier": said(earlier)}


def weekly_rows(rates: Sequence[tuple[date, float | None]], today: date) -> list[tuple[str, str]]:
    """The rolling value at the end of each week (and today): the chart's data table."""
    return [
        (day_label(day), _("no check-ins") if value is None else f"{_fmt(value)}%")
        for day, value in rates if day.weekday() == 6 or day == today
    ]


# --- Per-item adherence ------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemBar:
    key: object  # PlanItem.key (UUID)
    name: str
    done: int
    due: int
    percent: int
    reason: str  # lower-case label of the most common skip reason, "" when never skipped
    in_plan: bool  # still in the current revision, so a concern can be raised about it
    bar_width: float  # 0-100, the viewBox of a bar track

    @property
    def text(self) -> str:
        counts = _("%(done)s of %(due)s done (%(percent)s%%).") % {
            "done": self.done, "due": self.due, "percent": self.percent}
        if self.done == self.due:
            return _("%(counts)s Never skipped.") % {"counts": counts}
        return _("%(counts)s Usual reason for skipping: %(reason)s.") % {
            "counts": counts, "reason": self.reason}


def reason_text(value: str | None) -> str:
    if not value:
        return _("no reason given")
    try:
        return str(SkipReason(value).label).lower()
    except ValueError:
        return _("other")


def item_bars(items: Sequence[ItemAdherence], current_keys: set[object]) -> list[ItemBar]:
    return [
        ItemBar(
            key=item.item_key, name=item.name, done=item.done, due=item.due,
            percent=percent(item.done, item.due),
            reason="" if item.skipped == 0 else reason_text(item.top_skip_reason),
            in_plan=item.item_key in current_keys,
            bar_width=round(100 * item.done / item.due, 1),
        )
        for item in items if item.due
    ]


def item_sentence(items: Sequence[ItemAdherence], *, audience: str) -> str:
    """'You skip <step> most (6 of 24 times); usual reason: side effects.'"""
    patient = audience == "patient"
    skipped = [item for item in items if item.skipped]
    if not skipped:
        return (_("You have not skipped any steps in the last 12 weeks.") if patient
                else _("The patient has not skipped any steps in the last 12 weeks."))
    top = max(skipped, key=lambda item: item.skipped)  # first wins a tie (list is sorted)
    values = {"name": top.name, "skipped": top.skipped, "due": top.due,
              "reason": reason_text(top.top_skip_reason)}
    if patient:
        return _("You skip %(name)s most (%(skipped)s of %(due)s times); usual reason: "
                 "%(reason)s.") % values
    return _("The patient skips %(name)s most (%(skipped)s of %(due)s times); usual reason: "
             "%(reason)s.") % values


# --- Recent check-ins --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentRow:
    day: date
    date_label: str
    steps_done: int
    steps_due: int
    satisfaction: int | None
    itch: int | None
    side_effect: str  # "" when none
    note: str
    submitted_by_id: int | None = None
    # Set by the clinic's patient page: "Mum" when a caregiver saved it (accounts.caregiving
    # .done_by), else "".
    logged_by: str = ""


def recent_rows(checkins: Iterable[CheckIn]) -> list[RecentRow]:
    return [
        RecentRow(
            day=c.local_date, date_label=day_label(c.local_date), steps_done=c.steps_done,
            steps_due=c.steps_due, satisfaction=c.satisfaction, itch=c.itch,
            side_effect=_side_effect_text(c), note=c.note, submitted_by_id=c.submitted_by_id,
        )
        for c in checkins
    ]


def rows_logged_by(rows: list[RecentRow], *, patient: Patient,
                   labels: dict[tuple[int, int], str]) -> list[RecentRow]:
    """``rows`` marked with the caregiver who saved each ("logged by Mum"; ``labels`` from
    ``accounts.caregiving.caregiver_labels``, read once for the page)."""
    return [replace(row, logged_by=done_by(labels, patient=patient,
                                           user_id=row.submitted_by_id) or "")
            for row in rows]


def _side_effect_text(checkin: CheckIn) -> str:
    if checkin.side_effect == "none":
        return ""
    parts = [checkin.get_side_effect_display()]
    if checkin.side_effect_item is not None:
        parts.append(f"({checkin.side_effect_item.name})")
    text = " ".join(parts)
    return f"{text}: {checkin.side_effect_text}" if checkin.side_effect_text else text


# --- Loading and the page context --------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCharts:
    audience: str
    id_prefix: str
    empty_text: str  # set when there is nothing to chart; the charts are then None/empty
    period: str  # "3 Nov to 25 Jan 2026"
    has_plan: bool = False
    heatmap: Heatmap | None = None
    rolling: LineChart | None = None
    satisfaction: LineChart | None = None
    itch: LineChart | None = None
    pulse: LineChart | None = None
    pulse_empty: str = ""
    # A teenager's or an adult's caregiver does not see the patient's view of the partnership
    # (``accounts.caregiving.answers_as_patient``): the section is left out.
    pulse_hidden: bool = False
    items: list[ItemBar] | None = None
    item_sentence: str = ""
    recent: list[RecentRow] | None = None

    @property
    def concern_links(self) -> bool:
        return self.audience == "patient"


def history_context(patient: Patient, *, audience: str, today: date) -> dict:
    """Context for ``checkins/_charts.html``: ``charts`` (a :class:`HistoryCharts`) of the
    weeks ending on ``today``, the patient's own calendar date."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}")
    start = grid_range(today)[0]
    period = _("%(start)s to %(end)s") % {
        "start": formats.date_format(start, pgettext("chart week", "j M")),
        "end": formats.date_format(today, pgettext("chart period end", "j M Y"))}
    plan = plans.plan_of(patient)
    logged = _logged(patient, start, today)
    charts = HistoryCharts(audience=audience, id_prefix=ID_PREFIX, empty_text="", period=period,
                           has_plan=plan is not None)
    if plan is None or not logged:
        charts = replace(charts, empty_text=_empty_text(audience, has_plan=bool(plan)))
    else:
        charts = _full_charts(charts, patient, plan, today, logged)
    return {"patient": patient, "audience": audience, "charts": charts}


def _empty_text(audience: str, *, has_plan: bool) -> str:
    if audience == "clinician":
        return (_("No care plan yet, so there is no check-in history.") if not has_plan
                else _("No check-ins in the last 12 weeks."))
    if not has_plan:
        return _("Your dermatologist has not set up your plan yet. Once you start checking in, "
                 "your progress will show here.")
    return _("No check-ins in the last 12 weeks. Check in on the Today page and your "
             "history will build up here.")


def _full_charts(
    charts: HistoryCharts, patient: Patient, plan: CarePlan, today: date,
    logged: dict[date, CheckIn],
) -> HistoryCharts:
    start, end = grid_range(today)
    revisions = list(plan.revisions.prefetch_related("items").order_by("effective_from", "number"))
    counts = {day: Logged(c.steps_due, c.steps_done) for day, c in logged.items()}
    items = item_adherence(patient, start, today)
    current = [r for r in revisions if r.number == plan.current_number]
    current_keys = {item.key for r in current for item in r.items.all()}
    limit = RECENT_SHOWN[charts.audience]
    return replace(
        charts,
        heatmap=heatmap(today=today, scheduled=_scheduled(plan, revisions, start, end),
                        logged=counts),
        rolling=_rolling_chart(patient, start, today, set(logged)),
        satisfaction=_wellbeing_chart(logged, start, today, "satisfaction"),
        itch=_wellbeing_chart(logged, start, today, "itch"),
        pulse=_pulse_chart(patient, start, today, charts.audience),
        pulse_empty=str(NO_ANSWERS["partnership"]),
        items=item_bars(items, current_keys),
        item_sentence=item_sentence(items, audience=charts.audience),
        recent=recent_rows(selectors.recent_checkins(patient, limit=limit)),
    )


def _logged(patient: Patient, start: date, end: date) -> dict[date, CheckIn]:
    rows = CheckIn.objects.filter(patient=patient, local_date__range=(start, end)).only(
        "local_date", "steps_due", "steps_done", "satisfaction", "itch"
    ).order_by("local_date")
    return {row.local_date: row for row in rows}


def _scheduled(
    plan: CarePlan, revisions: list[PlanRevision], start: date, end: date
) -> dict[date, int]:
    """Steps due per day by the schedule, for days without a check-in. Same choice of revision
    as ``careplans.selectors.revision_in_effect``, done in memory to avoid a query per day."""
    result = {}
    for day in days_between(start, end):
        in_effect = [r for r in revisions if r.effective_from <= day]
        if in_effect:
            revision = max(in_effect, key=lambda r: (r.effective_from, r.number))
            result[day] = sum(1 for step in due_steps(
                list(revision.items.all()), day, plan_starts_on=plan.starts_on)
                if not step.optional)  # a dose unlogged counts on its window's last day
    return result


def _rolling_chart(patient: Patient, start: date, today: date, logged: set[date]) -> LineChart:
    rates = rolling_rates(patient, days_between(start, today), logged)
    chart = line_chart(
        rates, start=start, end=today, scale=Scale(0, 100, (0, 50, 100), "%"), key="rolling",
        title=_("Steps done: 7-day rolling average"),
        summary=rolling_summary(dict(rates), today), height=150, dots=False,
    )
    return replace(chart, table=weekly_rows(rates, today),
                   table_head=(_("7 days up to"), _("Steps done")))


WELLBEING = {  # title, scale, out of, table column
    "satisfaction": (gettext_lazy("Satisfaction with the plan (1 = low, 5 = high)"),
                     Scale(1, 5, (1, 3, 5)), 5, gettext_lazy("Satisfaction (1 to 5)")),
    "itch": (gettext_lazy("Itch or discomfort (0 = none, 10 = worst)"), Scale(0, 10, (0, 5, 10)),
             10, gettext_lazy("Itch (0 to 10)")),
}


def _wellbeing_chart(
    logged: dict[date, CheckIn], start: date, today: date, field: str
) -> LineChart | None:
    title, scale, out_of, column = WELLBEING[field]
    values = [(day, getattr(c, field)) for day, c in sorted(logged.items())
              if getattr(c, field) is not None]
    if not values:
        return None
    return line_chart(
        values, start=start, end=today, scale=scale, key=field, title=str(title),
        summary=values_summary(values, out_of=out_of, what=field), max_gap_days=ROLLING_DAYS,
        value_name=str(column),
    )


ALLIANCE_SCALE = Scale(0, 10, (0, 5, 10))
FULL_PULSE_TEXT = gettext_lazy("All four questions (their mean)")
ALLIANCE_NOTE = gettext_lazy("Ringed points: all four partnership questions (their mean). "
                             "The others: the week's one question.")


def question_text(question: str) -> str:
    """What an alliance answer answered, in words, for the chart's table and tooltips."""
    if question == selectors.FULL_PULSE:
        return str(FULL_PULSE_TEXT)
    return str(PARTNERSHIP_QUESTIONS.get(question, _("A partnership question")))


def _pulse_chart(patient: Patient, start: date, today: date, audience: str) -> LineChart | None:
    """The partnership on one 0-10 scale: weekly answers as they are, full pulses as the mean
    of their four answers; the table says which question each point answered."""
    answers = selectors.alliance_answers(patient, start, today)
    if not answers:
        return None
    values = [(a.local_date, a.score) for a in answers]
    chart = line_chart(
        values, start=start, end=today, scale=ALLIANCE_SCALE, key="pulse",
        title=_("Our partnership (0 to 10)") if audience == "patient"
        else _("Alliance pulse (0 to 10)"),
        summary=values_summary(values, out_of=10, what="partnership"),
        max_gap_days=ALLIANCE_LINE_GAP_DAYS, value_name=_("Answer"),
    )
    return replace(
        chart,
        dots=[replace(dot, label=f"{dot.label} ({question_text(a.question)})")
              for dot, a in zip(chart.dots, answers, strict=True)],
        table=[(*row, question_text(a.question)) for row, a in zip(chart.table, answers,
                                                                    strict=True)],
        table_head=(*chart.table_head, _("Question")),
        rings=tuple(dot for dot, a in zip(chart.dots, answers, strict=True)
                    if a.question == selectors.FULL_PULSE),
        note=str(ALLIANCE_NOTE),
    )
