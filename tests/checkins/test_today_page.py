"""The Today page over HTTP: one tap, a full no-JS check-in, bad input, back-fill."""

from datetime import timedelta

import pytest
from django.urls import reverse

from checkins.models import AlliancePulse, CheckIn, StepLog
from tests.checkins.conftest import steps_of
from tests.factories import backdated_revision, item_draft, plan_for

pytestmark = pytest.mark.django_db


def full_form(patient, revision, **overrides):
    cleanser, retinoid = steps_of(revision)
    data = {
        "local_date": patient.local_today().isoformat(),  # held still by the `now` fixture
        f"step_{cleanser.pk}_morning": "done", f"step_{cleanser.pk}_evening": "done",
        f"step_{retinoid.pk}_evening": "skipped", f"reason_{retinoid.pk}_evening": "side_effects",
        "satisfaction": "4", "itch": "3", "side_effect": "mild",
        "side_effect_item": str(retinoid.pk), "side_effect_text": "Dry patches", "note": "",
    }
    data.update(overrides)
    return data


def test_today_lists_the_steps_due_morning_then_evening(client, patient_a, routine):
    client.force_login(patient_a.user)
    body = client.get(reverse("today")).content.decode()
    assert "I did everything" in body
    assert body.index("Morning") < body.index("Evening")
    assert body.count("Gentle cleanser") >= 2


def test_one_tap_i_did_everything(client, patient_a, routine, now):
    client.force_login(patient_a.user)
    response = client.post(reverse("today"), {"all_done": "1",
                                              "local_date": patient_a.local_date(now).isoformat()})
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.steps_due) == (3, 3)
    assert "every step done" in client.get(response.url).content.decode()


def test_full_check_in_with_a_skipped_step_works_without_javascript(client, patient_a, routine):
    client.force_login(patient_a.user)
    response = client.post(reverse("today"), full_form(patient_a, routine))
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.satisfaction, checkin.itch, checkin.side_effect) == (
        2, 4, 3, "mild"
    )
    assert StepLog.objects.get(done=False).skip_reason == "side_effects"


