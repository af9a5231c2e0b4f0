from dataclasses import replace
from datetime import date, datetime
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.caregiving import Section, answers_as_patient
from accounts.decorators import patient_required
from accounts.selectors import patient_of
from careplans.visits import next_visit_on
from core.pwa import PWA_USER_HEADER, pwa_user_tag
from photos.views import today_photo_card

from . import selectors, services
from .forms import CheckInForm, initial_from


def _chosen_date(request: HttpRequest, window: list[date]) -> date:
    """The day asked for (today, ``window[0]``, if none). A link's unreadable ``?date=`` falls
    back to today; a posted one is refused (ValidationError), so a tampered form never saves a
    day it didn't name."""
    raw = request.POST.get("local_date") or request.GET.get("date")
    try:
        chosen = date.fromisoformat(raw) if raw else window[0]
    except ValueError:
        if request.method == "POST":
            raise ValidationError(_("Enter a valid date.")) from None
        chosen = window[0]
    return chosen


@patient_required
def today(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    now = timezone.now()
    window = services.allowed_dates(today=patient.local_date(now))
    date_error = None
    try:
        key = services.submission_key_parse(request.POST.get("idempotency_key"))
    except ValidationError as error:  # nothing is saved; the page says why
        date_error, key = error.messages[0], None
    if request.method == "POST" and "all_done" in request.POST and date_error is None:
        quick = _all_done(request, patient, now, window, key)
        if quick is not None:
            return quick
    try:
        local_date = _chosen_date(request, window)
        services.check_date(local_date, today=window[0])
    except ValidationError as error:
        date_error = date_error or error.messages[0]
        local_date = window[0]
    schedules = selectors.day_schedules([(patient.pk, day) for day in window])
    day = schedules[(patient.pk, local_date)]
    revision_id, steps = day.revision_id, day.steps
    saved = selectors.saved_day(selectors.checkin_on(patient, local_date), day.offered)
    # A teenager's or an adult's caregiver logs the routine, not the patient's view of the
    # partnership (accounts.caregiving.answers_as_patient): those questions wait for them.
    ask_alliance = answers_as_patient(getattr(request.user, "acting_for", None))
    ask_pulse = ask_alliance and services.pulse_due(patient, local_date)
    form = CheckInForm(
        request.POST if request.method == "POST" and "all_done" not in request.POST else None,
        steps=steps, as_needed=day.as_needed, ask_pulse=ask_pulse, saved=saved,
        initial=initial_from(saved, local_date),
        partnership_question=services.partnership_question_due(
            patient, local_date, pulse_is_due=ask_pulse) if day.offered and ask_alliance
        else "",
    )
    if (request.method == "POST" and "all_done" not in request.POST and date_error is None
            and day.offered):
        checkin = _submit(request, patient, local_date, form, now, key)
        if checkin:
            messages.success(request, _thanks(checkin, local_date, window[0]))
            return redirect(f"{reverse('today')}?date={local_date.isoformat()}")
    response = render(request, "checkins/today.html", {
        "patient": patient, "local_date": local_date, "form": form, "saved": saved,
        "is_today": local_date == window[0], "date_error": date_error,
        "has_plan": schedules[(patient.pk, window[0])].revision_id is not None,
        "plan_in_effect": revision_id is not None,
        "backfill": _backfill_days(patient, window[1:], schedules),
        "next_visit": next_visit_on(patient, today=window[0]),
        "photo_card": today_photo_card(patient, today=window[0])
        if local_date == window[0] and _opens(request, Section.PHOTOS) else {},
    }, status=400 if request.method == "POST" and date_error else 200)
    if local_date == window[0]:  # the service worker keeps today's page, under this tag
        response[PWA_USER_HEADER] = pwa_user_tag(request.user)  # (core/pwa.py)
    return response


def _opens(request: HttpRequest, section: Section) -> bool:
    """Whether the viewer may see ``section`` of the record: the patient always, a caregiver
    when their tier opens it."""
    acting = getattr(request.user, "acting_for", None)
    return acting is None or acting.opens(section)


def _all_done(
    request: HttpRequest, patient: object, now: datetime, window: list[date], key: UUID | None
) -> HttpResponse | None:
    """The one-tap check-in: straight to the service, no form to build. On a refusal (a date
    outside the window, nothing due) it returns None and the page explains."""
    try:
        local_date = _chosen_date(request, window)
        checkin = services.checkin_submit(patient=patient, local_date=local_date, answers=None,
                                          now=now, submission_key=key,
                                          submitted_by=request.user)
    except ValidationError:
        return None
    messages.success(request, _thanks(checkin, local_date, window[0]))
    return redirect(f"{reverse('today')}?date={local_date.isoformat()}")


def _submit(
    request: HttpRequest, patient: object, local_date: date, form: CheckInForm, now: datetime,
    key: UUID | None,
):
    try:
        if form.is_valid():
            return services.checkin_submit(
                patient=patient, local_date=local_date, answers=form.answers(), now=now,
                wellbeing=form.wellbeing(), pulse=form.pulse(),
                partnership=form.partnership(), submission_key=key,
                submitted_by=request.user,
            )
    except ValidationError as error:
        form.add_error(None, error)
    return None


def _thanks(checkin: object, local_date: date, today: date) -> str:
    if not checkin.steps_due:  # only as-needed uses (never counted) or nothing due
        if local_date == today:
            return _("Saved for today.")
        return _("Saved for %(day)s.") % {"day": formats.date_format(local_date, _("l j F"))}
    if local_date == today:
        if checkin.steps_done == checkin.steps_due:
            return _("Saved for today: every step done. Nice work.")
        return ngettext("Saved for today: %(done)s of %(due)s step done.",
                        "Saved for today: %(done)s of %(due)s steps done.",
                        checkin.steps_due) % {"done": checkin.steps_done, "due": checkin.steps_due}
    when = formats.date_format(local_date, _("l j F"))
    if checkin.steps_done == checkin.steps_due:
        return _("Saved for %(day)s: every step done. Nice work.") % {"day": when}
    return ngettext("Saved for %(day)s: %(done)s of %(due)s step done.",
                    "Saved for %(day)s: %(done)s of %(due)s steps done.",
                    checkin.steps_due) % {"day": when, "done": checkin.steps_done,
                                          "due": checkin.steps_due}


def _backfill_days(patient: object, earlier: list[date], schedules: dict) -> list[date]:
    """Earlier days still open for a check-in, with steps due, and not yet logged."""
    due = [day for day in earlier if schedules[(patient.pk, day)].steps]
    logged = selectors.logged_dates(patient, due) if due else set()
    return [day for day in due if day not in logged]


@patient_required
def history(request: HttpRequest) -> HttpResponse:
    from .charts import history_context

    patient = patient_of(request.user)
    context = history_context(patient, audience="patient", today=patient.local_today())
    if not answers_as_patient(getattr(request.user, "acting_for", None)):
        context["charts"] = replace(context["charts"], pulse=None, pulse_hidden=True)
    return render(request, "checkins/history.html", context)
