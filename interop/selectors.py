"""Reads of the record as FHIR resources, always within a queryset of patients the caller may
see (``interop/auth.py`` builds it from the token: a clinic's patients or one patient).

SKELETON: Patient only; the other types are being written (same signatures).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import Clinic, Patient
from interop import mapping

# Every type the API serves and an export may contain, in export order.
RESOURCE_TYPES: tuple[str, ...] = ("Patient",)


class SearchError(ValueError):
    """A search the API does not support (unknown parameter or bad value): 400 with an
    OperationOutcome saying which."""


def resources_of(*, resource_type: str, clinic: Clinic, patients: QuerySet[Patient],
                 since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every resource of ``resource_type`` about ``patients`` (and the clinic's shared ones:
    its Questionnaires and Medications), streamed in chunks with a bounded number of queries."""
    if resource_type == "Patient":
        for patient in patients.select_related("user").order_by("pk").iterator(chunk_size=2000):
            yield mapping.patient_resource(patient)


def resource_read(*, resource_type: str, resource_id: str, clinic: Clinic,
                  patients: QuerySet[Patient]) -> dict[str, Any] | None:
    """One resource by its FHIR id, or None when it does not exist within ``patients``."""
    if resource_type == "Patient" and resource_id.isdigit():
        patient = patients.select_related("user").filter(pk=int(resource_id)).first()
        return mapping.patient_resource(patient) if patient else None
    return None


def resource_search(*, resource_type: str, clinic: Clinic, patients: QuerySet[Patient],
                    params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The resources matching a search, within ``patients``. Raises ``SearchError``."""
    if resource_type != "Patient":
        raise SearchError(f"Searching {resource_type} is not supported.")
    unknown = set(params) - {"_id"}
    if unknown:
        raise SearchError(f"Unknown search parameter: {sorted(unknown)[0]}")
    found = patients
    if "_id" in params:
        found = found.filter(pk=int(params["_id"])) if params["_id"].isdigit() else found.none()
    return list(resources_of(resource_type="Patient", clinic=clinic, patients=found))


def patient_bundle(*, patient: Patient) -> dict[str, Any]:
    """The whole record of one patient as a FHIR Bundle (type ``collection``)."""
    entries = []
    for resource_type in RESOURCE_TYPES:
        for resource in resources_of(resource_type=resource_type, clinic=patient.clinic,
                                     patients=Patient.objects.filter(pk=patient.pk)):
            entries.append({"fullUrl": f"{resource_type}/{resource['id']}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
