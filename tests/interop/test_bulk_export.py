"""FHIR Bulk Data export through HTTP with real OAuth tokens: kick-off, status, files, expiry.

Tokens are made directly (django-oauth-toolkit's rows): a clinic's system client is an
``Application`` (client credentials) with its ``ClinicClient`` and service account.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from oauth2_provider.models import AccessToken, Application

from accounts.models import AuditEvent
from interop import bulk, bulk_tasks
from interop.bulk import EXPORT_AUDIT_TYPE
from interop.models import BulkExport, ClinicClient, ExportStatus
from tests.factories import FlagFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


def system_token(clinic, *, scope: str = "system/*.rs") -> tuple[str, Application]:
    """A bearer token of a new system client of ``clinic`` (client credentials)."""
    service_user = UserFactory(email=f"client-{get_random_string(8).lower()}@clients.test")
    application = Application.objects.create(
        name=f"EHR of {clinic.name}", user=service_user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
    ClinicClient.objects.create(application=application, clinic=clinic,
                                service_user=service_user, allowed_scopes=scope)
    return _token(application, service_user, scope), application


def patient_app_token(patient, *, scope: str = "patient/*.rs") -> str:
    """A bearer token of an app the patient authorised for their own record."""
    application = Application.objects.create(
        name="Skin diary app", client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example/callback")
    return _token(application, patient.user, scope)


def _token(application: Application, user, scope: str) -> str:
    token = get_random_string(40)
    AccessToken.objects.create(token=token, application=application, user=user, scope=scope,
                               expires=timezone.now() + timedelta(days=30))
    return token


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path) -> Path:
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The export ids the kick-off enqueued (the broker's view), run by the test."""
    ids: list[int] = []
    monkeypatch.setattr(bulk_tasks.bulk_export_run, "delay", ids.append)
    return ids


def kick_off(client, token: str, url: str, **params: str):
    return client.get(url, params, **ASYNC, **bearer(token))


def group_url(clinic) -> str:
    return reverse("fhir_bulk_export_group", kwargs={"clinic_id": clinic.pk})


def export_and_run(client, token, url, django_capture_on_commit_callbacks, enqueued,
                   **params) -> BulkExport:
    with django_capture_on_commit_callbacks(execute=True):
        response = kick_off(client, token, url, **params)
    assert response.status_code == 202, response.content
    export_id = enqueued[-1]
    bulk_tasks.bulk_export_run(export_id)
    return BulkExport.objects.get(pk=export_id)


def read_ndjson(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


def test_a_clinic_exports_its_patients_kick_off_poll_download(
        client, clinic, other_clinic, derm, other_derm, enqueued, exports_dir,
        django_capture_on_commit_callbacks):
    # given: three patients of the clinic, one of another clinic
    ours = {str(PatientFactory(dermatologist=derm).pk) for _ in range(3)}
    theirs = PatientFactory(dermatologist=other_derm)
    token, application = system_token(clinic)
    # when: kick-off
    with django_capture_on_commit_callbacks(execute=True):
        response = kick_off(client, token, group_url(clinic), _type="Patient")
    # then: 202 with the status URL, and the run enqueued once the row is committed
    assert response.status_code == 202
    status_url = response["Content-Location"]
    export = BulkExport.objects.get()
    assert status_url == f"http://testserver/fhir/R4/bulk-status/{export.pk}"
    assert enqueued == [export.pk]
    assert export.application_id == application.pk
    assert export.level == "group"
    # when: polled before the run
    polled = client.get(status_url, **bearer(token))
    # then
    assert polled.status_code == 202
    assert polled["X-Progress"] == "queued 0%"
    assert int(polled["Retry-After"]) > 0
    # when: the task runs, and the client polls again
    bulk_tasks.bulk_export_run(export.pk)
    done = client.get(status_url, **bearer(token))
    # then: the manifest
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].startswith(f"http://testserver{group_url(clinic)}?")
    assert manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [("Patient", 3)]
    # when: each file is downloaded
    file_response = client.get(manifest["output"][0]["url"], **bearer(token))
    # then: NDJSON of the clinic's patients only
    assert file_response.status_code == 200
    assert file_response["Content-Type"] == "application/fhir+ndjson"
    assert file_response.streaming
    resources = read_ndjson(b"".join(file_response.streaming_content))
    assert {r["resourceType"] for r in resources} == {"Patient"}
    assert {r["id"] for r in resources} == ours
    assert str(theirs.pk) not in {r["id"] for r in resources}
    # and the files are private to the server's account
    directory = exports_dir / "bulk" / str(export.pk)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "Patient.ndjson").stat().st_mode) == 0o600
    assert [p.name for p in directory.parent.iterdir()] == [str(export.pk)]  # no partial left


