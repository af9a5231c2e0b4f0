"""The weekly partnership question: when it is asked, which one, how it is saved and shown.

Dates are relative to the fixed ``now`` (the ``routine`` plan took effect 30 days before it);
an older check-in is saved with ``now`` moved back by as many days, as if saved on the day.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from checkins.charts import history_context
from checkins.models import PARTNERSHIP_QUESTIONS, CheckIn
from checkins.selectors import FULL_PULSE, alliance_answers
from checkins.services import (
    StepAnswer,
    Wellbeing,
    checkin_submit,
    next_partnership_question,
    partnership_question_due,
    pulse_due,
)
from tests.checkins.conftest import steps_of

pytestmark = pytest.mark.django_db

PULSE = {"heard": 8, "shared_goals": 7, "fits_life": 6, "safe_to_raise": 9}  # 30/40, mean 7.5


def all_done(routine):
    cleanser, retinoid = steps_of(routine)
    return [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
            StepAnswer(retinoid.pk, "evening", True)]


def save(patient, routine, now, days_ago, **kwargs):
    """A full check-in ``days_ago`` days before ``now``, saved that day."""
    today = patient.local_date(now)
    kwargs.setdefault("wellbeing", Wellbeing())
    return checkin_submit(patient=patient, local_date=today - timedelta(days=days_ago),
                          answers=all_done(routine), now=now - timedelta(days=days_ago),
                          **kwargs)


def day(patient, now, days_ago):
    return patient.local_date(now) - timedelta(days=days_ago)


# --- The rule ----------------------------------------------------------------------------------


def test_not_asked_on_a_day_the_full_pulse_is_due(patient_a, routine, now):
    # given: no pulse yet, so the pulse is due
    # when / then
    assert pulse_due(patient_a, day(patient_a, now, 0))
    assert partnership_question_due(patient_a, day(patient_a, now, 0)) == ""


def test_asked_seven_days_after_a_pulse_and_not_before(patient_a, routine, now):
    # given: a full pulse 10 days ago (the next is due in 18 days)
    save(patient_a, routine, now, 10, pulse=PULSE)
    # when / then: 6 days after it, nothing; 7 days after it, the first question
    assert partnership_question_due(patient_a, day(patient_a, now, 4)) == ""
    assert partnership_question_due(patient_a, day(patient_a, now, 3)) == "heard"


def test_not_asked_twice_in_a_week(patient_a, routine, now):
    # given: a pulse 20 days ago, the week's question answered 8 days ago
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 8, partnership=7)
    # when / then: asked nowhere in the 6 days after, again on the 7th
    for days_ago in range(7, 2, -1):
        assert partnership_question_due(patient_a, day(patient_a, now, days_ago)) == "", days_ago
    assert partnership_question_due(patient_a, day(patient_a, now, 1)) == "shared_goals"


def test_a_back_filled_day_is_not_asked_within_six_days_of_a_later_answer(patient_a, routine, now):
    # given: a pulse 20 days ago and the week's question answered today
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 0, partnership=6)
    # when / then: back-filling 3 days ago asks nothing (two answers would be 3 days apart)
    assert partnership_question_due(patient_a, day(patient_a, now, 3)) == ""


def test_questions_rotate_in_order_and_come_round_again(patient_a, routine, now):
    # given: the pulse every 60 days, a pulse 29 days ago
    patient_a.clinic.pulse_interval_days = 60
    patient_a.clinic.save()
    save(patient_a, routine, now, 29, pulse=PULSE)
    asked = []
    # when: a check-in every 7 days after it answers the question of that day
    for days_ago in (22, 15, 8, 1):
        question = partnership_question_due(patient_a, day(patient_a, now, days_ago))
        asked.append(question)
        save(patient_a, routine, now, days_ago, partnership=5)
    # then: the four in PARTNERSHIP_QUESTIONS order, then the first again
    assert asked == list(PARTNERSHIP_QUESTIONS)
    assert partnership_question_due(patient_a, day(patient_a, now, -6)) == "heard"
    assert [next_partnership_question(k) for k in (None, "heard", "safe_to_raise")] == [
        "heard", "shared_goals", "heard"]


def test_a_skipped_question_is_asked_again_at_the_next_check_in(patient_a, routine, now):
    # given: a pulse 20 days ago; 5 days ago the question was shown and left blank
    save(patient_a, routine, now, 20, pulse=PULSE)
    skipped = save(patient_a, routine, now, 5, partnership=None)
    # when
    next_day = partnership_question_due(patient_a, day(patient_a, now, 4))
    # then: the skip is recorded as asked, unanswered, and the same question comes back
    assert (skipped.partnership_question, skipped.partnership) == ("heard", None)
    assert next_day == "heard"


def test_editing_the_days_check_in_keeps_the_question_it_asked(patient_a, routine, now):
    # given: today's check-in answered the week's question
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 0, partnership=4)
    # when: the rule is asked again for today, and the check-in saved again with a new answer
    again = partnership_question_due(patient_a, day(patient_a, now, 0))
    edited = save(patient_a, routine, now, 0, partnership=9)
    # then
    assert again == "heard"
    assert (edited.partnership_question, edited.partnership) == ("heard", 9)
    assert CheckIn.objects.filter(partnership__isnull=False).count() == 1


# --- Saving ------------------------------------------------------------------------------------


def test_submit_stores_the_answer_with_its_question(patient_a, routine, now):
    # given
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 12, partnership=8)  # heard
    # when
    checkin = save(patient_a, routine, now, 2, partnership=3)
    # then
    checkin.refresh_from_db()
    assert (checkin.partnership_question, checkin.partnership) == ("shared_goals", 3)


def test_an_answer_on_a_day_without_a_question_saves_nothing(patient_a, routine, now):
    # given: no pulse yet, so today asks the full pulse, not the week's question
    # when / then
    with pytest.raises(ValidationError):
        save(patient_a, routine, now, 0, partnership=5)
    assert not CheckIn.objects.exists()


def test_an_answer_out_of_range_saves_nothing(patient_a, routine, now):
    # given
    save(patient_a, routine, now, 20, pulse=PULSE)
    # when / then
    with pytest.raises(ValidationError):
        save(patient_a, routine, now, 0, partnership=11)
    assert not CheckIn.objects.filter(local_date=day(patient_a, now, 0)).exists()


def test_the_one_tap_check_in_keeps_the_days_answer(patient_a, routine, now):
    # given
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 0, partnership=6)
    # when
    checkin_submit(patient=patient_a, local_date=day(patient_a, now, 0), answers=None, now=now)
    # then
    checkin = CheckIn.objects.get(local_date=day(patient_a, now, 0))
    assert (checkin.partnership_question, checkin.partnership) == ("heard", 6)


# --- The Today page (no JavaScript: plain form posts) -----------------------------------------


def today_form(patient, routine, **extra):
    cleanser, retinoid = steps_of(routine)
    data = {
        "local_date": patient.local_today().isoformat(),
        f"step_{cleanser.pk}_morning": "done", f"step_{cleanser.pk}_evening": "done",
        f"step_{retinoid.pk}_evening": "done", "side_effect": "none",
    }
    return {**data, **extra}


def test_today_asks_the_weeks_question_as_a_0_to_10_fieldset(client, patient_a, routine, now):
    # given: a pulse 10 days ago
    save(patient_a, routine, now, 10, pulse=PULSE)
    client.force_login(patient_a.user)
    # when
    body = client.get(reverse("today")).content.decode()
    # then
    assert "<h2 id=\"partnership-heading\">This week's partnership question</h2>" in body
    assert f"<legend>{PARTNERSHIP_QUESTIONS['heard']}</legend>" in body
    assert body.count('name="partnership"') == 11
    assert "0 = not at all, 10 = completely. Optional: leave it blank" in body
    assert "pulse_heard" not in body


def test_today_saves_the_answer_and_shows_it_on_edit(client, patient_a, routine, now):
    # given
    save(patient_a, routine, now, 10, pulse=PULSE)
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("today"), today_form(patient_a, routine, partnership="7"))
    body = client.get(response.url).content.decode()
    # then
    assert response.status_code == 302
    checkin = CheckIn.objects.get(local_date=day(patient_a, now, 0))
    assert (checkin.partnership_question, checkin.partnership) == ("heard", 7)
    assert 'name="partnership" value="7" id="id_partnership_7" checked' in body
    assert f"<legend>{PARTNERSHIP_QUESTIONS['heard']}</legend>" in body


def test_today_can_skip_the_question(client, patient_a, routine, now):
    # given
    save(patient_a, routine, now, 10, pulse=PULSE)
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("today"), today_form(patient_a, routine))
    # then
    assert response.status_code == 302
    checkin = CheckIn.objects.get(local_date=day(patient_a, now, 0))
    assert (checkin.partnership_question, checkin.partnership) == ("heard", None)


def test_today_refuses_a_bad_answer_with_a_message_and_saves_nothing(client, patient_a, routine,
                                                                      now):
    # given
    save(patient_a, routine, now, 10, pulse=PULSE)
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("today"), today_form(patient_a, routine, partnership="11"))
    # then
    assert response.status_code == 200
    assert "Choose a number from 0 to 10, or leave it blank to skip this week." in (
        response.content.decode())
    assert not CheckIn.objects.filter(local_date=day(patient_a, now, 0)).exists()


# --- Charts ------------------------------------------------------------------------------------


def test_chart_shows_weekly_answers_and_pulse_means_on_one_0_to_10_scale(patient_a, routine, now):
    # given: a pulse (30/40) 20 days ago, the week's question answered 12 and 2 days ago
    save(patient_a, routine, now, 20, pulse=PULSE)
    save(patient_a, routine, now, 12, partnership=8)
    save(patient_a, routine, now, 2, partnership=4)
    # when
    answers = alliance_answers(patient_a, day(patient_a, now, 30), day(patient_a, now, 0))
    patient_chart = history_context(patient_a, audience="patient",
                                    today=day(patient_a, now, 0))["charts"].pulse
    clinic_chart = history_context(patient_a, audience="clinician",
                                   today=day(patient_a, now, 0))["charts"].pulse
    # then
    assert [(a.score, a.question) for a in answers] == [
        (7.5, FULL_PULSE), (8.0, "heard"), (4.0, "shared_goals")]
    assert patient_chart.title == "Our partnership (0 to 10)"
    assert clinic_chart.title == "Alliance pulse (0 to 10)"
    assert patient_chart.summary.startswith("Latest: 4 of 10 on")
    assert patient_chart.summary.endswith("average 6.5 from 3 answers.")
    assert [tick.text for tick in patient_chart.y_ticks] == ["0", "5", "10"]
    assert patient_chart.table_head == ("Date", "Answer", "Question")
    assert [row[1:] for row in patient_chart.table] == [
        ("7.5", "All four questions (their mean)"),
        ("8", PARTNERSHIP_QUESTIONS["heard"]),
        ("4", PARTNERSHIP_QUESTIONS["shared_goals"]),
    ]
    # the full pulse is ringed
    assert [(r.x, r.y) for r in patient_chart.rings] == [(patient_chart.dots[0].x,
                                                          patient_chart.dots[0].y)]
    assert patient_chart.note.startswith("Ringed points: all four partnership questions")
    assert patient_chart.dots[1].label.endswith(f": 8 ({PARTNERSHIP_QUESTIONS['heard']})")
