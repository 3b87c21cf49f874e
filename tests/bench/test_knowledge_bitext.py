"""bench/knowledge_bitext.py: Bitext turned into knowledge articles and a question set."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from training.knowledge.markdown import parse_markdown
from training.knowledge.questions import read_questions

ROOT = Path(__file__).resolve().parents[2]
INTENTS = {
    "ORDER": ["cancel_order", "track_order", "change_order"],
    "REFUND": ["get_refund", "track_refund"],
    "CONTACT": ["contact_human_agent"],
}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """``bench/knowledge_bitext.py`` (bench/ is a folder of scripts, not a package)."""
    name = "bench_knowledge_bitext"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "knowledge_bitext.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    """A tiny Bitext-shaped CSV: 6 intents, 10 rows each, every request and reply unique."""
    path = tmp_path / "bitext.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["flags", "instruction", "category", "intent", "response"])
        for category, intents in INTENTS.items():
            for intent in intents:
                for n in range(10):
                    request = f"# {intent} request {n}?"  # a leading '#' must not break Markdown
                    reply = f"Reply {n} for {intent}.\r\n\r\n1. Step one.\r\n2. Step two."
                    writer.writerow(["B", request, category, intent, reply])
    return path


def sizes(bench: ModuleType, held_out: int = 2) -> object:
    return bench.SetSizes(
        held_out_intents=held_out,
        knowledge_per_intent=4,
        questions_per_intent=3,
        unanswerable_per_intent=5,
    )


def test_held_out_intents_become_unanswerable_and_stay_out_of_the_knowledge(
    bench: ModuleType, csv_file: Path
) -> None:
    rows = bench.read_bitext(csv_file)
    built = bench.build_bitext_set(rows, 7, sizes(bench))
    held = set(built.held_out)
    assert len(held) == 2
    assert "contact_human_agent" not in held  # a request for a person is never held out
    unanswerable = [q for q in built.questions if not q["answerable"]]
    assert {q["intent"] for q in unanswerable} == held
    assert len(unanswerable) == 5 * 2
    assert all(q["article"] is None and q["answer"] is None for q in unanswerable)
    knowledge_text = "\n".join(built.articles.values())
    for intent in held:
        assert f"for {intent}." not in knowledge_text
        assert not any(path.endswith(f"/{intent}.md") for path in built.articles)
    answerable = [q for q in built.questions if q["answerable"]]
    assert len(answerable) == 3 * (6 - 2)
    for q in answerable:
        assert q["article"] in built.articles
        assert q["article"].endswith(f"/{q['intent']}.md")
        assert q["answer"].startswith("Reply ") and q["intent"] in q["answer"]


def test_no_row_is_both_knowledge_and_question(bench: ModuleType, csv_file: Path) -> None:
    rows = bench.read_bitext(csv_file)
    built = bench.build_bitext_set(rows, 3, sizes(bench))
    assert not set(built.knowledge_rows) & set(built.question_rows)
    assert len(built.knowledge_rows) == 4 * 4
    # and by text: no question's request is a heading of the knowledge
    headings = {line[3:].strip() for text in built.articles.values() for line in text.splitlines()}
    assert not {q["question"].strip("# ") for q in built.questions} & headings


def test_the_split_is_deterministic_by_seed(bench: ModuleType, csv_file: Path) -> None:
    rows = bench.read_bitext(csv_file)
    first = bench.build_bitext_set(rows, 11, sizes(bench))
    again = bench.build_bitext_set(rows, 11, sizes(bench))
    other = bench.build_bitext_set(rows, 12, sizes(bench))
    assert first == again
    assert (first.questions, first.knowledge_rows) != (other.questions, other.knowledge_rows)


def test_both_halves_hold_both_kinds_and_every_intent(bench: ModuleType, csv_file: Path) -> None:
    built = bench.build_bitext_set(bench.read_bitext(csv_file), 5, sizes(bench))
    for half in ("dev", "test"):
        chosen = [q for q in built.questions if q["split"] == half]
        assert {q["answerable"] for q in chosen} == {True, False}
        assert {q["intent"] for q in chosen} == {q["intent"] for q in built.questions}


def test_written_files_read_back_with_the_project_readers(
    bench: ModuleType, csv_file: Path, tmp_path: Path
) -> None:
    built = bench.build_bitext_set(bench.read_bitext(csv_file), 1, sizes(bench))
    bench.write_bitext_set(built, tmp_path / "kb", tmp_path / "questions.jsonl")
    questions = read_questions(tmp_path / "questions.jsonl")
    assert [q.id for q in questions] == [q["id"] for q in built.questions]
    assert all((tmp_path / "kb" / q.article).is_file() for q in questions if q.answerable)
    path = next(iter(built.articles))
    document = parse_markdown((tmp_path / "kb" / path).read_text("utf-8"), path)
    # one section per knowledge row, headed by its request; the reply is the text
    assert len(document.sections) == 4
    assert document.title == Path(path).stem.replace("_", " ").capitalize()
    assert all("request" in s.heading and "Reply" in s.text for s in document.sections)
    assert json.loads((tmp_path / "questions.jsonl").read_text("utf-8").splitlines()[0])["id"]


def test_too_many_held_out_intents_is_refused(bench: ModuleType, csv_file: Path) -> None:
    rows = bench.read_bitext(csv_file)
    with pytest.raises(bench.DatasetError, match="cannot hold out"):
        bench.build_bitext_set(rows, 0, sizes(bench, held_out=5))


def test_a_missing_data_set_exits_2(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.main(["--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_a_csv_without_the_columns_is_refused(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("question,answer\nq,a\n", encoding="utf-8")
    with pytest.raises(bench.DatasetError, match="instruction"):
        bench.read_bitext(path)
