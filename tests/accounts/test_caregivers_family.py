"""A family on the patient pages: the parent acting for a child sees the whole record, a
teenager's parent the routine only and only with the teenager's yes; the bar says whom they
act for; the patient's "People who help me"; caregivers' visits in "Who viewed my record"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.caregiving import Standing, care_access
from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import CaregiverLink, User
from accounts.services import caregiver_adult_grant
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    plan_for,
)

pytestmark = pytest.mark.django_db

CHILD_BORN = date(2018, 5, 1)   # 8 on the fixed day (2026-11-25)
TEEN_BORN = date(2012, 6, 1)    # 14
ADULT_BORN = date(2000, 1, 1)


def _family(now):
    parent = CaregiverFactory(first_name="Sam")
    mia = PatientFactory(date_of_birth=CHILD_BORN, user__first_name="Mia")
    zoe = PatientFactory(date_of_birth=TEEN_BORN, user__first_name="Zoe",
                         dermatologist=mia.dermatologist)
    for child in (mia, zoe):
        plan_for(child, author=child.dermatologist, now=now)
    mia_link = CaregiverLinkFactory(caregiver=parent, patient=mia)
    zoe_link = CaregiverLinkFactory(caregiver=parent, patient=zoe)
    return parent, mia, zoe, mia_link, zoe_link


def _acting(client, user, patient):
    client.force_login(user)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = patient.pk
    session.save()


@pytest.mark.parametrize("url_name", ["today", "checkin_history", "my_plan",
                                      "clinic_messages", "photos", "access_log"])
def test_a_parent_acting_for_a_child_opens_the_whole_record(client, now, url_name):
    # given a parent acting for Mia (8)
    parent, mia, _zoe, _ml, _zl = _family(now)
    _acting(client, parent, mia)
    # when they open each section
    response = client.get(reverse(url_name))
    # then it opens, with the bar naming Mia and her age, and a way to switch
    assert response.status_code == 200
    page = response.content.decode()
    assert "You are acting for: <strong>Mia (8)</strong>" in page
    assert f'href="{reverse("caregiver_choose")}"' in page


@pytest.mark.parametrize("url_name", ["photos", "access_log", "caregivers_mine"])
def test_a_teenagers_parent_gets_404_outside_the_routine(client, now, url_name):
    # given Zoe (14) said yes to her parent
    parent, _mia, zoe, _ml, zoe_link = _family(now)
    assent_for(zoe_link, now=now)
    _acting(client, parent, zoe)
    # when the parent opens her photos, her access log or her "People who help me"
    response = client.get(reverse(url_name))
    # then there is no such page for them
    assert response.status_code == 404


def test_a_teenagers_parent_sees_a_navigation_of_the_routine_only(client, now):
    # given Zoe said yes
    parent, _mia, zoe, _ml, zoe_link = _family(now)
    assent_for(zoe_link, now=now)
    _acting(client, parent, zoe)
    # when the parent opens Today
    page = client.get(reverse("today")).content.decode()
    # then the navigation has no Photos and no "Who viewed my record"
    assert "You are acting for: <strong>Zoe (14)</strong>" in page
    assert reverse("my_plan") in page
    assert reverse("photos") not in page
    assert reverse("access_log") not in page


def test_a_caregiver_with_one_person_gets_no_switch_and_one_acting_for_nobody_a_minimal_nav(
        client, now):
    # given a parent of one child only, and another whose only link waits for a teen's yes
    parent = CaregiverFactory()
    mia = PatientFactory(date_of_birth=CHILD_BORN, user__first_name="Mia")
    CaregiverLinkFactory(caregiver=parent, patient=mia)
    waiting = CaregiverFactory()
    CaregiverLinkFactory(caregiver=waiting,
                         patient=PatientFactory(date_of_birth=TEEN_BORN))
    # when each opens a page
    client.force_login(parent)
    one = client.get(reverse("today")).content.decode()
    client.force_login(waiting)
    nobody = client.get(reverse("caregiver_choose")).content.decode()
    # then: the bar without "Switch"; the chooser with a minimal navigation and the reason
    assert "You are acting for: <strong>Mia (8)</strong>" in one
    assert "acting-switch" not in one
    assert "acting-bar" not in nobody
    assert f'href="{reverse("today")}"' not in nobody
    assert "Waiting for" in nobody
    assert "They are asked when they next sign in" in nobody


def test_the_switcher_only_switches_to_people_the_caregiver_cares_for(client, now):
    # given a parent of Mia and Zoe, and another family's child
    parent, mia, _zoe, _ml, _zl = _family(now)
    stranger = PatientFactory(date_of_birth=CHILD_BORN)
    client.force_login(parent)
    # when the parent posts the stranger's id, then Mia's
    foreign = client.post(reverse("caregiver_act"), {"patient": str(stranger.pk)})
    own = client.post(reverse("caregiver_act"), {"patient": str(mia.pk)})
    # then the stranger is a 404; Mia opens
    assert foreign.status_code == 404
    assert own.status_code == 302
    assert client.session[ACTING_FOR_SESSION_KEY] == mia.pk


def test_the_chooser_lists_both_children_in_words(client, now):
    # given Zoe has not answered yet
    parent, _mia, _zoe, _ml, _zl = _family(now)
    client.force_login(parent)
    # when the parent opens the chooser
    page = client.get(reverse("caregiver_choose")).content.decode()
    # then Mia is a button with her standing; Zoe is paused, explained
    assert "Who are you helping today?" in page
    assert "Mia (8)" in page
    assert "Whole record" in page
    assert "Zoe (14)" in page
    assert "Waiting for Zoe to agree" in page


def test_a_caregiver_stops_helping_from_the_chooser(client, now):
    # given a parent acting for Mia
    parent, mia, _zoe, mia_link, _zl = _family(now)
    _acting(client, parent, mia)
    # when they stop helping Mia
    response = client.post(reverse("caregiver_stop"), {"patient": str(mia.pk)})
    # then the link is ended by them, and Mia's pages are closed at once
    assert response.status_code == 302
    mia_link.refresh_from_db()
    assert mia_link.ended_at == now
    assert mia_link.ended_by == parent
    assert client.get(reverse("today")).status_code == 404


def test_stopping_someone_elses_link_is_a_404(client, now):
    parent, _mia, _zoe, _ml, _zl = _family(now)
    other_link = CaregiverLinkFactory(patient=PatientFactory(date_of_birth=CHILD_BORN))
    client.force_login(parent)
    response = client.post(reverse("caregiver_stop"), {"patient": str(other_link.patient_id)})
    assert response.status_code == 404
    other_link.refresh_from_db()
    assert other_link.ended_at is None


def test_the_teen_is_asked_on_today_and_yes_opens_access(client, now):
    # given Zoe (14), her parent waiting for her yes
    _parent, _mia, zoe, _ml, zoe_link = _family(now)
    client.force_login(zoe.user)
    # when Zoe opens Today
    page = client.get(reverse("today")).content.decode()
    # then she is asked in plain words, per caregiver
    assert "Can Mum keep seeing your plan, check-ins and reminders?" in page
    assert "Mum won\u2019t see messages you mark private" in page
    # and when she says yes
    response = client.post(reverse("caregivers_mine"), {
        "action": "assent_yes", "link": str(zoe_link.pk), "next": "today"})
    # then the parent can act for her, and the card is gone
    assert response.status_code == 302
    assert response.url == reverse("today")
    assert care_access(zoe_link, now=now).standing == Standing.OPEN
    assert "Can Mum keep seeing" not in client.get(reverse("today")).content.decode()


def test_not_now_pauses_an_already_signed_in_parent_at_their_next_request(now):
    from django.test import Client

    # given Zoe said yes, and her parent is on her plan in their own browser
    parent, _mia, zoe, _ml, zoe_link = _family(now)
    assent_for(zoe_link, now=now)
    parent_client, zoe_client = Client(), Client()
    _acting(parent_client, parent, zoe)
    assert parent_client.get(reverse("my_plan")).status_code == 200
    # when Zoe changes her answer to "not now" on her page
    zoe_client.force_login(zoe.user)
    zoe_client.post(reverse("caregivers_mine"), {"action": "assent_no",
                                                 "link": str(zoe_link.pk)})
    # then the parent's next request finds her plan closed
    assert parent_client.get(reverse("my_plan")).status_code == 404
    chooser = parent_client.get(reverse("caregiver_choose")).content.decode()
    assert "Zoe said no for now" in chooser


def test_the_teen_is_asked_again_two_weeks_before_the_year_runs_out(client, now):
    # given Zoe said yes a year ago less ten days
    _parent, _mia, zoe, _ml, zoe_link = _family(now)
    assent_for(zoe_link, now=now - timedelta(days=355))
    client.force_login(zoe.user)
    # when she opens Today, with access still open
    page = client.get(reverse("today")).content.decode()
    # then she is asked again; and once the year is over the parent is paused
    assert care_access(zoe_link, now=now).standing == Standing.OPEN
    assert "Can Mum keep seeing" in page
    with time_machine.travel(now + timedelta(days=11), tick=False):
        assert care_access(zoe_link, now=now + timedelta(days=11)).standing == (
            Standing.NEEDS_ASSENT)
    # but a yes given last month asks nothing
    assent_for(zoe_link, now=now - timedelta(days=30))
    assert "Can Mum keep seeing" not in client.get(reverse("today")).content.decode()


def test_a_child_and_a_caregiver_get_no_assent_card(client, now):
    parent, mia, _zoe, _ml, _zl = _family(now)
    mia.user.set_password("x-Horse-battery-9")
    client.force_login(mia.user)
    assert "Can Mum keep seeing" not in client.get(reverse("today")).content.decode()
    _acting(client, parent, mia)
    assert "Can Mum keep seeing" not in client.get(reverse("today")).content.decode()


def test_an_adult_invites_a_caregiver_from_people_who_help_me(
        client, now, django_capture_on_commit_callbacks):
    # given an adult patient
    adult = PatientFactory(date_of_birth=ADULT_BORN)
    client.force_login(adult.user)
    # when they invite their partner
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("caregivers_mine"), {
            "action": "invite", "email": "Partner@Example.test", "first_name": "Alex",
            "last_name": "Lee", "relationship": "other", "called": "Alex"})
    # then the link exists, granted by them, and an invitation is emailed
    assert response.status_code == 302
    link = CaregiverLink.objects.get(patient=adult)
    assert link.caregiver.email == "partner@example.test"
    assert link.invited_by == adult.user
    assert care_access(link, now=now).standing == Standing.OPEN
    assert [m.to for m in mail.outbox] == [["partner@example.test"]]


def test_an_invitation_to_a_clinic_address_answers_the_same_and_links_nothing(
        client, now, derm):
    adult = PatientFactory(date_of_birth=ADULT_BORN)
    client.force_login(adult.user)
    response = client.post(reverse("caregivers_mine"), {
        "action": "invite", "email": derm.email, "first_name": "A", "last_name": "B",
        "relationship": "other", "called": ""})
    assert response.status_code == 302
    assert not CaregiverLink.objects.exists()
    assert not User.objects.get(pk=derm.pk).is_caregiver


def test_an_adult_grants_again_after_coming_of_age_and_can_end(client, now):
    # given a patient who turned 18 (born 2008-06-01) whose parent's link predates it
    grown = PatientFactory(date_of_birth=date(2008, 6, 1), user__first_name="Ana")
    link = CaregiverLinkFactory(patient=grown)
    client.force_login(grown.user)
    page = client.get(reverse("caregivers_mine")).content.decode()
    assert "Ana is an adult now" in page
    # when Ana lets Mum help again
    client.post(reverse("caregivers_mine"), {"action": "grant", "link": str(link.pk)})
    # then the parent's access is open; and when she ends it, it is ended
    link.refresh_from_db()
    assert care_access(link, now=now).standing == Standing.OPEN
    client.post(reverse("caregivers_mine"), {"action": "end", "link": str(link.pk)})
    link.refresh_from_db()
    assert link.ended_at == now
    assert link.ended_by == grown.user
    assert "Ended" in client.get(reverse("caregivers_mine")).content.decode()


def test_a_teen_cannot_invite_or_end_and_a_foreign_link_is_404(client, now):
    _parent, _mia, zoe, mia_link, zoe_link = _family(now)
    client.force_login(zoe.user)
    invite = client.post(reverse("caregivers_mine"), {
        "action": "invite", "email": "x@example.test", "first_name": "X", "last_name": "Y",
        "relationship": "other"})
    end = client.post(reverse("caregivers_mine"), {"action": "end", "link": str(zoe_link.pk)})
    foreign = client.post(reverse("caregivers_mine"), {"action": "assent_yes",
                                                       "link": str(mia_link.pk)})
    assert (invite.status_code, end.status_code, foreign.status_code) == (400, 400, 404)
    zoe_link.refresh_from_db()
    assert zoe_link.ended_at is None
    assert CaregiverLink.objects.count() == 2


def test_who_viewed_my_record_shows_the_parents_visit_to_the_teen(client, now):
    # given Zoe said yes and her parent opened her plan and check-ins
    parent, _mia, zoe, _ml, zoe_link = _family(now)
    assent_for(zoe_link, now=now - timedelta(days=1))
    _acting(client, parent, zoe)
    client.get(reverse("my_plan"))
    client.get(reverse("checkin_history"))
    # when Zoe opens "Who viewed my record"
    client.force_login(zoe.user)
    page = client.get(reverse("access_log")).content.decode()
    # then one visit by her parent, a caregiver, naming what was opened
    assert "Sam" in page
    assert "caregiver" in page
    assert "Your plan" in page
    assert "Your check-ins" in page


def test_the_adult_grant_service_refuses_a_teen(now):
    from accounts.services import CaregiverError

    _parent, _mia, _zoe, _ml, zoe_link = _family(now)
    with pytest.raises(CaregiverError):
        caregiver_adult_grant(link=zoe_link, now=now)
