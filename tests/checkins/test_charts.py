"""History chart geometry and numbers, with hand-computed examples."""

from collections.abc import Collection
from datetime import date, timedelta

import pytest

from careplans.selectors import steps_due_on
from checkins import charts
from checkins.adherence import ItemAdherence, item_adherence, window_adherence
from checkins.charts import DayState, Logged, Scale
from checkins.models import CheckIn, StepLog

WED_5_NOV = date(2025, 11, 5)  # grid: Mon 18 Aug 2025 .. Sun 9 Nov 2025


def log_day(patient, day: date, *, skipped: Collection[str] = (), reason: str = "forgot",
            satisfaction: int | None = None, itch: int | None = None, note: str = "") -> CheckIn:
    """A check-in for any past day, written as history holds it (the service only takes the last
    3 days). ``skipped`` names items ("Gentle cleanser") or one slot ("Gentle cleanser/evening")."""
    revision, steps = steps_due_on(patient, day)
    answers = [
        (step, step.item.name not in skipped and f"{step.item.name}/{step.slot}" not in skipped)
        for step in steps
    ]
    checkin = CheckIn.objects.create(
        patient=patient, local_date=day, revision=revision, steps_due=len(steps),
        steps_done=sum(done for _, done in answers), satisfaction=satisfaction, itch=itch,
        note=note,
    )
    StepLog.objects.bulk_create(
        StepLog(checkin=checkin, item=step.item, item_key=step.item.key, slot=step.slot,
                done=done, skip_reason="" if done else reason)
        for step, done in answers
    )
    return checkin


# --- Heatmap -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "scheduled", "logged", "state"), [
    (WED_5_NOV + timedelta(days=1), 3, None, DayState.FUTURE),
    (WED_5_NOV, 3, Logged(3, 3), DayState.COMPLETE),
    (WED_5_NOV, 3, Logged(3, 2), DayState.PARTIAL),
    (WED_5_NOV, 3, Logged(3, 0), DayState.NONE_DONE),
    (WED_5_NOV, 3, None, DayState.NOT_LOGGED),
    (WED_5_NOV, 0, None, DayState.NOTHING_DUE),
])
def test_day_state(day, scheduled, logged, state):
    assert charts.day_state(day, today=WED_5_NOV, scheduled=scheduled, logged=logged) == state


def test_grid_is_twelve_calendar_weeks_ending_with_the_week_of_today():
    assert charts.grid_range(WED_5_NOV) == (date(2025, 8, 18), date(2025, 11, 9))


def test_heatmap_cells_states_labels_and_summary():
    # given: 3 steps due every day from Mon 27 Oct; three days logged
    scheduled = {date(2025, 10, 27) + timedelta(days=n): 3 for n in range(14)}
    logged = {date(2025, 10, 27): Logged(3, 3), date(2025, 10, 28): Logged(3, 0),
              WED_5_NOV: Logged(3, 2)}
    # when
    heatmap = charts.heatmap(today=WED_5_NOV, scheduled=scheduled, logged=logged)
    # then
    cells = {cell.day: cell for cell in heatmap.cells}
    assert len(heatmap.cells) == 84
    today = cells[WED_5_NOV]  # 79 days after Mon 18 Aug: column 11, row 2 (Wednesday)
    assert (today.x, today.y, today.state) == (34 + 11 * 25, 18 + 2 * 25, DayState.PARTIAL)
    assert (today.fill_height, today.fill_y) == (14.7, 75.3)  # 2/3 of 22, from the bottom
    assert today.label == "Wed 5 Nov (today): 2 of 3 steps"
    assert cells[date(2025, 10, 27)].label == "Mon 27 Oct: 3 of 3 steps"
    assert cells[date(2025, 10, 28)].state == DayState.NONE_DONE
    assert cells[date(2025, 10, 28)].mark_path  # the cross
    assert cells[date(2025, 10, 29)].label == "Wed 29 Oct: not logged"
    assert cells[date(2025, 10, 26)].state == DayState.NOTHING_DUE
    assert cells[date(2025, 11, 6)].state == DayState.FUTURE
    # 27 Oct .. 5 Nov is 10 due days, 3 logged, 1 complete
    assert heatmap.summary == "Logged 3 of 10 days with steps due; 1 complete."
    assert heatmap.weeks[-2].label == "Week of 27 Oct"
    assert heatmap.weeks[-2].text.startswith("Mon 3 of 3 steps; Tue 0 of 3 steps; Wed not logged")
    assert heatmap.weeks[-1].text == "Mon not logged; Tue not logged; Wed 2 of 3 steps"
    assert heatmap.weeks[0].text == "nothing due"
    assert {e.cell.state: e.count for e in heatmap.legend} == {
        DayState.COMPLETE: 1, DayState.PARTIAL: 1, DayState.NONE_DONE: 1,
        DayState.NOT_LOGGED: 7, DayState.NOTHING_DUE: 70, DayState.FUTURE: 4,
    }


def test_month_names_sit_above_the_week_holding_the_first():
    ticks = charts.heatmap(today=WED_5_NOV, scheduled={}, logged={}).columns
    # Mon 18 Aug starts the grid; 1 Sep is in the week of Mon 1 Sep (column 2), 1 Oct in
    # column 6 (Mon 29 Sep), 1 Nov in column 10 (Mon 27 Oct)
    assert [(t.pos, t.text) for t in ticks] == [(34, "Aug"), (84, "Sep"), (184, "Oct"),
                                                (284, "Nov")]


# --- Line charts -------------------------------------------------------------------------------


