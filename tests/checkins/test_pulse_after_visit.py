"""A recorded visit makes the full alliance pulse due (``checkins.services.pulse_due``), keeping
at most one alliance answer in any 7 days."""


import pytest

from careplans.visits import visit_record
from checkins.services import partnership_question_due, pulse_due
from tests.checkins.test_partnership_question import PULSE, day, save

pytestmark = pytest.mark.django_db


def seen(patient, derm, now, days_ago):
    return visit_record(patient=patient, recorded_by=derm, happened_on=day(patient, now, days_ago),
                        note="", now=now, today=day(patient, now, 0))


def test_the_next_check_in_after_a_visit_asks_the_pulse(patient_a, derm, routine, now):
    # given: a pulse 10 days ago (the next by the interval in 18 days), a visit yesterday
    save(patient_a, routine, now, 10, pulse=PULSE)
    assert not pulse_due(patient_a, day(patient_a, now, 0))
    seen(patient_a, derm, now, 1)
    # when / then: today asks the pulse and no partnership question
    assert pulse_due(patient_a, day(patient_a, now, 0))
    assert partnership_question_due(patient_a, day(patient_a, now, 0)) == ""
    # and a day before the visit (back-filled) does not
    assert not pulse_due(patient_a, day(patient_a, now, 2))


def test_answered_after_the_visit_it_is_not_asked_again(patient_a, derm, routine, now):
    # given: a visit 3 days ago and the pulse answered 2 days ago
    save(patient_a, routine, now, 10, pulse=PULSE)
    seen(patient_a, derm, now, 3)
    save(patient_a, routine, now, 2, pulse=PULSE)
    # when / then
    assert not pulse_due(patient_a, day(patient_a, now, 0))


def test_a_pulse_on_the_visits_day_counts_as_after_it(patient_a, derm, routine, now):
    # given: the visit and a pulse on the same day, 2 days ago
    save(patient_a, routine, now, 12, pulse=PULSE)
    seen(patient_a, derm, now, 2)
    save(patient_a, routine, now, 2, pulse=PULSE)
    # when / then
    assert not pulse_due(patient_a, day(patient_a, now, 0))


def test_the_visit_pulse_waits_for_a_week_after_a_partnership_answer(patient_a, derm, routine,
                                                                     now):
    # given: a pulse 14 days ago, the week's question answered 3 days ago, a visit 2 days ago
    save(patient_a, routine, now, 14, pulse=PULSE)
    save(patient_a, routine, now, 3, partnership=7)
    seen(patient_a, derm, now, 2)
    # when / then: nothing asked until 7 days after that answer, then the full pulse
    for days_ago in (1, 0, -1, -2):
        assert not pulse_due(patient_a, day(patient_a, now, days_ago)), days_ago
        assert partnership_question_due(patient_a, day(patient_a, now, days_ago)) == ""
    assert pulse_due(patient_a, day(patient_a, now, -4))


def test_saving_the_days_check_in_again_asks_the_same(patient_a, derm, routine, now):
    # given: a visit yesterday, and today's check-in answered the pulse
    save(patient_a, routine, now, 10, pulse=PULSE)
    seen(patient_a, derm, now, 1)
    save(patient_a, routine, now, 0, pulse=PULSE)
    # when / then: today's own answer is left out, so the form still asks it
    assert pulse_due(patient_a, day(patient_a, now, 0))
    assert not pulse_due(patient_a, day(patient_a, now, -1))
