"""A patient's "Download my data": one zip with the whole record as a FHIR Bundle
(``record-fhir.json``), a readable summary (``summary.html``) and a README, built by a task and
kept ``settings.PATIENT_EXPORT_DAYS`` days.

Reads and writes of ``PatientDataExport`` rows, always scoped to one patient; the zip is built
off the request (``interop.account_tasks``). Nothing here logs: the files are health data.

- One press, one export: a second press while one is queued or being prepared returns that one;
  at most ``EXPORTS_PER_DAY`` in any 24 hours (``ExportLimitReached``, nothing created).
- The task is idempotent: a queued or interrupted export is (re)built into a new temporary file
  and renamed into place; the first run to finish wins, a later one deletes its copy.
- A broker outage loses nothing: ``lost_export_ids`` finds exports whose task never ran and
  the sweep enqueues them again; exports still not done after ``GIVE_UP_AFTER`` are failed
  (the page offers a new one).
- The "it is ready" email is sent once (``notified_at``, set in the send's transaction) and
  says nothing of the record.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext

from accounts.caregiving import Section, care_access, links_of_patient
from accounts.models import AuditEvent, Patient, User
from accounts.services import audit_record
from core.faults import DATABASE_UNAVAILABLE

from .models import ExportStatus, PatientDataExport

# A patient (or their caregiver) may ask for this many downloads in any 24 hours.
EXPORTS_PER_DAY = 3
# A queued export whose task has not started after this long was lost (the broker was down).
LOST_AFTER = timedelta(minutes=5)
# An export still being prepared after this long lost its worker (killed mid-way, message gone).
STUCK_AFTER = timedelta(hours=1)
# Not done a day after the press: failed, and the page offers a new one.
GIVE_UP_AFTER = timedelta(days=1)
IN_PROGRESS = (ExportStatus.QUEUED, ExportStatus.RUNNING)
# What the build task retries (with backoff): an SMTP server or the disk briefly unavailable
# (``smtplib.SMTPException`` and connection errors are ``OSError``s), the database gone.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, *DATABASE_UNAVAILABLE)

FHIR_FILE = "record-fhir.json"
SUMMARY_FILE = "summary.html"
README_FILE = "README.txt"
# The patients' zips live apart from the clinics' bulk exports, in the same private folder.
SUBFOLDER = "patients"
PARTIAL_SUFFIX = ".part"


class ExportLimitReached(Exception):
    """The patient has asked for ``EXPORTS_PER_DAY`` downloads in the last 24 hours."""


# --- Reads ------------------------------------------------------------------------------------


def exports_of(patient: Patient) -> QuerySet[PatientDataExport]:
    """The patient's own exports, newest first: every read of an export starts here."""
    return PatientDataExport.objects.filter(patient=patient).order_by("-created_at", "-pk")


def latest_export(patient: Patient) -> PatientDataExport | None:
    return exports_of(patient).first()


def exports_left(*, patient: Patient, now: datetime) -> int:
    """How many more downloads the patient may ask for now."""
    used = exports_of(patient).filter(created_at__gt=now - timedelta(days=1)).count()
    return max(EXPORTS_PER_DAY - used, 0)


def export_file(*, patient: Patient, export_id: int, now: datetime
                ) -> tuple[PatientDataExport, Path]:
    """The patient's ready, unexpired export and its file; 404 for anyone else's, for one not
    ready, expired (even before the sweep deletes it) or whose file is gone."""
    export = exports_of(patient).filter(pk=export_id, status=ExportStatus.DONE,
                                        expires_at__gt=now).first()
    if export is None or not export.file_name:
        raise Http404
    path = exports_folder() / export.file_name
    if not path.is_file():
        raise Http404
    return export, path


def download_name(export: PatientDataExport) -> str:
    """What the browser saves it as: no name of the patient (downloads folders are shared)."""
    day = dj_timezone.localdate(export.finished_at, timezone=export.patient.zone)
    return f"my-health-record-{day.isoformat()}.zip"


def lost_export_ids(*, now: datetime) -> list[int]:
    """Exports whose task was lost: queued longer than ``LOST_AFTER`` or prepared longer than
    ``STUCK_AFTER``, and not yet given up on."""
    stale = (Q(status=ExportStatus.QUEUED, created_at__lte=now - LOST_AFTER)
             | Q(status=ExportStatus.RUNNING, created_at__lte=now - STUCK_AFTER))
    return list(PatientDataExport.objects.filter(stale, created_at__gt=now - GIVE_UP_AFTER)
                .order_by("pk").values_list("pk", flat=True)[:200])


