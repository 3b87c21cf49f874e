"""`training.evaluate answers`: metrics, systems, the split guard and the CLI, with fakes."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import common.embeddings
from bot.knowledge.answer_prompt import AnswerPassage
from bot.knowledge.answering import WrittenAnswer
from bot.knowledge.chunk_vectors import ChunkVectors, write_chunk_vectors
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, write_chunks
from bot.nlg.generation.generator import Generation
from common.errors import ConfigError, TrainingDataError
from tests.support.generation import HashingEmbedder
from training.evaluate.__main__ import build_parser, main
from training.evaluate.answer_metrics import (
    CORRECT_COSINE,
    correct_flags,
    latency,
    recall_at_k,
    reference_null_distribution,
    same_document,
    share,
)
from training.evaluate.answer_questions import (
    load_knowledge,
    product_names,
    read_questions,
    select_questions,
)
from training.evaluate.answer_systems import (
    DONT_KNOW_REPLY,
    HANDOFF_REPLY,
    render_prompt,
)
from training.evaluate.answers import (
    TEST_SPLIT_WARNING,
    AnswerEvalConfig,
    evaluate_answers,
)

CHUNKS = [
    Chunk.build(
        "shipping/where-we-ship.md#0",
        "shipping/where-we-ship.md",
        "Where we ship",
        "Countries",
        "We ship to the EU, the UK and the US only. We do not ship to Canada.",
        "https://help.example/shipping/where-we-ship",
    ),
    Chunk.build(
        "care/care-guide.pdf#0",
        "care/care-guide.pdf",
        "Care Guide",
        "Page 1",
        "One 300 ml bottle of reproofing spray reproofs about 2 jackets.",
        "care/care-guide.pdf",
    ),
    Chunk.build(
        "returns/returns-policy.md#0",
        "returns/returns-policy.md",
        "Returns policy",
        "",
        "You can return unused items within 30 days of delivery. Returns are free.",
        "https://help.example/returns/returns-policy",
    ),
    Chunk.build(
        "products/cairn-tents.md#0",
        "products/cairn-tents.md",
        "Cairn 2 and Cairn 3 backpacking tents",
        "Specs",
        "The Cairn 2 weighs 1.9 kg and its flysheet is rated 3000 mm.",
        "https://help.example/products/cairn-tents",
    ),
]

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "q1",
        "question": "do you ship to canada or only to the EU",
        "article": "shipping/where-we-ship.md",
        "answer": "We ship to the EU, the UK and the US only.",
        "answerable": True,
        "split": "dev",
    },
    {
        "id": "q2",
        "question": "how many jackets does one bottle of reproofing spray reproof",
        "article": "care/care-guide.pdf",
        "answer": "One 300 ml bottle of reproofing spray reproofs about 2 jackets.",
        "answerable": True,
        "split": "dev",
    },
    {
        "id": "q3",
        "question": "kayak paddle rental prices zebra",
        "article": None,
        "answer": None,
        "answerable": False,
        "split": "dev",
    },
    {
        "id": "q4",
        "question": "can I return unused items within 30 days of delivery",
        "article": "returns/returns-policy.md",
        "answer": "Yes, unused items within 30 days of delivery; returns are free.",
        "answerable": True,
        "split": "test",
    },
]


def _kb(folder: Path, embedder: HashingEmbedder | None = None) -> Path:
    embedder = embedder or HashingEmbedder()
    write_chunks(folder / CHUNKS_FILE, CHUNKS)
    matrix = np.asarray(embedder.encode([c.embedding_text() for c in CHUNKS]), dtype=np.float32)
    rows = {c.embedding_key: i for i, c in enumerate(CHUNKS)}
    write_chunk_vectors(folder, ChunkVectors("hashing", matrix, rows))
    return folder


def _questions(path: Path, questions: Sequence[dict[str, Any]] = QUESTIONS) -> Path:
    path.write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    return path


class _Writer:
    """A fake answer writer: a fixed answer, no model."""

    def __init__(self, answer: str, mean_logprob: float | None = -0.2) -> None:
        self.answer = answer
        self.mean_logprob = mean_logprob
        self.calls: list[tuple[str, int]] = []

    def write(
        self, question: str, passages: Sequence[AnswerPassage], channel: str | None = None
    ) -> WrittenAnswer:
        self.calls.append((question, len(passages)))
        return WrittenAnswer(self.answer, self.mean_logprob)


class _Generator:
    """A fake reply generator (today's, without knowledge): a fixed reply."""

    def __init__(self, reply: str, failures: tuple[str, ...] = ()) -> None:
        self.reply = reply
        self.failures = failures

    def generate(self, context, message, channel=None, *, on_token=None, max_new_tokens=None):  # type: ignore[no-untyped-def]
        return Generation(self.reply, -0.3, 5, 1.0, guard_failures=self.failures)


def _config(tmp_path: Path, **changes: object) -> AnswerEvalConfig:
    values: dict[str, object] = {
        "kb": _kb(tmp_path / "kb"),
        "questions": _questions(tmp_path / "questions.jsonl"),
        "systems": ("retrieval",),
        "out": tmp_path / "out",
    }
    values.update(changes)
    return AnswerEvalConfig(**values)  # type: ignore[arg-type]


# Metrics


@pytest.mark.parametrize(
    ("article", "doc_id", "same"),
    [
        ("care/care-guide.pdf", "care/care-guide.pdf", True),
        ("care/care-guide.pdf", "data/knowledge/care/care-guide.pdf", True),
        ("data/knowledge/care/care-guide.pdf", "care/care-guide.pdf", True),
        ("./returns/policy.md", "returns/policy.md", True),
        ("care/care-guide.pdf", "care/other.pdf", False),
        ("guide.pdf", "care/care-guide.pdf", False),
        ("", "care/care-guide.pdf", False),
    ],
)
def test_an_article_matches_a_document_by_its_path_parts(
    article: str, doc_id: str, same: bool
) -> None:
    assert same_document(article, doc_id) is same


def test_recall_at_k_counts_the_article_among_the_top_k_documents() -> None:
    articles = ["a.md", "b.md", "c.md", "d.md"]
    retrieved = [["a.md", "x.md"], ["x.md", "b.md"], ["x.md", "y.md", "c.md"], []]
    assert recall_at_k(articles, retrieved, 1) == 0.25
    assert recall_at_k(articles, retrieved, 2) == 0.5
    assert recall_at_k(articles, retrieved, 3) == 0.75
    assert recall_at_k([], [], 3) == 0.0


def test_the_declined_share_is_the_share_of_true_flags() -> None:
    assert share([True, False, True, True]) == 0.75
    assert share([]) == 0.0


def test_an_answer_is_correct_from_the_threshold_on_and_never_when_declined() -> None:
    cosines = [CORRECT_COSINE, CORRECT_COSINE - 0.01, 0.95, 0.95]
    declined = [False, False, False, True]
    assert correct_flags(cosines, declined) == [True, False, True, False]
    assert correct_flags([0.65], [False], threshold=0.7) == [False]


def test_the_reference_null_distribution_separates_same_and_other_articles() -> None:
    vectors = {
        "a": [1.0, 0.0, 0.0],
        "b": [0.6, 0.8, 0.0],
        "c": [0.0, 0.0, 1.0],
    }

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray([vectors[t] for t in texts])

    null = reference_null_distribution(["a", "b", "c"], ["x.md", "x.md", "y.md"], encode)
    assert null["same_article_pairs"] == 1
    assert null["same_article_p95"] == pytest.approx(0.6)
    assert null["other_article_pairs"] == 2
    assert null["other_article_p99"] == pytest.approx(0.0, abs=1e-9)
    assert reference_null_distribution(["a"], ["x.md"], encode)["same_article_p95"] is None


def test_latency_is_reported_in_milliseconds() -> None:
    result = latency([0.1, 0.2, 0.3])
    assert result["p50_ms"] == pytest.approx(200.0)
    assert result["p95_ms"] == pytest.approx(290.0)
    assert latency([]) == {"p50_ms": None, "p95_ms": None}


# Inputs


def test_a_malformed_question_line_is_refused(tmp_path: Path) -> None:
    bad = dict(QUESTIONS[0], split="train")
    with pytest.raises(TrainingDataError, match="split"):
        read_questions(_questions(tmp_path / "q.jsonl", [bad]))
    no_answer = dict(QUESTIONS[0], answer=None)
    with pytest.raises(TrainingDataError, match="answerable"):
        read_questions(_questions(tmp_path / "q.jsonl", [no_answer]))
    with pytest.raises(TrainingDataError, match="duplicate"):
        read_questions(_questions(tmp_path / "q.jsonl", [QUESTIONS[0], QUESTIONS[0]]))


def test_selection_keeps_one_half_in_file_order_up_to_the_limit(tmp_path: Path) -> None:
    questions = read_questions(_questions(tmp_path / "q.jsonl"))
    assert [q.id for q in select_questions(questions, "dev")] == ["q1", "q2", "q3"]
    assert [q.id for q in select_questions(questions, "dev", limit=2)] == ["q1", "q2"]
    assert [q.id for q in select_questions(questions, "test")] == ["q4"]
    with pytest.raises(TrainingDataError):
        select_questions(questions[:3], "test")


def test_the_index_is_built_from_the_stored_vectors(tmp_path: Path) -> None:
    index, chunks = load_knowledge(_kb(tmp_path), HashingEmbedder())
    assert len(index) == len(chunks) == len(CHUNKS)
    assert index.search("reproofing spray bottle", 1)[0].chunk.doc_id == "care/care-guide.pdf"


def test_a_chunk_without_a_stored_vector_is_refused(tmp_path: Path) -> None:
    _kb(tmp_path)
    extra = Chunk.build("new.md#0", "new.md", "New", "", "A new passage.", "new.md")
    write_chunks(tmp_path / CHUNKS_FILE, [*CHUNKS, extra])
    with pytest.raises(TrainingDataError, match="no stored vector"):
        load_knowledge(tmp_path, HashingEmbedder())


def test_vectors_of_another_dimension_are_refused(tmp_path: Path) -> None:
    _kb(tmp_path)

    class Small:
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)

    with pytest.raises(ConfigError, match="dimensions"):
        load_knowledge(tmp_path, Small())


