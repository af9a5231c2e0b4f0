"""Reads scoped to the requesting user. Access control lives here, once.

A patient sees only their own record; a clinician (dermatologist or staff) sees only their
own clinic's patients. Anything outside the scope is indistinguishable from "does not exist".
"""

from __future__ import annotations

from typing import Literal

from django.db.models import QuerySet
from django.http import Http404

from .models import AuditEvent, ClinicMembership, Patient, Role, User
from .services import audit_record

PortalRole = Literal["patient", "dermatologist", "staff"]


def membership_of(user: User) -> ClinicMembership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except ClinicMembership.DoesNotExist:
        return None


def patient_of(user: User) -> Patient | None:
    if not user.is_authenticated:
        return None
    try:
        return user.patient
    except Patient.DoesNotExist:
        return None


def role_of(user: User) -> PortalRole | None:
    # Patients first: they make most requests (one query instead of two on the check-in path).
    if patient_of(user) is not None:
        return "patient"
    membership = membership_of(user)
    if membership is not None:
        return "dermatologist" if membership.role == Role.DERMATOLOGIST else "staff"
    return None


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """The one scope every patient-data read starts from."""
    membership = membership_of(user)
    if membership is not None:
        return Patient.objects.filter(clinic_id=membership.clinic_id)
    patient = patient_of(user)
    if patient is not None:
        return Patient.objects.filter(pk=patient.pk)
    return Patient.objects.none()


def clinic_patients_for(user: User) -> QuerySet[Patient]:
    """Patients listed on clinician pages; empty for anyone who is not a clinician."""
    if membership_of(user) is None:
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
