"""The patient's plan, history, concerns and profile pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from careplans.models import Concern, PatientProfile
from careplans.services import profile_update
from tests.factories import item_draft, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(patient_a, derm):
    """Two revisions: a budget trade-off accepted with a note, then a cheaper generic."""
    profile_update(patient=patient_a, actor=derm, data={
        "monthly_budget": Decimal("8"), "what_matters": "Clear skin for my wedding in June",
    }, preferences=None)
    first = plan_for(patient_a, author=derm, accepted={"budget": "Brand-name works faster."})
    key = first.items.get().key
    return plan_for(
        patient_a, author=derm, base_number=1,
        reason="Switched to the generic to fit your budget",
        items=[item_draft(key=key, monthly_cost=Decimal("4.00"), name="Adapalene generic"),
               item_draft(name="SPF 30", time_of_day="morning", position=2, kind="skincare",
                          monthly_cost=Decimal("6.00"))],
        accepted={"budget": "Sunscreen protects the progress you made."},
    )


def test_my_plan_shows_the_routine_built_around_the_patient(client, patient_a, planned):
    client.force_login(patient_a.user)
    body = client.get(reverse("my_plan")).content.decode()
    assert "Clear skin for my wedding in June" in body
    assert "Built around you" in body
    assert "£10.00 a month" in body
    assert "£2.00 over" in body
    assert "Sunscreen protects the progress you made." in body
    assert "Switched to the generic to fit your budget" in body
    # today's routine: morning before evening
    assert body.index("SPF 30") < body.index("Adapalene generic")


def test_history_lists_every_revision_with_reason_and_changes(client, patient_a, planned):
    client.force_login(patient_a.user)
    body = client.get(reverse("my_plan_history")).content.decode()
    assert "Revision 2" in body
    assert "Revision 1" in body
    assert "Switched to the generic to fit your budget" in body
    assert "Added:</strong> SPF 30" in body
    assert "£10.00" in body
    assert "£4.00" in body


def test_patient_without_plan_is_invited_to_fill_in_their_profile(client, patient_a):
    client.force_login(patient_a.user)
    body = client.get(reverse("my_plan")).content.decode()
    assert "has not set up your plan yet" in body


def test_patient_raises_a_concern_that_reaches_the_dermatologist(client, patient_a, derm,
                                                                 planned):
    # given
    item = planned.items.get(name="SPF 30")
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("raise_concern", kwargs={"item_key": item.key}),
                           {"category": "too_expensive", "text": "Could I use a cheaper one?"})
    # then
    assert response.status_code == 302
    concern = Concern.objects.get()
    assert (concern.patient, concern.item_key, concern.status) == (patient_a, item.key, "open")
    client.force_login(derm)
    listing = client.get(reverse("my_patients")).content.decode()
    assert "1 open" in listing
    detail = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
    assert "Could I use a cheaper one?" in detail.content.decode()


def test_dermatologist_answer_is_shown_to_the_patient(client, patient_a, derm, planned):
    item = planned.items.get(name="SPF 30")
    client.force_login(patient_a.user)
    client.post(reverse("raise_concern", kwargs={"item_key": item.key}),
                {"category": "unclear", "text": ""})
    concern = Concern.objects.get()
    client.force_login(derm)
    client.post(reverse("concern_reply", kwargs={"patient_id": patient_a.pk,
                                                 "concern_id": concern.pk}),
                {"reply": "Apply it last, after moisturiser."})
    client.force_login(patient_a.user)
    body = client.get(reverse("my_plan")).content.decode()
    assert "Apply it last, after moisturiser." in body


def test_concern_on_an_item_not_in_my_plan_is_404(client, patient_a, patient_b, derm, planned):
    foreign = plan_for(patient_b, author=derm).items.get()
    client.force_login(patient_a.user)
    url = reverse("raise_concern", kwargs={"item_key": foreign.key})
    assert client.post(url, {"category": "unclear"}).status_code == 404
    assert not Concern.objects.exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"category": "other", "text": ""}, "Tell us what the problem is"),
    ({"category": "hates-it"}, "Select a valid choice"),
    ({"category": "unclear", "text": "x" * 1001}, "at most 1000 characters"),
])
def test_bad_concern_input_saves_nothing(client, patient_a, planned, data, message):
    client.force_login(patient_a.user)
    item = planned.items.first()
    response = client.post(reverse("raise_concern", kwargs={"item_key": item.key}), data)
    assert message in response.content.decode()
    assert not Concern.objects.exists()


def test_staff_cannot_answer_concerns(client, staff, patient_a, planned):
    concern = Concern.objects.create(
        patient=patient_a, item_key=planned.items.first().key, item_name="x",
        raised_on_revision=planned, category="unclear",
    )
    client.force_login(staff)
    url = reverse("concern_reply", kwargs={"patient_id": patient_a.pk, "concern_id": concern.pk})
    assert client.post(url, {"reply": "Not my job"}).status_code == 404
    concern.refresh_from_db()
    assert concern.reply == ""


def test_answer_to_another_patients_concern_is_404(client, derm, patient_a, patient_b, planned):
    concern = Concern.objects.create(
        patient=patient_a, item_key=planned.items.first().key, item_name="x",
        raised_on_revision=planned, category="unclear",
    )
    client.force_login(derm)
    url = reverse("concern_reply", kwargs={"patient_id": patient_b.pk, "concern_id": concern.pk})
    assert client.post(url, {"reply": "Wrong patient"}).status_code == 404


def test_patient_edits_their_own_profile(client, patient_a):
    client.force_login(patient_a.user)
    response = client.post(reverse("my_profile"), {
        "what_matters": "Feel OK in short sleeves", "daily_pattern": "shift_work",
        "morning_minutes": "5", "evening_minutes": "15", "lifestyle_notes": "Nights on Fridays",
        "monthly_budget": "25.50", "currency": "EUR", "preferences": [], "preference_notes": "",
        "timezone": "Europe/Berlin",
    })
    assert response.status_code == 302
    profile = PatientProfile.objects.get(patient=patient_a)
    assert (profile.what_matters, profile.monthly_budget, profile.currency) == (
        "Feel OK in short sleeves", Decimal("25.50"), "EUR"
    )
    patient_a.refresh_from_db()
    assert patient_a.timezone == "Europe/Berlin"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("monthly_budget", "-1", "greater than or equal to 0"),
    ("morning_minutes", "999", "less than or equal to 180"),
    ("preferences", "999999", "Select a valid choice"),
    ("timezone", "Mars/Base", "Select a valid choice"),
    ("what_matters", "x" * 501, "at most 500 characters"),
])
def test_bad_profile_input_saves_nothing(client, patient_a, field, value, message):
    client.force_login(patient_a.user)
    data = {"daily_pattern": "regular", "morning_minutes": "5", "evening_minutes": "5",
            "monthly_budget": "10", "currency": "GBP", "timezone": "Europe/London",
            field: value}
    response = client.post(reverse("my_profile"), data)
    assert message in response.content.decode()
    assert not PatientProfile.objects.filter(patient=patient_a, monthly_budget=10).exists()


def test_plan_pages_are_for_patients_only(client, derm):
    client.force_login(derm)
    assert client.get(reverse("my_plan")).status_code == 404
    assert client.get(reverse("my_profile")).status_code == 404


def test_review_date_defaults_twelve_weeks_out(client, derm, patient_a, now):
    client.force_login(derm)
    body = client.get(reverse("plan_edit", kwargs={"patient_id": patient_a.pk})).content.decode()
    assert (patient_a.local_date(now) + timedelta(weeks=12)).isoformat() in body
