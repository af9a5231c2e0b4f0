"""A trade-off the dermatologist agreed reads in the patient's language, whatever language the
dermatologist worked in: the revision keeps what each warning says (its params) beside the
sentence of the day it was saved."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from careplans.fit import stored_warning_message
from careplans.models import Preference
from careplans.services import profile_update
from tests.factories import item_draft, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def agreed(patient_a, derm, now):
    """A plan over the patient's budget and with more steps than they wish, both agreed by an
    English-speaking dermatologist."""
    profile_update(patient=patient_a, actor=derm, data={
        "morning_minutes": 10, "evening_minutes": 10, "monthly_budget": Decimal("5")},
        preferences=[Preference.objects.get(key="fewest-steps")])
    return plan_for(
        patient_a, author=derm, now=now,
        items=[item_draft(name=f"Step {n}", position=n, minutes=1,
                          monthly_cost=Decimal("3.125")) for n in range(1, 5)],
        accepted={"budget": "Cheaper soon.", "pref:fewest-steps": "Only for two weeks."},
    )


def test_the_saved_sentence_stays_english_and_the_patient_reads_spanish(client, agreed,
                                                                        patient_a):
    # given
    stored = {w["code"].split(":")[0]: w["message"] for w in agreed.fit_warnings}
    assert stored["budget"] == "Costs £12.50 a month: £7.50 over the budget of £5.00."
    patient_a.user.language = "es"
    patient_a.user.save(update_fields=["language"])
    client.force_login(patient_a.user)
    # when
    page = unescape(client.get(reverse("my_plan")).content.decode())
    # then: each agreed trade-off in Spanish, amounts as Spanish writes them
    assert "Cuesta 12,50\xa0GBP al mes" in page
    assert "«Los menos pasos posibles»" in page
    assert stored["budget"] not in page
    assert "Cheaper soon." in page  # the dermatologist's own words stay theirs


def test_a_warning_saved_before_params_reads_as_saved():
    # given: a revision saved by an earlier version
    warning = {"code": "budget", "message": "Costs £9 a month.", "accepted": True, "note": "x"}
    # when / then
    assert stored_warning_message(warning) == "Costs £9 a month."
    assert stored_warning_message({**warning, "params": {"kind": "budget"}}) == (
        "Costs £9 a month.")
