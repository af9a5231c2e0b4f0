"""The reminder the day before a visit: "Your visit with <clinic> is tomorrow".

A small piece of the dispatcher, beside the daily reminder:

- **who**: a patient whose current plan revision's review date (``reviews_on``, the "Next
  visit") is tomorrow in their own zone, whose reminders are on, and who has no visit recorded
  since that revision (then the date is stale: the plan is due for review, not the visit);
- **when**: at the patient's usual reminder time (``ReminderSettings.local_time``, 20:00 by
  default), whatever weekdays they chose for check-in reminders (those are about check-ins; a
  visit is once in weeks). Daylight-saving edges as ``timing.due_local_date`` has them;
- **once**: a ``Delivery`` of kind ``visit`` for the day it is sent (the day before the visit),
  claimed by ``services.reminders_claim`` with the others and sent by the same tasks (ids only);
- **what**: the clinic's name and the date, nothing about the patient's care; by Web Push to
  subscribed phones, by email otherwise, in the patient's language; "Stop these reminders"
  turns all reminders off. Caregivers receiving the patient's reminders get "<child> has a
  visit tomorrow" (no clinic name), one per child, in their language.

The send re-checks, under the row lock, that the delivery is still claimed, reminders still on
and the review date still tomorrow (a dermatologist may have moved it since the claim).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Patient
from careplans.models import ClinicVisit, PlanRevision

from .channels import PushMessage, ReminderMessage
from .models import DEFAULT_TIME, EVERY_DAY, Delivery, ReminderSettings
from .timing import ReminderTiming, due_local_date, local_date_at, reminder_instant

SUBJECT = gettext_lazy("Your visit tomorrow")


def visit_reminders_due(now: datetime) -> list[tuple[int, date]]:
    """(patient id, patient-local date) of everyone due a visit reminder at ``now``: one query
    per time zone in use, like ``services.due_patients``."""
    from .services import _each_zone

    zones = (Patient.objects.filter(is_active=True).order_by("timezone")
             .values_list("timezone", flat=True).distinct())

    def due_in(zone: str) -> list[tuple[int, date]]:
        local_now = now.astimezone(ZoneInfo(zone))
        today = local_now.date()
        current = PlanRevision.objects.filter(
            plan__patient=OuterRef("pk"), number=OuterRef("care_plan__current_number"))
        rows = (
            Patient.objects.filter(timezone=zone, is_active=True, user__is_active=True)
            .annotate(
                r_enabled=Coalesce("reminder_settings__enabled", Value(True)),
                r_time=Coalesce("reminder_settings__local_time", Value(DEFAULT_TIME)),
                reviews_on=Subquery(current.values("reviews_on")[:1]),
                revision_from=Subquery(current.values("effective_from")[:1]),
                seen_since=Exists(ClinicVisit.objects.filter(
                    patient=OuterRef("pk"), happened_on__gt=OuterRef("revision_from"))),
                claimed=Exists(Delivery.objects.filter(
                    patient=OuterRef("pk"), local_date=today, kind=Delivery.Kind.VISIT)),
            )
            .filter(r_enabled=True, r_time__lte=local_now.time().replace(tzinfo=None),
                    reviews_on=today + timedelta(days=1), seen_since=False, claimed=False)
            .order_by().values_list("pk", "r_time")
        )
        # The exact call across daylight-saving edges (every weekday: see the module doc).
        return [(pk, today) for pk, at in rows
                if due_local_date(now, ReminderTiming(True, at, EVERY_DAY, zone)) == today]

    return _each_zone(zones, due_in)


def _mark_sent(reminder: object, visit_on: date, now: datetime) -> bool:
    """Mark the claimed visit reminder sent if reminders are still on and the review date is
    still ``visit_on``: one UPDATE, which locks the row (a concurrent send waits, then finds it
    sent)."""
    current = PlanRevision.objects.filter(
        plan__patient_id=reminder.patient_id, plan__current_number=F("number"),
        reviews_on=visit_on)
    turned_off = ReminderSettings.objects.filter(patient_id=reminder.patient_id, enabled=False)
    if not current.exists() or turned_off.exists():
        return False  # read first, then the conditional UPDATE re-checks the claim itself
    return Delivery.objects.filter(pk=reminder.pk, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.SENT, sent_at=now, attempts=F("attempts") + 1) == 1


def visit_reminder_send(*, reminder: object, now: datetime) -> str:
    """Send one claimed visit reminder (``services.ClaimedReminder``) at most once: "sent", or
    "skipped" when it is no longer due (reminders turned off, the review date moved)."""
    from .services import (
        _site,
        _skip,
        caregivers_remind,
        push_outcome_record,
        recipients_of_reminder,
        reminder_deliver,
        unsubscribe_link_issue,
    )

    recipients = recipients_of_reminder(reminder, now=now)
    if not recipients.anyone:
        return _skip(reminder.pk, Delivery.SkipReason.NO_RECIPIENT)
    # The caregivers' emails first, each claimed and committed on its own (as the daily's).
    caregivers_remind(reminder=reminder, links=recipients.caregivers, now=now)
    pushed: list = []
    try:
        with transaction.atomic():
            visit_on = reminder.local_date + timedelta(days=1)
            if not _mark_sent(reminder, visit_on, now):
                off = ReminderSettings.objects.filter(patient_id=reminder.patient_id,
                                                      enabled=False).exists()
                return _skip(reminder.pk, Delivery.SkipReason.TURNED_OFF if off
                             else Delivery.SkipReason.NOTHING_DUE)
            clinic = (Patient.objects.filter(pk=reminder.patient_id)
                      .values_list("clinic__name", flat=True).get())
            url = _site(reverse("my_plan"))

            def push() -> PushMessage:
                return PushMessage(
                    title=gettext("Alliance Portal"),
                    body=gettext("Your visit with %(clinic)s is tomorrow.") % {"clinic": clinic},
                    url=url, ttl=_until_midnight(reminder, now))

            def email() -> ReminderMessage:
                token = unsubscribe_link_issue(patient_id=reminder.patient_id, now=now)
                unsubscribe_url = _site(reverse("reminders_unsubscribe", args=[token]))
                body = render_to_string("reminders/email/visit.txt", {
                    "first_name": reminder.first_name, "clinic": clinic, "day": visit_on,
                    "plan_url": url, "unsubscribe_url": unsubscribe_url,
                })
                return ReminderMessage(to=reminder.email, subject=str(SUBJECT), body=body,
                                       unsubscribe_url=unsubscribe_url)

            if recipients.patient:
                with translation.override(reminder.language or settings.LANGUAGE_CODE):
                    reminder_deliver(reminder, push=push, email=email, pushed=pushed)
            return Delivery.Status.SENT
    finally:
        for outcome in pushed:
            push_outcome_record(outcome=outcome, now=now)


def _until_midnight(reminder: object, now: datetime) -> int:
    """Seconds a push service may hold it: until the end of the patient's day (of the reminder's
    date), at least a minute."""
    midnight = reminder_instant(local_date_at(now, reminder.timezone) + timedelta(days=1),
                                datetime.min.time(), reminder.timezone)
    return max(60, int((midnight - now).total_seconds()))
