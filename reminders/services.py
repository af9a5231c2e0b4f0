"""Reminder dispatch: select due patients set-based, claim a delivery row, send at most once."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import CaregiverLink, Patient, User
from careplans.models import PlanRevision
from checkins.models import CheckIn
from checkins.selectors import schedules_on
from core.periodic import each_isolated

from .channels import (
    CHANNELS,
    PUSH,
    PushMessage,
    PushOutcome,
    PushServiceUnavailable,
    PushTarget,
    ReminderMessage,
)
from .models import (
    DEFAULT_TIME,
    EVERY_DAY,
    CaregiverReminderSettings,
    Channel,
    Delivery,
    PushSubscription,
    ReminderSettings,
    UnsubscribeLink,
)
from .selectors import (
    CareCircle,
    Recipients,
    care_circle_of,
    children_to_remind,
    combines_reminders,
    reminder_recipients,
)
from .timing import ReminderTiming, due_local_date, local_date_at, reminder_instant

logger = logging.getLogger(__name__)

# Names no condition or treatment: subjects show on lock screens and in inbox lists.
SUBJECT = gettext_lazy("Your Alliance Portal check-in")
# An unsubscribe link works this long after its email was sent.
UNSUBSCRIBE_LINK_DAYS = 60


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
    zones = (
        Patient.objects.filter(is_active=True).order_by("timezone")  # no Meta.ordering in DISTINCT
        .values_list("timezone", flat=True).distinct()
    )

    def due_in(zone: str) -> list[tuple[int, date]]:
        local_now = now.astimezone(ZoneInfo(zone))
        local_date = local_now.date()
        rows = _candidates(zone, local_date, local_now.time().replace(tzinfo=None))
        return [(pk, local_date) for pk, local_time, weekdays in rows
                if due_local_date(now, ReminderTiming(True, local_time, weekdays, zone))
                == local_date]

    return _each_zone(zones, due_in)


def _each_zone(zones: Iterable[str],
               due_in: Callable[[str], list[tuple[int, date]]]) -> list[tuple[int, date]]:
    """``due_in`` for every zone in use; a zone that fails (a stored name that is not a zone) is
    logged and left out, and the patients of every other zone are reminded."""
    return [due for in_zone in each_isolated(
        zones, due_in, task="reminders dispatch", what=lambda _zone: "patients in one time zone")
        for due in in_zone]


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


def follow_ups_due(now: datetime) -> list[tuple[int, date]]:
    """(patient id, yesterday's local date) of everyone due a next-morning follow-up at ``now``:
    their clinic sends them, yesterday's reminder was sent, yesterday is still unlogged and
    reminders are still on. One query per time zone in use, like ``due_patients``."""
    zones = (Patient.objects.filter(is_active=True, clinic__reminder_follow_up=True)
             .order_by("timezone").values_list("timezone", flat=True).distinct())

    def due_in(zone: str) -> list[tuple[int, date]]:
        local_now = now.astimezone(ZoneInfo(zone))
        today, yesterday = local_now.date(), local_now.date() - timedelta(days=1)
        rows = (
            Delivery.objects.filter(
                kind=Delivery.Kind.DAILY, status=Delivery.Status.SENT, local_date=yesterday,
                patient__timezone=zone, patient__is_active=True, patient__user__is_active=True,
                patient__clinic__reminder_follow_up=True,
                patient__clinic__reminder_follow_up_time__lte=local_now.time().replace(
                    tzinfo=None),
            )
            .annotate(
                reminders_on=Coalesce("patient__reminder_settings__enabled", Value(True)),
                checked_in=Exists(CheckIn.objects.filter(
                    patient=OuterRef("patient_id"), local_date=yesterday)),
                followed_up=Exists(Delivery.objects.filter(
                    patient=OuterRef("patient_id"), local_date=yesterday,
                    kind=Delivery.Kind.FOLLOW_UP)),
            )
            .filter(reminders_on=True, checked_in=False, followed_up=False)
            .order_by().values_list("patient_id", "patient__clinic__reminder_follow_up_time")
        )
        # The exact call across daylight-saving edges.
        return [(patient_id, yesterday) for patient_id, at in rows
                if now >= reminder_instant(today, at, zone)]

    return _each_zone(zones, due_in)


def reminders_claim(*, now: datetime) -> list[int]:
    """Insert-or-skip a delivery row for every due reminder and follow-up; returns the ids
    this run claimed."""
    token = uuid.uuid4()
    from .visit_reminders import visit_reminders_due

    wanted = [(Delivery.Kind.DAILY, due) for due in due_patients(now)] + [
        (Delivery.Kind.FOLLOW_UP, due) for due in follow_ups_due(now)] + [
        (Delivery.Kind.VISIT, due) for due in visit_reminders_due(now)]
    Delivery.objects.bulk_create(
        [Delivery(patient_id=pk, local_date=local_date, kind=kind, claim_token=token,
                  claimed_at=now)
         for kind, (pk, local_date) in wanted],
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


def recent_deliveries(patient: Patient, *, today: date, days: int = 14) -> list[Delivery]:
    """The reminders of the ``days`` days ending on ``today`` (the patient's date), newest first."""
    since = today - timedelta(days=days - 1)
    return list(Delivery.objects.filter(patient=patient, local_date__gte=since)
                .order_by("-local_date"))


class LinkState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # unknown or altered
    EXPIRED = "expired"  # older than UNSUBSCRIBE_LINK_DAYS
    STALE = "stale"  # the patient changed their reminder settings after it was sent


@dataclass(frozen=True)
class UnsubscribeCheck:
    state: LinkState
    patient: Patient | None = None
    # Set for a caregiver's link: it stops that caregiver's reminders for ``patient`` only.
    caregiver_link: CaregiverLink | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_link_issue(*, patient_id: int, now: datetime,
                           caregiver_link_id: int | None = None) -> str:
    """A new link token for one email: 32 random bytes, URL-safe. Nothing in it can be decoded
    (no id, no signature over readable data); the database keeps its hash and issue time.
    With ``caregiver_link_id``: a caregiver's link, for that child's reminders to them."""
    token = secrets.token_urlsafe(32)
    UnsubscribeLink.objects.create(patient_id=patient_id, token_hash=_token_hash(token),
                                   issued_at=now, caregiver_link_id=caregiver_link_id)
    return token


def unsubscribe_link_check(token: str, *, now: datetime) -> UnsubscribeCheck:
    """Whose link this is, if it still works at ``now``: unexpired, and issued after the
    patient last changed their reminder settings (so an old email cannot undo a later
    choice, e.g. turn reminders off again after they were turned back on)."""
    link = (UnsubscribeLink.objects.select_related(
        "patient__reminder_settings", "patient__user",
        "caregiver_link__caregiver__caregiver_reminder_settings")
            .filter(token_hash=_token_hash(token)).first())
    if link is None:
        return UnsubscribeCheck(LinkState.INVALID)
    if now - link.issued_at > timedelta(days=UNSUBSCRIBE_LINK_DAYS):
        return UnsubscribeCheck(LinkState.EXPIRED)
    if link.caregiver_link is not None:
        # Stale once the caregiver changed their reminder choices after the email was sent.
        try:
            changed = link.caregiver_link.caregiver.caregiver_reminder_settings.updated_at
        except ObjectDoesNotExist:
            changed = None
        if changed is not None and changed > link.issued_at:
            return UnsubscribeCheck(LinkState.STALE)
        return UnsubscribeCheck(LinkState.VALID, link.patient, link.caregiver_link)
    current = getattr(link.patient, "reminder_settings", None)
    if current is not None and current.updated_at > link.issued_at:
        return UnsubscribeCheck(LinkState.STALE)
    return UnsubscribeCheck(LinkState.VALID, link.patient)


def reminders_turn_off(*, patient: Patient) -> None:
    ReminderSettings.objects.update_or_create(patient=patient, defaults={"enabled": False})


def caregiver_reminders_stop(*, link: CaregiverLink) -> None:
    """A caregiver's unsubscribe link: that child's reminders stop coming to that caregiver;
    the child's own reminders and the caregiver's other children's are unchanged."""
    CaregiverLink.objects.filter(pk=link.pk).update(receives_reminders=False)


@transaction.atomic
def caregiver_reminders_choose(*, link: CaregiverLink, receives: bool, combined: bool) -> None:
    """A caregiver's choices on a child's Reminders page: whether this child's reminders come
    to them (the link's own), and one reminder for all their children or one per child (theirs,
    once for all). Their earlier emails' unsubscribe links stop working (changed since)."""
    CaregiverLink.objects.filter(pk=link.pk).update(receives_reminders=receives)
    link.receives_reminders = receives
    CaregiverReminderSettings.objects.update_or_create(caregiver_id=link.caregiver_id,
                                                       defaults={"combined": combined})


def _site(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@dataclass(frozen=True)
class ClaimedReminder:
    """A claimed delivery with what its message needs, read in one statement."""

    pk: int
    patient_id: int
    local_date: date
    kind: str
    channel: str
    timezone: str
    first_name: str
    email: str
    clinician: str
    goal: str  # empty unless the patient chose to have it quoted (ReminderSettings.include_goal)
    name_steps: bool  # the clinic's Clinic.reminder_step_names
    language: str = ""  # the patient's choice (User.language); blank: the portal's default
    # False for a young child's record without a login: nothing goes to that address.
    has_mailbox: bool = True
    # A current link asks for this patient's reminders; ``care`` holds the caregivers then.
    may_have_caregivers: bool = False
    care: CareCircle | None = None

    def too_late(self, now: datetime) -> bool:
        """A reminder about a day is only sent on that day; a follow-up on the morning after.
        (A broker outage or a crash across the patient's midnight must not send a reminder
        about "today" that is yesterday.)"""
        days_after = 1 if self.kind == Delivery.Kind.FOLLOW_UP else 0
        last_day = self.local_date + timedelta(days=days_after)
        return local_date_at(now, self.timezone) > last_day


def reminder_message(reminder: ClaimedReminder, step_names: list[str], *,
                     unsubscribe_token: str) -> ReminderMessage:
    unsubscribe_url = _site(reverse("reminders_unsubscribe", args=[unsubscribe_token]))
    template = ("reminders/email/follow_up.txt" if reminder.kind == Delivery.Kind.FOLLOW_UP
                else "reminders/email/reminder.txt")
    # Email is not a secure channel: no step (medicine) names unless the clinic opted in, no
    # goal unless the patient did; the count alone says there is something to log.
    # In the patient's language: a worker has no request to take one from.
    with translation.override(reminder.language or settings.LANGUAGE_CODE):
        body = render_to_string(template, {
            "first_name": reminder.first_name, "clinician": reminder.clinician,
            "goal": reminder.goal, "steps": step_names if reminder.name_steps else [],
            "step_count": len(step_names),
            "day": reminder.local_date,
            "checkin_url": _site(f"{reverse('today')}?date={reminder.local_date.isoformat()}"),
            "unsubscribe_url": unsubscribe_url,
        })
        subject = str(SUBJECT)
    return ReminderMessage(to=reminder.email, subject=subject, body=body,
                           unsubscribe_url=unsubscribe_url)


def reminder_send(*, delivery_id: int, now: datetime) -> str:
    """Send one claimed reminder at most once, as of ``now``: "sent", "skipped" or
    "nothing to do".

    Three reads (the delivery with what the message needs; the revision in effect and its
    steps that day), then one transaction: a conditional UPDATE that marks it sent, the send,
    the commit. A transient channel error propagates (the task retries it with backoff); the
    mark is rolled back.
    """
    reminder = _claimed(delivery_id)
    if reminder is None:
        return "nothing to do"  # sent, skipped or failed already: a duplicate or a retry
    ((reminder, step_names),) = _with_steps_and_care([reminder])
    return reminder_send_claimed(reminder=reminder, step_names=step_names, now=now)


def reminders_claimed(*, delivery_ids: list[int]) -> list[tuple[ClaimedReminder, list[str]]]:
    """The deliveries among ``delivery_ids`` still claimed, each with its step names due that
    day, for a partition: three reads whatever their number, three more when a caregiver may
    receive one of them, whatever the number of caregivers (read without a lock, as
    ``reminder_send`` reads one: the send re-checks under the row lock)."""
    rows = _claimed_columns(Delivery.objects.filter(
        pk__in=delivery_ids, status=Delivery.Status.CLAIMED).order_by("pk"))
    return _with_steps_and_care([_claimed_of(row) for row in rows])


def _with_steps_and_care(reminders: list[ClaimedReminder]
                         ) -> list[tuple[ClaimedReminder, list[str]]]:
    """Each reminder with its step names that day, and, when a caregiver may receive any of
    them, the caregivers' ``CareCircle`` (``reminders.selectors.care_circle_of``): two reads
    for the steps, three more for every caregiver and their other children, whatever their
    number; none more for a partition of patients without caregivers."""
    cared_for = [(r.patient_id, r.local_date) for r in reminders if r.may_have_caregivers]
    circle, pairs = care_circle_of(cared_for) if cared_for else (None, set())
    own = [(r.patient_id, r.local_date) for r in reminders]
    schedules = schedules_on(list(dict.fromkeys([*own, *sorted(pairs)])))
    if circle is not None:
        circle = replace(circle, due=frozenset(pair for pair in pairs if schedules[pair][1]))
    return [(replace(r, care=circle) if r.may_have_caregivers else r,
             list(dict.fromkeys(step.item.name for step in schedules[(
                 r.patient_id, r.local_date)][1])))
            for r in reminders]


def reminder_send_claimed(*, reminder: ClaimedReminder, step_names: list[str],
                          now: datetime) -> str:
    """``reminder_send`` once the reminder and its steps are read (``reminders_claimed``)."""
    if reminder.too_late(now):
        return _skip(reminder.pk, Delivery.SkipReason.TOO_LATE)
    if reminder.kind == Delivery.Kind.VISIT:  # the day before a visit: reminders/visit_reminders
        from .visit_reminders import visit_reminder_send

        return visit_reminder_send(reminder=reminder, now=now)
    return _send_one(reminder, step_names, now)


def _claimed_columns(deliveries: QuerySet) -> QuerySet:
    # Whether a caregiver may receive it: only then are the caregivers read
    # (``_with_care_circle``), so a partition of patients without any costs no query more.
    return deliveries.annotate(may_have_caregivers=Exists(CaregiverLink.objects.filter(
        patient=OuterRef("patient_id"), ended_at__isnull=True, receives_reminders=True,
    ))).values_list(
        "pk", "patient_id", "local_date", "kind", "channel", "patient__timezone",
        "patient__user__first_name",
        "patient__user__email", "patient__dermatologist__first_name",
        "patient__dermatologist__last_name", "patient__dermatologist__email",
        "patient__profile__what_matters", "patient__reminder_settings__include_goal",
        "patient__clinic__reminder_step_names", "patient__user__language",
        "may_have_caregivers",
    )


def _claimed_query(delivery_id: int) -> QuerySet:
    return _claimed_columns(
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.CLAIMED)).order_by()[:1]


@functools.cache
def _claimed_compiled(vendor: str) -> tuple[str, tuple]:
    """``_claimed_query`` compiled by the ORM once per process and database: it runs once per
    reminder, and compiling its four joins cost 0.7 ms of CPU, fourteen times running it.
    The SQL and its constant leading parameters (the caregiver link's ``receives_reminders``);
    the last two are the delivery id and the claimed status."""
    sql, params = _claimed_query(0).query.sql_with_params()
    leading, last = list(params[:-2]), list(params[-2:])
    if last != [0, Delivery.Status.CLAIMED] or leading not in ([True], [1]):
        raise ImproperlyConfigured(f"Unexpected parameters for the claimed read: {params}")
    return sql, tuple(leading)


def _claimed_sql(vendor: str) -> str:
    return _claimed_compiled(vendor)[0]


def _claimed(delivery_id: int) -> ClaimedReminder | None:
    """The delivery if still claimed (read without a lock: the send re-checks under the row
    lock), or None."""
    with connection.cursor() as cursor:
        sql, leading = _claimed_compiled(connection.vendor)
        cursor.execute(sql, [*leading, delivery_id, Delivery.Status.CLAIMED])
        row = cursor.fetchone()
    return None if row is None else _claimed_of(row)


def _claimed_of(row: tuple) -> ClaimedReminder:
    (pk, patient_id, local_date, kind, channel, zone, first_name, email,
     c_first, c_last, c_email, goal, include_goal, name_steps, language,
     may_have_caregivers) = row
    clinician = get_user_model()(first_name=c_first, last_name=c_last, email=c_email)
    return ClaimedReminder(
        pk=pk, patient_id=patient_id, kind=kind, channel=channel, timezone=zone,
        first_name=first_name, email=email,
        local_date=Delivery._meta.get_field("local_date").to_python(local_date),
        clinician=clinician.display_name, goal=(goal or "") if include_goal else "",
        name_steps=bool(name_steps), language=language or "",
        has_mailbox=User(email=email).has_mailbox,
        may_have_caregivers=bool(may_have_caregivers),
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


def _mark_sent(delivery_id: int, now: datetime) -> bool:
    """Mark the delivery sent if it is still claimed, not checked in for meanwhile and reminders
    are still on; False otherwise. The UPDATE locks the row and re-reads it, so a concurrent
    send of the same delivery waits and then finds it sent."""
    params = [Delivery.Status.SENT, connection.ops.adapt_datetimefield_value(now),
              delivery_id, Delivery.Status.CLAIMED, False]
    with connection.cursor() as cursor:
        cursor.execute(MARK_SENT_SQL, params)
        return cursor.rowcount == 1


def _send_one(reminder: ClaimedReminder, step_names: list[str], now: datetime) -> str:
    """Mark sent first, send last, then commit. The conditional UPDATE is the claim check: it
    locks the row and re-reads its status, so a concurrent send of the same delivery waits,
    then finds it sent. A failed send rolls the mark back. The only window for a duplicate
    (killed after the message left, before COMMIT) is one round trip; SMTP cannot close it.

    Caregivers receiving it are emailed first, each claimed and committed on its own
    (``caregivers_remind``); a patient without a mailbox of their own gets nothing, and with
    nobody to remind the delivery is skipped (``NO_RECIPIENT``).

    The one delivery goes to the patient's phones if push is configured and they subscribed
    one, by email otherwise, or if no phone took it and none may later (every subscription
    gone or refused). What the push services answered is recorded after the transaction, so
    a retry's rollback keeps it."""
    if not step_names:
        return _skip(reminder.pk, Delivery.SkipReason.NOTHING_DUE)
    recipients = recipients_of_reminder(reminder, now=now)
    if not recipients.anyone:
        return _skip(reminder.pk, Delivery.SkipReason.NO_RECIPIENT)
    caregivers_remind(reminder=reminder, links=recipients.caregivers, now=now)
    pushed: list[PushOutcome] = []
    try:
        with transaction.atomic():
            if not _mark_sent(reminder.pk, now):
                return _skip_changed(reminder.pk)
            if recipients.patient:
                reminder_deliver(
                    reminder, pushed=pushed, push=lambda: push_message(reminder, now),
                    email=lambda: reminder_message(reminder, step_names, unsubscribe_token=(
                        unsubscribe_link_issue(patient_id=reminder.patient_id, now=now))))
            return Delivery.Status.SENT
    finally:
        for outcome in pushed:
            push_outcome_record(outcome=outcome, now=now)


def recipients_of_reminder(reminder: ClaimedReminder, *, now: datetime) -> Recipients:
    """Who receives this reminder (``reminders.selectors.reminder_recipients``), from what the
    partition read: no query."""
    return reminder_recipients(
        patient_id=reminder.patient_id, has_mailbox=reminder.has_mailbox,
        circle=reminder.care or CareCircle(), now=now)


# --- Caregivers' reminders ---------------------------------------------------------------------

# The claim of one caregiver email, inserted only while the child's reminder is still claimed
# and due (not checked in, except for a visit; reminders on), and never twice: a per-child row
# or the combined one (``CaregiverDelivery``'s two unique constraints) already there inserts
# nothing. Plain SQL for its conditional INSERT ... SELECT; the same text on PostgreSQL and
# SQLite (its WHERE keeps SQLite's parser from reading ON CONFLICT as a join's).
CAREGIVER_CLAIM_SQL = """
INSERT INTO reminders_caregiverdelivery
    (caregiver_id, patient_id, local_date, kind, delivery_id, sent_at)
SELECT %s, %s, d.local_date, d.kind, d.id, %s FROM reminders_delivery d
WHERE d.id = %s AND d.status = %s
  AND (d.kind = %s OR NOT EXISTS (SELECT 1 FROM checkins_checkin c
                                  WHERE c.patient_id = d.patient_id
                                    AND c.local_date = d.local_date))
  AND NOT EXISTS (SELECT 1 FROM reminders_remindersettings s
                  WHERE s.patient_id = d.patient_id AND s.enabled = %s)
ON CONFLICT DO NOTHING
"""


def _caregiver_claim(reminder: ClaimedReminder, link: CaregiverLink, *, combined: bool,
                     now: datetime) -> bool:
    params = [link.caregiver_id, None if combined else reminder.patient_id,
              connection.ops.adapt_datetimefield_value(now), reminder.pk,
              Delivery.Status.CLAIMED, Delivery.Kind.VISIT, False]
    with connection.cursor() as cursor:
        cursor.execute(CAREGIVER_CLAIM_SQL, params)
        return cursor.rowcount == 1


def caregivers_remind(*, reminder: ClaimedReminder, links: Iterable[CaregiverLink],
                      now: datetime) -> int:
    """Email each caregiver in ``links`` the child's reminder, each claimed and committed on its
    own before the child's own send (``_send_one``), so a transient failure retries only who is
    left: a retry finds the ones sent claimed. A daily reminder goes as one email naming every
    child the caregiver helps whose check-in is still to do (``children_to_remind``) unless
    they chose one per child; a sibling's reminder later that evening then sends them nothing.
    Returns the number sent."""
    sent = 0
    for link in links:
        combined = reminder.kind == Delivery.Kind.DAILY and combines_reminders(link.caregiver)
        children = (children_to_remind(link, local_date=reminder.local_date,
                                       circle=reminder.care or CareCircle(), now=now)
                    if combined else [link.patient])
        links_by_child = {other.patient_id: other for other in (
            reminder.care.links_by_caregiver[link.caregiver_id] if reminder.care else [link])}
        with transaction.atomic():
            if not _caregiver_claim(reminder, link, combined=combined, now=now):
                continue  # sent already (a retry, a sibling's combined email) or no longer due
            CHANNELS[Channel.EMAIL].send(caregiver_message(
                reminder, caregiver=link.caregiver,
                children=[(child, links_by_child.get(child.pk, link)) for child in children],
                now=now))
        sent += 1
    return sent


def child_name(patient: Patient) -> str:
    return patient.user.first_name or patient.user.display_name


def names_list(names: list[str]) -> str:
    """"Mia", "Mia and Leo", "Mia, Leo and Ava" (in the active language)."""
    if len(names) < 2:
        return "".join(names)
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]),
                                                 "last": names[-1]}


