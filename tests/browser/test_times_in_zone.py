"""In Chromium: the clinic's audit log (1366x900) in the clinic's zone; "Who viewed my record"
and the Reminders page (390x844) in the patient's own zone. Accessible, and the times read as
the zone the page names."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from reminders.models import ReminderSettings
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import AuditEventFactory, patient_on_a_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
NEW_YORK, SAO_PAULO = ZoneInfo("America/New_York"), ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def patient(clinic, derm, staff):
    clinic.timezone = "America/New_York"
    clinic.save(update_fields=["timezone"])
    patient = patient_on_a_plan(derm, since=timezone.localdate() - timedelta(days=10),
                                timezone="America/Sao_Paulo")
    ReminderSettings.objects.create(patient=patient, local_time=time(22, 30))
    return patient


def _read_at_01_30_utc(actor, patient) -> datetime:
    """Yesterday 01:30 UTC: the evening before in New York and in São Paulo."""
    at = datetime.combine(timezone.now().date() - timedelta(days=1), time(1, 30), tzinfo=UTC)
    AuditEventFactory(actor=actor, patient=patient, at=at)
    return at


def _shown(at: datetime, zone: ZoneInfo, seconds: bool) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M}" + (f":{local:%S}" if seconds else "")


def test_the_audit_log_reads_in_the_clinics_zone(live_server, page, staff, derm, patient):
    # given
    at = _read_at_01_30_utc(derm, patient)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, staff.email)
    # when
    page.goto(f"{live_server.url}/clinic/audit/")
    # then
    first_read = page.get_by_role("row").filter(has_text=patient.user.display_name).first
    assert _shown(at, NEW_YORK, seconds=True) in first_read.inner_text()
    assert "01:30" not in first_read.inner_text()
    assert_no_axe_violations(page)


def test_who_viewed_my_record_reads_in_the_patients_zone(live_server, page, derm, patient):
    # given
    at = _read_at_01_30_utc(derm, patient)
    page.set_viewport_size(PHONE)
    log_in(page, live_server, patient.user.email)
    # when
    page.goto(f"{live_server.url}/record-access/")
    # then
    read = page.get_by_role("listitem").filter(has_text=derm.display_name)
    assert _shown(at, SAO_PAULO, seconds=False) in read.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_text("America/Sao_Paulo").is_visible()
    assert_no_axe_violations(page)


def test_the_reminders_page_names_the_patients_time(live_server, page, patient):
    page.set_viewport_size(PHONE)
    log_in(page, live_server, patient.user.email)
    page.goto(f"{live_server.url}/reminders/")
    assert ", 22:30 (America/Sao_Paulo time)." in page.get_by_role("status").inner_text()
    assert_no_axe_violations(page)
