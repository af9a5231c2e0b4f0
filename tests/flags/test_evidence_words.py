"""What the clinic reads about a flag: a title that says what happened, every number with a plain
label (never an internal name), and a chart of the signal the rule is about."""

from __future__ import annotations

import itertools
import re

import pytest
from django.urls import reverse

from flags import charts
from flags.models import Rule
from tests.flags.conftest import flags_of_every_rule

pytestmark = pytest.mark.django_db

# An internal name: snake_case ("satisfaction_drop", "triggered_by", "last_mean").
INTERNAL_NAME = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def visible_text(html: str) -> str:
    """The page's text as a reader gets it: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def evidence_section(html: str) -> str:
    start = html.index('aria-labelledby="evidence-heading"')
    return visible_text(html[start:html.index("</section>", start)])


@pytest.fixture
def every_flag(derm):
    return flags_of_every_rule(derm)


def test_every_flag_page_says_what_happened_in_plain_words(client, staff, every_flag):
    # given
    client.force_login(staff)
    for title, flag in every_flag.items():
        # when
        html = client.get(reverse("flag_detail", args=[flag.pk])).content.decode()
        # then
        text = visible_text(html)
        assert f"{flag.patient.user.display_name}: {title}</h1>" in html, title
        assert f"Rule: {flag.get_rule_display()}." in text
        assert not INTERNAL_NAME.findall(text), (title, INTERNAL_NAME.findall(text))
        for raw in ("Triggered by", "Component severities", "Components ", "Last mean",
                    "Recent percent", "Drop threshold", "Out of", "Within days"):
            assert raw not in text, (title, raw)


def test_the_numbers_of_each_rule_have_plain_labels(client, staff, every_flag):
    # given
    client.force_login(staff)
    expected = {
        "Satisfaction has stayed low": [
            ("Last 3 ratings", "mean 1.33 out of 5, highest 2; newest on Tue 10 Mar 2026"),
            ("The 10 ratings before", "mean 1.1 out of 5"),
            ("Change", "up 0.23"),
            ("Why it was flagged", "every one of the last 3 ratings was 2 or lower"),
        ],
        "Alliance pulse has stayed low": [
            ("Latest pulse", "25 out of 40, on Sun 8 Mar 2026"),
            ("Previous pulse", "20 out of 40, on Sun 22 Feb 2026"),
            ("Change", "up 5 points"),
            ("Why it was flagged", "under 28 out of 40"),
        ],
        "Adherence fell": [
            ("Last 7 days", "30% of steps done (21 of 70), 7 of 7 days logged"),
            ("The 28 days before", "90% of steps done (252 of 280), 28 of 28 days logged"),
            ("Change", "down 60 points"),
            ("Why it was flagged", "fell 20 points or more; under 50%"),
        ],
        "Alliance at risk": [
            ("Adherence fell", "Adherence fell 60 points, from 90% in the 28 days before (28 "
                               "logged) to 30% in the last 7 days (7 days logged); high severity"),
        ],
        "Severe side effect reported": [("Side effect reported", "Severe")],
    }
    for title, rows in expected.items():
        # when
        response = client.get(reverse("flag_detail", args=[every_flag[title].pk]))
        # then
        html = response.content.decode()
        shown = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>',
                           html[html.index('id="numbers-heading"'):])
        for row in rows:
            assert row in shown, (title, row, shown)


def test_the_satisfaction_flag_that_rose_never_says_it_fell(client, staff, every_flag):
    # given: ratings averaging 1.1, then 1.33 (the finding: low, not a fall)
    flag = every_flag["Satisfaction has stayed low"]
    client.force_login(staff)
    # when
    html = client.get(reverse("flag_detail", args=[flag.pk])).content.decode()
    queue = visible_text(client.get(reverse("flagged_patients")).content.decode())
    # then
    section = evidence_section(html)
    assert "Change up 0.23" in section
    assert "fell" not in section.lower()
    assert "drop" not in section.lower()
    assert "drop" not in visible_text(html).lower()
    assert f"{flag.patient.user.display_name}: Satisfaction has stayed low" in queue


def test_the_queue_shows_titles_and_plain_rule_names(client, staff, every_flag):
    # given
    client.force_login(staff)
    # when
    html = client.get(reverse("flagged_patients"), {"dermatologist": ""}).content.decode()
    # then
    text = visible_text(html)
    for title, flag in every_flag.items():
        assert f"{flag.patient.user.display_name}: {title}" in text
    assert not INTERNAL_NAME.findall(text)
    for value, label in Rule.choices:
        assert f'<option value="{value}">{label}</option>' in html
        assert "_" not in label
        assert label[0].isupper()


def test_the_patient_page_and_at_risk_panel_show_each_flags_title(client, derm, every_flag):
    # given: every flag escalated, so the dermatologist's "Alliance at risk" panel lists it too
    client.force_login(derm)
    for flag in every_flag.values():
        flag.escalated_at = flag.opened_at
        flag.save(update_fields=["escalated_at"])
    # when
    panel = visible_text(client.get(reverse("my_patients")).content.decode())
    # then
    for title, flag in every_flag.items():
        detail = client.get(reverse("patient_detail", args=[flag.patient_id])).content.decode()
        assert f">{title}</a>" in detail, title
        assert f"{flag.patient.user.display_name}: {title}" in panel, title


# --- The charts ------------------------------------------------------------------------------


def test_each_chart_plots_the_signal_its_rule_is_about(every_flag):
    # given / when
    signals = {title: [chart.signal for chart in charts.evidence_charts(flag)]
               for title, flag in every_flag.items()}
    # then
    assert signals == {
        "Adherence fell": ["steps"],
        "Adherence has stayed low": ["steps"],
        "Adherence is low": ["steps"],
        "Adherence below the expected curve": ["steps"],
        "Satisfaction fell": ["ratings"],
        "Satisfaction has stayed low": ["ratings"],
        "Alliance pulse fell": ["pulses"],
        "Alliance pulse has stayed low": ["pulses"],
        "Stopped checking in": ["steps"],
        "Alliance at risk": ["steps", "ratings", "pulses"],
        "Severe side effect reported": [],
    }


def test_the_ratings_and_pulse_charts_plot_the_answers(every_flag):
    # given
    ratings = charts.evidence_charts(every_flag["Satisfaction has stayed low"])[0]
    pulses = charts.evidence_charts(every_flag["Alliance pulse has stayed low"])[0]
    # then: the 13 ratings, oldest first; both pulses
    assert [value for _, value in ratings.chart.table] == [
        "1", "1", "1", "1", "1", "1", "1", "1", "1", "2", "1", "1", "2"]
    assert ratings.title == "Satisfaction ratings (1 = low, 5 = high)"
    assert [w.text for w in ratings.windows] == [
        "10 ratings (1, 1, 1, 1, 1, 1, 1, 1, 1, 2), mean 1.1 out of 5",
        "3 ratings (1, 1, 2), mean 1.33 out of 5"]
    assert pulses.chart.table == [("Sun 22 Feb", "20"), ("Sun 8 Mar", "25")]
    assert [w.label for w in pulses.windows] == ["Previous pulse", "Latest pulse"]


def _window(number: int, band_x: float, band_width: float) -> charts.Window:
    from datetime import date

    day = date(2026, 3, 1)
    return charts.Window(number=number, label=f"Window {number}", start=day, end=day, text="",
                  band_x=band_x, band_width=band_width, fill="#fff")


@pytest.mark.parametrize("bands", [
    [(40, 280), (300, 20), (305, 5), (310, 16)],  # a long window and three near its end
    [(100, 10), (100, 10), (100, 10)],  # three on one day
    [(34, 4), (36, 4), (38, 4)],  # at the left edge
])
def test_window_numbers_are_spread_apart_inside_the_plot(every_flag, bands):
    # given: any chart's geometry, and windows whose bands are close or the same
    line = charts.evidence_charts(every_flag["Adherence fell"])[0].chart
    windows = [_window(n, x, width) for n, (x, width) in enumerate(bands, 1)]
    # when
    placed = sorted(w.number_x for w in charts._spread(windows, line))
    # then
    assert all(b - a >= charts.LABEL_GAP - 0.1 for a, b in itertools.pairwise(placed))
    assert line.left <= placed[0]
    assert placed[-1] <= line.right
