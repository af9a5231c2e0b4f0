"""A caregiver's requests to a patient's pages: a form filled in for one child is never saved
into a sibling's record, and the phone's offline copies and queue are kept per child."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse

from accounts.caregiving import SECTION_BY_URL_NAME
from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from checkins.models import CheckIn
from core.pwa import PWA_USER_HEADER
from messaging.models import Topic
from messaging.services import thread_start
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    PatientFactory,
    photo_for,
    plan_for,
)

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


POST_FORM = re.compile(r"<form\b([^>]*method=\"post\"[^>]*)>(.*?)</form>", re.S | re.I)
ACTION = re.compile(r'action="([^"]*)"')


def _patient_forms(html: str, url: str) -> list[str]:
    """The page's POST forms that write to the patient's record (a patient section's URL),
    not the sign-out or the caregiver's own switch."""
    forms = []
    for attributes, body in POST_FORM.findall(html):
        action = ACTION.search(attributes)
        target = urlsplit(action.group(1)).path if action and action.group(1) else url
        if resolve(target).url_name in SECTION_BY_URL_NAME:
            forms.append(body)
    return forms


def test_every_form_on_a_childs_pages_names_the_child(client, now):
    # given a parent acting for Mia, whose record has a plan, a photo, a conversation and a
    # due day on Today
    parent, mia, _leo = _siblings(now)
    photo_for(mia, now=now)
    thread = thread_start(patient=mia, by=parent, topic=Topic.PLAN, body="Is it OK?",
                          now=now)
    item = mia.care_plan.revisions.get().items.first()
    _acting(client, parent, mia)
    pages = [reverse(name) for name in ("today", "my_profile", "reminder_settings",
                                        "message_new", "photos", "my_plan")]
    pages += [reverse("message_thread", args=[thread.pk]),
              reverse("raise_concern", args=[item.key])]
    counted = 0
    for url in pages:
        # when the page is shown
        forms = _patient_forms(client.get(url).content.decode(), url)
        # then each form it offers carries Mia's id for the gate to check
        for form in forms:
            assert f'name="acting_for" value="{mia.pk}"' in form, (url, form[:200])
        counted += len(forms)
    assert counted >= 8
