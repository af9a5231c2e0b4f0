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
    adherence = every_flag["Adherence fell"].evidence["numbers"]
    low, high = adherence["usual_range"]
    expected = {
        "Adherence fell": [
            ("Usual adherence", f"{adherence['usual_percent']:g}% of steps done "
                                f"({adherence['usual_steps'][0]} of {adherence['usual_steps'][1]})"
                                f" over 46 logged days; usual range {low}–{high}%"),
            ("Since Fri 6 Mar 2026", "20% of steps done (10 of 50); 5 of 5 logged days below "
                                     "the usual range"),
            ("Last 7 days", "41.4%, 7 days logged"),  # 5 days at 2 of 10, then 9 and 10
        ],
        "Satisfaction fell": [
            ("Since Fri 6 Mar 2026", "2 on Fri 6 Mar 2026; 2 on Sat 7 Mar 2026; 2 on Sun 8 Mar "
                                     "2026; 2 on Mon 9 Mar 2026; 2 on Tue 10 Mar 2026"),
            ("Change", "down 2"),
        ],
        "Partnership fell": [
            ("Usual partnership", "mean 8.29 out of 10 over 7 answers; usual range 7.8–8.8"),
            ("Since Mon 9 Mar 2026", "3 on Mon 9 Mar 2026 (I feel heard by my dermatologist)"),
        ],
        "Stopped checking in": [
            ("Last check-in", "Thu 5 Mar 2026"),
            ("Days without a check-in", "5"),
            ("Usually logs", "100% of days (55 of 55); longest gap before: 0 days"),
            ("Chance of a gap this long", "under 0.01% when logging as usual"),
        ],
        "Alliance at risk": [
            ("Adherence fell", every_flag["Adherence fell"].evidence["summary"].rstrip(".")
             + "; high severity"),
        ],
        "Severe side effect reported": [("Side effect reported", "Severe")],
        "Missed injection": [
            ("Missed injection", "Adalimumab 40 mg injection: due Wed 4 Mar 2026; still "
                                 "counted until Sat 7 Mar 2026; not logged done"),
            ("Doses missed", "1 in the last 14 days"),
        ],
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
    # when: the panel shows the first five, its "See all" link the rest
    response = client.get(reverse("my_patients"))
    panel = visible_text(response.content.decode())
    see_all = re.search(r'href="([^"]*)">See all 7 in the flag queue<', response.content.decode())
    listed = visible_text(client.get(see_all.group(1).replace("&amp;", "&")).content.decode())
    # then
    shown = {flag.pk for flag in response.context["at_risk"].flags}
    assert len(shown) == 5
    for title, flag in every_flag.items():
        detail = client.get(reverse("patient_detail", args=[flag.patient_id])).content.decode()
        assert f">{title}</a>" in detail, title
        assert f"{flag.patient.user.display_name}: {title}" in listed, title
        if flag.pk in shown:
            assert f"{flag.patient.user.display_name}: {title}" in panel, title


# --- The charts ------------------------------------------------------------------------------


def test_each_chart_plots_the_signal_its_rule_is_about(every_flag):
    # given / when
    signals = {title: [chart.signal for chart in charts.evidence_charts(flag)]
               for title, flag in every_flag.items()}
    # then
    assert signals == {
        "Adherence fell": ["steps"],
        "Satisfaction fell": ["ratings"],
        "Partnership fell": ["partnership"],
        "Stopped checking in": ["steps"],
        "Alliance at risk": ["steps", "ratings"],
        "Severe side effect reported": [],
        "Missed injection": ["steps"],
    }


def test_the_ratings_and_partnership_charts_plot_the_answers(every_flag):
    # given
    ratings = charts.evidence_charts(every_flag["Satisfaction fell"])[0]
    partnership = charts.evidence_charts(every_flag["Partnership fell"])[0]
    # then: the usual ratings, then the five low ones; the weekly answers, the low one last
    assert [value for _, value in ratings.chart.table][-6:] == ["4", "2", "2", "2", "2", "2"]
    assert ratings.title == "Satisfaction ratings (1 = low, 5 = high)"
    assert ratings.windows[-1].text == "5 ratings (2, 2, 2, 2, 2), mean 2 out of 5"
    assert [value for _, value in partnership.chart.table] == [
        "8", "9", "8", "8", "9", "8", "8", "3"]
    assert [w.label for w in partnership.windows] == ["Usual", "Since 9 Mar"]


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
