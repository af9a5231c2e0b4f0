"""What the FHIR API, the bulk export and a patient's "Download my data" keep.

The record itself is never copied here: resources are made from the live tables on demand
(``interop/mapping.py``). These rows say who may fetch what was produced, and until when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import Application

from accounts.models import Clinic, Patient


class ClinicClient(models.Model):
    """A clinic's registered system client (OAuth 2.0 client credentials, SMART ``system/``
    scopes): it sees that clinic's patients only.

    ``service_user`` is the client's own account (no password, no membership, no mailbox): the
    actor of its audited reads and the owner of its tokens.
    """

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="clinic_client",
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="fhir_clients")
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fhir_client",
    )
    # SMART v2 scopes this client may be granted, space-separated (e.g. "system/*.rs").
    allowed_scopes = models.CharField(max_length=500, default="system/*.rs")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.application.name


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class BulkExport(models.Model):
    """One FHIR Bulk Data ``$export`` request: its files are NDJSON, one per resource type
    (``files``: ``[{"type": ..., "name": ..., "count": ...}]``), downloadable only by the
    requesting client until ``expires_at``."""

    class Level(models.TextChoices):
        GROUP = "group", "Group"
        PATIENT = "patient", "Patient"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    # A patient-authorised app's export covers that patient only.
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    level = models.CharField(max_length=10, choices=Level.choices)
    resource_types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    status = models.CharField(max_length=10, choices=ExportStatus.choices,
                              default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    files = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Bulk export {self.pk} ({self.status})"


class PatientDataExport(models.Model):
    """A patient's "Download my data": a zip with the FHIR Bundle of their whole record and a
    readable summary, built by a task, kept ``PATIENT_EXPORT_DAYS`` days."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="data_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
    )
    status = models.CharField(max_length=10, choices=ExportStatus.choices,
                              default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The "it is ready" email, sent once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Data export {self.pk} ({self.status})"
