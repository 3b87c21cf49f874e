"""Markdown articles: front matter, title and sections from the headings.

A file may open with YAML front matter between ``---`` lines; its ``title:`` names the
document and its ``url:`` becomes every chunk's source. Otherwise the title is the first
level-1 heading (``# Title`` or a ``===`` underline), else the file name. ATX (``##``) and
setext headings open sections; lines inside fenced code blocks are never headings. The
text stays Markdown (links and lists read well in every channel).
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath
from typing import Any

import yaml

from training.knowledge.document import (
    Document,
    RejectedFile,
    Section,
    heading_path,
    normalise_space,
)

logger = logging.getLogger(__name__)

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
# Lines that cannot be the text of a setext heading: list items, quotes, table rows.
_BLOCK = re.compile(r"^\s*(?:[-*+>|]|\d+[.)])(?:\s|$)")
_FRONT_MATTER_END = ("---", "...")


def parse_markdown(text: str, doc_id: str) -> Document:
    """Parse a Markdown article.

    Args:
        text: The file's text.
        doc_id: The document id (its relative path).

    Returns:
        The document.

    Raises:
        RejectedFile: ``no_text`` if nothing but headings and front matter remain.

    """
    meta, body = split_front_matter(text)
    lines = body.split("\n")
    headings = _find_headings(lines)
    title = _meta_str(meta, "title") or next((h for _, level, h, _ in headings if level == 1), "")
    title = title or humanise_name(doc_id)
    source = _meta_str(meta, "url") or doc_id

    sections: list[Section] = []
    stack: list[str] = []
    starts = {line: (level, heading, span) for line, level, heading, span in headings}
    current: list[str] = []
    path = ""
    i = 0
    while i < len(lines):
        if i in starts:
            _add(sections, path, current)
            current = []
            level, heading, span = starts[i]
            stack = (stack + [""] * level)[: level - 1] + [heading]
            path = heading_path(stack, title)
            i += span
            continue
        current.append(lines[i])
        i += 1
    _add(sections, path, current)
    if not sections:
        raise RejectedFile("no_text", "only headings or front matter")
    return Document(doc_id, title, source, "markdown", tuple(sections))


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Separate YAML front matter from the body.

    Args:
        text: A Markdown file.

    Returns:
        The front matter as a mapping (empty if absent or not a mapping), and the body.

    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() in _FRONT_MATTER_END:
            try:
                meta = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError:
                logger.warning("front matter is not valid YAML; ignored")
                meta = None
            body = "\n".join(lines[end + 1 :])
            return (meta if isinstance(meta, dict) else {}), body
    return {}, text


def humanise_name(doc_id: str) -> str:
    """Turn a file name into a title: ``"care/down-jackets.md"`` -> ``"Down jackets"``.

    Args:
        doc_id: The document id.

    Returns:
        The title.

    """
    stem = PurePosixPath(doc_id).stem.replace("_", " ").replace("-", " ").strip()
    return (stem[:1].upper() + stem[1:]) if stem else doc_id


def _meta_str(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _find_headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """Return (line, level, text, lines spanned) of each heading outside code fences."""
    found: list[tuple[int, int, str, int]] = []
    fence = ""
    previous_is_text = False
    for i, line in enumerate(lines):
        fence_match = _FENCE.match(line)
        if fence:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = ""
            previous_is_text = False
            continue
        if fence_match:
            fence = fence_match.group(1)
            previous_is_text = False
            continue
        atx = _ATX.match(line)
        if atx:
            found.append((i, len(atx.group(1)), " ".join((atx.group(2) or "").split()), 1))
            previous_is_text = False
        elif previous_is_text and _SETEXT.match(line):
            level = 1 if line.strip().startswith("=") else 2
            found.append((i - 1, level, " ".join(lines[i - 1].split()), 2))
            previous_is_text = False
        else:
            previous_is_text = (
                bool(line.strip()) and not line.startswith("    ") and not _BLOCK.match(line)
            )
    return found


def _add(sections: list[Section], path: str, lines: list[str]) -> None:
    text = normalise_space("\n".join(lines))
    if text:
        sections.append(Section(path, text))
