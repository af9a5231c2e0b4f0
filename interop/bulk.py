"""FHIR Bulk Data export (Bulk Data Access IG v2): a clinic's system client asks for the whole
clinic (``Group/<clinic>/$export`` or ``Patient/$export``), a task writes one NDJSON file per
resource type, the client polls the status URL and downloads the files until they expire.

Files live in ``settings.EXPORTS_DIR / "bulk" / <export id>`` (directories 0700, files 0600).
A run writes into a directory of its own (``<id>.partial-<random>``) and renames it into place
when it marks the export done, under the export's row lock: a run that crashed leaves only a
partial directory behind, a duplicate run (a redelivered task) finds the export done and
throws its own copy away, and a cancelled export is never revived by a run still going.

Every patient in an export's reach gets one audit event (``object_type`` ``api_read_*``, the
whole record, like an API read, so "Who viewed my record" and the clinic's log name the app;
``object_id`` the export's id), written when the export is done.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import AuditEvent, Patient, User
from accounts.record_visits import api_read_type
from accounts.services import audit_clinics
from core.services import safe_enqueue
from interop.auth import FhirAccess
from interop.models import BulkExport, ExportStatus
from interop.selectors import RESOURCE_TYPES, resources_of

logger = logging.getLogger(__name__)

# ``_outputFormat`` values the IG lists for NDJSON; the default is the first.
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
KICK_OFF_PARAMETERS = frozenset({"_type", "_since", "_outputFormat"})
# A queued export older than this has lost its task (broker down): the sweep enqueues it again.
LOST_TASK_AFTER = timedelta(minutes=5)
# A run still "running" this long after its request lost its worker (the task's own time limit
# is 30 minutes): it is run again from the start.
STALLED_RUN_AFTER = timedelta(hours=1)
# An export is a read of the whole record by the app, audited as the API's reads are.
EXPORT_AUDIT_TYPE = api_read_type("*")
AUDIT_BATCH = 2000
# How often (in resources written) a run records its progress and checks it was not cancelled.
PROGRESS_EVERY = 5000
FILE_SUFFIX = ".ndjson"


class ExportRequestError(ValueError):
    """A kick-off the server does not accept: 400 with an OperationOutcome saying why."""


class ExportForbidden(PermissionError):
    """The token's scopes do not allow a requested type (or any type): 403."""


@dataclass(frozen=True)
class ExportRequest:
    resource_types: tuple[str, ...]
    since: datetime | None


def export_request_parse(*, params: Mapping[str, str], access: FhirAccess) -> ExportRequest:
    """The kick-off's parameters, checked. Raises ``ExportRequestError`` (unknown parameter,
    type or format, a ``_since`` that is no instant) or ``ExportForbidden`` (a requested type
    outside the token's ``system/<Type>.s`` scopes, or no exportable type at all)."""
    unknown = sorted(set(params) - KICK_OFF_PARAMETERS)
    if unknown:
        raise ExportRequestError(f"Unsupported parameter: {unknown[0]}")
    output_format = params.get("_outputFormat", OUTPUT_FORMATS[0])
    if output_format not in OUTPUT_FORMATS:
        raise ExportRequestError(f"Unsupported _outputFormat; use {OUTPUT_FORMATS[0]}.")
    since = None
    if "_since" in params:
        since = parse_datetime(params["_since"])
        if since is None or since.tzinfo is None:
            raise ExportRequestError("_since must be a FHIR instant with a time zone, "
                                     "e.g. 2026-01-31T00:00:00Z.")
    if "_type" in params:
        requested = [t.strip() for t in params["_type"].split(",") if t.strip()]
        unsupported = [t for t in requested if t not in RESOURCE_TYPES]
        if not requested or unsupported:
            raise ExportRequestError(
                f"Unsupported _type: {unsupported[0] if unsupported else '(empty)'}; "
                f"supported: {','.join(RESOURCE_TYPES)}")
        refused = [t for t in requested if not access.allows(t, "s")]
        if refused:
            raise ExportForbidden(f"The token's scopes do not allow exporting {refused[0]}.")
        types = tuple(t for t in RESOURCE_TYPES if t in requested)
    else:
        types = tuple(t for t in RESOURCE_TYPES if access.allows(t, "s"))
        if not types:
            raise ExportForbidden("The token's scopes allow exporting no resource type.")
    return ExportRequest(resource_types=types, since=since)


