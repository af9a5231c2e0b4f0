"""Reads for the patient's reminder pages, and who receives a patient's reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch

from accounts.caregiving import Section, care_access
from accounts.models import CaregiverAssent, CaregiverLink, Patient, User
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


# --- Who receives a patient's reminders ------------------------------------------------------

@dataclass(frozen=True)
class CareCircle:
    """What deciding a partition's caregiver recipients needs, read set-based
    (``care_circle_of``): every current link of each caregiver who receives the reminders of
    one of its patients (theirs and their other children's), with the assents, and which of
    those children have checked in or have steps due on the reminders' dates."""

    links_by_patient: dict[int, list[CaregiverLink]] = field(default_factory=dict)
    links_by_caregiver: dict[int, list[CaregiverLink]] = field(default_factory=dict)
    checked_in: frozenset[tuple[int, date]] = frozenset()
    due: frozenset[tuple[int, date]] = frozenset()


def care_circle_of(reminders: list[tuple[int, date]]) -> tuple[CareCircle, set[tuple[int, date]]]:
    """The caregivers of ``reminders`` ((patient id, local date) each) and their other
    children: three queries whatever the number of caregivers (links, assents, check-ins), and
    the (child, date) pairs whose steps the caller reads with the reminders' own
    (``checkins.selectors.schedules_on``, ``CareCircle.due``)."""
    patient_ids = {patient_id for patient_id, _ in reminders}
    dates = {day for _, day in reminders}
    caregivers = CaregiverLink.objects.filter(
        patient_id__in=patient_ids, ended_at__isnull=True, receives_reminders=True,
    ).values("caregiver_id")
    links = list(
        CaregiverLink.objects.filter(caregiver_id__in=caregivers, ended_at__isnull=True,
                                     caregiver__is_active=True)
        .select_related("patient__user", "patient__clinic", "patient__reminder_settings",
                        "caregiver__caregiver_reminder_settings")
        .prefetch_related(Prefetch("assents", queryset=CaregiverAssent.objects.order_by()))
        .order_by("patient__date_of_birth", "patient_id")
    )
    circle = CareCircle()
    for link in links:
        circle.links_by_patient.setdefault(link.patient_id, []).append(link)
        circle.links_by_caregiver.setdefault(link.caregiver_id, []).append(link)
    children = {link.patient_id for link in links}
    checked_in = frozenset(CheckIn.objects.filter(patient_id__in=children, local_date__in=dates)
                           .order_by().values_list("patient_id", "local_date")) if links else (
        frozenset())
    pairs = {(child, day) for child in children for day in dates}
    return CareCircle(circle.links_by_patient, circle.links_by_caregiver, checked_in), pairs


def _reminders_on(patient: Patient) -> bool:
    try:
        return patient.reminder_settings.enabled
    except ObjectDoesNotExist:
        return True


def combines_reminders(caregiver: User) -> bool:
    """The caregiver's "One reminder for all the children I help" (on without a row)."""
    try:
        return caregiver.caregiver_reminder_settings.combined
    except ObjectDoesNotExist:
        return True


def caregiver_receives(link: CaregiverLink, *, now: datetime) -> bool:
    """Whether ``link``'s caregiver receives the patient's reminders at ``now``: the link is
    current and asks for them, and their access today is open and opens the reminders
    (a teenager's assent, an adult's grant: ``accounts.caregiving.care_access``)."""
    if link.ended_at is not None or not link.receives_reminders:
        return False
    return care_access(link, now=now).opens(Section.REMINDERS)


@dataclass(frozen=True)
class Recipients:
    """Who receives one reminder of a patient: the patient themself (only with a mailbox of
    their own: a young child's record may have none) and the caregivers receiving it."""

    patient: bool
    caregivers: tuple[CaregiverLink, ...]

    @property
    def anyone(self) -> bool:
        return self.patient or bool(self.caregivers)


def reminder_recipients(*, patient_id: int, has_mailbox: bool, circle: CareCircle,
                        now: datetime) -> Recipients:
    """THE definition of who receives a patient's reminders (daily, follow-up, visit), from a
    ``CareCircle`` read for many patients at once (no query here)."""
    return Recipients(patient=has_mailbox, caregivers=tuple(
        link for link in circle.links_by_patient.get(patient_id, ())
        if caregiver_receives(link, now=now)))


def recipients_of(patient: Patient, *, now: datetime) -> Recipients:
    """``reminder_recipients`` for one patient (a page)."""
    circle, _pairs = care_circle_of([(patient.pk, patient.local_date(now))])
    return reminder_recipients(patient_id=patient.pk, has_mailbox=patient.user.has_mailbox,
                               circle=circle, now=now)


def children_to_remind(link: CaregiverLink, *, local_date: date, circle: CareCircle,
                       now: datetime) -> list[Patient]:
    """The children named in the caregiver's combined reminder that ``link``'s child's reminder
    sends on ``local_date``: that child, and each other child of theirs whose reminders they
    receive, whose reminders are on and whose check-in is still to do that day (not logged,
    a step due)."""
    children = []
    for other in circle.links_by_caregiver.get(link.caregiver_id, ()):
        child = other.patient
        still_to_do = (child.is_active and child.user.is_active and _reminders_on(child)
                       and caregiver_receives(other, now=now)
                       and (child.pk, local_date) in circle.due
                       and (child.pk, local_date) not in circle.checked_in)
        if other.pk == link.pk or still_to_do:
            children.append(child)
    return children
