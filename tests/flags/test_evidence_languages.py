"""A flag reads in the clinician's language: its title, its one sentence, every number's label
and words, and its charts, written at read time from the numbers the rule stored."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.urls import reverse
from django.utils import translation

from flags import wording
from tests.flags.conftest import flags_of_every_rule

pytestmark = pytest.mark.django_db

# English words a value in words has; a translated value has none of them.
ENGLISH_WORDS = re.compile(
    r"\b(of|days?|steps?|done|out|mean|usual|on|since|when|under|down|up|the|logged|"
    r"range|answers?|ratings?|needs|chance|not)\b")


def page_words(client, flag) -> dict[str, object]:
    """What the flag page says about the finding: title, sentence, rows, charts."""
    page = html_lib.unescape(
        client.get(reverse("flag_detail", args=[flag.pk])).content.decode())
    section = page[page.index('aria-labelledby="evidence-heading"'):]
    section = section[:section.index("</section>")]
    return {
        "title": re.search(r"<h1>[^:]*: ([^<]*)</h1>", page)[1],
        "summary": re.search(r'<p class="lead">([^<]*)</p>', section)[1],
        "rows": re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>',
                           section[:section.index("</table>")] if "numbers-heading" in section
                           else ""),
        "charts": re.findall(r'<h3 id="ev-[a-z]+-title">([^<]*)</h3>', section),
        "periods": re.findall(r'<li value="\d+">([^<]*)</li>', section),
        "chart_sentences": re.findall(r'class="chart-summary">([^<]*)</p>', section),
    }


@pytest.fixture
def every_flag(derm):
    return flags_of_every_rule(derm)


@pytest.mark.parametrize("language", ["es", "de"])
def test_every_flag_page_reads_in_the_clinicians_language(client, staff, every_flag, language):
    # given: the same pages read in English first
    client.force_login(staff)
    english = {title: page_words(client, flag) for title, flag in every_flag.items()}
    staff.language = language
    staff.save(update_fields=["language"])
    for title, flag in every_flag.items():
        # when
        shown = page_words(client, flag)
        # then: nothing of the finding is left in English
        before = english[title]
        assert shown["title"] != before["title"], title
        assert shown["summary"] != before["summary"], (title, shown["summary"])
        assert not ENGLISH_WORDS.search(shown["summary"]), (title, shown["summary"])
        assert len(shown["rows"]) == len(before["rows"]) > 0, title
        for (label, value), (en_label, en_value) in zip(shown["rows"], before["rows"],
                                                        strict=True):
            assert label != en_label, (title, label)
            if ENGLISH_WORDS.search(en_value):
                assert value != en_value, (title, label, value)
        assert len(shown["charts"]) == len(before["charts"]), title
        for texts, en_texts in ((shown["charts"], before["charts"]),
                                (shown["periods"], before["periods"]),
                                (shown["chart_sentences"], before["chart_sentences"])):
            for text, en_text in zip(texts, en_texts, strict=True):
                assert text != en_text, (title, text)


def test_a_flag_reads_as_a_german_clinician_writes(client, staff, every_flag):
    # given
    staff.language = "de"
    staff.save(update_fields=["language"])
    client.force_login(staff)
    # when
    at_risk = page_words(client, every_flag["Alliance at risk"])
    quiet = page_words(client, every_flag["Stopped checking in"])
    # then: nouns keep their capitals inside a sentence; dates and decimals are German
    assert at_risk["summary"] == "Adhärenz gesunken und Zufriedenheit gesunken, zur selben Zeit."
    assert quiet["summary"].startswith("Kein Check-in seit 5 Tagen (zuletzt am 5. Mär 2026)")
    part = dict(at_risk["rows"])["Adhärenz gesunken"]
    assert part.startswith("Adhärenz unter dem üblichen Bereich (")
    assert part.endswith("; hoch severity") is False


def test_the_stored_words_are_english_whatever_language_is_active(every_flag):
    # given: each flag's stored sentence, written by the sweep
    for title, flag in every_flag.items():
        # when: the sentence is written again in Spanish, and in English
        with translation.override("es"):
            spanish = wording.summary(flag.evidence)
        english = wording.english_summary(flag.rule, flag.evidence["numbers"],
                                          as_of=wording.iso(flag.evidence["as_of"]))
        # then: the English one is the one stored; one definition writes both
        assert english == flag.evidence["summary"], title
        assert spanish != english, title


def test_evidence_of_an_earlier_version_keeps_its_words(every_flag):
    # given: evidence whose numbers lack what today's sentence reads
    flag = every_flag["Adherence fell"]
    evidence = {**flag.evidence, "summary": "Adherence fell 45 points.",
                "numbers": {"drop_points": 45}}
    # when
    with translation.override("de"):
        shown = wording.summary(evidence)
    # then
    assert shown == "Adherence fell 45 points."


@pytest.mark.parametrize(("label", "expected"), [
    ("usual", "Habitual"), ("since 6 Mar", "Desde el 6 mar"),
    ("last 7 days", "Últimos 7 días"), ("the 28 days before", "Los 28 días anteriores"),
    ("plan week 3", "Semana 3 del plan"), ("previous 3 ratings", "Las 3 valoraciones anteriores"),
    ("something new", "Something new"),
])
def test_window_labels_of_every_version_read_in_spanish(label, expected):
    from datetime import date
    # when
    with translation.override("es"):
        shown = wording.window_label(label, date(2026, 3, 6))
    # then
    assert shown == expected


def test_rule_titles_are_all_in_the_catalogue():
    # given: every title a rule writes
    for stored in wording.TITLES:
        # when
        with translation.override("es"):
            spanish = wording.title(stored)
        # then
        assert spanish != stored, stored
