"""seed_demo's family (issue 20): parent@demo.test, "Mum", caring for an 8-year-old without a
login and a 14-year-old who agreed, both with eczema plans and four weeks of check-ins mostly
logged by their mum."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.caregiving import Standing, Tier, accesses_of
from accounts.models import CaregiverLink, Patient
from accounts.selectors import role_of
from checkins.models import CheckIn
from demo.seed import DEMO_PASSWORD, PARENT_EMAIL, TEEN_EMAIL

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(now):
    call_command("seed_demo", patients=4, stdout=StringIO(), stderr=StringIO())
    links = (CaregiverLink.objects.filter(caregiver__email=PARENT_EMAIL)
             .select_related("caregiver", "patient__user", "patient__clinic")
             .order_by("-patient__date_of_birth"))
    return list(links)


def test_the_parent_cares_for_a_young_child_and_a_teenager_who_agreed(family, now):
    # given
    parent = authenticate(email=PARENT_EMAIL, password=DEMO_PASSWORD)
    child, teen = (link.patient for link in family)
    # when
    accesses = accesses_of(parent, now=now)
    # then
    assert role_of(parent) == "caregiver"
    assert [(a.patient, a.tier, a.standing, a.age) for a in accesses] == [
        (teen, Tier.TEEN, Standing.OPEN, 14), (child, Tier.CHILD, Standing.OPEN, 8)]
    assert {(link.relationship, link.called) for link in family} == {("parent", "Mum")}
    assert not child.user.has_mailbox
    assert not child.user.has_usable_password()
    assert teen.user.email == TEEN_EMAIL
    assert authenticate(email=TEEN_EMAIL, password=DEMO_PASSWORD) == teen.user
    assert {child.clinic.name} == {teen.clinic.name} == {"Demo Dermatology Clinic"}


def test_both_have_eczema_plans_suited_to_their_age(family):
    # given
    child, teen = (link.patient for link in family)
    # when
    names = {patient.pk: {item.name: item for item in
                          patient.care_plan.revisions.order_by("-number")[0].items.all()}
             for patient in (child, teen)}
    # then: an emollient twice a day; a mild steroid for the child, a calcineurin inhibitor
    # for the teenager
    for patient in (child, teen):
        assert patient.care_plan.revisions.count() == 2
        emollient = names[patient.pk]["Emollient cream (fragrance-free)"]
        assert (emollient.time_of_day, emollient.frequency) == ("both", "daily")
    assert "Hydrocortisone 1% cream" in names[child.pk]
    assert "Tacrolimus 0.03% ointment" in names[teen.pk]


def test_four_weeks_of_checkins_mostly_logged_by_mum(family, now):
    # given
    child, teen = (link.patient for link in family)
    parent = family[0].caregiver
    # when
    by = {patient.pk: list(CheckIn.objects.filter(patient=patient)
                           .values_list("submitted_by_id", flat=True))
          for patient in (child, teen)}
    # then
    for patient in (child, teen):
        dates = CheckIn.objects.filter(patient=patient).values_list("local_date", flat=True)
        assert 21 <= len(dates) <= 30
        assert (patient.local_date(now) - min(dates)).days <= 30
        assert patient.pulses.count() == 2
    assert set(by[child.pk]) == {parent.pk}
    assert by[teen.pk].count(parent.pk) > by[teen.pk].count(teen.user_id) > 0
    assert set(by[teen.pk]) == {parent.pk, teen.user_id}


def test_signed_in_the_parent_chooses_and_opens_each_childs_today(family, now):
    # given
    child, teen = (link.patient for link in family)
    client = Client()
    client.force_login(family[0].caregiver)
    # when
    home = client.get(reverse("home"))
    chosen = client.post(reverse("caregiver_act"), {"patient": teen.pk})
    today = client.get(reverse("today"))
    photos = client.get(reverse("photos"))
    # then: two children, so the chooser first; the teenager's photos stay his
    assert home.url == reverse("caregiver_choose")
    assert chosen.url == reverse("today")
    assert today.status_code == 200
    assert photos.status_code == 404
    assert "Lily" in client.get(reverse("caregiver_choose")).content.decode()
    assert Patient.objects.filter(pk=child.pk, user__first_name="Lily").exists()


def test_re_running_adds_no_family_member_or_checkin(family):
    # given
    before = (CaregiverLink.objects.count(), Patient.objects.count(), CheckIn.objects.count())
    # when
    call_command("seed_demo", patients=4, stdout=StringIO(), stderr=StringIO())
    # then
    assert (CaregiverLink.objects.count(), Patient.objects.count(),
            CheckIn.objects.count()) == before
