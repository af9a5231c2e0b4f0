"""A new profile starts empty, in the clinic's currency: nothing the patient has not said is shown
as if they had said it, and the fit check neither warns nor passes on an answer not given."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.services import patient_invite
from careplans.fit import FitProfile, check_fit
from careplans.models import PatientProfile
from careplans.selectors import profile_for
from careplans.services import profile_update
from tests.factories import ClinicFactory, DermatologistFactory, item_draft, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin_derm():
    return DermatologistFactory(membership=ClinicFactory(timezone="Europe/Berlin", currency="EUR"))


@pytest.fixture
def invited(berlin_derm):
    """A patient just invited by a Berlin clinic, who has answered nothing yet."""
    return patient_invite(invited_by=berlin_derm, clinic=berlin_derm.membership.clinic,
                          email="lena@example.test", first_name="Lena", last_name="Vogel",
                          timezone_name="Europe/Berlin")


def test_a_new_profile_is_empty_and_in_the_clinics_currency(invited):
    # when
    profile = profile_for(invited)

    # then
    assert (profile.monthly_budget, profile.morning_minutes, profile.evening_minutes) == (
        None, None, None)
    assert profile.daily_pattern == ""
    assert profile.what_matters == ""
    assert profile.currency == "EUR"


def test_the_fit_check_says_what_was_not_given_instead_of_warning_or_passing():
    # given: an expensive, long routine and a profile with no budget and no times
    unknown = FitProfile(monthly_budget=None, currency="EUR", morning_minutes=None,
                         evening_minutes=None)
    item = item_draft(monthly_cost=Decimal("500"), minutes=90, time_of_day="both")

    # when
    report = check_fit(unknown, [item])

    # then: no warning compares with a made-up number, and nothing claims it fits
    assert report.warnings == []
    assert report.not_given == ["budget", "morning time", "evening time"]
    assert report.fits is False
    assert report.over_budget_by == 0


def test_a_given_budget_of_zero_is_an_answer_not_an_unknown():
    # given
    zero = FitProfile(monthly_budget=Decimal("0"), currency="EUR", morning_minutes=5,
                      evening_minutes=5)

    # when
    report = check_fit(zero, [item_draft(monthly_cost=Decimal("3"), minutes=2)])

    # then
    assert [w.code for w in report.warnings] == ["budget"]
    assert report.not_given == []


def test_the_dermatologist_reads_not_given_yet_for_what_the_patient_has_not_answered(
    client, berlin_derm, invited
):
    # given
    plan_for(invited, author=berlin_derm, items=[item_draft(monthly_cost=Decimal("12"))])
    client.force_login(berlin_derm)

    # when
    body = client.get(reverse("patient_detail", args=[invited.pk])).content.decode()
    facts = body[body.index('<dl class="facts">'):body.index("</dl>")]

    # then: no invented £30 budget, 10 minutes or daily pattern
    assert "Mornings: not given yet; evenings: not given yet" in facts
    assert "<dt>Budget</dt><dd>not given yet</dd>" in facts
    assert "<dt>Daily pattern</dt><dd>not given yet</dd>" in facts
    assert "£" not in body
    assert "10 min" not in facts
    assert "Regular days" not in facts
    assert "€12.00 a month; the budget: not given yet." in " ".join(body.split())
    assert "Not checked, not given yet: budget, morning time, evening time." in body


def test_the_plan_editor_does_not_claim_a_fit_it_could_not_check(client, berlin_derm, invited):
    # given
    client.force_login(berlin_derm)

    # when
    body = client.get(reverse("plan_edit", args=[invited.pk])).content.decode()

    # then
    assert "The plan fits the patient" not in body
    assert "budget: not given yet" in body
    assert "Not checked, not given yet by the patient: budget, morning time, evening time." in body


def test_the_patient_reads_what_they_have_not_given_yet_on_their_plan(
    client, berlin_derm, invited
):
    # given
    plan_for(invited, author=berlin_derm, items=[item_draft(monthly_cost=Decimal("12"))])
    client.force_login(invited.user)

    # when
    body = " ".join(client.get(reverse("my_plan")).content.decode().split())

    # then
    assert "€12.00 a month; your budget: not given yet." in body
    assert "Not given yet: your budget, morning time, evening time." in body


def test_the_patient_can_leave_the_budget_and_times_empty(client, invited):
    # given: the patient had given a budget, then clears it
    profile_update(patient=invited, actor=invited.user, data={"monthly_budget": Decimal("40")},
                   preferences=None)
    client.force_login(invited.user)

    # when
    response = client.post(reverse("my_profile"), {
        "what_matters": "Calm skin", "daily_pattern": "", "morning_minutes": "",
        "evening_minutes": "", "lifestyle_notes": "", "monthly_budget": "", "currency": "EUR",
        "preference_notes": "", "timezone": "Europe/Berlin",
    })

    # then
    assert response.status_code == 302
    profile = PatientProfile.objects.get(patient=invited)
    assert profile.monthly_budget is None
    assert profile.morning_minutes is None
    assert profile.what_matters == "Calm skin"


def test_the_patient_list_does_not_call_a_plan_a_fit_before_budget_and_time_are_given(
    client, berlin_derm, invited
):
    # given: a plan that raises no warning, for a patient who has given no budget or times
    plan_for(invited, author=berlin_derm, items=[item_draft(monthly_cost=Decimal("12"))])
    client.force_login(berlin_derm)

    # when
    before = client.get(reverse("my_patients")).content.decode()
    profile_update(patient=invited, actor=invited.user, preferences=None, data={
        "monthly_budget": Decimal("50"), "morning_minutes": 5, "evening_minutes": 5})
    after = client.get(reverse("my_patients")).content.decode()

    # then
    assert "Budget or time not given yet" in before
    assert ">Fits<" not in before
    assert ">Fits<" in after
