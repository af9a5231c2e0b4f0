"""Reminder dispatch: select due patients set-based, claim a delivery row, send at most once."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from careplans import selectors as plans
from careplans.models import PlanRevision
from careplans.selectors import profile_for
from checkins.models import CheckIn

from .channels import CHANNELS, ReminderMessage
from .models import DEFAULT_TIME, EVERY_DAY, Delivery, ReminderSettings
from .timing import ReminderTiming, due_local_date

SUBJECT = "Your skin routine check-in"
UNSUBSCRIBE_SALT = "reminders.unsubscribe"


def settings_for(patient: Patient) -> ReminderSettings:
    return ReminderSettings.objects.filter(patient=patient).first() or ReminderSettings(
        patient=patient
    )


def timing_of(patient: Patient, reminder_settings: ReminderSettings) -> ReminderTiming:
    return ReminderTiming(
        enabled=reminder_settings.enabled, local_time=reminder_settings.local_time,
        weekdays=reminder_settings.weekdays, timezone=patient.timezone,
    )


def due_patients(now: datetime) -> list[tuple[int, date]]:
    """(patient id, local date) of everyone due a reminder at ``now``.

    One query per timezone in use, never one per patient: SQL narrows to a superset (enabled,
    weekday, wall-clock time passed, plan in effect, not checked in, not yet claimed) and
    the pure timing function makes the exact call (daylight-saving edges).
    """
    due: list[tuple[int, date]] = []
    zones = (
        Patient.objects.filter(is_active=True).order_by("timezone")  # no Meta.ordering in DISTINCT
        .values_list("timezone", flat=True).distinct()
    )
    for zone in zones:
        local_now = now.astimezone(ZoneInfo(zone))
        local_date = local_now.date()
        rows = _candidates(zone, local_date, local_now.time().replace(tzinfo=None))
        for pk, local_time, weekdays in rows:
            timing = ReminderTiming(True, local_time, weekdays, zone)
            if due_local_date(now, timing) == local_date:
                due.append((pk, local_date))
    return due


def _candidates(zone: str, local_date: date, wall_time: object) -> list[tuple]:
    return list(
        Patient.objects.filter(timezone=zone, is_active=True, user__is_active=True)
        .annotate(
            r_enabled=Coalesce("reminder_settings__enabled", Value(True)),
            r_time=Coalesce("reminder_settings__local_time", Value(DEFAULT_TIME)),
            r_days=Coalesce("reminder_settings__weekdays", Value(EVERY_DAY)),
            has_plan=Exists(PlanRevision.objects.filter(
                plan__patient=OuterRef("pk"), effective_from__lte=local_date)),
            checked_in=Exists(CheckIn.objects.filter(
                patient=OuterRef("pk"), local_date=local_date)),
            claimed=Exists(Delivery.objects.filter(
                patient=OuterRef("pk"), local_date=local_date, kind=Delivery.Kind.DAILY)),
        )
        .filter(r_enabled=True, r_days__contains=str(local_date.weekday()),
                r_time__lte=wall_time, has_plan=True, checked_in=False, claimed=False)
        .values_list("pk", "r_time", "r_days")
    )


def reminders_claim(*, now: datetime) -> list[int]:
    """Insert-or-skip a delivery row for every due patient; returns the ids this run claimed."""
    token = uuid.uuid4()
    Delivery.objects.bulk_create(
        [Delivery(patient_id=pk, local_date=local_date, claim_token=token, claimed_at=now)
         for pk, local_date in due_patients(now)],
        ignore_conflicts=True, batch_size=1000,
    )
    return list(Delivery.objects.filter(claim_token=token).values_list("pk", flat=True))


def stale_claims(*, now: datetime) -> list[int]:
    """Claims whose send never happened (broker down, worker killed): offer them again."""
    with transaction.atomic():
        stale = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.CLAIMED, claimed_at__lt=now - timedelta(
                seconds=settings.REMINDER_STALE_CLAIM_SECONDS))
            .values_list("pk", flat=True)[:5000]
        )
        Delivery.objects.filter(pk__in=stale).update(claimed_at=now)
    return stale


def recent_deliveries(patient: Patient, *, days: int = 14) -> list[Delivery]:
    since = patient.local_today() - timedelta(days=days - 1)
    return list(Delivery.objects.filter(patient=patient, local_date__gte=since)
                .order_by("-local_date"))


def unsubscribe_token(patient: Patient) -> str:
    return signing.dumps(patient.pk, salt=UNSUBSCRIBE_SALT)


def patient_for_unsubscribe(token: str) -> Patient | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Patient.objects.filter(pk=pk).first()


def reminders_turn_off(*, patient: Patient) -> None:
    ReminderSettings.objects.update_or_create(patient=patient, defaults={"enabled": False})


def _site(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def reminder_message(patient: Patient, local_date: date, step_names: list[str]) -> ReminderMessage:
    unsubscribe_url = _site(reverse("reminders_unsubscribe", args=[unsubscribe_token(patient)]))
    body = render_to_string("reminders/email/reminder.txt", {
        "patient": patient, "goal": profile_for(patient).what_matters, "steps": step_names,
        "checkin_url": _site(f"{reverse('today')}?date={local_date.isoformat()}"),
        "unsubscribe_url": unsubscribe_url,
    })
    return ReminderMessage(to=patient.user.email, subject=SUBJECT, body=body,
                           unsubscribe_url=unsubscribe_url)


def _skip_reason(patient: Patient, local_date: date) -> tuple[str, list[str]]:
    if not settings_for(patient).enabled:
        return Delivery.SkipReason.TURNED_OFF, []
    if CheckIn.objects.filter(patient=patient, local_date=local_date).exists():
        return Delivery.SkipReason.CHECKED_IN, []
    _, steps = plans.steps_due_on(patient, local_date)
    if not steps:
        return Delivery.SkipReason.NOTHING_DUE, []
    return "", list(dict.fromkeys(step.item.name for step in steps))


def reminder_send(*, delivery_id: int) -> str:
    """Send one claimed reminder. Idempotent: only a row still ``claimed`` is sent, under a
    row lock, and marked sent in the same transaction."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().select_related("patient__user")
            .filter(pk=delivery_id, status=Delivery.Status.CLAIMED).first()
        )
        if delivery is None:
            return "nothing to do"
        skip, step_names = _skip_reason(delivery.patient, delivery.local_date)
        delivery.attempts += 1
        if skip:
            delivery.status, delivery.skip_reason = Delivery.Status.SKIPPED, skip
            delivery.save(update_fields=["status", "skip_reason", "attempts"])
            return delivery.status
        message = reminder_message(delivery.patient, delivery.local_date, step_names)
        # Mark sent first, send last, then commit: a failed send rolls the mark back, and the
        # only window for a duplicate (killed after the message left, before COMMIT) is one
        # round trip long. SMTP gives no way to close it completely.
        delivery.status, delivery.sent_at = Delivery.Status.SENT, timezone.now()
        delivery.save(update_fields=["status", "sent_at", "attempts"])
        CHANNELS[delivery.channel].send(message)
        return delivery.status


def reminder_record_failure(*, delivery_id: int, error: str, final: bool) -> None:
    updates = {"error": error[:200]}
    if final:
        updates["status"] = Delivery.Status.FAILED
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED).update(**updates)