def caregiver_message(reminder: ClaimedReminder, *, caregiver: User,
                      children: list[tuple[Patient, CaregiverLink]],
                      now: datetime) -> ReminderMessage:
    """A caregiver's email: whose check-in (or visit) it is and the link to choose them
    (``/caring/``), in the caregiver's language; never a step, medicine, condition or goal
    (not even when the clinic names steps: those go to the patient alone). One unsubscribe
    link per child, each stopping that child's reminders to this caregiver only."""
    unsubscribe = [
        (child_name(child), _site(reverse("reminders_unsubscribe", args=[
            unsubscribe_link_issue(patient_id=child.pk, now=now, caregiver_link_id=link.pk)])))
        for child, link in children]
    names = [name for name, _url in unsubscribe]
    with translation.override(caregiver.language or settings.LANGUAGE_CODE):
        if reminder.kind == Delivery.Kind.VISIT:
            subject = gettext("%(name)s's visit tomorrow") % {"name": names[0]}
        elif reminder.kind == Delivery.Kind.FOLLOW_UP:
            subject = gettext("%(name)s's check-in from yesterday is still open") % {
                "name": names[0]}
        elif len(names) > 1:
            subject = gettext("Time for check-ins: %(names)s") % {"names": names_list(names)}
        else:
            subject = gettext("Time for %(name)s's check-in") % {"name": names[0]}
        body = render_to_string("reminders/email/caregiver.txt", {
            "first_name": caregiver.first_name, "kind": reminder.kind, "subject": subject,
            "names": names_list(names), "day": reminder.local_date,
            "visit_day": reminder.local_date + timedelta(days=1),
            "caring_url": _site(reverse("caregiver_choose")), "unsubscribe": unsubscribe,
        })
    # The mail client's one-click unsubscribe only for an email about one child: a combined
    # email's links are one per child, in its text.
    return ReminderMessage(to=caregiver.email, subject=subject, body=body,
                           unsubscribe_url=unsubscribe[0][1] if len(unsubscribe) == 1 else "")


