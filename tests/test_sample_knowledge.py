"""The sample help centre (data/knowledge/), its PDF care guide and the question set."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "data" / "knowledge"
PDF = KB / "care" / "care-guide.pdf"
PDF_TITLE = "Pinecrest Outfitters Care Guide"
QUESTIONS = ROOT / "data" / "knowledge_questions" / "questions.jsonl"
SCRIPT = ROOT / "scripts" / "make_care_guide.py"
URL_PREFIX = "https://help.pinecrest.example/"
FIELDS = {"id", "question", "article", "answer", "answerable", "split"}
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_NUMBER = re.compile(r"\d+")

ARTICLES = sorted(KB.rglob("*.md"))


def _split_for(question_id: str) -> str:
    """The documented split rule: the first byte of SHA-256(id) below 128 is dev."""
    return "dev" if hashlib.sha256(question_id.encode("utf-8")).digest()[0] < 128 else "test"


def _parse_article(path: Path) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    assert match, f"{path}: no YAML front matter between --- lines"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path}: front matter is not a mapping"
    return meta, match.group(2)


@cache
def _pdf_text() -> str:
    return "\n".join(page.extract_text() for page in PdfReader(PDF).pages)


@cache
def _questions() -> tuple[dict[str, Any], ...]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def _source_text(article: str) -> str:
    path = KB / article
    if path.suffix == ".pdf":
        return _pdf_text()
    return path.read_text(encoding="utf-8")


def test_help_centre_has_enough_articles_in_every_section() -> None:
    assert len(ARTICLES) >= 30
    sections = {p.relative_to(KB).parts[0] for p in ARTICLES}
    expected = {"products", "care", "sizing", "warranty", "shipping", "returns", "payment"}
    assert expected | {"account"} <= sections


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: str(p.relative_to(KB)))
def test_article_has_front_matter_heading_and_length(path: Path) -> None:
    meta, body = _parse_article(path)
    assert isinstance(meta.get("title"), str) and meta["title"].strip()
    relative = path.relative_to(KB).with_suffix("").as_posix()
    assert meta.get("url") == URL_PREFIX + relative
    headings = [line for line in body.splitlines() if line.startswith("# ")]
    assert headings == [f"# {meta['title']}"], f"{path}: one '#' heading, the title"
    assert any(line.startswith("## ") for line in body.splitlines())
    words = len(body.split())
    assert 150 <= words <= 500, f"{path}: {words} words"


def test_article_titles_and_urls_are_unique() -> None:
    metas = [_parse_article(p)[0] for p in ARTICLES]
    assert len({m["title"] for m in metas}) == len(metas)
    assert len({m["url"] for m in metas}) == len(metas)


def test_pdf_care_guide_has_text_and_title() -> None:
    reader = PdfReader(PDF)
    assert reader.metadata is not None and reader.metadata.title == PDF_TITLE
    text = _pdf_text()
    assert text.startswith(PDF_TITLE)
    assert len(text.split()) > 800
    assert "reproof" in text.lower()


def test_script_reproduces_the_committed_pdf(tmp_path: Path) -> None:
    out = tmp_path / "care-guide.pdf"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes() == PDF.read_bytes()


def test_question_set_parses_with_unique_ids_and_known_fields() -> None:
    questions = _questions()
    assert len(questions) >= 250
    ids = [q["id"] for q in questions]
    assert len(set(ids)) == len(ids)
    texts = [q["question"].strip().lower() for q in questions]
    assert len(set(texts)) == len(texts)
    for q in questions:
        assert set(q) == FIELDS, q["id"]
        assert isinstance(q["question"], str) and q["question"].strip(), q["id"]
        assert isinstance(q["answerable"], bool), q["id"]
        assert q["split"] in ("dev", "test"), q["id"]


def test_question_set_has_enough_unanswerable_questions() -> None:
    unanswerable = [q for q in _questions() if not q["answerable"]]
    assert len(unanswerable) >= 50
    for q in unanswerable:
        assert q["article"] is None and q["answer"] is None, q["id"]


def test_issue_gear_questions_are_in_the_set_verbatim() -> None:
    by_text = {q["question"]: q for q in _questions()}
    below = by_text["do your sleeping bags work below freezing?"]
    assert below["article"] == "products/sleeping-bag-temperature-ratings.md"
    wash = by_text["can I wash a down jacket in a machine?"]
    assert wash["article"] == "care/washing-down-jackets.md"


def test_split_follows_the_hash_rule_and_both_halves_have_both_kinds() -> None:
    questions = _questions()
    for q in questions:
        assert q["split"] == _split_for(q["id"]), q["id"]
    for half in ("dev", "test"):
        kinds = {q["answerable"] for q in questions if q["split"] == half}
        assert kinds == {True, False}, half


def test_answerable_questions_point_at_existing_sources() -> None:
    for q in _questions():
        if not q["answerable"]:
            continue
        assert isinstance(q["article"], str), q["id"]
        path = KB / q["article"]
        assert path.is_file(), f"{q['id']}: {q['article']} does not exist"
        assert path.suffix in (".md", ".pdf"), q["id"]
        assert isinstance(q["answer"], str) and q["answer"].strip(), q["id"]


def test_reference_answer_numbers_occur_in_their_article() -> None:
    problems = []
    for q in _questions():
        if not q["answerable"]:
            continue
        source_numbers = set(_NUMBER.findall(_source_text(q["article"])))
        missing = set(_NUMBER.findall(q["answer"])) - source_numbers
        if missing:
            problems.append(f"{q['id']}: {sorted(missing)} not in {q['article']}")
    assert not problems, "\n".join(problems)


def test_the_pdf_is_the_source_of_some_questions() -> None:
    from_pdf = [q for q in _questions() if q["article"] == "care/care-guide.pdf"]
    assert len(from_pdf) >= 10
