import pytest
from django.urls import reverse

from tests.factories import PatientFactory, plan_for

pytestmark = pytest.mark.django_db


def _list_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("my_patients"))
    assert response.status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_patients(client, derm):
    # given: 3 patients with plans, then 20 more
    for _ in range(3):
        plan_for(PatientFactory(dermatologist=derm), author=derm)
    client.force_login(derm)
    few = _list_queries(client)
    for _ in range(20):
        plan_for(PatientFactory(dermatologist=derm), author=derm)
    # then
    assert _list_queries(client) == few


def test_search_and_pagination(client, derm):
    for number in range(30):
        PatientFactory(dermatologist=derm, user__last_name=f"Zephyr{number:02d}")
    PatientFactory(dermatologist=derm, user__last_name="Quartermaine")
    client.force_login(derm)
    first = client.get(reverse("my_patients")).content.decode()
    assert "Page 1 of 2" in first
    found = client.get(reverse("my_patients"), {"q": "quarterm"}).content.decode()
    assert "Quartermaine" in found
    assert "Zephyr" not in found


def test_scope_mine_vs_whole_clinic(client, derm, clinic):
    from tests.factories import DermatologistFactory

    colleague = DermatologistFactory(membership=clinic)
    theirs = PatientFactory(dermatologist=colleague)
    client.force_login(derm)
    assert theirs.user.email not in client.get(reverse("my_patients")).content.decode()
    everyone = client.get(reverse("my_patients"), {"scope": "all"}).content.decode()
    assert theirs.user.email in everyone


def test_fit_status_is_shown(client, derm, patient_a):
    from decimal import Decimal

    from careplans.services import profile_update

    profile_update(patient=patient_a, actor=derm, preferences=None, data={
        "monthly_budget": Decimal("50"), "morning_minutes": 10, "evening_minutes": 10})
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    assert "Fits" in client.get(reverse("my_patients")).content.decode()


def test_last_check_in_date_and_concern_count_are_not_multiplied(client, derm, patient_a):
    # given: several check-ins and two open concerns (a join would multiply the count)
    from datetime import timedelta

    from careplans.models import Concern
    from checkins.models import CheckIn

    revision = plan_for(patient_a, author=derm)
    today = patient_a.local_today()
    for days in (9, 5, 2):
        CheckIn.objects.create(patient=patient_a, local_date=today - timedelta(days=days),
                               revision=revision, steps_due=1, steps_done=1)
    for _ in range(2):
        Concern.objects.create(patient=patient_a, item_key=revision.items.get().key,
                               item_name="x", raised_on_revision=revision, category="unclear")
    client.force_login(derm)
    # when
    row = client.get(reverse("my_patients")).context["page"].object_list[0]
    # then
    assert row.last_checkin_date == today - timedelta(days=2)
    assert row.open_concern_count == 2
