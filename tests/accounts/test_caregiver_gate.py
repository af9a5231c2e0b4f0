"""A caregiver's requests to a patient's pages: a form filled in for one child is never saved
into a sibling's record, and the phone's offline copies and queue are kept per child."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from checkins.models import CheckIn
from core.pwa import PWA_USER_HEADER
from tests.factories import CaregiverFactory, CaregiverLinkFactory, PatientFactory, plan_for

pytestmark = pytest.mark.django_db


def _siblings(now):
    parent = CaregiverFactory()
    mia = PatientFactory(date_of_birth=date(2018, 5, 1), user__first_name="Mia")
    leo = PatientFactory(date_of_birth=date(2020, 9, 1), user__first_name="Leo",
                         dermatologist=mia.dermatologist)
    for child in (mia, leo):
        plan_for(child, author=child.dermatologist, now=now)
        CaregiverLinkFactory(caregiver=parent, patient=child)
    return parent, mia, leo


def _acting(client, parent, child):
    client.force_login(parent)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = child.pk
    session.save()


def test_a_form_filled_in_for_one_child_is_not_saved_for_the_other(client, now):
    # given the parent opened Mia's Today, then switched to Leo in another tab
    parent, mia, leo = _siblings(now)
    _acting(client, parent, leo)
    # when Mia's page is submitted ("I did everything")
    response = client.post(reverse("today"), {"acting_for": str(mia.pk), "all_done": "1"})
    # then nothing is saved for either child, and the page says why, naming Leo
    assert response.status_code == 409
    assert "Leo" in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_form_for_the_child_acted_for_is_saved_and_attributed(client, now):
    # given the parent acts for Leo
    parent, _mia, leo = _siblings(now)
    _acting(client, parent, leo)
    # when Leo's page is submitted
    response = client.post(reverse("today"), {"acting_for": str(leo.pk), "all_done": "1"})
    # then Leo's check-in is saved, by the parent, and audited with both people
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.patient, checkin.submitted_by) == (leo, parent)
    assert AuditEvent.objects.filter(actor=parent, patient=leo, action="change",
                                     object_type="caregiver_checkins").exists()


def test_the_phone_keeps_each_childs_today_under_its_own_tag(client, now):
    # given a parent of two
    parent, mia, leo = _siblings(now)
    # when they open Today for each child
    _acting(client, parent, mia)
    mia_tag = client.get(reverse("today"))[PWA_USER_HEADER]
    _acting(client, parent, leo)
    leo_tag = client.get(reverse("today"))[PWA_USER_HEADER]
    # then the tags share the parent's part and differ in the child's
    assert mia_tag != leo_tag
    assert mia_tag.split(".")[0] == leo_tag.split(".")[0]
    assert len(mia_tag.split(".")) == 2