def test_the_export_is_audited_once_per_patient_with_the_clients_account(
        client, clinic, derm, other_derm, enqueued, django_capture_on_commit_callbacks):
    # given
    patients = [PatientFactory(dermatologist=derm) for _ in range(2)]
    PatientFactory(dermatologist=other_derm)
    token, application = system_token(clinic)
    # when
    export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                   enqueued)
    # then
    events = AuditEvent.objects.filter(object_type=EXPORT_AUDIT_TYPE)
    actor = application.clinic_client.service_user
    assert sorted(e.patient_id for e in events) == sorted(p.pk for p in patients)
    assert {(e.actor_id, e.clinic_id, e.actor_clinic_id, e.action, e.object_id, e.allowed)
            for e in events} == {(actor.pk, clinic.pk, None, "view", str(application.pk), True)}


def test_a_second_run_of_a_done_export_does_nothing(
        client, clinic, derm, enqueued, django_capture_on_commit_callbacks):
    # given: a done export
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    export = export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                            enqueued)
    before = (export.finished_at, export.expires_at, export.files)
    events = AuditEvent.objects.filter(object_type=EXPORT_AUDIT_TYPE).count()
    # when: the task is delivered again
    bulk_tasks.bulk_export_run(export.pk)
    # then
    export.refresh_from_db()
    assert (export.finished_at, export.expires_at, export.files) == before
    assert AuditEvent.objects.filter(object_type=EXPORT_AUDIT_TYPE).count() == events == 1


def test_a_run_after_a_crash_starts_afresh(
        client, clinic, derm, enqueued, exports_dir, django_capture_on_commit_callbacks):
    # given: a run that died while writing (status running, a partial directory left behind)
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        kick_off(client, token, group_url(clinic))
    export = BulkExport.objects.get()
    BulkExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=40)
    crashed = exports_dir / "bulk" / f"{export.pk}.partial-dead"
    crashed.mkdir(parents=True)
    (crashed / "Patient.ndjson").write_text('{"half a line')
    # when: the task is redelivered
    bulk_tasks.bulk_export_run(export.pk)
    # then: a whole export
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    manifest = client.get(reverse("fhir_bulk_status", args=[export.pk]), **bearer(token)).json()
    content = b"".join(client.get(manifest["output"][0]["url"], **bearer(token)).streaming_content)
    assert len(read_ndjson(content)) == 1


def test_a_failed_run_answers_500_with_an_operation_outcome(
        client, clinic, derm, enqueued, monkeypatch, exports_dir,
        django_capture_on_commit_callbacks):
    # given: the mapping breaks
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)

    def broken(**kwargs):
        raise ValueError("bad row")
        yield

    monkeypatch.setattr(bulk, "resources_of", broken)
    with django_capture_on_commit_callbacks(execute=True):
        kick_off(client, token, group_url(clinic))
    export = BulkExport.objects.get()
    # when
    with pytest.raises(ValueError, match="bad row"):
        bulk_tasks.bulk_export_run(export.pk)
    response = client.get(reverse("fhir_bulk_status", args=[export.pk]), **bearer(token))
    # then
    assert response.status_code == 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "bad row" not in response.content.decode()
    assert list((exports_dir / "bulk").iterdir()) == []


def test_another_clients_export_is_404_even_in_the_same_clinic(
        client, clinic, other_clinic, derm, enqueued, django_capture_on_commit_callbacks):
    # given: a done export of one client
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    export = export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                            enqueued)
    status_url = reverse("fhir_bulk_status", args=[export.pk])
    file_url = reverse("fhir_bulk_file", args=[export.pk, "Patient.ndjson"])
    same_clinic, _ = system_token(clinic)
    other, _ = system_token(other_clinic)
    # when / then
    for intruder in (same_clinic, other):
        assert client.get(status_url, **bearer(intruder)).status_code == 404
        assert client.get(file_url, **bearer(intruder)).status_code == 404
        assert client.delete(status_url, **bearer(intruder)).status_code == 404
    assert client.get(file_url, **bearer(token)).status_code == 200
    assert client.get(reverse("fhir_bulk_file", args=[export.pk, "CarePlan.ndjson"]),
                      **bearer(token)).status_code == 404
    # and without a token
    assert client.get(status_url).status_code == 401
    assert client.get(file_url).status_code == 401


def test_another_clinics_group_is_404(client, clinic, other_clinic, enqueued):
    # given
    token, _ = system_token(clinic)
    # when
    response = kick_off(client, token, group_url(other_clinic))
    # then
    assert response.status_code == 404
    assert not BulkExport.objects.exists()
    assert enqueued == []


