"""A patient's "Download my data" (issue 21, point 4): the button, the task, the zip, the email,
expiry and the sweeps, and who may fetch what."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from accounts.models import AuditEvent, no_login_email
from accounts.services import audit_record
from checkins.models import CheckIn
from interop import account_tasks, patient_export
from interop.models import ExportStatus, PatientDataExport
from messaging.services import message_post, thread_start
from tests.checkins.test_charts import log_day
from tests.factories import (
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    item_draft,
    plan_for,
)
from tests.security.test_access_matrix import born_years_ago

pytestmark = pytest.mark.django_db

FIRST_REASON = "Starting gently because your skin is sensitive"
SECOND_REASON = "Itching at night, so the retinoid moves to every other evening"
MESSAGE = "Is it normal that my cheeks feel tight after the gel?"


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


@pytest.fixture
def built_in_process(monkeypatch):
    """The build task runs where it is enqueued (after commit), as a worker would run it."""
    enqueued: list[int] = []

    def run(export_id):
        enqueued.append(export_id)
        account_tasks.data_export_build(export_id)

    monkeypatch.setattr(account_tasks.data_export_build, "delay", run)
    return enqueued


@pytest.fixture
def record(now, patient_a, derm, staff, patient_b):
    """Patient A's record: a plan revised once with a reason, three weeks of check-ins, a
    conversation, a clinician's visit. Patient B (same clinic) has their own."""
    plan_for(patient_a, author=derm, reason=FIRST_REASON, now=now - timedelta(days=21),
             items=[item_draft(name="Adapalene 0.1% gel")])
    plan_for(patient_a, author=derm, reason=SECOND_REASON, base_number=1,
             now=now - timedelta(days=10),
             items=[item_draft(name="Adapalene 0.1% gel", frequency="every_n_days",
                               every_n_days=2)])
    today = patient_a.local_date(now)
    for days_ago in range(1, 15):
        log_day(patient_a, today - timedelta(days=days_ago), satisfaction=4, itch=3)
    thread = thread_start(patient=patient_a, by=patient_a.user, topic="plan", body=MESSAGE,
                          now=now - timedelta(days=3))
    message_post(thread=thread, by=derm, from_clinic=True, body="Yes, for the first weeks.",
                 now=now - timedelta(days=2))
    audit_record(actor=staff, patient=patient_a, action=AuditEvent.Action.VIEW,
                 object_type="patient")
    plan_for(patient_b, author=derm, reason="Patient B's own reason", now=now)
    thread_start(patient=patient_b, by=patient_b.user, topic="plan", body="B's private worry",
                 now=now - timedelta(days=1))
    return patient_a


def _zip_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _press(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("data_export_request"), data)


def test_the_button_builds_a_zip_with_the_fhir_bundle_and_a_readable_summary(
        client, record, patient_b, staff, built_in_process, django_capture_on_commit_callbacks,
        mailoutbox):
    # given
    client.force_login(record.user)
    # when: the patient presses the button; the task runs
    response = _press(client, django_capture_on_commit_callbacks)
    # then: the page says it is ready, with the link, its size and the date it goes
    assert response.status_code == 302
    assert response.url == reverse("data_export")
    export = PatientDataExport.objects.get(patient=record)
    assert export.status == ExportStatus.DONE
    assert export.progress == 100
    page = client.get(reverse("data_export")).content.decode()
    assert "Your download is ready" in page
    assert reverse("data_export_download", args=[export.pk]) in page
    assert "Available until Wednesday 2 December 2026" in page
    download = client.get(reverse("data_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    assert "no-store" in download["Cache-Control"]
    archive = _zip_of(download)
    assert sorted(archive.namelist()) == ["README.txt", "record-fhir.json", "summary.html"]
    # the FHIR file is a valid Bundle of the patient's resources
    bundle = json.loads(archive.read("record-fhir.json"))
    Bundle.model_validate(bundle)
    patients = [e["resource"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "Patient"]
    assert [p["id"] for p in patients] == [str(record.pk)]
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"CarePlan", "QuestionnaireResponse", "Communication"} <= types
    assert f"Patient/{patient_b.pk}" not in json.dumps(bundle)
    # the summary holds the plan's reasons, check-in dates, the messages and a viewer
    summary = archive.read("summary.html").decode()
    assert FIRST_REASON in summary
    assert SECOND_REASON in summary
    first_checkin = CheckIn.objects.filter(patient=record).earliest("local_date").local_date
    assert first_checkin.strftime("%-d %b %Y") in summary
    assert "Is it normal that my cheeks feel tight after the gel?" in summary
    assert "Yes, for the first weeks." in summary
    assert staff.display_name in summary
    assert "<svg" in summary
    assert "<script" not in summary
    assert "http" not in summary.replace(
        "http://www.w3.org", "")
    # nothing of another patient
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert "Patient B's own reason" not in everything
    assert "B's private worry" not in everything
    assert patient_b.user.display_name not in everything
    # and one email
    assert len(mailoutbox) == 1


def test_the_zip_is_readable_by_the_portal_only(record, now):
    # given
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    # when
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then
    export.refresh_from_db()
    folder = patient_export.exports_folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / export.file_name).stat().st_mode) == 0o600
    assert export.size_bytes == (folder / export.file_name).stat().st_size


