"""On a phone: the week's partnership question on Today, answered by label and keyboard, then
the partnership chart on History (one 0-10 scale)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from checkins.models import PARTNERSHIP_QUESTIONS, CheckIn
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import backdated_revision, item_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def falling_partnership(patient_a, derm):
    """A plan for 60 days; two full pulses (34/40 52 days ago, 27/40 24 days ago) and weekly
    answers 9, 8, 7 after the first and 6, 5 after the second (heard, shared goals, fits life,
    safe to raise, heard): today asks the next, shared goals."""
    revision = backdated_revision(
        patient_a, author=derm, number=1,
        effective_from=patient_a.local_today() - timedelta(days=60),
        items=[item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both",
                          position=1)],
    )
    cleanser = revision.items.get()
    answers = [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True)]
    pulses = {52: (9, 8, 9, 8), 24: (7, 7, 6, 7)}
    weekly = {45: 9, 38: 8, 31: 7, 17: 6, 10: 5}
    today = patient_a.local_today()
    for days_ago in sorted({**pulses, **weekly}, reverse=True):
        # Calendar days back, each answered at noon there: "now minus N days" lands on another
        # calendar day near midnight across a clock change (failed at 23:10 UTC in December).
        day = today - timedelta(days=days_ago)
        then = datetime.combine(day, time(12), tzinfo=ZoneInfo(patient_a.timezone))
        pulse = pulses.get(days_ago)
        checkin_submit(
            patient=patient_a, local_date=day, answers=answers, now=then,
            wellbeing=Wellbeing(satisfaction=4),
            pulse=dict(zip(PARTNERSHIP_QUESTIONS, pulse, strict=True)) if pulse else None,
            partnership=weekly.get(days_ago),
        )
    return revision


def test_the_weeks_question_is_answered_by_label_and_keyboard_and_charted(
    live_server, page, patient_a, falling_partnership
):
    # given
    log_in(page, live_server, patient_a.user.email)
    page.wait_for_url(f"{live_server.url}/today/")
    question = page.get_by_role("group", name=PARTNERSHIP_QUESTIONS["shared_goals"])
    assert page.get_by_role("heading", name="This week's partnership question").is_visible()
    assert question.get_by_text("Optional: leave it blank to skip this week.").is_visible()
    assert_no_axe_violations(page)

    # when: the label "5" is clicked, then the arrow key moves the choice to 6
    question.get_by_label("5", exact=True).check()
    page.keyboard.press("ArrowRight")
    assert question.get_by_label("6", exact=True).is_checked()
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("Saved for today").wait_for()

    # then: saved with its question, shown again when the day is opened
    checkin = CheckIn.objects.get(patient=patient_a, local_date=patient_a.local_today())
    assert (checkin.partnership_question, checkin.partnership) == ("shared_goals", 6)
    assert page.get_by_role("group", name=PARTNERSHIP_QUESTIONS["shared_goals"]).get_by_label(
        "6", exact=True).is_checked()
    assert_no_axe_violations(page)

    # and History charts the partnership on one 0-10 scale, naming each point's question
    page.get_by_role("link", name="History").click()
    chart = page.get_by_role("region", name="Our partnership (0 to 10)")
    assert chart.get_by_text("Latest: 6 of 10 on").is_visible()
    chart.get_by_text("Show the numbers").click()
    last = chart.get_by_role("row").last
    assert last.get_by_role("cell", name="6", exact=True).is_visible()
    assert last.get_by_role("cell", name=PARTNERSHIP_QUESTIONS["shared_goals"]).is_visible()
    assert chart.get_by_role("cell", name="All four questions (their mean)"
                             ).first.is_visible()
    assert_no_axe_violations(page)
