"""Server-rendered SVG charts of a patient's check-in history (placeholder until implemented)."""

from accounts.models import Patient


def history_context(patient: Patient, *, audience: str) -> dict:
    return {"patient": patient, "audience": audience}
