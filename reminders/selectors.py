"""Reads for the patient's reminder pages."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings

from accounts.models import Patient
from checkins.models import CheckIn
from checkins.selectors import schedules_on

from .models import Delivery, PushSubscription
from .timing import ReminderTiming, next_reminder, upcoming_reminders


def next_reminder_for(patient: Patient, timing: ReminderTiming, now: datetime) -> datetime | None:
    """When ``patient``'s next reminder will really go out after ``now``, or None if none will
    in the preview window.

    A reminder time only counts on a day the dispatcher would send for (``services.due_patients``
    and ``reminder_send``): not yet reminded, not checked in, and with a step due.
    """
    days = [day for day, _ in upcoming_reminders(now, timing)]
    if not days:
        return None
    return next_reminder(now, timing, without=_settled(patient, days) | _nothing_due(patient, days))


def _settled(patient: Patient, days: list[date]) -> set[date]:
    """Days already reminded (a daily delivery exists, whatever its outcome) or checked in."""
    reminded = Delivery.objects.filter(patient=patient, kind=Delivery.Kind.DAILY,
                                       local_date__in=days).values_list("local_date", flat=True)
    logged = CheckIn.objects.filter(patient=patient, local_date__in=days).values_list(
        "local_date", flat=True)
    return set(reminded.order_by()) | set(logged.order_by())


def _nothing_due(patient: Patient, days: list[date]) -> set[date]:
    schedules = schedules_on([(patient.pk, day) for day in days])
    return {day for day in days if not schedules[(patient.pk, day)][1]}


def push_optin_for(patient: Patient) -> dict[str, object]:
    """What the Reminders page's "this phone" section needs (reminders/_push.html): nothing
    while push is off (no VAPID keys), else the public key and how many phones are subscribed."""
    if not settings.WEBPUSH_ENABLED:
        return {"enabled": False}
    return {"enabled": True, "public_key": settings.VAPID_PUBLIC_KEY,
            "phones": PushSubscription.objects.filter(patient=patient).count()}