def test_line_chart_breaks_at_a_gap_and_scales_into_the_box():
    # given: 50 %, a gap, 100 %, 0 % over an 11-day axis
    d0 = date(2025, 11, 10)
    series = [(d0, 50), (d0 + timedelta(days=1), None), (d0 + timedelta(days=2), 100),
              (d0 + timedelta(days=3), 0)]
    # when: 150 high -> plot box x 34..326, y 10..128
    chart = charts.line_chart(
        series, start=d0, end=d0 + timedelta(days=10), scale=Scale(0, 100, (0, 50, 100), "%"),
        key="t", title="T", summary="S", height=150, dots=False,
    )
    # then: x = 34 + days/10 * 292; y = 128 - value/100 * 118
    assert chart.segments == ["92.4,10 121.6,128"]
    assert [(dot.x, dot.y) for dot in chart.dots] == [(34, 69)]  # the lone first day
    assert [(t.pos, t.text) for t in chart.y_ticks] == [(128, "0%"), (69, "50%"), (10, "100%")]
    assert chart.table == [("Mon 10 Nov", "50%"), ("Wed 12 Nov", "100%"), ("Thu 13 Nov", "0%")]


def test_values_summary():
    values = [(date(2025, 11, 3), 2), (date(2025, 11, 5), 5)]
    assert charts.values_summary(values, out_of=5, what="satisfaction") == (
        "Latest: 5 of 5 on Wed 5 Nov; average 3.5 from 2 answers."
    )
    assert charts.values_summary([], out_of=10, what="itch") == (
        "No itch answers in the last 12 weeks."
    )


@pytest.mark.django_db
def test_rolling_adherence_skips_a_gap_day_and_leaves_empty_windows_blank(patient_a, routine, now):
    # given: 3 steps a day; 3 of 3 two days ago, nothing yesterday, 2 of 3 today
    today = patient_a.local_date(now)
    log_day(patient_a, today - timedelta(days=2))
    log_day(patient_a, today, skipped={"Adapalene 0.1% gel"})
    days = [today - timedelta(days=n) for n in range(10, -1, -1)]
    # when
    rates = dict(charts.rolling_rates(patient_a, days, {today, today - timedelta(days=2)}))
    # then: (3 + 2) / (3 + 3) = 83 %, the unlogged day counts neither way
    assert rates[today] == 83
    assert rates[today - timedelta(days=1)] == 100
    assert rates[today - timedelta(days=3)] is None  # window without a logged day: a gap
    assert window_adherence(patient_a, today - timedelta(days=6), today).rate == 5 / 6
    assert charts.rolling_summary(rates, today) == "Last 7 days: 83%. Four weeks ago: no check-ins."


# --- Per-item adherence ------------------------------------------------------------------------


def item(name: str, done: int, due: int, reason: str | None) -> ItemAdherence:
    return ItemAdherence(item_key=name, name=name, done=done, due=due, top_skip_reason=reason)


def test_item_sentence_names_the_most_skipped_step_and_its_usual_reason():
    items = [item("Gentle cleanser", 20, 22, "forgot"),
             item("Adapalene 0.1% gel", 5, 11, "side_effects"), item("SPF 30", 11, 11, None)]
    assert charts.item_sentence(items, audience="patient") == (
        "You skip Adapalene 0.1% gel most (6 of 11 times); usual reason: side effects."
    )
    assert charts.item_sentence(items, audience="clinician") == (
        "The patient skips Adapalene 0.1% gel most (6 of 11 times); usual reason: side effects."
    )
    assert charts.item_sentence([items[2]], audience="patient") == (
        "You have not skipped any steps in the last 12 weeks."
    )


def test_item_bars_give_percent_reason_and_whether_a_concern_can_be_raised():
    bars = charts.item_bars(
        [item("Adapalene 0.1% gel", 5, 11, "ran_out"), item("Old toner", 2, 2, None)],
        current_keys={"Adapalene 0.1% gel"},
    )
    assert [(b.percent, b.bar_width, b.in_plan) for b in bars] == [(45, 45.5, True),
                                                                   (100, 100, False)]
    assert bars[0].text == "5 of 11 done (45%). Usual reason for skipping: ran out."
    assert bars[1].text == "2 of 2 done (100%). Never skipped."


@pytest.mark.django_db
def test_most_common_skip_reason_comes_from_the_step_logs(patient_a, routine, now):
    # given: the retinoid skipped for side effects twice and forgotten once
    today = patient_a.local_date(now)
    for days_ago, reason in ((1, "side_effects"), (2, "forgot"), (3, "side_effects")):
        log_day(patient_a, today - timedelta(days=days_ago), skipped={"Adapalene 0.1% gel"},
                reason=reason)
    log_day(patient_a, today - timedelta(days=4), skipped={"Gentle cleanser/evening"})
    # when
    items = item_adherence(patient_a, today - timedelta(days=30), today)
    # then
    assert charts.item_sentence(items, audience="patient") == (
        "You skip Adapalene 0.1% gel most (3 of 4 times); usual reason: side effects."
    )


@pytest.mark.parametrize(("value", "text"), [
    ("side_effects", "side effects"), ("no_time", "no time"), ("", "no reason given"),
])
def test_reason_text_uses_the_skip_reason_labels(value, text):
    assert charts.reason_text(value) == text


def test_percent_rounds_half_up():
    assert [charts.percent(1, 8), charts.percent(5, 6), charts.percent(1, 3)] == [13, 83, 33]


@pytest.mark.django_db
def test_an_unknown_audience_is_refused(patient_a, now):
    with pytest.raises(ValueError, match="audience"):
        charts.history_context(patient_a, audience="public", today=patient_a.local_date(now))
