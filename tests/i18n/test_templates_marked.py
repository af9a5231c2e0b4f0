"""Every template's user-visible text is marked for translation (tests/i18n/template_text.py).

A template still to be marked is listed in NOT_YET_TRANSLATED; the list only shrinks: a listed
template that is in fact fully marked fails too, so it must be taken off.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n.template_text import unmarked_text

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Templates whose text is not marked yet (paths under templates/), each to be taken off once
# marked. Empty since issue 16: a new template starts marked; list one here only while its
# translation is under way.
NOT_YET_TRANSLATED: frozenset[str] = frozenset()


def all_templates() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.is_file()
                  and p.suffix in (".html", ".txt"))


@pytest.mark.parametrize("name", [t for t in all_templates() if t not in NOT_YET_TRANSLATED])
def test_every_template_marks_its_text_for_translation(name):
    # given
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    # when
    found = unmarked_text(source)
    # then
    assert found == [], f"{name}: text not in {{% translate %}}/{{% blocktranslate %}}: {found}"


def test_no_template_listed_as_not_yet_translated_is_fully_marked():
    # given: the list cannot go stale (one test, not one per name: an empty list skips nothing)
    stale = []
    for name in sorted(NOT_YET_TRANSLATED):
        path = TEMPLATES / name
        # when
        if not path.is_file() or not unmarked_text(path.read_text(encoding="utf-8")):
            stale.append(name)
    # then
    assert stale == [], f"missing or fully marked: take them off NOT_YET_TRANSLATED: {stale}"


@pytest.mark.parametrize(("source", "expected"), [
    ("<p>Hello</p>", ["Hello"]),
    ('<nav aria-label="Main"></nav>', ["Main"]),
    ('<img src="x.png" alt="A rash">', ["A rash"]),
    ('<input placeholder="Search">', ["Search"]),
    ('<input type="submit" value="Save">', ["Save"]),
    ('<a href="/" title="Home">{% translate "Home" %}</a>', ["Home"]),
    ("{% if x %}<p>Shown sometimes</p>{% endif %}", ["Shown sometimes"]),
    ("Hello {{ name }}, welcome", ["Hello , welcome"]),
    ('{% include "rows.html" with rows=r empty="No check-ins yet." %}', ["No check-ins yet."]),
    ("{% with note='Not given yet' %}{{ note }}{% endwith %}", ["Not given yet"]),
])
def test_the_checker_finds_unmarked_text(source, expected):
    # when / then
    assert unmarked_text(source) == expected


@pytest.mark.parametrize("source", [
    '{% load i18n %}<p>{% translate "Hello" %}</p>',
    "{% load i18n %}<p>{% blocktranslate count n=k %}One day{% plural %}{{ n }} days"
    "{% endblocktranslate %}</p>",
    "{% load i18n %}<p>{% blocktrans %}Old {{ x }} style{% endblocktrans %}</p>",
    '<nav aria-label="{% translate "Main" %}"></nav>',
    '<input type="hidden" name="x" value="kept">',
    '<a href="/x" class="button"{% if on %} aria-current="page"{% endif %}>{% trans "X" %}</a>',
    "{% comment %}Notes for developers{% endcomment %}{# and these #}",
    "<script>const label = 'code';</script><style>p { color: red }</style>",
    "<p>{{ value }} · 42% (3/4)</p>",
    '<a class="brand" href="/">Alliance Portal</a>',
    '{% include "rows.html" with rows=r empty=_("No check-ins yet.") css="wide-table" %}',
])
def test_the_checker_passes_marked_text(source):
    # when / then
    assert unmarked_text(source) == []
