"""A caregiver checks in for the patient they act for: the routine, always; the questions about
the patient's own view of the partnership only for a young child (answered by the parent);
a teenager's are left for the teenager."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from checkins.models import AlliancePulse, CheckIn
from tests.factories import CaregiverLinkFactory, PatientFactory, assent_for, plan_for

pytestmark = pytest.mark.django_db

PULSE_QUESTION = "I feel heard by my dermatologist"


def _acting_client(client, link):
    client.force_login(link.caregiver)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = link.patient.pk
    session.save()
    return client


@pytest.mark.parametrize(("born", "asked"), [
    (date(2018, 3, 1), True),   # 8: the parent answers for a young child
    (date(2012, 3, 1), False),  # 14: the teenager answers for themself
])
def test_the_partnership_questions_go_to_whoever_may_answer_them(client, now, born, asked):
    # given a patient whose alliance pulse is due (none yet), with a parent acting for them
    patient = PatientFactory(date_of_birth=born)
    plan_for(patient, author=patient.dermatologist, now=now)
    link = CaregiverLinkFactory(patient=patient)
    if not asked:
        assent_for(link, now=now)
    # when the parent opens Today
    page = _acting_client(client, link).get(reverse("today")).content.decode()
    # then the pulse is offered to the parent of a child only
    assert (PULSE_QUESTION in page) is asked
    assert "I did everything" in page


def test_a_teenagers_pulse_stays_due_after_a_parents_check_in(client, now):
    # given a teenager's parent checks in, sending pulse answers anyway
    patient = PatientFactory(date_of_birth=date(2012, 3, 1))
    plan_for(patient, author=patient.dermatologist, now=now)
    link = CaregiverLinkFactory(patient=patient)
    assent_for(link, now=now)
    item = patient.care_plan.revisions.get().items.get()
    posted = {f"step_{item.pk}_evening": "done", "satisfaction": "4", "itch": "2",
              "side_effect": "none", "pulse_heard": "9", "pulse_shared_goals": "9",
              "pulse_fits_life": "9", "pulse_safe_to_raise": "9",
              "local_date": patient.local_date(now).isoformat()}
    response = _acting_client(client, link).post(reverse("today"), posted)
    assert response.status_code == 302, response.content.decode()[-2000:]
    # then the routine is saved, by the parent, and no pulse in the teenager's name
    checkin = CheckIn.objects.get(patient=patient)
    assert checkin.submitted_by == link.caregiver
    assert not AlliancePulse.objects.filter(patient=patient).exists()
    # and the teenager is asked it on their own Today
    client.force_login(patient.user)
    assert PULSE_QUESTION in client.get(reverse("today")).content.decode()