def test_double_submit_updates_the_same_row(client, patient_a, routine):
    client.force_login(patient_a.user)
    client.post(reverse("today"), full_form(patient_a, routine))
    client.post(reverse("today"), full_form(patient_a, routine, satisfaction="2"))
    assert CheckIn.objects.get().satisfaction == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"satisfaction": "7"}, "Select a valid choice"),
    ({"itch": "11"}, "less than or equal to 10"),
    ({"itch": "lots"}, "Enter a whole number"),
    ({"side_effect": "catastrophic"}, "Select a valid choice"),
    ({"note": "x" * 100_000}, "at most 1000 characters"),
    ("reason", "Tell us why"),
    ("unknown_reason", "Select a valid choice"),
])
def test_bad_input_gives_a_clear_error_and_saves_nothing(client, patient_a, routine, change,
                                                         message):
    client.force_login(patient_a.user)
    data = full_form(patient_a, routine)
    retinoid_reason = next(k for k in data if k.startswith("reason_"))
    if change == "reason":
        data[retinoid_reason] = ""
    elif change == "unknown_reason":
        data[retinoid_reason] = "aliens"
    else:
        data.update(change)
    response = client.post(reverse("today"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("days", [4, -1, 400])
def test_dates_outside_the_window_are_refused(client, patient_a, routine, days, now):
    client.force_login(patient_a.user)
    local_date = (patient_a.local_date(now) - timedelta(days=days)).isoformat()
    response = client.post(reverse("today"), {"all_done": "1", "local_date": local_date})
    assert response.status_code == 400
    assert not CheckIn.objects.exists()


def test_garbage_date_falls_back_to_today(client, patient_a, routine):
    client.force_login(patient_a.user)
    assert client.get(reverse("today"), {"date": "not-a-date"}).status_code == 200


def test_back_fill_links_offer_unlogged_days(client, patient_a, routine, now):
    client.force_login(patient_a.user)
    yesterday = patient_a.local_date(now) - timedelta(days=1)
    body = client.get(reverse("today")).content.decode()
    assert f"?date={yesterday.isoformat()}" in body
    client.post(reverse("today"), {"all_done": "1", "local_date": yesterday.isoformat()})
    assert f"?date={yesterday.isoformat()}" not in client.get(reverse("today")).content.decode()


def test_html_in_free_text_is_escaped(client, patient_a, routine):
    client.force_login(patient_a.user)
    client.post(reverse("today"), full_form(patient_a, routine,
                                            note="<script>alert(1)</script>"))
    body = client.get(reverse("today")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_pulse_questions_are_asked_and_partial_answers_refused(client, patient_a, routine):
    client.force_login(patient_a.user)
    assert "I feel heard by my dermatologist" in client.get(reverse("today")).content.decode()
    partial = client.post(reverse("today"), full_form(patient_a, routine, pulse_heard="8"))
    assert "Answer all four" in partial.content.decode()
    assert not CheckIn.objects.exists()
    client.post(reverse("today"), full_form(
        patient_a, routine, pulse_heard="8", pulse_shared_goals="7", pulse_fits_life="5",
        pulse_safe_to_raise="9"))
    assert AlliancePulse.objects.get().total == 29


def test_patient_without_a_plan_is_told_so_and_offered_no_day_to_fill(client, patient_b, now):
    # given: a patient whose dermatologist has not made a plan
    client.force_login(patient_b.user)
    yesterday = (patient_b.local_date(now) - timedelta(days=1)).isoformat()
    # when
    today = client.get(reverse("today"))
    earlier = client.get(reverse("today"), {"date": yesterday})
    # then: said plainly; no back-fill days, no check-in form for any day
    assert today.status_code == earlier.status_code == 200
    body = today.content.decode()
    assert "Your dermatologist has not set up your plan yet." in body
    assert "Missed a day?" not in body
    assert "?date=" not in body
    for page in (body, earlier.content.decode()):
        assert "I did everything" not in page
        assert "Save check-in" not in page


def test_days_before_the_plan_started_are_not_offered(client, patient_a, derm, now):
    # given: a first plan saved today
    plan_for(patient_a, author=derm)
    client.force_login(patient_a.user)
    yesterday = (patient_a.local_date(now) - timedelta(days=1)).isoformat()
    # when
    today = client.get(reverse("today")).content.decode()
    earlier = client.get(reverse("today"), {"date": yesterday}).content.decode()
    # then: today has its form, the days before have nothing to fill
    assert "I did everything" in today
    assert "Missed a day?" not in today
    assert f"?date={yesterday}" not in today
    assert "Your plan had not started yet on that day" in earlier
    assert "Save check-in" not in earlier


def test_back_fill_skips_days_with_nothing_due(client, patient_a, derm, now):
    # given: a clay mask every other day since 3 days ago: due 3 and 1 days ago, not 2
    start = patient_a.local_date(now) - timedelta(days=3)
    backdated_revision(patient_a, author=derm, number=1, effective_from=start, items=[
        item_draft(name="Clay mask", frequency="every_n_days", every_n_days=2)])
    client.force_login(patient_a.user)
    # when
    body = client.get(reverse("today")).content.decode()
    # then: 3 and 1 days ago had the mask due; 2 days ago nothing was
    offered = {patient_a.local_date(now) - timedelta(days=n): n for n in (1, 2, 3)}
    assert {n for day, n in offered.items() if f"?date={day.isoformat()}" in body} == {1, 3}


def test_extra_fields_cannot_write_another_patients_check_in(client, patient_a, patient_b,
                                                             routine, now):
    client.force_login(patient_a.user)
    client.post(reverse("today"), {"all_done": "1", "patient": str(patient_b.pk),
                                   "local_date": patient_a.local_date(now).isoformat()})
    assert CheckIn.objects.get().patient == patient_a