def expired_export_ids(*, now: datetime) -> list[int]:
    return list(PatientDataExport.objects.filter(status=ExportStatus.DONE, expires_at__lte=now)
                .order_by("pk").values_list("pk", flat=True)[:500])


def export_recipients(export: PatientDataExport, *, now: datetime
                      ) -> list[tuple[User, str, str]]:
    """Who is told the download is ready: (user, whose data it is for a caregiver's email or
    "", the path to sign in to). Whoever asked for it ("that you asked for"), when they have a
    mailbox and may still download it: the patient, or a caregiver whose access still opens
    it. Nobody else (not a second parent, not a child whose parent pressed)."""
    patient, asker = export.patient, export.requested_by
    if not asker.has_mailbox:
        return []
    if asker.pk == patient.user_id:
        return [(asker, "", reverse("data_export"))]
    name = patient.user.first_name or patient.user.display_name
    links = links_of_patient(patient).filter(ended_at__isnull=True, caregiver=asker)
    return [(asker, name, reverse("caregiver_choose")) for link in links
            if care_access(link, now=now).opens(Section.DATA_EXPORT)][:1]


# --- Writes -----------------------------------------------------------------------------------


@transaction.atomic
def data_export_request(*, patient: Patient, requested_by: User, now: datetime
                        ) -> PatientDataExport:
    """Ask for a new download, or get the one already on its way. Raises
    ``ExportLimitReached`` (nothing created). The build task is enqueued after commit; a broker
    outage is logged and the sweep enqueues it later."""
    # Two presses at once (two tabs, a double tap) wait here for each other: one export.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    on_its_way = exports_of(patient).filter(status__in=IN_PROGRESS).first()
    if on_its_way is not None:
        return on_its_way
    if exports_left(patient=patient, now=now) == 0:
        raise ExportLimitReached
    export = PatientDataExport.objects.create(patient=patient, requested_by=requested_by)
    audit_record(actor=requested_by, patient=patient, action=AuditEvent.Action.CREATE,
                 object_type="data_export", object_id=str(export.pk))
    export_enqueue_after_commit(export_id=export.pk)
    return export


def export_enqueue_after_commit(*, export_id: int) -> None:
    from core.services import safe_enqueue

    from .account_tasks import data_export_build as task

    transaction.on_commit(lambda: safe_enqueue(lambda: task.delay(export_id),
                                               f"data export {export_id}"))


def data_export_build(*, export_id: int, now: datetime) -> bool:
    """Build the zip of one export and say it is ready. Idempotent: an export already done
    (or expired, failed) is left alone, apart from an email not sent yet. Returns whether
    this run built it."""
    export = _claim(export_id)
    if export is None:
        data_export_notify(export_id=export_id, now=now)
        return False
    try:
        name, size = _write_zip(export, now=now)
    except TRANSIENT_ERRORS:
        raise  # the task retries; the export stays "being prepared"
    except Exception:
        # The same record would fail again: the page says so and offers a new download.
        _mark_failed(export_id)
        raise
    if not _finish(export_id, file_name=name, size=size, now=now):
        (exports_folder() / name).unlink(missing_ok=True)  # another run finished first
        return False
    data_export_notify(export_id=export_id, now=now)
    return True


def data_export_notify(*, export_id: int, now: datetime) -> int:
    """Email that the download is ready, once: ``notified_at`` is set in the transaction of
    the send, so a failed send leaves it unset (the task retries) and a later run sends
    nothing. Returns how many emails went out."""
    with transaction.atomic():
        export = (PatientDataExport.objects.select_for_update()
                  .select_related("patient__user", "patient__clinic", "requested_by")
                  .filter(pk=export_id, status=ExportStatus.DONE, notified_at__isnull=True)
                  .first())
        if export is None:
            return 0
        patient = export.patient
        recipients = export_recipients(export, now=now)
        for user, for_name, path in recipients:
            with translation.override(user.language or settings.LANGUAGE_CODE):
                subject = gettext("Your download is ready")
                body = render_to_string("interop/email/data_export_ready.txt", {
                    "first_name": user.first_name, "for_name": for_name,
                    "clinic_name": patient.clinic.name,
                    "until": _local_date_text(export.expires_at, patient),
                    "link": settings.SITE_URL.rstrip("/") + path})
            send_mail(subject=subject, message=body, from_email=None,
                      recipient_list=[user.email])
        export.notified_at = now
        export.save(update_fields=["notified_at"])
    return len(recipients)


