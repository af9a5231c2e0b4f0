"""What the drills expect, computed from the data in the database, and what they count after.

Expectations are read with plain queries, and flags with the per-patient reference evaluator
(``tests.flags.reference``, not the set-based sweep under test); never from what the processes
report.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db.models import Count, F
from django.utils import timezone

from accounts.caregiving import Section, care_access
from accounts.models import Patient
from careplans.models import ClinicVisit, PlanRevision
from careplans.selectors import steps_due_on
from checkins.models import AttentionRequest, CheckIn
from flags.models import Flag, FlagEvent, Rule
from reminders.models import Delivery, ReminderSettings
from tests.flags.reference import reference


def emails_by_recipient(outbox: Path) -> Counter:
    """Messages per recipient in the file backend's outbox (a file may hold several)."""
    recipients: Counter = Counter()
    for message in outbox.glob("*.log") if outbox.exists() else []:
        for line in message.read_text().splitlines():
            if line.startswith("To: "):
                recipients[line[4:].strip()] += 1
    return recipients


def remind_all_day(patients) -> None:
    """Reminders at 00:00 every day: each patient is due all day unless checked in, so the
    expectation does not depend on the hour the drill runs at."""
    ReminderSettings.objects.filter(patient__in=patients).delete()
    ReminderSettings.objects.bulk_create(
        ReminderSettings(patient=patient, local_time=clock(0, 0)) for patient in patients)


def reminders_expected() -> tuple[set[int], set[str], set[int]]:
    """(patients due a Delivery row today, addresses due an email, patients whose reminder is
    sent): a plan in effect on their local today and no check-in that day; an email only if
    some step is due that day, to the patient if they have a mailbox and to each caregiver
    whose access opens the reminders (one a caregiver and evening however many children: the
    demo's parent keeps the default combined reminder); sent when anyone receives it."""
    due, emailed, sent = set(), set(), set()
    for patient in Patient.objects.filter(is_active=True).select_related("user", "clinic"):
        today = patient.local_today()
        in_effect = PlanRevision.objects.filter(plan__patient=patient,
                                                effective_from__lte=today).exists()
        if not in_effect or CheckIn.objects.filter(patient=patient, local_date=today).exists():
            continue
        due.add(patient.pk)
        if steps_due_on(patient, today)[1]:
            addresses = _reminded(patient)
            emailed |= addresses
            if addresses:
                sent.add(patient.pk)
    return due, emailed, sent


def _reminded(patient: Patient) -> set[str]:
    """The addresses a patient's reminder goes to today."""
    addresses = {patient.user.email} if patient.user.has_mailbox else set()
    for link in patient.caregiver_links.filter(ended_at__isnull=True, receives_reminders=True
                                               ).select_related("caregiver"):
        if care_access(link, now=timezone.now()).opens(Section.REMINDERS):
            addresses.add(link.caregiver.email)
    return addresses


def visit_reminders_expected() -> set[str]:
    """Addresses due a visit reminder today: the current plan's review is tomorrow in the
    patient's calendar, reminders are on, and no visit was recorded since the plan."""
    emailed = set()
    for revision in PlanRevision.objects.filter(
            plan__current_number=F("number")).select_related("plan__patient__user"):
        patient = revision.plan.patient
        if revision.reviews_on != patient.local_today() + timedelta(days=1):
            continue
        if ReminderSettings.objects.filter(patient=patient, enabled=False).exists() or (
                ClinicVisit.objects.filter(patient=patient,
                                           happened_on__gt=revision.effective_from).exists()):
            continue
        emailed |= _reminded(patient)
    return emailed


def reminder_outcome(outbox: Path) -> dict[str, object]:
    """The daily reminders' rows and statuses, the visit reminders' statuses, and every email
    (of both) per recipient."""
    daily = Delivery.objects.filter(kind=Delivery.Kind.DAILY)
    rows = Counter(daily.values_list("patient_id", flat=True))
    return {
        "rows": sum(rows.values()),
        "patients": set(rows),
        "duplicate_rows": sum(n - 1 for n in rows.values()),
        "status": Counter(daily.values_list("status", flat=True)),
        "visit_status": Counter(Delivery.objects.filter(kind=Delivery.Kind.VISIT)
                                .values_list("status", flat=True)),
        "emails": emails_by_recipient(outbox),
    }


def flags_expected(*, now: datetime, clinic_ids: list[int] | None = None,
                   with_attention: bool = False) -> set[tuple[int, str]]:
    """(patient, rule) of every flag the data calls for: the rules' findings at ``now`` and,
    if the attention requests are processed too, one severe-side-effect flag per patient."""
    keys = {(f.patient_id, f.rule) for f in reference(now, clinic_ids)}
    if with_attention:
        keys |= {(pk, Rule.SEVERE_SIDE_EFFECT) for pk in AttentionRequest.objects.filter(
            kind=AttentionRequest.Kind.SEVERE_SIDE_EFFECT).values_list("patient_id", flat=True)}
    return keys


def flag_outcome() -> dict[str, object]:
    per_key = Counter(Flag.objects.values_list("patient_id", "rule"))
    events = dict(FlagEvent.objects.values_list("kind").annotate(n=Count("id")))
    sweep_evidence = FlagEvent.objects.filter(kind=FlagEvent.Kind.EVIDENCE).exclude(
        flag__rule=Rule.SEVERE_SIDE_EFFECT).count()
    return {
        "flags": sum(per_key.values()),
        "keys": set(per_key),
        "duplicates": sum(n - 1 for n in per_key.values()),
        "opened_events": events.get(FlagEvent.Kind.OPENED, 0),
        "sweep_evidence_events": sweep_evidence,
    }


def zones_in_use() -> set[str]:
    return set(Patient.objects.values_list("timezone", flat=True))


def clear_of_boundaries(zones: set[str], *, hourly: bool = False, margin: float = 180) -> float:
    """Wait until no patient's local date (or, ``hourly``, local hour) changes within
    ``margin`` seconds: a drill compares expectations computed at one instant with work done
    over the next minutes. Returns the seconds waited (rarely any)."""
    now = datetime.now(UTC)
    soonest = min(_next_boundary(now, ZoneInfo(zone), hourly) for zone in zones)
    if soonest > margin:
        return 0.0
    time.sleep(soonest + 2)
    return soonest + 2


def _next_boundary(now: datetime, zone: ZoneInfo, hourly: bool) -> float:
    local = now.astimezone(zone)
    if hourly:
        start = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    else:
        start = datetime.combine(local.date() + timedelta(days=1), clock(0), tzinfo=zone)
    return (start - local).total_seconds()
