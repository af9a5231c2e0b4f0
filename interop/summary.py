"""The readable half of "Download my data": ``summary.html``, one self-contained page (inline
CSS, inline SVG charts, no script, no link it needs) that opens offline from the zip on a phone.

What it holds, each from the place that already defines it: the care plan now and every
revision with the dermatologist's reason (``careplans.selectors.revision_history``), the whole
check-in history with charts (adherence from ``checkins.adherence`` through
``checkins.charts.rolling_rates``; the charts drawn by ``checkins.charts.line_chart``), every
conversation, and who viewed the record (``accounts.record_visits``). Everything the patient,
a caregiver or the clinic typed is escaped by the template. Rendered by the export task inside
the reader's language and the patient's time zone. Nothing here logs: these are health data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.template.loader import render_to_string
from django.utils import formats
from django.utils.translation import gettext as _

from accounts.access_log_views import AccessRow, access_row
from accounts.caregiving import caregiver_labels, done_by
from accounts.models import Patient
from accounts.record_visits import visits_page
from careplans import selectors as plans
from careplans.models import PatientProfile
from checkins.charts import (
    ROLLING_DAYS,
    WELLBEING,
    LineChart,
    Scale,
    Tick,
    days_between,
    line_chart,
    recent_rows,
    rolling_rates,
    rolling_summary,
    rows_logged_by,
    values_summary,
    weekly_rows,
)
from checkins.models import CheckIn
from messaging.models import Message, Thread

VISITS_PAGE = 200
# Month labels under a chart, at most this many ("Jan" is ~20 of the 334 units wide).
MOST_X_LABELS = 6
MOST_X_LABELS_WITH_YEAR = 4


@dataclass(frozen=True)
class WrittenMessage:
    at: datetime
    writer: str
    from_clinic: bool
    body: str
    plan_item_name: str
    has_photo: bool


@dataclass(frozen=True)
class Conversation:
    topic: str
    severity: str
    status: str
    private: bool
    started_at: datetime
    messages: list[WrittenMessage]


def summary_html(*, patient: Patient, now: datetime,
                 on_progress: Callable[[int], None] | None = None) -> str:
    """The page, in the active language and time zone (the caller's: the task sets them)."""
    progress = on_progress or (lambda _percent: None)
    today = patient.local_date(now)
    context: dict = {"patient": patient, "clinic": patient.clinic, "made_at": now,
                     "today": today, "p": "summary"}
    context.update(plan_part(patient))
    progress(25)
    context.update(checkin_part(patient, today=today))
    progress(50)
    context["conversations"] = conversations_of(patient)
    progress(75)
    context["viewers"] = viewers_of(patient)
    progress(90)
    return render_to_string("interop/summary.html", context)


# --- The plan ---------------------------------------------------------------------------------


def plan_part(patient: Patient) -> dict:
    """The plan now (its items) and every revision with what changed and why."""
    plan = plans.plan_of(patient)
    profile = PatientProfile.objects.filter(patient=patient).first()
    currency = profile.currency if profile else patient.clinic.currency
    current = plans.current_revision(plan)
    return {
        "plan": plan, "current": current,
        "items": list(current.items.all()) if current else [],
        "history": plans.revision_history(plan, currency=currency) if plan else [],
        # careplans/_items.html reads the currency from the profile.
        "profile": profile or PatientProfile(patient=patient, currency=currency),
    }


# --- Check-ins --------------------------------------------------------------------------------


def checkin_part(patient: Patient, *, today: date) -> dict:
    """Every check-in (newest first, with who logged it) and three charts over the whole
    history: steps done (7-day rolling adherence), satisfaction, itch."""
    checkins = list(CheckIn.objects.filter(patient=patient)
                    .select_related("side_effect_item").order_by("local_date"))
    rows = rows_logged_by(recent_rows(reversed(checkins)), patient=patient,
                          labels=caregiver_labels([patient.pk]))
    if not checkins:
        return {"checkin_rows": [], "rolling": None, "satisfaction": None, "itch": None}
    start, end = checkins[0].local_date, max(today, checkins[-1].local_date)
    logged = {c.local_date: c for c in checkins}
    return {
        "checkin_rows": rows,
        "checkin_period": _("%(start)s to %(end)s") % {
            "start": formats.date_format(start, "j M Y"),
            "end": formats.date_format(end, "j M Y")},
        "rolling": _rolling_chart(patient, start, end, set(logged)),
        "satisfaction": _answers_chart(checkins, start, end, "satisfaction"),
        "itch": _answers_chart(checkins, start, end, "itch"),
    }


def _rolling_chart(patient: Patient, start: date, end: date, logged: set[date]) -> LineChart:
    rates = rolling_rates(patient, days_between(start, end), logged)
    chart = line_chart(
        rates, start=start, end=end, scale=Scale(0, 100, (0, 50, 100), "%"), key="rolling",
        title=_("Steps done: 7-day rolling average"), summary=rolling_summary(dict(rates), end),
        height=150, dots=False)
    return _with_month_labels(replace(chart, table=weekly_rows(rates, end),
                                      table_head=(_("7 days up to"), _("Steps done"))),
                              start, end)


def _answers_chart(checkins: list[CheckIn], start: date, end: date, field: str
                   ) -> LineChart | None:
    title, scale, out_of, column = WELLBEING[field]
    values = [(c.local_date, getattr(c, field)) for c in checkins
              if getattr(c, field) is not None]
    if not values:
        return None
    chart = line_chart(values, start=start, end=end, scale=scale, key=field, title=str(title),
                       summary=values_summary(values, out_of=out_of, what=field),
                       max_gap_days=ROLLING_DAYS, value_name=str(column))
    return _with_month_labels(chart, start, end)


def _with_month_labels(chart: LineChart, start: date, end: date) -> LineChart:
    """A history of many months would crowd a label under every month: every 2nd, 3rd, 6th or
    12th month instead, with the year when the chart spans more than one (fewer labels then:
    "Jan 2027" is wider than "Jan")."""
    firsts = [day for day in days_between(start, end) if day.day == 1]
    crosses_years = start.year != end.year
    most = MOST_X_LABELS_WITH_YEAR if crosses_years else MOST_X_LABELS
    step = next((months for months in (1, 2, 3, 6, 12) if len(firsts) / months <= most), 12)
    if step == 1 and not crosses_years:
        return chart  # line_chart's own labels: every month's name
    label = "Y" if step == 12 else ("M Y" if crosses_years else "M")
    span = max((end - start).days, 1)
    ticks = [Tick(round(chart.left + (day - start).days / span * (chart.right - chart.left), 1),
                  formats.date_format(day, label))
             for day in firsts if (day.month - 1) % step == 0]
    return replace(chart, x_ticks=ticks)


# --- Messages ---------------------------------------------------------------------------------


def conversations_of(patient: Patient) -> list[Conversation]:
    """Every conversation of the patient's (private ones too: the download is the patient's,
    or a young child's parent's, who sees the whole record), oldest first."""
    threads = Thread.objects.filter(patient=patient).order_by("created_at", "pk")
    authors = _writer_names(patient)
    messages = (Message.objects.filter(thread__patient=patient)
                .select_related("author__membership").order_by("created_at", "pk"))
    by_thread: dict[int, list[WrittenMessage]] = {}
    for message in messages:
        by_thread.setdefault(message.thread_id, []).append(WrittenMessage(
            at=message.created_at, writer=_writer(message, authors),
            from_clinic=message.from_clinic, body=message.body,
            plan_item_name=message.plan_item_name, has_photo=message.photo_id is not None))
    return [Conversation(topic=thread.get_topic_display(),
                         severity=thread.get_severity_display() if thread.severity else "",
                         status=thread.get_status_display(), private=thread.private,
                         started_at=thread.created_at, messages=by_thread.get(thread.pk, []))
            for thread in threads]


def _writer_names(patient: Patient) -> dict[int, str]:
    """The patient's side: the patient by name, a caregiver as the patient calls them."""
    names = {patient.user_id: patient.user.display_name}
    labels = caregiver_labels([patient.pk])
    for (_patient_id, user_id) in labels:
        names.setdefault(user_id, done_by(labels, patient=patient, user_id=user_id) or "")
    return names


def _writer(message: Message, names: dict[int, str]) -> str:
    author = message.author
    if message.from_clinic:
        membership = getattr(author, "membership", None)
        if membership is None:
            return author.display_name
        return _("%(name)s, %(role)s") % {"name": author.display_name,
                                          "role": membership.get_role_display()}
    return names.get(author.pk) or author.display_name


# --- Who viewed the record --------------------------------------------------------------------


def viewers_of(patient: Patient) -> list[AccessRow]:
    """Every visit to the record by the clinic's people and by caregivers, newest first, as
    "Who viewed my record" lists them (one line per visit)."""
    rows: list[AccessRow] = []
    before = None
    while True:
        page, visits = visits_page(patient, before=before, after=None, size=VISITS_PAGE)
        rows.extend(map(access_row, visits))
        if page.older is None:
            return rows
        before = page.older

