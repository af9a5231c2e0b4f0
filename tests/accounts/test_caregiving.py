"""Caregivers' tiers and standing: ages from the date of birth in the patient's own time zone
(a birthday begins at the patient's midnight), the clinic's own ages, a teenager's yearly assent,
an adult's grant; and how the middleware picks whom a caregiver acts for on each request.

Instants are passed as ``now`` (or the clock is moved with time-machine); nothing depends on the
day the tests run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.caregiving import (
    SECTIONS_BY_TIER,
    Section,
    Standing,
    Tier,
    age_on,
    care_access,
    tier_on,
)
from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.services import caregiver_adult_grant, caregiver_link_end
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    ClinicFactory,
    DermatologistFactory,
    PatientFactory,
    UserFactory,
    assent_for,
)

MINUTE = timedelta(minutes=1)
# Local midnight that starts 26 November 2026, in UTC: Auckland is on daylight time (UTC+13),
# so the day begins at 11:00 UTC on the 25th; Los Angeles on standard time (UTC-8), 08:00 UTC.
AUCKLAND_MIDNIGHT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
LOS_ANGELES_MIDNIGHT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
ZONES = [("Pacific/Auckland", AUCKLAND_MIDNIGHT), ("America/Los_Angeles", LOS_ANGELES_MIDNIGHT)]


def _patient(*, born: date, zone: str = "Europe/London", teen_age: int = 12, adult_age: int = 18,
             first_name: str = "Ruby"):
    clinic = ClinicFactory(caregiver_teen_age=teen_age, caregiver_adult_age=adult_age)
    return PatientFactory(dermatologist=DermatologistFactory(membership=clinic),
                          user=UserFactory(first_name=first_name), date_of_birth=born,
                          timezone=zone)


# --- Ages and tiers ------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "age"), [
    (date(2026, 11, 25), 11), (date(2026, 11, 26), 12), (date(2026, 12, 31), 12),
    (date(2027, 11, 25), 12), (date(2027, 11, 26), 13)])
def test_age_on_counts_whole_years(day, age):
    assert age_on(date(2014, 11, 26), day) == age


@pytest.mark.parametrize(("day", "age"), [
    (date(2026, 2, 28), 13),  # a common year: the birthday comes on 1 March
    (date(2026, 3, 1), 14),
    (date(2028, 2, 28), 15),  # a leap year: on 29 February itself
    (date(2028, 2, 29), 16)])
def test_someone_born_on_29_february_is_a_year_older_on_1_march_in_common_years(day, age):
    assert age_on(date(2012, 2, 29), day) == age


@pytest.mark.parametrize(("day", "tier"), [
    (date(2024, 2, 28), Tier.CHILD), (date(2024, 2, 29), Tier.TEEN),  # 12 in a leap year
    (date(2030, 2, 28), Tier.TEEN), (date(2030, 3, 1), Tier.ADULT)])  # 18 in a common year
def test_tier_on_follows_a_29_february_birthday(day, tier):
    assert tier_on(born=date(2012, 2, 29), day=day, teen_age=12, adult_age=18) == tier


@pytest.mark.parametrize(("age", "tier"), [(0, Tier.CHILD), (11, Tier.CHILD), (12, Tier.TEEN),
                                           (17, Tier.TEEN), (18, Tier.ADULT), (40, Tier.ADULT)])
def test_tier_on_at_the_clinics_ages(age, tier):
    day = date(2026, 6, 1)
    assert tier_on(born=date(2026 - age, 6, 1), day=day, teen_age=12, adult_age=18) == tier


def test_tier_on_is_adult_without_a_date_of_birth():
    assert tier_on(born=None, day=date(2026, 6, 1), teen_age=12, adult_age=18) == Tier.ADULT


def test_tier_on_follows_a_clinics_own_ages():
    # a clinic where the teenage years start at 13 and adulthood at 16
    born, day = date(2014, 6, 1), date(2026, 6, 1)  # 12 today
    assert tier_on(born=born, day=day, teen_age=13, adult_age=16) == Tier.CHILD
    assert tier_on(born=born, day=day.replace(year=2027), teen_age=13, adult_age=16) == Tier.TEEN
    assert tier_on(born=born, day=day.replace(year=2030), teen_age=13, adult_age=16) == Tier.ADULT


# --- A birthday around the patient's midnight ----------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "midnight"), ZONES)
def test_a_child_turning_12_needs_their_assent_from_their_own_midnight(zone, midnight):
    # given a child whose 12th birthday is 26 November 2026 where they live
    link = CaregiverLinkFactory(patient=_patient(born=date(2014, 11, 26), zone=zone))
    # when
    before = care_access(link, now=midnight - MINUTE)
    after = care_access(link, now=midnight + MINUTE)
    # then the parent has the whole record until the child's midnight, then waits for them
    assert (before.tier, before.standing, before.age) == (Tier.CHILD, Standing.OPEN, 11)
    assert before.sections == SECTIONS_BY_TIER[Tier.CHILD] == frozenset(Section)
    assert (after.tier, after.standing, after.age) == (Tier.TEEN, Standing.NEEDS_ASSENT, 12)
    assert not after.is_open
    assert after.sections == frozenset()


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "midnight"), ZONES)
def test_the_12th_birthday_follows_the_patients_zone_not_utc(zone, midnight):
    # given the same birthday; at UTC's midnight starting 26 November it is already the 26th
    # in Auckland and still the 25th in Los Angeles
    link = CaregiverLinkFactory(patient=_patient(born=date(2014, 11, 26), zone=zone))
    utc_midnight = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    # when
    access = care_access(link, now=utc_midnight)
    # then
    expected = Tier.TEEN if zone == "Pacific/Auckland" else Tier.CHILD
    assert access.tier == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "midnight"), ZONES)
def test_a_teen_turning_18_needs_the_adults_grant_from_their_own_midnight(zone, midnight):
    # given a teenager who said yes, whose 18th birthday is 26 November 2026 where they live
    link = CaregiverLinkFactory(patient=_patient(born=date(2008, 11, 26), zone=zone))
    assent_for(link, now=midnight - timedelta(days=30))
    # when
    before = care_access(link, now=midnight - MINUTE)
    after = care_access(link, now=midnight + MINUTE)
    # then the routine is open until their midnight; then only the adult can let the parent in
    assert (before.tier, before.standing) == (Tier.TEEN, Standing.OPEN)
    assert before.sections == SECTIONS_BY_TIER[Tier.TEEN]
    assert not before.opens(Section.PHOTOS)
    assert not before.opens(Section.ACCESS_LOG)
    assert (after.tier, after.standing, after.age) == (Tier.ADULT, Standing.NEEDS_ADULT_GRANT, 18)
    assert not after.is_open


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "midnight"), ZONES)
def test_a_clinics_own_teen_age_moves_the_boundary(zone, midnight):
    # given a clinic whose teenage years start at 13, and a child turning 12 at ``midnight``
    link = CaregiverLinkFactory(patient=_patient(born=date(2014, 11, 26), zone=zone, teen_age=13))
    # when
    at_12 = care_access(link, now=midnight + MINUTE)
    before_13 = care_access(link, now=midnight.replace(year=2027) - MINUTE)
    at_13 = care_access(link, now=midnight.replace(year=2027) + MINUTE)
    # then
    assert (at_12.tier, at_12.standing) == (Tier.CHILD, Standing.OPEN)
    assert (before_13.tier, before_13.standing) == (Tier.CHILD, Standing.OPEN)
    assert (at_13.tier, at_13.standing) == (Tier.TEEN, Standing.NEEDS_ASSENT)


@pytest.mark.django_db
def test_a_clinics_own_adult_age_moves_the_boundary():
    # given a clinic where adulthood starts at 16, and a teenager who said yes
    link = CaregiverLinkFactory(patient=_patient(
        born=date(2010, 11, 26), zone="America/Los_Angeles", adult_age=16))
    assent_for(link, now=LOS_ANGELES_MIDNIGHT - timedelta(days=30))
    # when
    before = care_access(link, now=LOS_ANGELES_MIDNIGHT - MINUTE)
    after = care_access(link, now=LOS_ANGELES_MIDNIGHT + MINUTE)
    # then
    assert (before.tier, before.standing) == (Tier.TEEN, Standing.OPEN)
    assert (after.tier, after.standing) == (Tier.ADULT, Standing.NEEDS_ADULT_GRANT)


# --- Assent, "no", an adult's grant, an ended link -----------------------------------------------

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 25 November in London


@pytest.fixture
def teen_link():
    return CaregiverLinkFactory(patient=_patient(born=date(2012, 5, 10)))  # 14


@pytest.mark.django_db
def test_a_teenagers_yes_lasts_a_year_then_they_are_asked_again(teen_link):
    # given
    assent = assent_for(teen_link, now=NOW)
    # when
    last_day = datetime(2027, 11, 25, 12, 0, tzinfo=UTC)
    # then
    assert assent.valid_until == date(2027, 11, 25)
    assert care_access(teen_link, now=NOW).standing == Standing.OPEN
    assert care_access(teen_link, now=last_day).standing == Standing.OPEN
    assert care_access(teen_link, now=last_day + timedelta(days=1)).standing == (
        Standing.NEEDS_ASSENT)


@pytest.mark.django_db
def test_a_teenagers_no_pauses_the_access(teen_link):
    # given they said yes, then no
    assent_for(teen_link, now=NOW - timedelta(days=10))
    assent_for(teen_link, given=False, now=NOW - timedelta(days=1))
    # when
    access = care_access(teen_link, now=NOW)
    # then
    assert access.standing == Standing.DECLINED
    assert not access.is_open
    assert access.sections == frozenset()
    assert access.standing_text == "Ruby said no for now"


@pytest.mark.django_db
def test_a_teenager_saying_yes_again_after_no_opens_the_routine(teen_link):
    assent_for(teen_link, given=False, now=NOW - timedelta(days=10))
    assent_for(teen_link, now=NOW - timedelta(days=1))
    assert care_access(teen_link, now=NOW).standing == Standing.OPEN


@pytest.mark.django_db
@pytest.mark.parametrize("born", [date(2018, 5, 10), date(2012, 5, 10), date(1990, 5, 10)])
def test_an_ended_link_is_ended_whatever_the_age(born):
    # given a child's, a teenager's (who said yes) and an adult's (who granted) link
    link = CaregiverLinkFactory(patient=_patient(born=born))
    if date(2012, 1, 1) < born < date(2014, 1, 1):
        assent_for(link, now=NOW - timedelta(days=3))
    if born.year < 2000:
        caregiver_adult_grant(link=link, now=NOW - timedelta(days=3))
    assert care_access(link, now=NOW).is_open
    # when
    caregiver_link_end(link=link, ended_by=link.caregiver, now=NOW - MINUTE)
    link.refresh_from_db()
    # then
    access = care_access(link, now=NOW)
    assert access.standing == Standing.ENDED
    assert not access.is_open
    assert access.standing_text == "Ended"


@pytest.mark.django_db
def test_an_adults_grant_given_before_18_does_not_count_after_18():
    # given a grant dated the day before the 18th birthday (26 November 2026 in London)
    link = CaregiverLinkFactory(patient=_patient(born=date(2008, 11, 26)),
                                adult_granted_on=date(2026, 11, 25))
    assent_for(link, now=datetime(2026, 11, 1, tzinfo=UTC))
    # when
    after = care_access(link, now=datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    # then
    assert after.standing == Standing.NEEDS_ADULT_GRANT


@pytest.mark.django_db
def test_an_adults_grant_on_their_18th_birthday_opens_the_routine():
    # given
    link = CaregiverLinkFactory(patient=_patient(born=date(2008, 11, 26)))
    birthday = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # when
    caregiver_adult_grant(link=link, now=birthday)
    link.refresh_from_db()
    # then
    access = care_access(link, now=birthday + timedelta(days=200))
    assert (access.tier, access.standing) == (Tier.ADULT, Standing.OPEN)
    assert access.sections == SECTIONS_BY_TIER[Tier.ADULT]


# --- Whom a caregiver acts for, request by request ---------------------------------------------

def _child(caregiver, *, first_name: str, years: int = 8, zone: str = "Europe/London"):
    today = date(2026, 11, 25)
    patient = _patient(born=today.replace(year=today.year - years, month=5, day=10),
                       zone=zone, first_name=first_name)
    return CaregiverLinkFactory(caregiver=caregiver, patient=patient)


@pytest.mark.django_db
def test_a_caregiver_with_one_open_child_acts_for_them_without_choosing(client, now):
    # given
    caregiver = CaregiverFactory()
    link = _child(caregiver, first_name="Ruby")
    client.force_login(caregiver)
    # when
    home = client.get(reverse("home"))
    today = client.get(reverse("today"))
    # then
    assert home.status_code == 302
    assert home.url == reverse("today")
    assert today.status_code == 200
    assert client.session[ACTING_FOR_SESSION_KEY] == link.patient_id


@pytest.mark.django_db
def test_a_caregiver_with_two_open_children_lands_on_the_chooser(client, now):
    # given
    caregiver = CaregiverFactory()
    _child(caregiver, first_name="Ruby")
    _child(caregiver, first_name="Noah", years=5)
    client.force_login(caregiver)
    # when
    home = client.get(reverse("home"))
    today = client.get(reverse("today"))
    chooser = client.get(reverse("caregiver_choose"))
    # then
    assert home.status_code == 302
    assert home.url == reverse("caregiver_choose")
    assert today.status_code == 404
    assert ACTING_FOR_SESSION_KEY not in client.session
    assert "Ruby" in chooser.content.decode()
    assert "Noah" in chooser.content.decode()


@pytest.mark.django_db
def test_a_link_ended_in_another_session_stops_the_next_request(client, now):
    # given the caregiver acting for Ruby in this session
    caregiver = CaregiverFactory()
    link = _child(caregiver, first_name="Ruby")
    client.force_login(caregiver)
    assert client.get(reverse("today")).status_code == 200
    # when the link is ended elsewhere (the clinic, or the caregiver's other session)
    caregiver_link_end(link=link, ended_by=link.patient.dermatologist, now=now)
    # then
    assert client.get(reverse("today")).status_code == 404
    assert ACTING_FOR_SESSION_KEY not in client.session
    chooser = client.get(reverse("caregiver_choose"))
    assert chooser.status_code == 200
    assert "Ruby" not in chooser.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "midnight"), ZONES)
def test_a_parent_acting_for_a_child_stops_at_the_childs_12th_birthday(client, zone, midnight):
    # given a parent acting for a child whose 12th birthday starts at ``midnight``
    caregiver = CaregiverFactory()
    link = CaregiverLinkFactory(caregiver=caregiver,
                                patient=_patient(born=date(2014, 11, 26), zone=zone))
    with time_machine.travel(midnight - MINUTE, tick=False):
        client.force_login(caregiver)
        before = client.get(reverse("photos")).status_code
    # when
    with time_machine.travel(midnight + MINUTE, tick=False):
        after = client.get(reverse("today")).status_code
        chooser = client.get(reverse("caregiver_choose")).content.decode()
    # then
    assert before == 200
    assert after == 404
    assert "Waiting for Ruby to agree" in chooser
    assert link.patient.user.first_name == "Ruby"
