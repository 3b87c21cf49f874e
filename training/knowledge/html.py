"""HTML articles (a help-centre export): the article text under its headings, nothing else.

:class:`_ArticleParser` (Python's :class:`html.parser.HTMLParser`) walks the page once.
It drops navigation, page header and footer, asides, scripts, styles, forms and other
chrome (also elements whose ARIA role is one of those landmarks, ``hidden`` elements and
breadcrumb trails), opens a section at every ``h1``-``h4``, and collects the rest of each
section as HTML, which html2text then renders as text (lists, tables and links in Markdown
form). The title is the first ``h1`` of the article (a page's ``<title>`` usually carries
the site's name as well), else the ``<title>``, else the file name; a canonical link or an
``og:url`` becomes the source, and relative links are made absolute against it.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

import html2text

from training.knowledge.document import (
    Document,
    RejectedFile,
    Section,
    heading_path,
    normalise_space,
)
from training.knowledge.markdown import humanise_name

SKIPPED_TAGS = frozenset(
    "nav header footer aside script style form noscript template svg iframe button "
    "select textarea object canvas dialog".split()
)
SKIPPED_ROLES = frozenset("navigation banner contentinfo search complementary menu".split())
SKIPPED_CLASSES = frozenset("breadcrumb breadcrumbs skip-link visually-hidden sr-only".split())
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class _ArticleParser(HTMLParser):
    """Splits a page into (heading path, section HTML) pairs, skipping the page chrome."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page_title = ""
        self.first_h1 = ""
        self.canonical = ""
        self.sections: list[tuple[list[str], str]] = []
        self._headings: list[str] = []
        self._html: list[str] = []
        self._skip_tag = ""
        self._skip_depth = 0
        self._in_head = False
        self._title: list[str] | None = None
        self._heading_level = 0
        self._heading: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        values = {k: (v or "") for k, v in attrs}
        if tag not in VOID_TAGS and self._is_chrome(tag, values):
            self._skip_tag, self._skip_depth = tag, 1
            return
        if tag == "head":
            self._in_head = True
        elif tag == "title":
            self._title = []
        elif tag in ("link", "meta"):
            self._note_url(tag, values)
        elif tag in HEADINGS and not self._in_head:
            self._flush()
            self._heading_level = HEADINGS[tag]
            self._heading = []
        elif not self._in_head and not self._heading_level:
            self._html.append(self.get_starttag_text() or f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag == self._skip_tag:
                self._skip_depth -= 1
            return
        if tag == "head":
            self._in_head = False
        elif tag == "title" and self._title is not None:
            self.page_title = self.page_title or " ".join("".join(self._title).split())
            self._title = None
        elif tag in HEADINGS and self._heading_level == HEADINGS[tag]:
            text = " ".join("".join(self._heading).split())
            level = self._heading_level
            self._headings = (self._headings + [""] * level)[: level - 1] + [text]
            if level == 1 and not self.first_h1:
                self.first_h1 = text
            self._heading_level = 0
        elif not self._in_head and not self._heading_level and tag not in VOID_TAGS:
            self._html.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._title is not None:
            self._title.append(data)
        elif self._heading_level:
            self._heading.append(data)
        elif not self._in_head:
            self._html.append(html.escape(data, quote=False))

    def close(self) -> None:
        """Finish parsing and keep the last section."""
        super().close()
        self._flush()

    def _flush(self) -> None:
        if self._html:
            self.sections.append((list(self._headings), "".join(self._html)))
        self._html = []

    @staticmethod
    def _is_chrome(tag: str, attrs: dict[str, str]) -> bool:
        if tag in SKIPPED_TAGS or "hidden" in attrs:
            return True
        if attrs.get("role", "").strip().lower() in SKIPPED_ROLES:
            return True
        if attrs.get("aria-hidden", "").strip().lower() == "true":
            return True
        return bool(SKIPPED_CLASSES & set(attrs.get("class", "").lower().split()))

    def _note_url(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "link" and "canonical" in attrs.get("rel", "").lower().split():
            url = attrs.get("href", "")
        elif tag == "meta" and attrs.get("property", "").lower() == "og:url":
            url = attrs.get("content", "")
        else:
            return
        if not self.canonical and urlsplit(url.strip()).scheme in ("http", "https"):
            self.canonical = url.strip()


def html_section_text(fragment: str, base_url: str = "") -> str:
    """Render an HTML fragment as plain text with Markdown lists, tables and links.

    Args:
        fragment: The HTML.
        base_url: Where relative links point to ("" keeps them as written).

    Returns:
        The text, paragraphs separated by blank lines.

    """
    converter = html2text.HTML2Text(baseurl=base_url)
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_links = False
    converter.inline_links = True
    converter.skip_internal_links = True
    return normalise_space(converter.handle(fragment))


def parse_html(text: str, doc_id: str) -> Document:
    """Parse an HTML article.

    Args:
        text: The page.
        doc_id: The document id (its relative path).

    Returns:
        The document.

    Raises:
        RejectedFile: ``no_text`` if no article text remains once the chrome is gone.

    """
    parser = _ArticleParser()
    parser.feed(text)
    parser.close()
    title = parser.first_h1 or parser.page_title or humanise_name(doc_id)
    sections = []
    for headings, fragment in parser.sections:
        body = html_section_text(fragment, parser.canonical)
        if body:
            sections.append(Section(heading_path(headings, title), body))
    if not sections:
        raise RejectedFile("no_text", "no article text outside navigation and page chrome")
    return Document(doc_id, title, parser.canonical or doc_id, "html", tuple(sections))
