"""scripts/check_translations: what makes it fail, and that the committed catalogs pass."""

from __future__ import annotations

import gettext
import io
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "check_translations"


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    loader = SourceFileLoader("check_translations", str(SCRIPT))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


PO = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Today"
msgstr "Hoy"

#, fuzzy
msgid "History"
msgstr "Historia"

msgid "My plan"
msgstr ""

msgid "One step"
msgid_plural "%(n)s steps"
msgstr[0] "Un paso"
msgstr[1] ""
'''


def test_untranslated_fuzzy_and_half_translated_plurals_are_problems(checker, tmp_path):
    # given
    po = tmp_path / "django.po"
    po.write_text(PO, encoding="utf-8")
    # when
    problems = checker.problems_in(po)
    # then
    assert problems == ["fuzzy: 'History'", "untranslated: 'My plan'", "untranslated: 'One step'"]


def test_a_fully_translated_catalog_has_no_problem_and_compiles_without_gettext(checker, tmp_path):
    # given
    po = tmp_path / "django.po"
    po.write_text(PO.replace('#, fuzzy\n', '').replace('msgstr ""\n\nmsgid "One', 'msgstr "Mi plan"'
                             '\n\nmsgid "One').replace('msgstr[1] ""', 'msgstr[1] "%(n)s pasos"'),
                  encoding="utf-8")
    # when
    problems = checker.problems_in(po)
    mo = gettext.GNUTranslations(io.BytesIO(checker.compiled(po)))
    # then
    assert problems == []
    assert mo.gettext("My plan") == "Mi plan"
    assert mo.ngettext("One step", "%(n)s steps", 3) == "%(n)s pasos"


@pytest.mark.parametrize("lang", [code for code, _ in settings.LANGUAGES if code != "en"])
def test_the_committed_catalogs_are_complete_and_compiled(checker, lang):
    # given
    po = checker.po_path(Path(settings.BASE_DIR), lang)
    # when / then
    assert checker.problems_in(po) == []
    assert checker.mo_catalog(po.with_suffix(".mo").read_bytes()) == checker.mo_catalog(
        checker.compiled(po))
