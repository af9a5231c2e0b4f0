"""A caregiver acting for a child chooses, on the child's Reminders page, whether the child's
reminders come to them and whether one reminder covers all their children (phone layout)."""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CaregiverLink, no_login_email
from reminders.models import CaregiverReminderSettings
from tests.browser.conftest import PHONE, assert_no_axe_violations
from tests.factories import CaregiverFactory, CaregiverLinkFactory, patient_on_a_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_caregiver_turns_off_one_reminder_for_all_their_children(browser, live_server, derm):
    # given: a mother acting for Mia, 8, who has no login of her own
    mia = patient_on_a_plan(derm, since=timezone.localdate() - timedelta(days=10))
    mia.date_of_birth = date(timezone.localdate().year - 8, 1, 15)
    mia.save(update_fields=["date_of_birth"])
    mia.user.first_name, mia.user.email = "Mia", no_login_email()
    mia.user.save()
    mum = CaregiverFactory(first_name="Sam")
    CaregiverLinkFactory(caregiver=mum, patient=mia)
    client = Client()
    client.force_login(mum)
    client.post(reverse("caregiver_act"), {"patient": mia.pk})
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    # when
    page.goto(f"{live_server.url}{reverse('reminder_settings')}")
    assert_no_axe_violations(page)
    receives = page.get_by_label("Send me this child's reminders")
    combined = page.get_by_label("One reminder for all the children I help")
    assert receives.is_checked()
    assert combined.is_checked()
    combined.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    # then
    page.get_by_text("Your reminder choices saved.").wait_for()
    assert CaregiverReminderSettings.objects.get(caregiver=mum).combined is False
    assert CaregiverLink.objects.get(caregiver=mum).receives_reminders is True
    context.close()