def reminder_deliver(reminder: ClaimedReminder, *, push: Callable[[], PushMessage],
                     email: Callable[[], ReminderMessage], pushed: list[PushOutcome]) -> None:
    """Deliver one reminder already marked sent (inside the caller's transaction): to the
    patient's phones if push is configured and they subscribed one, by email otherwise, or if
    no phone took it and none may later (every subscription gone or refused). What the push
    services answered is appended to ``pushed`` for the caller to record after its
    transaction (a retry's rollback keeps it); ``PushServiceUnavailable`` asks for a retry."""
    if targets := _push_targets(reminder.patient_id):
        outcome = PUSH.send(targets, push())
        pushed.append(outcome)
        if outcome.delivered:
            Delivery.objects.filter(pk=reminder.pk).update(channel=Channel.PUSH)
            return
        if outcome.unavailable:
            raise PushServiceUnavailable
    CHANNELS[reminder.channel].send(email())


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


# --- Push subscriptions (reminders on the patient's phones) ------------------------------------

def push_subscription_save(*, patient: Patient, endpoint: str, p256dh: str, auth: str,
                           now: datetime) -> PushSubscription:
    """Record (or refresh) one browser's subscription for ``patient``. An endpoint is one
    browser profile: if another patient subscribed it before (a shared phone), it is theirs no
    longer, so their reminders stop going to a phone someone else now uses."""
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"patient": patient, "p256dh": p256dh, "auth": auth, "failure_count": 0},
        create_defaults={"patient": patient, "p256dh": p256dh, "auth": auth, "created_at": now},
    )
    return subscription


