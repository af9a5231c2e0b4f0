"""The patient page's "Family and caregivers": the date of birth, the tier it gives today, and
each caregiver link with its standing (read through ``accounts.caregiving``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _

from accounts.caregiving import (
    CareAccess,
    Tier,
    age_on,
    care_access,
    links_of_patient,
    patient_tier,
)
from accounts.models import CaregiverLink, Patient


@dataclass(frozen=True)
class FamilyCard:
    date_of_birth: date | None
    age: int | None
    tier_text: str
    current: list[CareAccess]
    ended: list[CaregiverLink]


def tier_text(patient: Patient, *, today: date) -> str:
    """The patient's tier today, in words, with the clinic's ages."""
    clinic = patient.clinic
    if patient.date_of_birth is None:
        return _("Date of birth not recorded: treated as an adult (caregivers only with the "
                 "patient's permission).")
    tier = patient_tier(patient, today=today)
    if tier == Tier.CHILD:
        return _("Child (under %(teen)s): caregivers see the whole record.") % {
            "teen": clinic.caregiver_teen_age}
    if tier == Tier.TEEN:
        return _("Teenager (%(teen)s to %(last)s): caregivers see the plan, check-ins, reminders "
                 "and messages not marked private, while the patient agrees.") % {
            "teen": clinic.caregiver_teen_age, "last": clinic.caregiver_adult_age - 1}
    return _("Adult (%(adult)s or over): caregivers only with the patient's permission.") % {
        "adult": clinic.caregiver_adult_age}


def family_card(patient: Patient, *, now: datetime) -> FamilyCard:
    today = patient.local_date(now)
    links = list(links_of_patient(patient).select_related("ended_by"))
    return FamilyCard(
        date_of_birth=patient.date_of_birth,
        age=age_on(patient.date_of_birth, today) if patient.date_of_birth else None,
        tier_text=tier_text(patient, today=today),
        current=[care_access(link, now=now) for link in links if link.ended_at is None],
        ended=[link for link in links if link.ended_at is not None],
    )