def test_product_names_are_numbered_names_in_the_titles() -> None:
    titles = [
        "Ridgeline -5 Down Sleeping Bag",
        "Cairn 2 and Cairn 3 backpacking tents",
        "Stormline 3L Rain Jacket",
        "Returns policy",
        "Alder Down Jacket",
    ]
    chunks = [Chunk.build(f"{i}.md#0", f"{i}.md", t, "", "text", "x") for i, t in enumerate(titles)]
    assert product_names(chunks) == ("Cairn 2", "Cairn 3", "Ridgeline -5", "Stormline 3L")


def test_the_base_prompt_holds_the_passages_then_the_question() -> None:
    prompt = render_prompt("do you ship to canada?", CHUNKS[:2])
    assert "[1] Where we ship > Countries\nWe ship to the EU" in prompt
    assert "[2] Care Guide > Page 1" in prompt
    assert prompt.index("[2]") < prompt.index("do you ship to canada?")
    assert prompt.endswith("<|im_start|>assistant\n")


# Systems


def test_retrieval_extracts_the_best_passage_or_declines(tmp_path: Path) -> None:
    report = evaluate_answers(_config(tmp_path), embedder=HashingEmbedder())
    retrieval = report["systems"]["retrieval"]
    by_id = {r["id"]: r["systems"]["retrieval"] for r in report["records"]}
    assert by_id["q1"]["kind"] == "extract"
    assert "We ship to the EU" in by_id["q1"]["sent"]
    assert by_id["q1"]["source"] == "https://help.example/shipping/where-we-ship"
    assert by_id["q3"]["kind"] == "dont_know"
    assert by_id["q3"]["sent"] == DONT_KNOW_REPLY
    assert retrieval["recall_at_1"] == 1.0
    assert retrieval["recall_at_3"] == 1.0
    assert retrieval["unanswerable_declined"] == 1.0
    assert retrieval["sent"] == {"answer": 0, "extract": 2, "dont_know": 1, "handoff": 0}
    assert retrieval["unsupported_rate"] == 0.0
    assert retrieval["correct"] == 1.0


