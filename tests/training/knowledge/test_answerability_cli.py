"""``python -m training kb-answerability``: fit on the dev half, write, refuse the test half."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.knowledge.answerability import ANSWERABILITY_FILE, AnswerabilityModel
from bot.knowledge.chunks import write_chunks
from tests.support.retrieval import SAMPLE_CHUNKS, SynonymEmbedder
from training.__main__ import main
from training.knowledge.embed import embed_chunks

# Answerable: the help centre holds their words. Unanswerable: they name what it never does.
ANSWERABLE = [
    "how do I wash a down jacket",
    "can I tumble dry down",
    "comfort rating of the Alpine 15",
    "how long do I have to return unworn items",
    "do you ship to the UK",
    "how long does standard delivery take",
    "is the Ridge 2 flysheet waterproof",
    "do you take Klarna",
    "can I get a full refund",
    "how many days for a return",
    "which countries do you ship to",
    "what detergent for down jackets",
]
UNANSWERABLE = [
    "do you rent kayaks",
    "is there a kids sleeping bag",
    "who founded the company",
    "where is your warehouse",
    "do you buy back used gear",
    "battery life of the lantern",
]


def _inputs(tmp_path: Path, split: str = "dev") -> tuple[Path, Path]:
    kb = tmp_path / "kb"
    write_chunks(kb / "chunks.jsonl", SAMPLE_CHUNKS)
    embed_chunks(SAMPLE_CHUNKS, kb, SynonymEmbedder(), "sentence-transformers/all-MiniLM-L6-v2")
    lines = []
    for n, text in enumerate(ANSWERABLE + UNANSWERABLE):
        answerable = text in ANSWERABLE
        lines.append(
            {
                "id": f"q{n}",
                "question": text,
                "article": "x.md" if answerable else None,
                "answer": "Yes." if answerable else None,
                "answerable": answerable,
                "split": split,
            }
        )
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return kb, questions


@pytest.fixture
def synonym_minilm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "common.embeddings.MiniLMEmbedder", lambda device="cpu", **_: SynonymEmbedder()
    )


@pytest.mark.usefixtures("synonym_minilm")
def test_fits_writes_the_model_into_the_knowledge_folder_and_reports(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb, questions = _inputs(tmp_path)
    with caplog.at_level(logging.INFO):
        assert main(["kb-answerability", "--kb", str(kb), "--questions", str(questions)]) == 0
    model = AnswerabilityModel.load(kb / ANSWERABILITY_FILE)
    assert model.examples == len(ANSWERABLE) + len(UNANSWERABLE)
    assert model.coverage_weight > 0
    report = json.loads((kb / "answerability.report.json").read_text())
    assert report["auc"] > 0.8
    assert [row["threshold"] for row in report["rows"]][:2] == [0.5, 0.6]
    assert "cross-validated ROC AUC" in caplog.text


@pytest.mark.usefixtures("synonym_minilm")
def test_refuses_the_test_half(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kb, questions = _inputs(tmp_path, split="test")
    argv = ["kb-answerability", "--kb", str(kb), "--questions", str(questions)]
    with caplog.at_level(logging.ERROR):
        assert main([*argv, "--split", "test"]) == 2
    assert "held out" in caplog.text
    # The default (dev) half of this file is empty: too few questions to fit.
    assert main(argv) == 2
    assert not (kb / ANSWERABILITY_FILE).exists()