def test_a_second_press_while_one_is_prepared_starts_nothing(
        client, record, django_capture_on_commit_callbacks, monkeypatch):
    # given: the broker takes the task but no worker has run it yet
    sent = []
    monkeypatch.setattr(account_tasks.data_export_build, "delay", sent.append)
    client.force_login(record.user)
    _press(client, django_capture_on_commit_callbacks)
    # when
    _press(client, django_capture_on_commit_callbacks)
    # then: one export, one task; the page polls every 2 s and has a plain Refresh link
    assert PatientDataExport.objects.filter(patient=record).count() == 1
    assert len(sent) == 1
    page = client.get(reverse("data_export")).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Refresh to see how it is going" in page
    assert "Prepare my download" not in page
    partial = client.get(reverse("data_export"), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="export-status"')


def test_the_task_is_idempotent_and_the_email_is_sent_once_and_says_nothing_of_the_record(
        record, now, mailoutbox):
    # given
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    # when: the task runs twice (a redelivery)
    assert patient_export.data_export_build(export_id=export.pk, now=now) is True
    assert patient_export.data_export_build(export_id=export.pk, now=now) is False
    # then: one file, one email
    assert len(list(patient_export.exports_folder().iterdir())) == 1
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [record.user.email]
    text = f"{email.subject}\n{email.body}"
    assert "is ready" in text
    assert reverse("data_export") in text
    for secret in ("Adapalene", "gel", "retinoid", "Itching", FIRST_REASON, MESSAGE, "cheeks",
                   "itch", "satisfaction"):
        assert secret.lower() not in text.lower()
    export.refresh_from_db()
    assert export.notified_at == now
    assert export.expires_at == now + timedelta(days=7)


def test_a_failed_send_is_retried_and_still_sends_once(record, now, mailoutbox, monkeypatch):
    # given: the SMTP server is down for the first send
    import smtplib

    from django.core import mail

    real_send = mail.send_mail
    attempts = []

    def flaky(**kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise smtplib.SMTPServerDisconnected("down")
        return real_send(**kwargs)

    monkeypatch.setattr(patient_export, "send_mail", flaky)
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    # when: the first run fails (a transient error: the task retries), the retry runs
    with pytest.raises(patient_export.TRANSIENT_ERRORS):
        patient_export.data_export_build(export_id=export.pk, now=now)
    patient_export.data_export_build(export_id=export.pk, now=now)
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then
    assert len(mailoutbox) == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    assert export.notified_at is not None


def test_a_child_without_a_mailbox_is_told_through_the_caregivers_who_may_download_it(
        derm, now, mailoutbox):
    # given: a young child kept without a login, a parent and an ended link
    child = PatientFactory(dermatologist=derm, user__email=no_login_email(),
                           date_of_birth=born_years_ago(8, now=now))
    parent = CaregiverLinkFactory(patient=child, called="Mum").caregiver
    ended = CaregiverLinkFactory(patient=child, called="Dad", ended_at=now)
    export = patient_export.data_export_request(patient=child, requested_by=parent, now=now)
    # when
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then
    assert [email.to for email in mailoutbox] == [[parent.email]]
    assert ended.caregiver.email not in str([email.to for email in mailoutbox])
    assert child.user.first_name in mailoutbox[0].body


def test_only_whoever_asked_is_told_it_is_ready(derm, now, mailoutbox):
    # given: a child of 10 with their own sign-in and two parents; Dad asks for the download
    child = PatientFactory(dermatologist=derm, date_of_birth=born_years_ago(10, now=now))
    mum = CaregiverLinkFactory(patient=child, called="Mum").caregiver
    dad = CaregiverLinkFactory(patient=child, called="Dad").caregiver
    export = patient_export.data_export_request(patient=child, requested_by=dad, now=now)
    # when
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then: Dad alone ("that you asked for"), not Mum, not the child
    assert [email.to for email in mailoutbox] == [[dad.email]]
    assert mum.email not in str(mailoutbox[0].to)


def test_nobody_is_emailed_for_a_teenager_without_a_mailbox(derm, now, mailoutbox):
    # given: a teenager without a login yet, whose parent (assent given) may not download it
    teen = PatientFactory(dermatologist=derm, user__email=no_login_email(),
                          date_of_birth=born_years_ago(14, now=now))
    assent_for(CaregiverLinkFactory(patient=teen), now=now)
    export = patient_export.data_export_request(patient=teen, requested_by=teen.user, now=now)
    # when
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then
    assert mailoutbox == []


def test_a_few_exports_a_day_then_a_clear_message_and_nothing_created(
        client, record, now, built_in_process, django_capture_on_commit_callbacks):
    # given: the day's downloads used
    client.force_login(record.user)
    for _ in range(patient_export.EXPORTS_PER_DAY):
        _press(client, django_capture_on_commit_callbacks)
    # when
    response = _press(client, django_capture_on_commit_callbacks)
    # then
    assert PatientDataExport.objects.filter(patient=record).count() == \
        patient_export.EXPORTS_PER_DAY
    page = client.get(response.url).content.decode()
    assert "the most we allow" in page
    assert "Make a new download" not in page
    # a day later the button is back
    with time_machine.travel(now + timedelta(days=1, minutes=1), tick=False):
        client.force_login(record.user)  # a session ends after 12 hours
        assert "Make a new download" in client.get(reverse("data_export")).content.decode()


def test_an_expired_export_is_gone_and_the_sweep_deletes_its_file(client, record, now):
    # given: a download made now
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    patient_export.data_export_build(export_id=export.pk, now=now)
    export.refresh_from_db()
    path = patient_export.exports_folder() / export.file_name
    client.force_login(record.user)
    url = reverse("data_export_download", args=[export.pk])
    with time_machine.travel(now + timedelta(days=7) - timedelta(minutes=1), tick=False):
        client.force_login(record.user)  # a session ends after 12 hours
        assert client.get(url).status_code == 200
    # when: seven days later
    with time_machine.travel(now + timedelta(days=7, minutes=1), tick=False):
        client.force_login(record.user)
        # then: 404 at once, and the page says it expired and offers a new one
        assert client.get(url).status_code == 404
        page = client.get(reverse("data_export")).content.decode()
        assert "Your last download has expired" in page
        assert "Prepare my download" in page
        # the sweep deletes the file and marks the row
        account_tasks.data_exports_sweep()
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED
    assert not path.exists()


def test_the_sweep_enqueues_an_export_whose_task_was_lost(
        client, record, now, monkeypatch, django_capture_on_commit_callbacks):
    # given: the broker is down when the patient presses the button
    def broker_down(_export_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(account_tasks.data_export_build, "delay", broker_down)
    client.force_login(record.user)
    response = _press(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302  # the request still succeeds
    export = PatientDataExport.objects.get(patient=record)
    sent = []
    monkeypatch.setattr(account_tasks.data_export_build, "delay", sent.append)
    # when: the sweep runs soon after, then after a few minutes
    account_tasks.data_exports_sweep()
    assert sent == []
    with time_machine.travel(now + patient_export.LOST_AFTER + timedelta(seconds=1), tick=False):
        account_tasks.data_exports_sweep()
    # then
    assert sent == [export.pk]
    # and a day later it is given up on (the page offers a new one)
    with time_machine.travel(now + timedelta(days=1, minutes=1), tick=False):
        account_tasks.data_exports_sweep()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED


def test_a_build_that_fails_for_good_says_so_and_offers_a_new_one(client, record, now,
                                                                  monkeypatch):
    # given
    def broken(**_kwargs):
        raise ValueError("a mapping bug")

    monkeypatch.setattr("interop.summary.summary_html", broken)
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    # when
    with pytest.raises(ValueError, match="a mapping bug"):
        patient_export.data_export_build(export_id=export.pk, now=now)
    # then: no file left behind
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert list(patient_export.exports_folder().iterdir()) == []
    client.force_login(record.user)
    page = client.get(reverse("data_export")).content.decode()
    assert "could not be prepared" in page
    assert "Prepare my download" in page


def test_only_the_patients_own_exports_can_be_downloaded(client, record, patient_b, derm, now):
    # given: patient B's ready download
    export = patient_export.data_export_request(patient=patient_b, requested_by=patient_b.user,
                                                now=now)
    patient_export.data_export_build(export_id=export.pk, now=now)
    url = reverse("data_export_download", args=[export.pk])
    # when / then: another patient and a clinician get 404; B gets it
    for user, status in ((record.user, 404), (derm, 404), (patient_b.user, 200)):
        client.force_login(user)
        assert client.get(url).status_code == status
    # an export not ready yet is 404 too
    client.force_login(record.user)
    pending = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                 now=now)
    assert client.get(reverse("data_export_download", args=[pending.pk])).status_code == 404


def test_a_young_childs_caregiver_may_download_the_childs_data_a_teenagers_may_not(
        client, derm, now, django_capture_on_commit_callbacks, built_in_process):
    # given: a child of 8 and a teenager of 14 (who agreed), each with a parent
    child = PatientFactory(dermatologist=derm, date_of_birth=born_years_ago(8, now=now))
    child_parent = CaregiverLinkFactory(patient=child).caregiver
    teen = PatientFactory(dermatologist=derm, date_of_birth=born_years_ago(14, now=now))
    teen_link = CaregiverLinkFactory(patient=teen)
    assent_for(teen_link, now=now)
    # when: the child's parent (acting for the child) presses the button
    client.force_login(child_parent)
    page = client.get(reverse("data_export"))
    response = _press(client, django_capture_on_commit_callbacks, acting_for=str(child.pk))
    # then: the child's download, requested by the parent
    assert page.status_code == 200
    assert f"Download {child.user.first_name}" in page.content.decode()
    assert response.status_code == 302
    export = PatientDataExport.objects.get(patient=child)
    assert export.requested_by == child_parent
    assert export.status == ExportStatus.DONE
    assert client.get(reverse("data_export_download", args=[export.pk])).status_code == 200
    assert "Download" in client.get(reverse("account_email")).content.decode()
    # and the teenager's parent gets 404 everywhere, and no section on their Account page
    client.force_login(teen_link.caregiver)
    assert client.get(reverse("data_export")).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("data_export_request")).status_code == 404
    assert not PatientDataExport.objects.filter(patient=teen).exists()
    assert "data-export-heading" not in client.get(reverse("account_email")).content.decode()


def test_the_account_page_offers_the_download_to_patients_only(client, patient_a, derm):
    # given / when
    client.force_login(patient_a.user)
    patient_page = client.get(reverse("account_email")).content.decode()
    client.force_login(derm)
    clinician_page = client.get(reverse("account_email")).content.decode()
    # then
    assert "Download my data" in patient_page
    assert f'action="{reverse("data_export_request")}"' in patient_page
    assert "who viewed the record" in patient_page
    assert "Download my data" not in clinician_page


def test_what_anyone_typed_is_escaped_in_the_summary(record, derm, now):
    # given: a message, a reason and a check-in note with markup
    thread_start(patient=record, by=record.user, topic="plan",
                 body='<script>alert("x")</script><img src=x onerror=alert(1)>', now=now)
    plan_for(record, author=derm, reason="<b>bold</b> reason", base_number=2, now=now)
    log_day(record, record.local_date(now), note="<iframe src=evil>")
    export = patient_export.data_export_request(patient=record, requested_by=record.user,
                                                now=now)
    # when
    patient_export.data_export_build(export_id=export.pk, now=now)
    # then
    export.refresh_from_db()
    archive = zipfile.ZipFile(patient_export.exports_folder() / export.file_name)
    summary = archive.read("summary.html").decode()
    assert "<script" not in summary
    assert "<img" not in summary
    assert "<iframe" not in summary
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in summary
    assert "&lt;b&gt;bold&lt;/b&gt; reason" in summary


@pytest.mark.parametrize(("start", "end", "labels"), [
    ("2026-09-20", "2026-11-25", ["Oct", "Nov"]),
    ("2026-10-20", "2027-01-25", ["Nov 2026", "Dec 2026", "Jan 2027"]),
    ("2024-10-20", "2026-11-25", ["2025", "2026"]),
])
def test_summary_charts_label_months_without_crowding_a_phone(start, end, labels):
    # given
    from datetime import date

    from checkins.charts import Scale, line_chart
    from interop.summary import _with_month_labels

    first, last = date.fromisoformat(start), date.fromisoformat(end)
    chart = line_chart([(first, 1.0), (last, 2.0)], start=first, end=last,
                       scale=Scale(0, 5, (0, 5)), key="k", title="t", summary="s")
    # when
    labelled = _with_month_labels(chart, first, last)
    # then
    assert [tick.text for tick in labelled.x_ticks] == labels
    assert all(chart.left <= tick.pos <= chart.right for tick in labelled.x_ticks)