def data_export_expire(*, export_id: int, now: datetime) -> bool:
    """Delete an expired export's file and mark it expired (the page then offers a new one).
    A file that cannot be deleted leaves the row as it was: the next sweep tries again."""
    with transaction.atomic():
        export = (PatientDataExport.objects.select_for_update()
                  .filter(pk=export_id, status=ExportStatus.DONE, expires_at__lte=now).first())
        if export is None:
            return False
        if export.file_name:
            (exports_folder() / export.file_name).unlink(missing_ok=True)
        export.status = ExportStatus.EXPIRED
        export.file_name = ""
        export.save(update_fields=["status", "file_name"])
    return True


def exports_give_up(*, now: datetime) -> int:
    """Exports still not done ``GIVE_UP_AFTER`` after the press: failed."""
    return (PatientDataExport.objects
            .filter(status__in=IN_PROGRESS, created_at__lte=now - GIVE_UP_AFTER)
            .update(status=ExportStatus.FAILED))


def partial_files_delete(*, now: datetime) -> int:
    """Temporary files a killed worker left behind (older than ``STUCK_AFTER``)."""
    folder = exports_folder()
    deleted = 0
    for path in folder.glob(f"*{PARTIAL_SUFFIX}"):
        if path.stat().st_mtime < (now - STUCK_AFTER).timestamp():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


# --- Building ---------------------------------------------------------------------------------


def exports_folder() -> Path:
    """The patients' export folder, created readable by the portal's user only."""
    folder = Path(settings.EXPORTS_DIR) / SUBFOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for level in (folder.parent, folder):
        if level.stat().st_mode & 0o077:
            level.chmod(0o700)
    return folder


def _claim(export_id: int) -> PatientDataExport | None:
    """The export, marked being prepared, when it still needs building (queued, or a run that
    was interrupted); None otherwise."""
    with transaction.atomic():
        export = (PatientDataExport.objects.select_for_update()
                  .select_related("patient__user", "patient__clinic", "requested_by")
                  .filter(pk=export_id, status__in=IN_PROGRESS).first())
        if export is None:
            return None
        export.status = ExportStatus.RUNNING
        export.progress = 5
        export.save(update_fields=["status", "progress"])
    return export


def _progress(export_id: int, percent: int) -> None:
    PatientDataExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        progress=percent)


def _finish(export_id: int, *, file_name: str, size: int, now: datetime) -> bool:
    with transaction.atomic():
        export = (PatientDataExport.objects.select_for_update()
                  .filter(pk=export_id, status=ExportStatus.RUNNING).first())
        if export is None:
            return False
        export.status = ExportStatus.DONE
        export.progress = 100
        export.file_name = file_name
        export.size_bytes = size
        export.finished_at = now
        export.expires_at = now + timedelta(days=settings.PATIENT_EXPORT_DAYS)
        export.save(update_fields=["status", "progress", "file_name", "size_bytes",
                                   "finished_at", "expires_at"])
    return True


def _mark_failed(export_id: int) -> None:
    PatientDataExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED)


def _write_zip(export: PatientDataExport, *, now: datetime) -> tuple[str, int]:
    """Write the zip under a new random name; (its name, its size in bytes)."""
    from .selectors import patient_bundle
    from .summary import summary_html

    patient = export.patient
    language = export.requested_by.language or settings.LANGUAGE_CODE
    name = f"data-export-{export.pk}-{secrets.token_hex(16)}.zip"
    final = exports_folder() / name
    partial = final.with_name(name + PARTIAL_SUFFIX)
    try:
        with _private_file(partial) as handle, \
                zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            bundle = patient_bundle(patient=patient)
            _progress(export.pk, 35)
            archive.writestr(FHIR_FILE, json.dumps(bundle, ensure_ascii=False, indent=1))
            _progress(export.pk, 45)
            with translation.override(language), dj_timezone.override(patient.zone):
                summary = summary_html(
                    patient=patient, now=now,
                    on_progress=lambda done: _progress(export.pk, 45 + done // 2))
                readme = render_to_string("interop/export_readme.txt", {
                    "made": _local_date_text(now, patient), "days": settings.PATIENT_EXPORT_DAYS,
                    "summary_file": SUMMARY_FILE, "fhir_file": FHIR_FILE,
                    "readme_file": README_FILE})
            archive.writestr(SUMMARY_FILE, summary)
            archive.writestr(README_FILE, readme)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return name, final.stat().st_size


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file only the portal's user may read (0600 from its creation, never wider)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        yield handle


def _local_date_text(instant: datetime, patient: Patient) -> str:
    return formats.date_format(dj_timezone.localtime(instant, patient.zone), "j F Y")
