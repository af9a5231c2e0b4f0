"""The plan editor for schedules beyond daily steps: each kind set with its own fields, the
fields it does not use ignored, a clear message for each missing one, nothing partial saved."""

from datetime import date, timedelta

import pytest

from careplans.describe import when_text
from careplans.models import PlanRevision
from tests.clinic.test_plan_editor import ITEM, edit_url, editor_post

pytestmark = pytest.mark.django_db

INJECTION = {**ITEM, "kind": "injection", "name": "Dupilumab 300 mg", "time_of_day": "morning",
             "frequency": "every_n_weeks", "every_n_weeks": "2", "window_days": "3",
             "starts_on": "2026-12-04", "ends_on": "", "day_of_month": "", "weekdays": []}


def save(client, derm, patient, item):
    client.force_login(derm)
    return client.post(edit_url(patient), editor_post(patient, [item]))


def test_an_injection_every_two_weeks_with_a_window_is_saved(client, derm, patient_a, now):
    # when
    response = save(client, derm, patient_a, INJECTION)
    # then
    assert response.status_code == 302
    item = PlanRevision.objects.get().items.get()
    assert (item.frequency, item.every_n_weeks, item.window_days, item.starts_on) == (
        "every_n_weeks", 2, 3, date(2026, 12, 4))
    assert when_text(item) == ("Every 2 weeks from 4 December 2026, morning; a late one still "
                               "counts for 3 days")


def test_fields_a_frequency_does_not_use_are_ignored(client, derm, patient_a, now):
    # given: daily, with an every-few-weeks number, a day of the month and a window typed
    item = {**ITEM, "every_n_weeks": "4", "day_of_month": "12", "window_days": "5"}
    # when
    assert save(client, derm, patient_a, item).status_code == 302
    # then
    saved = PlanRevision.objects.get().items.get()
    assert (saved.every_n_weeks, saved.day_of_month, saved.window_days) == (None, None, None)


def test_a_monthly_blood_test_and_a_course_end(client, derm, patient_a, now):
    item = {**ITEM, "kind": "procedure", "name": "Blood test", "frequency": "monthly",
            "day_of_month": "31", "window_days": "2", "ends_on": "2027-06-30"}
    assert save(client, derm, patient_a, item).status_code == 302
    saved = PlanRevision.objects.get().items.get()
    assert (saved.day_of_month, saved.window_days, saved.ends_on) == (31, 2, date(2027, 6, 30))
    assert when_text(saved) == ("Each month on day 31, evening; a late one still counts for 2 "
                                "days, until 30 June 2027")


def test_an_as_needed_step(client, derm, patient_a, now):
    item = {**ITEM, "name": "Hydrocortisone 1% cream", "frequency": "as_needed"}
    assert save(client, derm, patient_a, item).status_code == 302
    assert when_text(PlanRevision.objects.get().items.get()) == "When needed"


@pytest.mark.parametrize(("change", "message"), [
    ({"every_n_weeks": ""}, "Say every how many weeks."),
    ({"starts_on": ""}, "Give the date of the first dose."),
    ({"window_days": "14"}, "fewer days than there are between doses (13 at most)"),
    ({"ends_on": "2026-12-01"}, "The course must end on or after its first day."),
    ({"ramp_days": "14", "ramp_every_n_days": "2"}, "A ramp-up is for daily, weekday or"),
    ({"frequency": "monthly", "day_of_month": ""}, "Choose the day of the month."),
    ({"frequency": "monthly", "day_of_month": "3", "window_days": "28"}, "or equal to 27"),
    ({"frequency": "once", "starts_on": ""}, "Give the date it is due."),
])
def test_each_missing_field_has_a_clear_message_and_nothing_is_saved(
        client, derm, patient_a, now, change, message):
    response = save(client, derm, patient_a, {**INJECTION, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_the_editor_names_each_kinds_fields(client, derm, patient_a, now):
    client.force_login(derm)
    body = client.get(edit_url(patient_a)).content.decode()
    for label in ("Every how many weeks", "Day of the month", "First dose or date",
                  "Days a late dose still counts", "Course ends on",
                  "Every few weeks", "When needed: logged when used, never counted as missed"):
        assert label in body
    assert 'class="f-window_days"' in body


def test_the_fit_check_counts_an_injection_on_its_weekday_only(derm, patient_a, now):
    from careplans.fit import check_fit
    from careplans.models import PlanItem
    from careplans.selectors import fit_profile, profile_for

    weekly = PlanItem(name="Injection", kind="injection", time_of_day="morning",
                      frequency="every_n_weeks", every_n_weeks=2, starts_on=date(2026, 12, 4),
                      minutes=10, weekdays="")
    daily = PlanItem(name="Cream", kind="topical", time_of_day="morning", frequency="daily",
                     minutes=3, weekdays="", starts_on=date(2026, 12, 4) - timedelta(days=1))
    spare = PlanItem(name="Spot gel", kind="topical", time_of_day="morning",
                     frequency="as_needed", minutes=30, weekdays="", starts_on=date(2026, 12, 4))
    report = check_fit(fit_profile(profile_for(patient_a)), [weekly, daily, spare])
    assert report.morning_minutes == 13