def test_a_gated_answer_with_an_invented_number_is_replaced_and_counted_raw(
    tmp_path: Path,
) -> None:
    writer = _Writer("We ship to the EU, the UK and the US only, within 45 days.")
    config = _config(tmp_path, systems=("base",))
    report = evaluate_answers(config, embedder=HashingEmbedder(), writer=writer)
    base = report["systems"]["base"]
    assert [q for q, _ in writer.calls][0] == QUESTIONS[0]["question"]
    assert all(n == 3 for _, n in writer.calls)
    record = next(r for r in report["records"] if r["id"] == "q1")["systems"]["base"]
    assert record["raw"] == writer.answer
    assert "support" in record["failed"]
    assert record["kind"] in ("extract", "dont_know")
    assert base["sent"]["answer"] == 0
    # q3 retrieves nothing relevant: the writer is not run, the gate declines at once.
    assert len(writer.calls) == 2
    assert base["failed_checks"]["support"] == 2
    assert base["failed_checks"]["sources"] == 1
    assert base["unsupported_rate_raw"] == 1.0
    assert base["unsupported_rate"] == 0.0


def test_an_answer_that_passes_the_gate_is_sent(tmp_path: Path) -> None:
    writer = _Writer("We ship to the EU, the UK and the US only.")
    config = _config(tmp_path, systems=("base",))
    report = evaluate_answers(config, embedder=HashingEmbedder(), writer=writer)
    record = next(r for r in report["records"] if r["id"] == "q1")["systems"]["base"]
    assert record["kind"] == "answer"
    assert record["sent"] == writer.answer
    assert record["correct"] is True


