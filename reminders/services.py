"""Reminder dispatch: select due patients set-based, claim a delivery row, send at most once."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from careplans.models import PlanRevision
from checkins.models import CheckIn
from checkins.selectors import schedules_on

from .channels import TRANSIENT_ERRORS, Outbox, ReminderMessage
from .models import DEFAULT_TIME, EVERY_DAY, Delivery, ReminderSettings
from .timing import ReminderTiming, due_local_date

logger = logging.getLogger(__name__)

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
    # order_by("pk"): Delivery's Meta.ordering would join patient and user just to sort.
    return list(Delivery.objects.filter(claim_token=token).order_by("pk")
                .values_list("pk", flat=True))


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


def reminder_message(delivery: Delivery, step_names: list[str]) -> ReminderMessage:
    patient = delivery.patient
    unsubscribe_url = _site(reverse("reminders_unsubscribe", args=[unsubscribe_token(patient)]))
    body = render_to_string("reminders/email/reminder.txt", {
        "patient": patient, "goal": delivery.goal or "", "steps": step_names,
        "checkin_url": _site(f"{reverse('today')}?date={delivery.local_date.isoformat()}"),
        "unsubscribe_url": unsubscribe_url,
    })
    return ReminderMessage(to=patient.user.email, subject=SUBJECT, body=body,
                           unsubscribe_url=unsubscribe_url)


def reminder_send(*, delivery_id: int) -> str:
    """Send one claimed reminder (a retry, or a batch of one)."""
    outcome = reminders_send_batch(delivery_ids=[delivery_id])
    if outcome.retry:
        raise outcome.exception
    return outcome.statuses.get(delivery_id, "nothing to do")


@dataclass
class BatchOutcome:
    statuses: dict[int, str] = field(default_factory=dict)
    # Transient failure: the delivery that failed and the rest of the batch, to be retried one
    # by one with backoff (a channel that just failed is likely to fail the next send too).
    retry: list[int] = field(default_factory=list)
    exception: BaseException | None = None
    # Not tried because the batch ran out of time (a slow channel): to go on as a new batch.
    rest: list[int] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(status == Delivery.Status.SENT for status in self.statuses.values())


def reminders_send_batch(*, delivery_ids: list[int],
                         budget_seconds: float | None = None) -> BatchOutcome:
    """Send a batch of claimed reminders, each at most once: reads for the whole batch (three
    queries), then each delivery in its own transaction (``_send_one``), over one connection
    per channel. After ``budget_seconds`` the rest is handed back untried (``rest``), well
    before a task time limit would interrupt a send half-way."""
    outcome = BatchOutcome()
    deliveries = _claimed(delivery_ids)
    schedules = schedules_on({(d.patient_id, d.local_date) for d in deliveries})
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    with Outbox() as outbox:
        for index, delivery in enumerate(deliveries):
            if index and deadline is not None and time.monotonic() > deadline:
                outcome.rest = [d.pk for d in deliveries[index:]]
                break
            _, steps = schedules[(delivery.patient_id, delivery.local_date)]
            names = list(dict.fromkeys(step.item.name for step in steps))
            try:
                outcome.statuses[delivery.pk] = _send_one(delivery, names, outbox)
            except TRANSIENT_ERRORS as error:
                outcome.exception = error
                reminder_record_failure(delivery_id=delivery.pk, error=type(error).__name__,
                                        final=False)
                outcome.retry = [d.pk for d in deliveries[index:]]
                break
            except Exception:  # a bug must not hold back the rest; the claim is offered again
                logger.exception("Reminder %s failed; its claim stays open.", delivery.pk)
    return outcome


def _claimed(delivery_ids: list[int]) -> list[Delivery]:
    """The deliveries still claimed, with what the message needs (read without locks: the
    send itself re-checks under the row lock)."""
    return list(
        Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.CLAIMED)
        .select_related("patient__user", "patient__dermatologist")
        .annotate(goal=F("patient__profile__what_matters")).order_by("pk")
    )


# Plain SQL because it runs once per reminder: building this statement through the ORM (two
# correlated NOT EXISTS) cost 1.2 ms of CPU, more than rendering and writing the email. Same
# text on PostgreSQL and SQLite; tests/reminders cover both outcomes.
MARK_SENT_SQL = """
UPDATE reminders_delivery SET status = %s, sent_at = %s, attempts = attempts + 1
WHERE id = %s AND status = %s
  AND NOT EXISTS (SELECT 1 FROM checkins_checkin c
                  WHERE c.patient_id = reminders_delivery.patient_id
                    AND c.local_date = reminders_delivery.local_date)
  AND NOT EXISTS (SELECT 1 FROM reminders_remindersettings s
                  WHERE s.patient_id = reminders_delivery.patient_id AND s.enabled = %s)
"""


def _mark_sent(delivery_id: int) -> bool:
    """Mark the delivery sent if it is still claimed, not checked in for meanwhile and reminders
    are still on; False otherwise. The UPDATE locks the row and re-reads it, so a concurrent
    send of the same delivery waits and then finds it sent."""
    params = [Delivery.Status.SENT, connection.ops.adapt_datetimefield_value(timezone.now()),
              delivery_id, Delivery.Status.CLAIMED, False]
    with connection.cursor() as cursor:
        cursor.execute(MARK_SENT_SQL, params)
        return cursor.rowcount == 1


def _send_one(delivery: Delivery, step_names: list[str], outbox: Outbox) -> str:
    """Mark sent first, send last, then commit. The conditional UPDATE is the claim check: it
    locks the row and re-reads its status, so a concurrent send of the same delivery waits,
    then finds it sent. A failed send rolls the mark back. The only window for a duplicate
    (killed after the message left, before COMMIT) is one round trip; SMTP cannot close it."""
    with transaction.atomic():
        if not step_names:
            return _skip(delivery.pk, Delivery.SkipReason.NOTHING_DUE)
        if not _mark_sent(delivery.pk):
            return _skip_changed(delivery.pk)
        outbox.send(delivery.channel, reminder_message(delivery, step_names))
        return Delivery.Status.SENT


def _skip(delivery_id: int, reason: str) -> str:
    skipped = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.SKIPPED, skip_reason=reason, attempts=F("attempts") + 1
    )
    return Delivery.Status.SKIPPED if skipped else "nothing to do"


def _skip_changed(delivery_id: int) -> str:
    """Why a claimed delivery is no longer due (rare: checked in or turned off since the batch
    was read), recorded under the row lock; "nothing to do" if it was sent or skipped already."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .annotate(
            reminders_on=Coalesce("patient__reminder_settings__enabled", Value(True)),
            checked_in=Exists(CheckIn.objects.filter(patient=OuterRef("patient_id"),
                                                     local_date=OuterRef("local_date"))),
        )
        .filter(pk=delivery_id, status=Delivery.Status.CLAIMED).order_by().first()
    )
    if delivery is None:
        return "nothing to do"
    if delivery.checked_in:
        return _skip(delivery_id, Delivery.SkipReason.CHECKED_IN)
    if not delivery.reminders_on:
        return _skip(delivery_id, Delivery.SkipReason.TURNED_OFF)
    return "nothing to do"  # due again after all: left claimed, offered again when stale


def reminder_record_failure(*, delivery_id: int, error: str, final: bool) -> None:
    updates = {"error": error[:200]}
    if final:
        updates["status"] = Delivery.Status.FAILED
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED).update(**updates)
