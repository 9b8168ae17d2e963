"""Finding English left in what a Chinese reader sees: in a rendered page, and in a template's own text.

Used by tests/test_i18n.py. A "word" is two or more Latin letters; the words in ALLOWED are the same in
both languages (names of formats and of the product), and e-mail addresses, web addresses and ISO week
codes are not words.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

WORD = re.compile(r"[A-Za-z]{2,}")
NOT_WORDS = re.compile(
    r"[\w.+*-]+@[\w-]+(\.[\w-]+)+"  # e-mail addresses (logins, masked or not)
    r"|https?://\S+|webcal://\S+"  # addresses
    r"|\b\d{4}-W\d{2}\b"  # ISO weeks
    r"|\{[a-z_]+\}"  # message placeholders shown to managers ({member})
)
# The same in Chinese and English: the product, file formats, units and standards people know by these names.
ALLOWED = frozenset({
    "careapp", "CSV", "csv", "PDF", "xlsx", "XLSX", "Excel", "iCalendar", "ics", "ICS", "API", "SVG", "A4",
    "WPS", "GB", "UTF", "BOM", "km", "English", "ID", "QR", "OK", "SMTP", "WCAG", "Chart", "js", "GCJ",
    "WGS", "MB",
})
# Attributes a person reads or hears.
READ_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description"})
SKIPPED_ELEMENTS = frozenset({"script", "style", "code", "pre"})
VOID_ELEMENTS = frozenset({"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr", "area", "base"})


def english_words(text: str) -> list[str]:
    text = NOT_WORDS.sub(" ", text)
    return [word for word in WORD.findall(text) if word not in ALLOWED]


class _ReadText(HTMLParser):
    """Collects what a reader sees or hears: text nodes and the read attributes (and button values)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        # The open elements whose text is not read here: scripts and styles, and anything marked
        # translate="no" (people's own words: a partner's message wording, names, free text).
        self.skipping_element: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.skipping_element:  # inside a skipped element: only follow the nesting
            if tag not in VOID_ELEMENTS:
                self.skipping_element.append(tag)
            return
        if tag in SKIPPED_ELEMENTS:
            self.skipping_element.append(tag)
            return
        if attributes.get("translate") == "no" and tag not in VOID_ELEMENTS:
            self.skipping_element.append(tag)
            return
        for name in READ_ATTRIBUTES:
            if attributes.get(name):
                self.pieces.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.pieces.append(attributes["value"])

    def handle_endtag(self, tag):
        if self.skipping_element and self.skipping_element[-1] == tag:
            self.skipping_element.pop()

    def handle_data(self, data):
        if not self.skipping_element:
            self.pieces.append(data)


def read_text(html: str) -> list[str]:
    parser = _ReadText()
    parser.feed(html)
    return [piece.strip() for piece in parser.pieces if piece.strip()]


def english_in_page(html: str) -> list[str]:
    """Each piece of a rendered page that still has English words in it."""
    return [piece for piece in read_text(html) if english_words(piece)]


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)


def english_in_template(source: str) -> list[str]:
    """Each piece of a template's own text with English words outside a translation marker ({{ _('...') }} or
    {% trans %}...{% endtrans %}): Jinja expressions and tags are blanked before the HTML is read."""
    source = TRANS_BLOCK.sub(" ", source)
    source = JINJA.sub(" ", source)
    return [piece for piece in read_text(source) if english_words(piece)]
