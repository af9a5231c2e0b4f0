""""Download my data" through a real Celery worker on Redis: the button's task is built by the
worker into the shared exports folder, the email sent once, and a request made while the broker
was unreachable is picked up by the sweep."""

from __future__ import annotations

import time
import zipfile

import pytest
from django.urls import reverse

from interop import account_tasks, patient_export
from interop.models import ExportStatus, PatientDataExport
from tests.reminders.test_worker_integration import emails_by_recipient

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_exports_dir(tmp_path, settings, monkeypatch):
    """The web process and the worker write and read the same folder."""
    folder = tmp_path / "exports"
    monkeypatch.setenv("ALLIANCE_EXPORTS_DIR", str(folder))
    settings.EXPORTS_DIR = folder
    return folder


def wait_until_done(export_id: int, worker, timeout: float = 90) -> PatientDataExport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = PatientDataExport.objects.get(pk=export_id)
        if export.status == ExportStatus.DONE and export.notified_at is not None:
            return export
        time.sleep(0.25)
    raise AssertionError(f"export {export_id} not done\n{worker.log()}")


def test_the_button_is_built_by_the_worker_and_emailed_once(
        client, redis_broker_url, shared_exports_dir, celery_worker_process, patient_a):
    # given
    client.force_login(patient_a.user)
    # when: the patient presses the button (the task goes to Redis after commit)
    response = client.post(reverse("data_export_request"))
    # then: the worker builds it; the page offers the zip; one email
    assert response.status_code == 302
    export = wait_until_done(PatientDataExport.objects.get(patient=patient_a).pk,
                             celery_worker_process)
    download = client.get(reverse("data_export_download", args=[export.pk]))
    assert download.status_code == 200
    archive = zipfile.ZipFile(shared_exports_dir / patient_export.SUBFOLDER / export.file_name)
    assert "record-fhir.json" in archive.namelist()
    time.sleep(1)  # any duplicate that is coming
    assert emails_by_recipient(celery_worker_process.outbox) == {patient_a.user.email: 1}


def test_a_request_made_while_the_broker_was_down_is_built_after_the_sweep(
        client, redis_broker_url, shared_exports_dir, celery_worker_process, patient_a,
        monkeypatch):
    # given: the press found no broker (the request still succeeded)
    def broker_down(_export_id):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patch:
        patch.setattr(account_tasks.data_export_build, "delay", broker_down)
        client.force_login(patient_a.user)
        assert client.post(reverse("data_export_request")).status_code == 302
    export = PatientDataExport.objects.get(patient=patient_a)
    PatientDataExport.objects.filter(pk=export.pk).update(
        created_at=export.created_at - patient_export.LOST_AFTER)
    assert export.status == ExportStatus.QUEUED
    # when: the broker is back and beat runs the sweep
    account_tasks.data_exports_sweep()
    # then
    wait_until_done(export.pk, celery_worker_process)
    assert emails_by_recipient(celery_worker_process.outbox) == {patient_a.user.email: 1}