def test_a_patients_app_may_not_bulk_export(client, derm, clinic, enqueued):
    # given
    token = patient_app_token(PatientFactory(dermatologist=derm))
    # when / then
    assert kick_off(client, token, reverse("fhir_bulk_export_patient")).status_code == 403
    assert kick_off(client, token, group_url(clinic)).status_code == 403
    assert not BulkExport.objects.exists()


def test_patient_level_export_covers_the_clinic(
        client, clinic, derm, other_derm, enqueued, django_capture_on_commit_callbacks):
    # given
    ours = PatientFactory(dermatologist=derm)
    PatientFactory(dermatologist=other_derm)
    token, _ = system_token(clinic)
    # when
    export = export_and_run(client, token, reverse("fhir_bulk_export_patient"),
                            django_capture_on_commit_callbacks, enqueued)
    # then
    assert export.level == "patient"
    content = b"".join(client.get(reverse("fhir_bulk_file", args=[export.pk, "Patient.ndjson"]),
                                  **bearer(token)).streaming_content)
    assert [r["id"] for r in read_ndjson(content)] == [str(ours.pk)]


@pytest.mark.parametrize(("headers", "params", "said"), [
    ({"HTTP_ACCEPT": "application/fhir+json"}, {}, "Prefer: respond-async"),
    (ASYNC, {"_type": "Patient,Nonsense"}, "Nonsense"),
    (ASYNC, {"_type": ""}, "_type"),
    (ASYNC, {"_outputFormat": "text/csv"}, "_outputFormat"),
    (ASYNC, {"_since": "yesterday"}, "_since"),
    (ASYNC, {"_since": "2026-01-01T00:00:00"}, "_since"),  # an instant has a zone
    (ASYNC, {"_typeFilter": "Patient?active=true"}, "_typeFilter"),
])
def test_bad_kick_offs_are_400_and_say_why(client, clinic, enqueued, headers, params, said):
    # given
    token, _ = system_token(clinic)
    # when
    response = client.get(group_url(clinic), params, **headers, **bearer(token))
    # then
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "invalid"
    assert said in response.json()["issue"][0]["diagnostics"]
    assert not BulkExport.objects.exists()


@pytest.mark.parametrize("output_format", bulk.OUTPUT_FORMATS)
def test_each_ndjson_output_format_is_accepted(client, clinic, enqueued, output_format):
    token, _ = system_token(clinic)
    response = kick_off(client, token, group_url(clinic), _outputFormat=output_format)
    assert response.status_code == 202


def test_only_types_the_scopes_allow_are_exported(client, clinic, enqueued):
    # given: a client allowed Patient and CarePlan searches only
    token, _ = system_token(clinic, scope="system/Patient.rs system/CarePlan.s")
    # when / then: Flag asked for explicitly is refused
    refused = kick_off(client, token, group_url(clinic), _type="Patient,Flag")
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    # and without _type, only the allowed types are exported
    response = kick_off(client, token, group_url(clinic))
    assert response.status_code == 202
    assert BulkExport.objects.get().resource_types == ["Patient", "CarePlan"]


def test_read_only_scopes_without_search_export_nothing(client, clinic, enqueued):
    token, _ = system_token(clinic, scope="system/*.r")
    assert kick_off(client, token, group_url(clinic)).status_code == 403


def test_since_and_type_are_honoured(client, clinic, derm, enqueued,
                                     django_capture_on_commit_callbacks):
    # given: a flag changed before the client's last export, and one changed after it
    patient = PatientFactory(dermatologist=derm)
    old = FlagFactory(patient=patient, updated_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    new = FlagFactory(patient=patient, rule="satisfaction_drop",
                      updated_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    token, _ = system_token(clinic)
    # when: only Flags, since 09:00 UTC (10:00 in +01:00)
    export = export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                            enqueued, _type="Flag", _since="2026-03-01T10:00:00+01:00")
    # then
    assert export.resource_types == ["Flag"]
    manifest = client.get(reverse("fhir_bulk_status", args=[export.pk]), **bearer(token)).json()
    assert [o["type"] for o in manifest["output"]] == ["Flag"]
    flags = read_ndjson(b"".join(client.get(manifest["output"][0]["url"], **bearer(token))
                                 .streaming_content))
    assert [f["id"] for f in flags] == [str(new.pk)]
    assert str(old.pk) not in {f["id"] for f in flags}


def test_an_expired_export_is_404_and_the_sweep_deletes_its_files(
        client, clinic, derm, enqueued, exports_dir, settings,
        django_capture_on_commit_callbacks):
    # given: a done export, kept BULK_EXPORT_HOURS
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    export = export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                            enqueued)
    status_url = reverse("fhir_bulk_status", args=[export.pk])
    file_url = reverse("fhir_bulk_file", args=[export.pk, "Patient.ndjson"])
    later = export.finished_at + timedelta(hours=settings.BULK_EXPORT_HOURS, seconds=1)
    with time_machine.travel(later - timedelta(seconds=2), tick=False):
        assert client.get(file_url, **bearer(token)).status_code == 200
        bulk_tasks.bulk_exports_sweep()
    assert (exports_dir / "bulk" / str(export.pk)).is_dir()
    # when: past its time
    with time_machine.travel(later, tick=False):
        before_sweep = (client.get(status_url, **bearer(token)).status_code,
                        client.get(file_url, **bearer(token)).status_code)
        bulk_tasks.bulk_exports_sweep()
    # then
    assert before_sweep == (404, 404)
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED
    assert not (exports_dir / "bulk" / str(export.pk)).exists()


