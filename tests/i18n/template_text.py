"""Finds the text a reader would see in a Django template that is not marked for translation.

Django's own Lexer splits the template into text, variable, block and comment tokens. The text
outside ``{% translate %}`` / ``{% blocktranslate %}`` (and outside ``{% comment %}``) is put
back together with each template tag taken out, then read as HTML: the text between
tags and the attributes a reader sees or hears (``aria-label``, ``title``, ``placeholder``,
``alt``, the ``value`` of a button-like input) are user-visible. Any of that with a letter in it
is unmarked text. Script and style bodies are code, not text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.template.base import Lexer, TokenType

# Words that are the same in every language on purpose: the product's name.
SAME_IN_EVERY_LANGUAGE = frozenset({"Alliance Portal"})

VISIBLE_ATTRIBUTES = frozenset({"aria-label", "title", "placeholder", "alt"})
BUTTON_INPUT_TYPES = frozenset({"submit", "button", "reset"})
CODE_ELEMENTS = frozenset({"script", "style"})
LETTER = re.compile(r"[^\W\d_]")


def _marked_out_text(source: str) -> str:
    """The template with every tag, variable and marked text taken out."""
    pieces: list[str] = []
    skip_until: str | None = None  # the closing tag of a block whose text is not to be read
    for token in Lexer(source).tokenize():
        words = token.split_contents() if token.token_type == TokenType.BLOCK else []
        name = words[0] if words else ""
        if skip_until is not None:
            if name == skip_until:
                skip_until = None
            continue
        if token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            continue
        # Marked text (blocktranslate), notes to developers (comment), literal code (verbatim).
        if name in ("blocktranslate", "blocktrans", "comment", "verbatim"):
            skip_until = "end" + name
        pieces.append("")
    return "".join(pieces)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attribute, value in attrs:
            visible = attribute in VISIBLE_ATTRIBUTES or (
                attribute == "value" and tag == "input"
                and (values.get("type") or "").lower() in BUTTON_INPUT_TYPES
            )
            if visible and value:
                self._check(value)
        if tag in CODE_ELEMENTS:
            self._in_code += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in CODE_ELEMENTS:
            self._in_code -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in CODE_ELEMENTS and self._in_code:
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self._check(data)

    def _check(self, text: str) -> None:
        text = " ".join(text.split())
        for same in SAME_IN_EVERY_LANGUAGE:
            text = text.replace(same, " ")
        if LETTER.search(text):
            self.found.append(text.strip())


# A value handed to an included template as a plain literal: ``with empty="No check-ins yet."``
# (a file name or a CSS class has no space; marked text is ``empty=_("...")``).
TAG_TEXT = re.compile(r"""\b\w+=(["'])([^"']*[^\W\d_][^"']* [^"']*)\1""")


def _tag_literals(source: str) -> list[str]:
    """Text in ``{% include ... with %}`` and ``{% with %}`` tags that is not marked."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK or token.contents.split()[0] not in (
                "include", "with"):
            continue
        found += [match[2] for match in TAG_TEXT.finditer(token.contents)]
    return found


def unmarked_text(source: str) -> list[str]:
    """The user-visible pieces of text in a template source not marked for translation."""
    parser = _VisibleText()
    parser.feed(_marked_out_text(source))
    parser.close()
    return parser.found + _tag_literals(source)
