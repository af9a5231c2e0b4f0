"""Patients see who viewed their record: the clinic's people, their roles, when, and what.

Only allowed reads by clinic members and by caregivers acting for the patient are listed
(refused attempts and changes are the clinic's audit log, ``clinic/audit_views.py``), and only
the signed-in patient's own; repeated reads by one person are one visit
(``accounts/record_visits.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .decorators import patient_required
from .record_visits import API_READ_PREFIX, Visit, visits_page
from .selectors import patient_of

PAGE_SIZE = 25

# What a clinician opened, in the patient's words. Flags are never named to the patient.
WHAT_WAS_VIEWED = {
    "patient": _("Your record: plan, check-ins and profile"),
    "plan_history": _("Your plan's history"),
    "care_plan": _("Your care plan, to change it"),
    "patient_profile": _("Your profile, to change it"),
    "concern": _("Your concerns about the plan"),
    "flag": _("Your recent check-ins"),
    "clinic_visit": _("Your visits, to record one"),
    "photos": _("Your photo diary"),
    "photo": _("Your photos"),
    "photo_note": _("Your photos, to add a note"),
    "message_thread": _("Your messages"),
    # A caregiver acting for the patient (``caregiver_<section>``, accounts.caregiving).
    "caregiver_checkins": _("Your check-ins"),
    "caregiver_plan": _("Your plan"),
    "caregiver_reminders": _("Your reminders"),
    "caregiver_messages": _("Your messages"),
    "caregiver_photos": _("Your photo diary"),
    "caregiver_access_log": _("Who viewed your record"),
    "caregiver_profile": _("About you"),
    "caregiver_data_export": _("A download of your data"),
}


# What an app read through the FHIR API, by FHIR type, in the patient's words (the consent
# page asks with the same words: interop/scopes.py). Flags are never named to patients.
API_READ_WORDS = {
    "*": _("your whole record"),
    "Patient": _("your name and details"),
    "CarePlan": _("your care plan"),
    "Goal": _("your goal"),
    "CareTeam": _("your care team"),
    "Medication": _("the products in your plan"),
    "MedicationStatement": _("the products in your plan"),
    "Questionnaire": _("the check-in questions"),
    "QuestionnaireResponse": _("your check-ins"),
    "Observation": _("your itch and satisfaction scores"),
    "Flag": _("your clinic's notes on your check-ins"),
    "DetectedIssue": _("your clinic's notes on your check-ins"),
    "Communication": _("your messages"),
    "AuditEvent": _("who viewed your record"),
    "Provenance": _("who changed your record"),
}


def describe_access(object_type: str) -> str:
    if object_type.startswith(API_READ_PREFIX):
        words = API_READ_WORDS.get(object_type.removeprefix(API_READ_PREFIX), _("your record"))
        return capfirst(str(words))
    return str(WHAT_WAS_VIEWED.get(object_type, _("Your record")))


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    last_at: datetime
    views: int
    name: str
    role: str
    what: list[str]


def access_row(visit: Visit) -> AccessRow:
    """How one visit reads in "Who viewed my record" (and the download's summary)."""
    return AccessRow(
        at=visit.at, last_at=visit.last_at,  # shown in the patient's zone (core.viewer_timezone)
        views=visit.views, name=visit.name, role=visit.role,
        what=list(dict.fromkeys(describe_access(kind) for kind in visit.object_types)),
    )


@patient_required
def access_log(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    page, visits = visits_page(patient, before=request.GET.get("before"),
                               after=request.GET.get("after"), size=PAGE_SIZE)
    return render(request, "accounts/access_log.html",
                  {"page": page, "rows": [access_row(visit) for visit in visits],
                   "patient": patient})
