"""Patients see who viewed their record: the clinic's people, their roles, when, and what.

Only allowed reads by clinic members are listed (refused attempts and changes are the clinic's
audit log, ``clinic/audit_views.py``), and only the signed-in patient's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.keyset import keyset_page

from .decorators import patient_required
from .models import AuditEvent, Patient
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
}


def describe_access(object_type: str) -> str:
    return str(WHAT_WAS_VIEWED.get(object_type, _("Your record")))


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    name: str
    role: str
    what: str


def record_reads_of(patient: Patient) -> QuerySet[AuditEvent]:
    """Allowed reads of ``patient``'s record by clinic members, newest first, in one query per
    page, through the ``(patient, -at, -id)`` index."""
    return (
        AuditEvent.objects.filter(
            patient=patient, action=AuditEvent.Action.VIEW, allowed=True,
            actor__membership__isnull=False,
        )
        .select_related("actor__membership")
        .order_by("-at", "-id")
    )


def _row(event: AuditEvent) -> AccessRow:
    return AccessRow(
        at=event.at,  # shown in the patient's zone (core.viewer_timezone)
        name=event.actor.display_name,
        role=event.actor.membership.get_role_display(),
        what=describe_access(event.object_type),
    )


@patient_required
def access_log(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    page = keyset_page([record_reads_of(patient)], size=PAGE_SIZE,
                       before=request.GET.get("before"), after=request.GET.get("after"))
    rows = [_row(event) for event in page.items]
    return render(request, "accounts/access_log.html",
                  {"page": page, "rows": rows, "patient": patient})
