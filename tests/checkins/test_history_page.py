"""The History page: summaries with the right numbers, empty states, one patient's data only,
and accessible markup by construction (unique ids, labelled charts, heading order)."""

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from checkins.charts import history_context
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from tests.checkins.conftest import steps_of
from tests.checkins.test_charts import log_day
from tests.factories import backdated_revision, item_draft

pytestmark = pytest.mark.django_db

RETINOID = "Adapalene 0.1% gel"


def answers(revision, *, retinoid_done=True, reason="side_effects"):
    cleanser, retinoid = steps_of(revision)
    return [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
            StepAnswer(retinoid.pk, "evening", retinoid_done, "" if retinoid_done else reason)]


@pytest.fixture
def history(patient_a, routine, now):
    """Plan from 30 days ago (3 steps a day: 31 due days). Logged: today 3/3, yesterday 2/3,
    3 days ago 2/3, 4-6 days ago 3/3, 28 days ago 3/3, 29 days ago 0/3. One pulse: 30/40
    (a mean of 7.5 on the 0-10 partnership scale)."""
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=answers(routine),
                   wellbeing=Wellbeing(satisfaction=4, itch=2, note="Skin calmer this week"),
                   pulse={"heard": 8, "shared_goals": 7, "fits_life": 6, "safe_to_raise": 9},
                   now=now)
    checkin_submit(patient=patient_a, local_date=today - timedelta(days=1),
                   answers=answers(routine, retinoid_done=False), now=now)
    checkin_submit(patient=patient_a, local_date=today - timedelta(days=3),
                   answers=answers(routine, retinoid_done=False), now=now)
    for days_ago in (4, 5, 6, 28):
        log_day(patient_a, today - timedelta(days=days_ago))
    log_day(patient_a, today - timedelta(days=29), skipped={"Gentle cleanser", RETINOID},
            satisfaction=2, itch=7)
    return routine


def page(client, patient) -> str:
    client.force_login(patient.user)
    response = client.get(reverse("checkin_history"))
    assert response.status_code == 200
    return response.content.decode()


def test_patient_sees_the_summaries_with_the_right_numbers(client, patient_a, history):
    # when
    body = page(client, patient_a)
    # then
    assert "<h1>History</h1>" in body
    assert "Logged 8 of 31 days with steps due; 5 complete." in body
    # (3+2+2+3+3+3)/18 = 89 %; four weeks ago: days 34..28 ago hold 3/3 and 0/3 = 50 %
    assert "Last 7 days: 89%. Four weeks ago: 50%." in body
    assert f"You skip {RETINOID} most (3 of 8 times); usual reason: side effects." in body
    assert "average 3.0 from 2 answers" in body  # satisfaction 2 then 4
    assert "Latest: 2 of 10 on" in body  # itch
    assert "Latest: 7.5 of 10 on" in body  # the pulse, 30/40, as the mean of its four answers
    retinoid_key = history.items.get(name=RETINOID).key
    assert reverse("raise_concern", args=[retinoid_key]) in body
    assert "Skin calmer this week" in body  # the recent check-ins list


def test_no_plan_gets_friendly_text_and_no_chart(client, patient_a):
    body = page(client, patient_a)
    assert "Your dermatologist has not set up your plan yet." in body
    assert 'role="img"' not in body


def test_plan_without_check_ins_gets_friendly_text_and_no_chart(client, patient_a, routine):
    body = page(client, patient_a)
    assert "No check-ins in the last 12 weeks. Check in on the Today page" in body
    assert reverse("today") in body
    assert "<svg" not in body


def test_another_patients_check_ins_never_appear(client, patient_a, patient_b, routine, derm, now):
    # given: patient A logged once, everything done; patient B skipped everything for weeks
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=answers(routine), now=now)
    backdated_revision(patient_b, author=derm, number=1, effective_from=today - timedelta(days=30),
                       items=[item_draft(name="Tacrolimus 0.1% ointment")])
    for days_ago in range(0, 20, 2):
        log_day(patient_b, today - timedelta(days=days_ago), skipped={"Tacrolimus 0.1% ointment"},
                satisfaction=1, itch=9, note="Patient B private note")
    # when
    body = page(client, patient_a)
    # then
    assert "Logged 1 of 31 days with steps due; 1 complete." in body
    assert "Last 7 days: 100%." in body
    assert "You have not skipped any steps in the last 12 weeks." in body
    assert "No satisfaction answers in the last 12 weeks." in body
    assert "Tacrolimus" not in body
    assert "Patient B private note" not in body


def test_clinician_wording_and_no_concern_links(patient_a, history, now):
    # when: the partial as the clinician's patient page will include it
    html = render_to_string("checkins/_charts.html", history_context(
        patient_a, audience="clinician", today=patient_a.local_date(now)))
    # then
    assert f"The patient skips {RETINOID} most" in html
    assert "Alliance pulse" in html
    assert "/concern/" not in html
    assert "You skip" not in html


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.labelledby: list[str] = []
        self.headings: list[int] = []
        self.images: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids[attributes["id"]] += 1
        if attributes.get("aria-labelledby"):
            self.labelledby += attributes["aria-labelledby"].split()
        if tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(int(tag[1]))
        if tag == "svg":
            self.images.append(attributes)


def test_charts_are_labelled_with_unique_ids_and_ordered_headings(client, patient_a, history):
    # given
    markup = Markup()
    # when
    markup.feed(page(client, patient_a))
    # then
    assert [name for name, n in markup.ids.items() if n > 1] == []
    assert set(markup.labelledby) <= set(markup.ids)
    charts = [svg for svg in markup.images if svg.get("role") == "img"]
    assert len(charts) == 5  # heatmap, rolling, satisfaction, itch, pulse
    assert all(svg.get("aria-labelledby", "").endswith("-summary") for svg in charts)
    assert all(svg.get("aria-hidden") == "true" for svg in markup.images if svg not in charts)
    assert markup.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(markup.headings, markup.headings[1:], strict=False))