def push_subscription_delete(*, patient: Patient, endpoint: str) -> int:
    """Forget one of ``patient``'s subscriptions (never another patient's); the number deleted."""
    deleted, _ = PushSubscription.objects.filter(patient=patient, endpoint=endpoint).delete()
    return deleted


# Consecutive failed pushes (no success between) after which a subscription is dropped: several
# days of retried reminders, so a push service's outage of a day or two loses nobody.
PUSH_MAX_FAILURES = 20


def _push_targets(patient_id: int) -> list[PushTarget]:
    if not settings.WEBPUSH_ENABLED:
        return []
    return [PushTarget(*row) for row in PushSubscription.objects.filter(patient_id=patient_id)
            .order_by("pk").values_list("pk", "endpoint", "p256dh", "auth")]


def push_message(reminder: ClaimedReminder, now: datetime) -> PushMessage:
    """The push for one reminder: that a check-in is waiting, and the link to it; nothing
    about the patient's care (lock screens, shared phones). Held by the push service until
    the end of the patient's day at most: a reminder about a day is no use the next. In the
    patient's language, as the email is."""
    with translation.override(reminder.language or settings.LANGUAGE_CODE):
        title = gettext("Alliance Portal")
        body = (gettext("Yesterday's check-in is still open.")
                if reminder.kind == Delivery.Kind.FOLLOW_UP
                else gettext("Time for your check-in."))
    url = _site(f"{reverse('today')}?date={reminder.local_date.isoformat()}")
    midnight = reminder_instant(local_date_at(now, reminder.timezone) + timedelta(days=1),
                                datetime.min.time(), reminder.timezone)
    ttl = max(60, int((midnight - now).total_seconds()))
    return PushMessage(title=title, body=body, url=url, ttl=ttl)


def push_outcome_record(*, outcome: PushOutcome, now: datetime) -> None:
    """Subscriptions that took the push are healthy again; gone ones (404/410) are deleted;
    refused or unreachable ones count a failure, and go after ``PUSH_MAX_FAILURES`` in a row."""
    if outcome.delivered:
        PushSubscription.objects.filter(pk__in=outcome.delivered).update(
            last_success_at=now, failure_count=0)
    if outcome.gone:
        PushSubscription.objects.filter(pk__in=outcome.gone).delete()
    if outcome.failed:
        PushSubscription.objects.filter(pk__in=outcome.failed).update(
            failure_count=F("failure_count") + 1)
        PushSubscription.objects.filter(pk__in=outcome.failed,
                                        failure_count__gte=PUSH_MAX_FAILURES).delete()

