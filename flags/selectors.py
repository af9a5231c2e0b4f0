"""Reads of flags, scoped to the requesting clinician's clinic (others see nothing)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import AuditEvent, User
from accounts.selectors import membership_of, patient_record_for_clinician

from .models import Flag


def flags_visible_to(user: User) -> QuerySet[Flag]:
    membership = membership_of(user)
    if membership is None:
        return Flag.objects.none()
    return Flag.objects.filter(clinic_id=membership.clinic_id)


def flag_for_clinician(*, user: User, flag_id: int,
                       action: str = AuditEvent.Action.VIEW) -> Flag:
    """One flag of the user's clinic, its patient's record read audited; otherwise 404."""
    flag = flags_visible_to(user).select_related("patient", "assigned_to").filter(
        pk=flag_id).first()
    if flag is None:
        if membership_of(user) is not None:
            from accounts.services import audit_record

            audit_record(actor=user, patient=None, action=action, object_type="flag",
                         object_id=str(flag_id), allowed=False)
        raise Http404
    flag.patient = patient_record_for_clinician(
        user=user, patient_id=flag.patient_id, action=action, object_type="flag",
        object_id=str(flag.pk),
    )
    return flag