@transaction.atomic
def bulk_export_start(*, access: FhirAccess, level: str, request_url: str,
                      request: ExportRequest) -> BulkExport:
    """Record a kick-off and enqueue its run once the row is committed."""
    from interop.bulk_tasks import bulk_export_run

    export = BulkExport.objects.create(
        application_id=access.application_id, clinic=access.clinic, patient=access.patient,
        level=level, resource_types=list(request.resource_types), since=request.since,
        request_url=request_url[:2000],
    )
    # A broker outage leaves the row queued for the sweep (exports_lost), never a 500.
    transaction.on_commit(lambda: safe_enqueue(lambda: bulk_export_run.delay(export.pk),
                                               f"bulk export {export.pk}"))
    return export


# --- Reads ---------------------------------------------------------------------------------

def bulk_exports_visible(*, access: FhirAccess, now: datetime) -> QuerySet[BulkExport]:
    """The caller's own exports (the requesting client's, never another's, even of the same
    clinic) that have not expired: anything else is a 404."""
    return (BulkExport.objects.filter(application_id=access.application_id,
                                      clinic=access.clinic)
            .exclude(status=ExportStatus.EXPIRED)
            .exclude(expires_at__lte=now))


def export_directory(export_id: int) -> Path:
    return Path(settings.EXPORTS_DIR) / "bulk" / str(export_id)


def export_file_path(export: BulkExport, file_name: str) -> Path | None:
    """The file ``file_name`` of a done export, or None when it lists no such file."""
    if export.status != ExportStatus.DONE:
        return None
    if file_name not in {entry["name"] for entry in export.files}:
        return None
    path = export_directory(export.pk) / file_name
    return path if path.is_file() else None


def bulk_export_manifest(*, export: BulkExport, file_url: Any) -> dict[str, Any]:
    """The completed export's manifest; ``file_url(name)`` is a file's absolute URL.

    ``transactionTime`` is when the export was requested: every change up to then is in the
    files (the run starts later), so a client's next ``_since`` misses nothing."""
    return {
        "transactionTime": export.created_at.isoformat().replace("+00:00", "Z"),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [{"type": entry["type"], "url": file_url(entry["name"]),
                    "count": entry["count"]} for entry in export.files],
        "error": [],
    }


# --- The run -------------------------------------------------------------------------------

def _private_directory(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_ndjson(path: Path, resources: Iterable[dict[str, Any]], on_progress) -> int:
    """Write one resource a line, streamed; the number written."""
    count = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # No circular check: the mapping makes plain trees (the check costs a dict entry per node).
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False,
                              separators=(",", ":")).encode
    with open(descriptor, "w", encoding="utf-8", buffering=1 << 20) as out:
        for resource in resources:
            out.write(encode(resource))
            out.write("\n")
            count += 1
            if count % PROGRESS_EVERY == 0:
                on_progress()
    return count


class _Cancelled(Exception):
    """The export was cancelled (or finished by another run) while this run was writing."""


def _export_patients(export: BulkExport) -> QuerySet[Patient]:
    found = Patient.objects.filter(clinic_id=export.clinic_id)
    return found.filter(pk=export.patient_id) if export.patient_id else found


def bulk_export_run(*, export_id: int) -> None:
    """Run one export (the task's body). Idempotent: a done, failed, expired or unknown export
    is left alone; a queued one, or one left running by a crashed run, is written afresh."""
    with transaction.atomic():
        export = (BulkExport.objects.select_for_update().filter(pk=export_id)
                  .exclude(status__in=(ExportStatus.DONE, ExportStatus.FAILED,
                                       ExportStatus.EXPIRED)).first())
        if export is None:
            return
        export.status, export.progress = ExportStatus.RUNNING, 0
        export.save(update_fields=["status", "progress"])
    root = export_directory(export.pk)
    _private_directory(root.parent)
    partial = root.parent / f"{export.pk}.partial-{uuid.uuid4().hex}"
    _private_directory(partial)
    try:
        files = _write_files(export, partial)
        _finish(export, partial=partial, files=files)
    except _Cancelled:
        shutil.rmtree(partial, ignore_errors=True)
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        # The class only: a message may quote a value from the record.
        logger.error("bulk export %s failed (%s)", export.pk, type(error).__name__)
        if BulkExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
                status=ExportStatus.FAILED, error="The export could not be completed.",
                finished_at=timezone.now()):
            _remove_files(export.pk)
        raise