def test_the_unsupported_rate_counts_sent_answers_the_sources_do_not_back(
    tmp_path: Path,
) -> None:
    # Today's generator has no gate: an invented duration goes out and is counted by
    # the independent checker against the passages retrieved for the question.
    config = _config(tmp_path, systems=("generator",))
    report = evaluate_answers(
        config, embedder=HashingEmbedder(), generator=_Generator("Returns take 45 days.")
    )
    generator = report["systems"]["generator"]
    assert generator["answers_sent"] == 3
    assert generator["unsupported_answers"] == 3
    assert generator["unsupported_rate"] == 1.0
    assert generator["recall_at_3"] is None
    record = report["records"][0]["systems"]["generator"]
    assert record["unsupported"] == ["45 days"]


def test_a_generator_reply_that_fails_a_guardrail_is_a_declining_handoff(tmp_path: Path) -> None:
    config = _config(tmp_path, systems=("generator",))
    fake = _Generator("My email is someone@example.com", failures=("pii:EMAIL",))
    report = evaluate_answers(config, embedder=HashingEmbedder(), generator=fake)
    generator = report["systems"]["generator"]
    assert report["records"][0]["systems"]["generator"]["sent"] == HANDOFF_REPLY
    assert generator["sent"]["handoff"] == 3
    assert generator["unanswerable_declined"] == 1.0
    assert generator["answers_sent"] == 0
    assert generator["unsupported_rate"] == 0.0
    assert generator["failed_checks"] == {"guard:pii:EMAIL": 3}


def test_ours_and_generator_are_skipped_without_a_model(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, systems=("retrieval", "ours", "generator"))
    report = evaluate_answers(config, embedder=HashingEmbedder())
    systems = report["systems"]
    assert list(systems) == ["retrieval", "base", "ours", "generator"]
    assert systems["ours"]["status"].startswith("skipped: no --ours-model")
    assert "correct" not in systems["ours"]
    assert systems["generator"]["status"].startswith("skipped: no --generator-model")
    assert systems["base"]["status"].startswith("not requested")
    markdown = (config.out / "answers.md").read_text(encoding="utf-8")
    assert "(c) fine-tuned answer writer, gated: skipped" in markdown
    assert "| (c)" not in markdown


