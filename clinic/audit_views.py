"""The clinic's audit log: who opened or changed which patient's record, and every sign-in of the
clinic's people. Searchable by patient, by person and by date; each view of it is audited too.

Scope: events about the clinic's patients, and events by the clinic's members. A member's refused
attempt at another clinic's patient is listed without that patient's name. Pages are "Newer /
Older" from a cursor (core/keyset.py): no page counts the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.caregiving import caregiver_labels
from accounts.decorators import clinician_required
from accounts.models import AuditEvent, ClinicMembership, Patient, User
from accounts.record_visits import API_READ_PREFIX, app_label, app_names, is_api_read
from accounts.selectors import membership_of
from accounts.services import audit_record
from core.keyset import keyset_page

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


# A name matching more of the clinic's patients or people than this is read as a subquery.
MAX_RESOLVED_IDS = 500


def _resolved(ids: QuerySet) -> list[int] | QuerySet:
    """``ids`` as a list when short (the planner then reads each id's events through its
    index); as a subquery when a name matches more people than that."""
    first = list(ids[:MAX_RESOLVED_IDS + 1])
    return first if len(first) <= MAX_RESOLVED_IDS else ids


def clinic_audit_events(membership: ClinicMembership, filters: dict) -> list[QuerySet[AuditEvent]]:
    """The clinic's events matching ``filters`` (cleaned form data), as disjoint querysets whose
    union is the log: events of the clinic (``clinic``), and its members' refused attempts at
    other clinics' patients (``actor_clinic``). Each is served by its ``(…, -at, -id)`` index.

    A name is first resolved to the clinic's own patients or people (a small query on patients
    or users of this clinic only), then their events are read by id. Dates are the clinic's
    calendar days. Everything a row shows is joined here, so a page costs the same queries
    however long the log is.
    """
    clinic_id = membership.clinic_id
    ours = AuditEvent.objects.filter(clinic_id=clinic_id)
    members_elsewhere = AuditEvent.objects.filter(actor_clinic_id=clinic_id)
    if filters.get("patient"):
        # Only this clinic's patients can be found by name; their events are the clinic's.
        patient_ids = _resolved(Patient.objects.filter(clinic_id=clinic_id).filter(
            _name_matches("user__", filters["patient"])).order_by().values_list("pk", flat=True))
        ours = ours.filter(patient_id__in=patient_ids)
        members_elsewhere = members_elsewhere.none()
    if filters.get("actor"):
        actor_ids = _resolved(User.objects.filter(membership__clinic_id=clinic_id).filter(
            _name_matches("", filters["actor"])).order_by().values_list("pk", flat=True))
        ours = ours.filter(actor_id__in=actor_ids)
        members_elsewhere = members_elsewhere.filter(actor_id__in=actor_ids)
    zone = membership.clinic.zone
    if filters.get("date_from"):
        start = _day_start(filters["date_from"], zone)
        ours = ours.filter(at__gte=start)
        members_elsewhere = members_elsewhere.filter(at__gte=start)
    if filters.get("date_to"):
        end = _day_start(filters["date_to"] + timedelta(days=1), zone)
        ours = ours.filter(at__lt=end)
        members_elsewhere = members_elsewhere.filter(at__lt=end)
    return [events.select_related("actor__membership", "patient__user")
            for events in (ours, members_elsewhere)]


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    actor_role: str
    action: str
    what: str
    patient: str
    allowed: bool


# Caregivers' events (accounts.decorators.caregiver_gate and the caregiver services), in words.
CAREGIVER_EVENTS = {
    "caregiver_checkins": "check-ins, as a caregiver",
    "caregiver_plan": "care plan, as a caregiver",
    "caregiver_reminders": "reminders, as a caregiver",
    "caregiver_messages": "messages, as a caregiver",
    "caregiver_photos": "skin photos, as a caregiver",
    "caregiver_access_log": "access log, as a caregiver",
    "caregiver_profile": "About me, as a caregiver",
    "patient_login": "patient's own sign-in",
    "caregiver_link": "caregiver access",
    "caregiver_assent": "teenager's answer about a caregiver",
    "caregiver_grant": "adult's permission for a caregiver",
    "patient_date_of_birth": "date of birth",
}


def _role(event: AuditEvent, clinic_id: int, labels: dict[tuple[int, int], str]) -> str:
    try:
        membership = event.actor.membership
    except ClinicMembership.DoesNotExist:
        if event.patient is not None and event.actor_id != event.patient.user_id:
            label = labels.get((event.patient_id, event.actor_id))
            if label is not None:  # "Caregiver (Mum)": who, for the patient on the row
                return f"Caregiver ({label})"
        return "Patient"
    role = membership.get_role_display()
    return role if membership.clinic_id == clinic_id else f"{role}, another clinic"


def _api_row(event: AuditEvent, patient: str, apps: dict[str, str]) -> AuditRow:
    """A read through the FHIR API: the app is named, with who let it in."""
    by_patient = event.patient is not None and event.actor_id == event.patient.user_id
    return AuditRow(
        at=event.at, actor=app_label(apps.get(event.object_id, "")),
        actor_role="App the patient allowed" if by_patient else "The clinic's system client",
        action=event.get_action_display(),
        what=f"{event.object_type.removeprefix(API_READ_PREFIX)} (FHIR API)",
        patient=patient, allowed=event.allowed,
    )


def _row(event: AuditEvent, clinic_id: int, labels: dict[tuple[int, int], str],
         apps: dict[str, str]) -> AuditRow:
    patient = ""
    if event.patient is not None:
        patient = (event.patient.user.display_name if event.patient.clinic_id == clinic_id
                   else OTHER_CLINIC)
    if is_api_read(event):
        return _api_row(event, patient, apps)
    return AuditRow(
        at=event.at,  # shown in the clinic's zone (core.viewer_timezone)
        actor=event.actor.display_name if event.actor else "Unknown",
        actor_role=_role(event, clinic_id, labels) if event.actor else "",
        action=event.get_action_display(),
        what=CAREGIVER_EVENTS.get(event.object_type, event.object_type.replace("_", " ")),
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
    page = keyset_page(clinic_audit_events(membership, filters), size=PAGE_SIZE,
                       before=request.GET.get("before"), after=request.GET.get("after"))
    # Caregivers named as the patient's record names them: one query for the page.
    labels = caregiver_labels({event.patient_id for event in page.items
                               if event.patient_id is not None})
    apps = app_names(page.items)  # the apps behind API reads: one query for the page
    rows = [_row(event, membership.clinic_id, labels, apps) for event in page.items]
    query = request.GET.copy()
    for key in ("before", "after", "page"):
        query.pop(key, None)
    return render(request, "clinic/audit_log.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "clinic": membership.clinic,
    })
