"""The clinic's audit log: who opened or changed which patient's record, and every sign-in of the
clinic's people. Searchable by patient, by person and by date; each view of it is audited too.

Scope: events about the clinic's patients, and events by the clinic's members. A member's refused
attempt at another clinic's patient is listed without that patient's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import clinician_required
from accounts.models import AuditEvent, ClinicMembership
from accounts.selectors import membership_of
from accounts.services import audit_record

PAGE_SIZE = 50
OTHER_CLINIC = "A patient of another clinic"
# Searchable days: wide enough for any event, narrow enough that a day's bounds (the next
# midnight, in any timezone) stay inside Python's calendar.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)


class AuditSearchForm(forms.Form):
    patient = forms.CharField(label="Patient (name or email)", required=False, max_length=100)
    actor = forms.CharField(label="Clinic member (name or email)", required=False, max_length=100)
    date_from = forms.DateField(label="From", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean_date_from(self) -> date | None:
        return self._searchable(self.cleaned_data["date_from"])

    def clean_date_to(self) -> date | None:
        return self._searchable(self.cleaned_data["date_to"])

    @staticmethod
    def _searchable(day: date | None) -> date | None:
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(
                f"Choose a day between {EARLIEST_DAY.year} and {LATEST_DAY.year}.")
        return day

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


def _name_matches(prefix: str, text: str) -> Q:
    """Every word of ``text`` in the first name, last name or email of the user at ``prefix``."""
    query = Q()
    for word in text.split()[:5]:
        query &= (Q(**{f"{prefix}first_name__icontains": word})
                  | Q(**{f"{prefix}last_name__icontains": word})
                  | Q(**{f"{prefix}email__icontains": word}))
    return query


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def clinic_audit_events(membership: ClinicMembership, filters: dict) -> QuerySet[AuditEvent]:
    """The clinic's events matching ``filters`` (cleaned form data), newest first.

    Everything a row shows is joined here, so a page costs the same queries however long the
    log is. Dates are the clinic's calendar days.
    """
    clinic_id = membership.clinic_id
    events = AuditEvent.objects.filter(
        Q(patient__clinic_id=clinic_id) | Q(actor__membership__clinic_id=clinic_id)
    )
    if filters.get("patient"):
        # Only this clinic's patients can be found by name.
        events = events.filter(
            Q(patient__clinic_id=clinic_id) & _name_matches("patient__user__", filters["patient"])
        )
    if filters.get("actor"):
        events = events.filter(_name_matches("actor__", filters["actor"]))
    zone = membership.clinic.zone
    if filters.get("date_from"):
        events = events.filter(at__gte=_day_start(filters["date_from"], zone))
    if filters.get("date_to"):
        events = events.filter(at__lt=_day_start(filters["date_to"] + timedelta(days=1), zone))
    return events.select_related("actor__membership", "patient__user").order_by("-at", "-id")


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    actor_role: str
    action: str
    what: str
    patient: str
    allowed: bool


def _role(event: AuditEvent, clinic_id: int) -> str:
    try:
        membership = event.actor.membership
    except ClinicMembership.DoesNotExist:
        return "Patient"
    role = membership.get_role_display()
    return role if membership.clinic_id == clinic_id else f"{role}, another clinic"


def _row(event: AuditEvent, clinic_id: int) -> AuditRow:
    patient = ""
    if event.patient is not None:
        patient = (event.patient.user.display_name if event.patient.clinic_id == clinic_id
                   else OTHER_CLINIC)
    return AuditRow(
        at=event.at,  # shown in the clinic's zone (core.viewer_timezone)
        actor=event.actor.display_name if event.actor else "Unknown",
        actor_role=_role(event, clinic_id) if event.actor else "",
        action=event.get_action_display(),
        what=event.object_type.replace("_", " "),
        patient=patient,
        allowed=event.allowed,
    )


@clinician_required
def audit_log(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request.user)
    form = AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    # Reading the log is itself a read worth knowing about.
    audit_record(actor=request.user, patient=None, action=AuditEvent.Action.VIEW,
                 object_type="audit_log")
    events = clinic_audit_events(membership, filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(event, membership.clinic_id) for event in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "clinic/audit_log.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "clinic": membership.clinic,
    })