def _write_files(export: BulkExport, directory: Path) -> list[dict[str, Any]]:
    patients = _export_patients(export)
    clinic = export.clinic
    types = [t for t in RESOURCE_TYPES if t in export.resource_types]
    files = []
    for done, resource_type in enumerate(types):
        percent = int(100 * done / len(types))

        def still_running(percent: int = percent) -> None:
            if not BulkExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
                    progress=percent):
                raise _Cancelled

        still_running()
        name = f"{resource_type}{FILE_SUFFIX}"
        count = _write_ndjson(directory / name, resources_of(
            resource_type=resource_type, clinic=clinic, patients=patients, since=export.since),
            still_running)
        if count:
            files.append({"type": resource_type, "name": name, "count": count})
        else:
            (directory / name).unlink()  # the IG: no file for a type with no resources
    return files


@transaction.atomic
def _finish(export: BulkExport, *, partial: Path, files: list[dict[str, Any]]) -> None:
    """Mark the export done, put its files in place and audit it, unless it was cancelled or
    finished by another run meanwhile."""
    locked = BulkExport.objects.select_for_update().filter(
        pk=export.pk, status=ExportStatus.RUNNING).first()
    if locked is None:
        raise _Cancelled
    now = timezone.now()
    final = export_directory(export.pk)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    locked.status, locked.progress, locked.files = ExportStatus.DONE, 100, files
    locked.finished_at = now
    locked.expires_at = now + timedelta(hours=settings.BULK_EXPORT_HOURS)
    locked.save(update_fields=["status", "progress", "files", "finished_at", "expires_at"])
    _audit_export(locked, now=now)


def _audit_export(export: BulkExport, *, now: datetime) -> None:
    """One "viewed" event per patient in the export's reach, as ``audit_record`` writes it,
    the actor the client's service account (or the patient, for a patient's app)."""
    actor = _export_actor(export)
    rows = _export_patients(export).only("pk", "clinic_id").order_by("pk").iterator(
        chunk_size=AUDIT_BATCH)
    batch: list[AuditEvent] = []
    for patient in rows:
        clinic_id, actor_clinic_id = audit_clinics(actor=actor, patient=patient)
        batch.append(AuditEvent(
            at=now, actor=actor, patient_id=patient.pk, clinic_id=clinic_id,
            actor_clinic_id=actor_clinic_id, action=AuditEvent.Action.VIEW,
            object_type=EXPORT_AUDIT_TYPE, object_id=str(export.application_id),
            allowed=True))
        if len(batch) == AUDIT_BATCH:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)


def _export_actor(export: BulkExport) -> User:
    """The audited actor, with their membership (or its absence) loaded once, so that
    ``audit_clinics`` asks nothing per patient."""
    if export.patient_id:
        user_id = Patient.objects.filter(pk=export.patient_id).values_list("user_id", flat=True)
        found = Q(pk__in=user_id)
    else:
        found = Q(fhir_client__application_id=export.application_id)
    return User.objects.select_related("membership").get(found)


# --- Cancel and expire ---------------------------------------------------------------------

def _remove_files(export_id: int) -> None:
    root = export_directory(export_id)
    shutil.rmtree(root, ignore_errors=True)
    for partial in root.parent.glob(f"{export_id}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


@transaction.atomic
def bulk_export_cancel(*, export: BulkExport) -> None:
    """The client's DELETE: a run still going stops at its next check, the files go. The row
    stays (expired) as the record of the request."""
    BulkExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.EXPIRED, error="Cancelled by the client.", progress=0,
        files=[], expires_at=timezone.now())
    transaction.on_commit(lambda: _remove_files(export.pk))


def bulk_export_expire(*, export_id: int, now: datetime) -> None:
    """An export past its ``expires_at``: files deleted, status expired."""
    with transaction.atomic():
        updated = BulkExport.objects.filter(pk=export_id, expires_at__lte=now).exclude(
            status=ExportStatus.EXPIRED).update(status=ExportStatus.EXPIRED, files=[])
    if updated:
        _remove_files(export_id)


def exports_to_expire(*, now: datetime) -> list[int]:
    return list(BulkExport.objects.filter(expires_at__lte=now).exclude(
        status=ExportStatus.EXPIRED).order_by("pk").values_list("pk", flat=True))


def exports_lost(*, now: datetime) -> list[int]:
    """Queued exports whose task never ran (the broker lost it), and runs whose worker was lost
    (still running an hour after the request): both are run (again) from the start."""
    queued = Q(status=ExportStatus.QUEUED, created_at__lte=now - LOST_TASK_AFTER)
    stalled = Q(status=ExportStatus.RUNNING, created_at__lte=now - STALLED_RUN_AFTER)
    return list(BulkExport.objects.filter(queued | stalled)
                .order_by("pk").values_list("pk", flat=True))