class _OursGenerator:
    """A fake fine-tuned generator: the answer writer's prompt in, a fixed answer out."""

    def __init__(self, answer: str) -> None:
        from bot.nlg.generation.generator import GeneratorOptions
        from bot.nlg.generation.guardrails import Guardrails

        self.answer = answer
        self.tokenizer = lambda text, add_special_tokens=False: {"input_ids": [1] * 10}
        self.options = GeneratorOptions()
        self.guardrails = Guardrails()
        self.prompts = 0

    def complete(self, prompt_ids: list[int], max_new_tokens: int | None = None) -> Any:
        from bot.nlg.generation.decoding import Decoded

        self.prompts += 1
        return Decoded((1,), self.answer, -0.2, 1.0, 1.0, True)


def test_ours_runs_the_runtime_answering_step_with_the_model_generator(
    tmp_path: Path,
) -> None:
    ours = _OursGenerator("We ship to the EU, the UK and the US.")
    config = _config(tmp_path, systems=("ours",))
    report = evaluate_answers(config, embedder=HashingEmbedder(), ours_generator=ours)
    system = report["systems"]["ours"]
    assert system["status"] == "ran"
    by_id = {r["id"]: r["systems"]["ours"] for r in report["records"]}
    assert by_id["q1"]["raw"] == ours.answer
    # The unanswerable question retrieves nothing relevant: declined without writing.
    assert by_id["q3"]["kind"] == "dont_know"
    assert ours.prompts == 2


def test_an_unknown_system_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="unknown system"):
        evaluate_answers(_config(tmp_path, systems=("oracle",)), embedder=HashingEmbedder())


# Split guard and command line


def test_the_split_is_dev_unless_test_is_named(tmp_path: Path) -> None:
    assert build_parser().parse_args(["answers", "--kb", "k", "--questions", "q"]).split == "dev"
    assert AnswerEvalConfig(kb=Path("k"), questions=Path("q")).split == "dev"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["answers", "--kb", "k", "--questions", "q", "--split", "all"])


def test_the_test_half_runs_only_when_named_and_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        dev = evaluate_answers(_config(tmp_path), embedder=HashingEmbedder())
    assert TEST_SPLIT_WARNING not in caplog.text
    assert {r["id"] for r in dev["records"]} == {"q1", "q2", "q3"}
    with caplog.at_level(logging.WARNING):
        test = evaluate_answers(_config(tmp_path, split="test"), embedder=HashingEmbedder())
    assert TEST_SPLIT_WARNING in caplog.text
    assert {r["id"] for r in test["records"]} == {"q4"}
    assert "TEST (final reporting only)" in (tmp_path / "out" / "answers.md").read_text()


def test_the_command_line_runs_retrieval_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FakeMiniLM(HashingEmbedder):
        def load(self) -> FakeMiniLM:
            return self

    monkeypatch.setattr(common.embeddings, "MiniLMEmbedder", FakeMiniLM)
    kb = _kb(tmp_path / "kb")
    questions = _questions(tmp_path / "questions.jsonl")
    out = tmp_path / "out"
    argv = ["answers", "--kb", str(kb), "--questions", str(questions)]
    code = main([*argv, "--systems", "retrieval", "--limit", "2", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "answers.json").read_text(encoding="utf-8"))
    assert report["split"] == "dev"
    assert [r["id"] for r in report["records"]] == ["q1", "q2"]
    assert report["systems"]["retrieval"]["recall_at_1"] == 1.0
    assert report["systems"]["ours"]["status"].startswith("not requested")
    printed = capsys.readouterr().out
    assert "| (a) retrieval only" in printed
    assert "development" in printed
    assert (out / "answers.md").read_text(encoding="utf-8") in printed
    assert main([*argv, "--systems", "retrieval,oracle", "--out", str(out)]) == 2
    assert main(["answers", "--kb", str(tmp_path / "none"), "--questions", str(questions)]) == 2


@pytest.mark.slow
def test_the_base_writer_decodes_an_answer_from_the_passages() -> None:
    from bot.nlg.generation.model import load_tokenizer, tiny_llama
    from training.evaluate.answer_systems import BaseModelWriter

    tokenizer = load_tokenizer()
    writer = BaseModelWriter(tiny_llama(len(tokenizer)), tokenizer, max_new_tokens=4)
    answer = writer.write("do you ship to canada?", CHUNKS[:3])
    assert isinstance(answer.text, str)
    assert answer.mean_logprob is None or answer.mean_logprob <= 0.0
    assert writer.config.temperature == 0.0
