"""Issue 21, point 4 on a 390×844 phone: a patient finds "Download my data" on the Account page,
presses the one button, watches it being prepared (htmx refreshes the progress every 2 s), then
gets the link; the zip's summary.html opens offline at phone width. Every page axe-clean
(BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each)."""

from __future__ import annotations

import os
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import audit_record
from interop import account_tasks, patient_export
from interop.models import ExportStatus, PatientDataExport
from messaging.services import message_post, thread_start
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.checkins.test_charts import log_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Your skin is calmer, so the gel goes back to every evening"
QUESTION = "Can I use the gel <b>every</b> other night?"


def screenshot(page, name: str) -> None:
    """For review: saved when BROWSER_SCREENSHOTS names a folder."""
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def assert_no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


@pytest.fixture
def record(patient_a, derm, staff, routine_for_browser):
    """Three weeks of check-ins, a conversation, a later revision with its reason, a visit."""
    from careplans.services import plan_revise
    from tests.factories import item_draft

    now = timezone.now()
    today = patient_a.local_date(now)
    for days_ago in range(1, 20):
        log_day(patient_a, today - timedelta(days=days_ago), satisfaction=3 + days_ago % 3,
                itch=7 - days_ago % 5, skipped=("Adapalene 0.1% gel",) if days_ago % 4 else ())
    plan_revise(patient=patient_a, author=derm, base_number=1, reason=REASON, now=now,
                reviews_on=today + timedelta(weeks=12),
                items=[item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both"),
                       item_draft(name="Adapalene 0.1% gel", position=2)])
    thread = thread_start(patient=patient_a, by=patient_a.user, topic="plan", body=QUESTION,
                          now=now - timedelta(days=2))
    message_post(thread=thread, by=derm, from_clinic=True, now=now - timedelta(days=1),
                 body="Yes, every other night for two weeks.")
    audit_record(actor=staff, patient=patient_a, action=AuditEvent.Action.VIEW,
                 object_type="patient")
    return patient_a


def test_a_patient_downloads_their_data_from_the_account_page(
        live_server, page, record, settings, tmp_path, monkeypatch):
    # given: a broker that takes the task; no worker yet (the test runs it below)
    settings.EXPORTS_DIR = tmp_path / "exports"
    enqueued: list[int] = []
    monkeypatch.setattr(account_tasks.data_export_build, "delay", enqueued.append)
    log_in(page, live_server, record.user.email)

    # when: the patient opens Account from "More" and finds the section
    page.locator("details.nav-more > summary").click()
    page.get_by_role("link", name="Account").click()
    section = page.locator("section.data-export")
    section.get_by_role("heading", name="Download my data").wait_for()
    assert "who viewed the record" in section.inner_text()
    section.scroll_into_view_if_needed()
    assert_no_sideways_scroll(page)
    screenshot(page, "download-account-section")
    assert_no_axe_violations(page)
    section.get_by_role("button", name="Prepare my download").click()

    # then: the progress, with a plain refresh link
    page.get_by_role("heading", name="Being prepared").wait_for()
    assert page.get_by_role("link", name="Refresh to see how it is going").is_visible()
    assert len(enqueued) == 1
    screenshot(page, "download-progress")
    assert_no_axe_violations(page)

    # when: the worker builds it; htmx (every 2 s) brings the link without a reload
    patient_export.data_export_build(export_id=enqueued[0], now=timezone.now())
    page.get_by_role("heading", name="Your download is ready").wait_for(timeout=10_000)
    export = PatientDataExport.objects.get(pk=enqueued[0])
    assert export.status == ExportStatus.DONE
    main = page.locator("main").inner_text()
    assert "Available until" in main
    assert "Make a new download" in main
    assert_no_sideways_scroll(page)
    screenshot(page, "download-ready")
    assert_no_axe_violations(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the file").click()
    zip_path = tmp_path / "download.zip"
    download_info.value.save_as(zip_path)
    assert download_info.value.suggested_filename.startswith("my-health-record-")

    # then: summary.html opens offline at phone width and reads well
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((folder / "summary.html").as_uri())
    page.get_by_role("heading", name="Every change to the plan, and why").wait_for()
    text = page.locator("body").inner_text()
    assert REASON in text
    assert QUESTION in text
    assert "Yes, every other night" in text
    assert page.locator("svg.chart-svg").count() == 3
    assert [url for url in requests if not url.startswith("file:")] == []
    assert_no_sideways_scroll(page)
    screenshot(page, "download-summary-html")
    assert_no_axe_violations(page)
