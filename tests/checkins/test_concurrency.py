"""Two tabs racing: simultaneous submissions for one patient-day leave exactly one check-in."""

import threading

import pytest
from django.db import connection

from checkins.models import CheckIn, StepLog
from checkins.services import StepAnswer, checkin_submit
from tests.checkins.conftest import steps_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_submissions_leave_exactly_one_check_in(patient_a, routine, now):
    # given
    cleanser, retinoid = steps_of(routine)
    today = patient_a.local_date(now)
    variants = [
        [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
         StepAnswer(retinoid.pk, "evening", done)]
        for done in (True, False, True, False, True, False)
    ]
    barrier = threading.Barrier(len(variants))
    errors: list[BaseException] = []

    def submit(answers):
        try:
            barrier.wait()
            checkin_submit(patient=patient_a, local_date=today, answers=[
                a if a.done else StepAnswer(a.item_id, a.slot, False, "forgot") for a in answers
            ], now=now)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=submit, args=(v,)) for v in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert errors == []
    checkin = CheckIn.objects.get(patient=patient_a, local_date=today)
    logs = StepLog.objects.filter(checkin=checkin)
    assert logs.count() == 3
    assert checkin.steps_done == logs.filter(done=True).count()