def test_delete_cancels_and_removes_the_files(
        client, clinic, derm, enqueued, exports_dir, django_capture_on_commit_callbacks):
    # given
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    export = export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                            enqueued)
    status_url = reverse("fhir_bulk_status", args=[export.pk])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(status_url, **bearer(token))
    # then
    assert response.status_code == 202
    assert client.get(status_url, **bearer(token)).status_code == 404
    assert not (exports_dir / "bulk" / str(export.pk)).exists()


def test_a_cancelled_export_is_not_revived_by_its_run(
        client, clinic, derm, enqueued, exports_dir, django_capture_on_commit_callbacks):
    # given: cancelled before its task ran
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        kick_off(client, token, group_url(clinic))
        client.delete(reverse("fhir_bulk_status", args=[BulkExport.objects.get().pk]),
                      **bearer(token))
    # when: its task arrives
    bulk_tasks.bulk_export_run(enqueued[0])
    # then
    assert BulkExport.objects.get().status == ExportStatus.EXPIRED
    assert not AuditEvent.objects.filter(object_type=EXPORT_AUDIT_TYPE).exists()
    assert not any((exports_dir / "bulk").glob("*"))


def test_the_sweep_enqueues_exports_whose_task_was_lost(client, clinic, enqueued, now):
    # given: a kick-off whose task never reached the broker (on_commit callbacks not run)
    token, _ = system_token(clinic)
    kick_off(client, token, group_url(clinic))
    export = BulkExport.objects.get()
    # when: a minute later, then past the lost-task delay
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        bulk_tasks.bulk_exports_sweep()
    assert enqueued == []
    with time_machine.travel(now + bulk.LOST_TASK_AFTER + timedelta(seconds=1), tick=False):
        bulk_tasks.bulk_exports_sweep()
    # then
    assert enqueued == [export.pk]


def test_the_sweep_runs_again_an_export_whose_worker_was_lost(client, clinic, enqueued, now):
    # given: an export left running (its worker died, the broker did not deliver it again)
    token, _ = system_token(clinic)
    kick_off(client, token, group_url(clinic))
    export = BulkExport.objects.get()
    BulkExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=40)
    # when: half an hour later (it may still be running), then past the stalled-run delay
    with time_machine.travel(now + timedelta(minutes=30), tick=False):
        bulk_tasks.bulk_exports_sweep()
    assert enqueued == []
    with time_machine.travel(now + bulk.STALLED_RUN_AFTER + timedelta(seconds=1), tick=False):
        bulk_tasks.bulk_exports_sweep()
    # then: run again, from the start, to the end
    assert enqueued == [export.pk]
    bulk_tasks.bulk_export_run(export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE


def test_an_export_is_listed_in_who_viewed_my_record_naming_the_app(
        client, clinic, derm, enqueued, django_capture_on_commit_callbacks):
    # given: a patient of the clinic, and the clinic's client "Epic bridge" exporting
    patient = PatientFactory(dermatologist=derm)
    token, application = system_token(clinic)
    Application.objects.filter(pk=application.pk).update(name="Epic bridge")
    # when
    export_and_run(client, token, group_url(clinic), django_capture_on_commit_callbacks,
                   enqueued)
    client.force_login(patient.user)
    page = client.get(reverse("access_log")).content.decode()
    # then
    assert "Epic bridge" in page


def test_a_signed_in_session_cannot_cancel_an_export(
        clinic, derm, enqueued, django_capture_on_commit_callbacks):
    # given: a done export, and the clinic's dermatologist signed in (the CSRF-exempt DELETE)
    PatientFactory(dermatologist=derm)
    token, _ = system_token(clinic)
    export = export_and_run(Client(), token, group_url(clinic),
                            django_capture_on_commit_callbacks, enqueued)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(derm)
    # when: a forged cross-site DELETE rides on the session
    response = browser.delete(reverse("fhir_bulk_status", args=[export.pk]))
    # then
    assert response.status_code == 401
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
