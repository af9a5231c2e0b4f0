"""Patient pages speak to the patient ("Your goal"), never about them ("The patient's own goal").

Every page in the patient's navigation is rendered with real content (a plan with an agreed
time trade-off, check-ins, a concern, a message from the clinic) and its visible text searched
for third-person wording."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from careplans.services import concern_raise, profile_update
from checkins.models import CheckIn
from flags.services import outreach_log
from tests.factories import adherence_drop_flag, item_draft, plan_for

pytestmark = pytest.mark.django_db

THIRD_PERSON = re.compile(r"\bthe patients?\b|\bpatient(?:'|\u2019)s\b", re.IGNORECASE)
PATIENT_PAGES = ["today", "checkin_history", "my_plan", "my_plan_history", "my_profile",
                 "reminder_settings", "clinic_messages", "message_new", "access_log"]


def visible_text(html: str) -> str:
    """The page as read: tags and comments dropped, attributes a screen reader reads kept."""
    html = re.sub(r"<!--.*?-->|<script.*?</script>", " ", html, flags=re.DOTALL)
    spoken = " ".join(re.findall(r'(?:aria-label|title|alt|placeholder)="([^"]*)"', html))
    return unescape(re.sub(r"<[^>]+>", " ", html) + " " + spoken)


@pytest.fixture
def lived_in(patient_a, derm, staff, now):
    """A patient with everything their pages can show (the clock held at ``now``)."""
    profile_update(patient=patient_a, actor=derm, data={"morning_minutes": 1,
                   "evening_minutes": 1, "monthly_budget": Decimal("5")}, preferences=None)
    flag = adherence_drop_flag(patient_a, author=derm, note="Busy week", note_days_ago=3,
                               unlogged_every=4, satisfaction=4)
    revision = plan_for(
        patient_a, author=derm, base_number=1, reason="A second step for the evenings",
        items=[item_draft(minutes=5), item_draft(name="Emollient", position=2, minutes=4,
                                                 time_of_day="both")],
        accepted={"time:evening": "Worth it for two weeks.", "budget": "Generic soon."},
        now=now,
    )
    concern_raise(patient=patient_a, revision=revision, item=revision.items.first(),
                  category="no_time", text="Evenings are hard")
    outreach_log(flag=flag, actor=staff, channel="phone", outcome="reached", now=now,
                 message_to_patient="Call us any time.")
    assert CheckIn.objects.filter(patient=patient_a).exists()
    return patient_a


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_patient_pages_speak_to_the_patient(client, lived_in, page):
    # given
    client.force_login(lived_in.user)

    # when
    response = client.get(reverse(page))

    # then
    assert response.status_code == 200
    assert THIRD_PERSON.findall(visible_text(response.content.decode())) == []


def test_raising_a_concern_speaks_to_the_patient(client, lived_in):
    # given
    client.force_login(lived_in.user)
    item = lived_in.care_plan.revisions.get(number=2).items.first()

    # when
    body = client.get(reverse("raise_concern", args=[item.key])).content.decode()

    # then
    assert THIRD_PERSON.findall(visible_text(body)) == []


def test_about_me_asks_for_your_goal_while_the_dermatologist_reads_the_patients(
    client, lived_in, derm
):
    # given / when
    client.force_login(lived_in.user)
    own = visible_text(client.get(reverse("my_profile")).content.decode())
    client.force_login(derm)
    clinicians = visible_text(
        client.get(reverse("patient_profile_edit", args=[lived_in.pk])).content.decode())

    # then
    assert "Your own goal, in your words." in own
    assert "The patient's own goal, in their words." in clinicians


def test_an_agreed_time_trade_off_reads_without_naming_anyone(client, lived_in):
    # given
    client.force_login(lived_in.user)

    # when
    body = " ".join(visible_text(client.get(reverse("my_plan")).content.decode()).split())

    # then
    assert "The evening routine takes 9 min, more than the 1 min available." in body
    assert "Worth it for two weeks." in body

