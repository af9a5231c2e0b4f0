"""The portal's record as FHIR R4 (4.0.1) resources, defined once.

Every producer (the read API, the bulk export, a patient's "Download my data") goes through
these functions; each takes plain rows and returns the resource as a JSON-ready dict.

SKELETON: only ``patient_resource`` exists yet; the rest of the mapping is being written.
"""

from __future__ import annotations

from typing import Any

FHIR_VERSION = "4.0.1"
US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"


def patient_resource(row: Any) -> dict[str, Any]:
    """Patient (US Core Patient: identifier, name, gender)."""
    return {
        "resourceType": "Patient",
        "id": str(row.pk),
        "meta": {"profile": [US_CORE_PATIENT]},
        "identifier": [{"system": "urn:alliance-portal:patient", "value": str(row.pk)}],
        "name": [{"text": row.user.get_full_name() or row.user.email}],
        "gender": "unknown",
    }
