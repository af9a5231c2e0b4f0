"""Reads scoped to the requesting user. Access control lives here, once.

A patient sees only their own record; a clinician (dermatologist or staff) sees only their
own clinic's patients. A clinic administrator sees no record in the portal: they run their
clinic in the admin site, scoped by ``administered_clinic_id``. Anything outside the scope is
indistinguishable from "does not exist".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from django.db.models import QuerySet
from django.http import Http404

from .models import (
    CLINICIAN_ROLES,
    AuditEvent,
    CaregiverLink,
    ClinicMembership,
    Patient,
    Role,
    User,
)
from .services import audit_record

PortalRole = Literal["patient", "dermatologist", "staff", "admin", "caregiver"]
ROLE_BY_MEMBERSHIP: dict[str, PortalRole] = {
    Role.DERMATOLOGIST: "dermatologist", Role.STAFF: "staff", Role.ADMIN: "admin",
}


def membership_of(user: User) -> ClinicMembership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except ClinicMembership.DoesNotExist:
        return None


def clinician_membership_of(user: User) -> ClinicMembership | None:
    """The membership of a dermatologist or clinic staff member: the ones who read records."""
    membership = membership_of(user)
    return membership if membership is not None and membership.role in CLINICIAN_ROLES else None


def administered_clinic_id(user: User) -> int | None:
    """The clinic a clinic administrator runs in the admin site; None for everyone else
    (a platform operator is a superuser, not a clinic administrator)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    membership = membership_of(user)
    return membership.clinic_id if membership is not None and membership.role == Role.ADMIN \
        else None


def patient_of(user: User) -> Patient | None:
    """The patient whose pages the user is on: a caregiver's chosen patient while acting for
    them (``ActingForMiddleware`` sets ``acting_for``, an open ``CareAccess``), else the user's
    own record."""
    if not user.is_authenticated:
        return None
    acting = getattr(user, "acting_for", None)
    if acting is not None:
        return acting.patient
    return own_patient_of(user)


def own_patient_of(user: User) -> Patient | None:
    """The user's own patient record, whoever they are acting for."""
    if not user.is_authenticated:
        return None
    try:
        return user.patient
    except Patient.DoesNotExist:
        return None


def acting_caregiver_link(user: User) -> CaregiverLink | None:
    """The caregiver link behind the current request when a caregiver acts for a patient."""
    acting = getattr(user, "acting_for", None)
    return acting.link if acting is not None else None


def role_of(user: User) -> PortalRole | None:
    # Patients first: they make most requests (one query instead of two on the check-in path).
    # A caregiver acting for a patient uses the patient pages, within what their tier opens.
    if patient_of(user) is not None:
        return "patient"
    membership = membership_of(user)
    if membership is not None:
        return ROLE_BY_MEMBERSHIP.get(membership.role)
    if user.is_authenticated and user.is_caregiver:
        return "caregiver"
    return None


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """The one scope every patient-data read starts from."""
    membership = clinician_membership_of(user)
    if membership is not None:
        return Patient.objects.filter(clinic_id=membership.clinic_id)
    patient = patient_of(user)
    if patient is not None:
        return Patient.objects.filter(pk=patient.pk)
    return Patient.objects.none()


def clinic_patients_for(user: User) -> QuerySet[Patient]:
    """Patients listed on clinician pages; empty for anyone who is not a clinician."""
    if clinician_membership_of(user) is None:
        return Patient.objects.none()
    return patients_visible_to(user).select_related("user", "dermatologist")


def patient_record_for_clinician(
    *,
    user: User,
    patient_id: int,
    action: str = AuditEvent.Action.VIEW,
    object_type: str = "patient",
    object_id: str = "",
    roles: tuple[PortalRole, ...] = ("dermatologist", "staff"),
) -> Patient:
    """A clinician's door to one patient's record: scoped, and audited whether allowed or not.

    ``roles`` narrows who may pass (e.g. only dermatologists change a plan). Raises Http404 for
    anything outside the user's clinic or role, so a refused request looks like a missing one.
    """
    if membership_of(user) is None:
        raise Http404
    patient = clinic_patients_for(user).filter(pk=patient_id).first()
    allowed = patient is not None and role_of(user) in roles
    audit_record(
        actor=user,
        patient=patient or Patient.objects.filter(pk=patient_id).first(),
        action=action,
        object_type=object_type,
        object_id=object_id or str(patient_id),
        allowed=allowed,
    )
    if not allowed:
        raise Http404
    return patient


# A teenager is asked again this long before their yes runs out.
ASSENT_ASK_AHEAD = timedelta(days=14)


def assent_questions(user: User, *, now: datetime) -> list:
    """The caregivers a teenager (their own login) is asked about now: each current link
    waiting for their yes, or whose yes runs out within ``ASSENT_ASK_AHEAD``. Empty for
    anyone else (and for a caregiver acting for someone: it is the teenager's question)."""
    from .caregiving import Standing, Tier, care_access, links_of_patient, patient_tier

    if getattr(user, "acting_for", None) is not None:
        return []
    patient = own_patient_of(user)
    if patient is None:
        return []
    today = patient.local_date(now)
    if patient_tier(patient, today=today) != Tier.TEEN:
        return []
    questions = []
    for link in links_of_patient(patient).filter(ended_at__isnull=True):
        access = care_access(link, now=now)
        if access.standing == Standing.NEEDS_ASSENT:
            questions.append(access)
        elif access.standing == Standing.OPEN:
            latest = link.assents.order_by("-answered_at", "-id").first()
            if latest is not None and latest.valid_until - today <= ASSENT_ASK_AHEAD:
                questions.append(access)
    return questions
