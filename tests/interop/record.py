"""A rich record for the mapping tests: every schedule kind, a medicine, check-ins with step
logs and a pulse, a flag with evidence, outreach, messages (one private thread), audit events
and a caregiver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from accounts.models import AuditEvent, Patient
from checkins.models import AlliancePulse, CheckIn, StepLog
from flags.models import Flag, Outreach
from messaging.models import Message, Thread
from tests.factories import (
    AuditEventFactory,
    CaregiverLinkFactory,
    CatalogueItemFactory,
    FlagFactory,
    PatientFactory,
    backdated_revision,
    flag_evidence,
    item_draft,
)

PLAN_START = date(2026, 9, 1)


def every_kind_of_step() -> list:
    """One step of each schedule kind (names are unique: the tests look steps up by name)."""
    return [
        item_draft(position=1, name="Doxycycline 100 mg capsule", kind="oral",
                   time_of_day="morning", ends_on=PLAN_START + timedelta(weeks=12)),
        item_draft(position=2, name="Cleanser", kind="skincare", time_of_day="both"),
        item_draft(position=3, name="Azelaic acid", frequency="weekdays", weekdays="024"),
        item_draft(position=4, name="Tretinoin 0.025% cream", frequency="every_n_days",
                   every_n_days=3),
        item_draft(position=5, name="Adapalene 0.1% gel", ramp_every_n_days=2, ramp_days=14),
        item_draft(position=6, name="Dupilumab injection", kind="injection",
                   time_of_day="morning", frequency="every_n_weeks", every_n_weeks=2,
                   window_days=3),
        item_draft(position=7, name="Photo of the face", kind="lifestyle",
                   time_of_day="morning", frequency="monthly", day_of_month=31, window_days=2),
        item_draft(position=8, name="Blood test", kind="procedure", time_of_day="morning",
                   frequency="once", starts_on=PLAN_START + timedelta(days=10), window_days=5),
        item_draft(position=9, name="Hydrocortisone 1% cream", frequency="as_needed",
                   time_of_day="evening"),
    ]


@dataclass
class Record:
    patient: Patient
    revisions: list
    checkins: list
    flag: Flag
    outreach: Outreach
    threads: list
    messages: list
    audit: list
    medicine_id: int


def rich_record(derm, *, staff, now: datetime, what_matters: str = "Clear skin for my "
                "wedding") -> Record:
    patient = PatientFactory(dermatologist=derm, date_of_birth=date(2000, 5, 17),
                             user__first_name="Ada", user__last_name="Lovelace")
    patient.user.language = "fr"
    patient.user.save(update_fields=["language"])
    from careplans.models import PatientProfile

    PatientProfile.objects.create(patient=patient, currency="GBP", what_matters=what_matters)
    CaregiverLinkFactory(patient=patient, called="Mum")
    from catalogue.models import CatalogueItem

    medicine = CatalogueItem.objects.filter(clinic=patient.clinic,
                                            name="Doxycycline 100 mg capsule").first()
    if medicine is None:  # the clinic's catalogue, shared by its patients' records
        medicine = CatalogueItemFactory(clinic=patient.clinic, kind="oral",
                                        name="Doxycycline 100 mg capsule",
                                        time_of_day="morning", monthly_cost=Decimal("5.00"))
        CatalogueItemFactory(clinic=patient.clinic, name="Gentle cleanser", kind="skincare")
    first = backdated_revision(patient, author=derm, number=1, effective_from=PLAN_START,
                               items=[item_draft(name="Emollient", kind="skincare")],
                               reason="Start simple")
    second = backdated_revision(patient, author=derm, number=2,
                                effective_from=PLAN_START + timedelta(days=7),
                                items=every_kind_of_step(), reason="Add the full routine")
    items = {item.name: item for item in second.items.all()}
    checkins = []
    for days in range(3):
        checkin = CheckIn.objects.create(
            patient=patient, local_date=date(2026, 11, 20) + timedelta(days=days),
            revision=second, steps_due=2, steps_done=1, itch=days + 3,
            satisfaction=4 if days else None, side_effect="severe" if days == 2 else "none",
            side_effect_item=items["Adapalene 0.1% gel"] if days == 2 else None,
            side_effect_text="Burning" if days == 2 else "", note="Busy day" if days else "",
            partnership_question="heard" if days == 1 else "",
            partnership=8 if days == 1 else None, updated_at=now - timedelta(days=3 - days),
            submitted_by=None if days else patient.user)
        StepLog.objects.create(checkin=checkin, item=items["Cleanser"],
                               item_key=items["Cleanser"].key, slot="morning", done=True)
        StepLog.objects.create(checkin=checkin, item=items["Cleanser"],
                               item_key=items["Cleanser"].key, slot="evening", done=False,
                               skip_reason="forgot")
        StepLog.objects.create(checkin=checkin, item=items["Hydrocortisone 1% cream"],
                               item_key=items["Hydrocortisone 1% cream"].key, slot="as_needed",
                               done=True, counted=False, taken_on=checkin.local_date)
        checkins.append(checkin)
    AlliancePulse.objects.create(checkin=checkins[0], patient=patient,
                                 local_date=checkins[0].local_date, heard=8, shared_goals=7,
                                 fits_life=6, safe_to_raise=9, total=30)
    shared = Thread.objects.create(patient=patient, clinic=patient.clinic, topic="plan",
                                   created_by=patient.user, created_at=now,
                                   last_message_at=now)
    private = Thread.objects.create(patient=patient, clinic=patient.clinic, topic="other",
                                    created_by=patient.user, created_at=now,
                                    last_message_at=now, private=True)
    messages = [
        Message.objects.create(thread=shared, author=patient.user, from_clinic=False,
                               body="Can I use the gel every night?", created_at=now,
                               plan_item_name="Adapalene 0.1% gel"),
        Message.objects.create(thread=shared, author=staff, from_clinic=True,
                               body="Every other night for two weeks first.",
                               created_at=now + timedelta(minutes=5)),
        Message.objects.create(thread=shared, author=patient.user, from_clinic=False,
                               body="Thanks!", created_at=now + timedelta(minutes=9)),
        Message.objects.create(thread=private, author=patient.user, from_clinic=False,
                               body="SECRET private question", created_at=now),
    ]
    flag = FlagFactory(patient=patient, rule="severe_side_effect", severity=3,
                       evidence={**flag_evidence(
                           "severe_side_effect", summary="Severe side effect reported",
                           numbers={"side_effect": "severe", "item": "Adapalene 0.1% gel",
                                    "steps": [1, 2], "percent": 50.0, "nested": {"n": 3},
                                    "missing": None},
                           windows=[{"label": "last 7 days", "start": "2026-11-18",
                                     "end": "2026-11-24", "signal": "low"}],
                           checkin_ids=[checkins[2].pk]),
                           "title": "Severe side effect reported",
                           "message_ids": [messages[0].pk]},
                       evidence_at=now)
    outreach = Outreach.objects.create(flag=flag, patient=patient, by=staff, at=now,
                                       channel="call", outcome="reached",
                                       note="Advised to pause the gel",
                                       message_to_patient="Please pause the gel for 3 days.")
    audit = [
        AuditEventFactory(actor=derm, patient=patient, object_type="patient", at=now),
        AuditEventFactory(actor=staff, patient=patient, object_type="photos", at=now),
        AuditEventFactory(actor=staff, patient=patient, action=AuditEvent.Action.CHANGE,
                          object_type="flag", object_id=str(flag.pk), at=now),
    ]
    return Record(patient=patient, revisions=[first, second], checkins=checkins, flag=flag,
                  outreach=outreach, threads=[shared, private], messages=messages, audit=audit,
                  medicine_id=medicine.pk)
