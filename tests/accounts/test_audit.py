import pytest

from accounts.models import AuditEvent
from accounts.services import audit_record

pytestmark = pytest.mark.django_db


def test_audit_events_cannot_be_changed_or_deleted(derm, patient_a):
    # given
    event = audit_record(
        actor=derm, patient=patient_a, action="view", object_type="patient", allowed=True
    )
    # when / then
    event.allowed = False
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(allowed=False)
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).allowed is True
