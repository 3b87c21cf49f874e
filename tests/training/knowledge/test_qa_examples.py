"""(question, passages, answer) examples for the answer writer: each source, the rules, the CLI."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.knowledge.answer_prompt import DECLINE_TEXTS, AnswerPassage
from bot.knowledge.chunks import Chunk, write_chunks
from bot.knowledge.gate import GateConfig
from bot.knowledge.index import Hit, KnowledgeIndex
from bot.knowledge.qa_example import QAExample, read_examples, to_training_example
from bot.nlg.channel_style import ChannelStyles
from bot.nlg.generation.pairs import GenerationPair, write_pairs
from common.errors import ConfigError
from tests.support.generation import HashingEmbedder
from training.__main__ import main
from training.evaluate.unsupported import unsupported_items
from training.knowledge.qa_examples import (
    DEFAULT_MIN_SOURCE_COSINE,
    ExampleOptions,
    ExampleReport,
    build_examples,
    heading_question,
    knowledge_examples,
    lead_answer,
    normalise_question,
    product_names_from_titles,
    question_examples,
    report_path,
    source_texts,
    write_examples,
)
from training.knowledge.questions import KnowledgeQuestion, training_questions

CHUNKS = [
    Chunk.build(
        "care/down.md#0",
        "care/down.md",
        "Washing a down jacket",
        "Can I wash a down jacket in a machine?",
        "Yes. Use a front-loading washing machine at 30 degrees with down wash.\n\n"
        "Never use a top-loader with an agitator.",
        "https://help.example/care/down",
    ),
    Chunk.build(
        "care/down.md#1",
        "care/down.md",
        "Washing a down jacket",
        "Drying",
        "Tumble dry the down jacket on low heat with tennis balls for 3 hours.",
        "https://help.example/care/down",
    ),
    Chunk.build(
        "returns/policy.md#0",
        "returns/policy.md",
        "Our returns policy",
        "How long do I have?",
        "You have 30 days from delivery to return an item. Returns are free.",
        "https://help.example/returns",
    ),
    Chunk.build(
        "returns/policy.md#1",
        "returns/policy.md",
        "Our returns policy",
        "How long do I have?",
        "A second chunk of the same section is never a question of its own.",
        "https://help.example/returns",
    ),
    Chunk.build(
        "faq.csv#0",
        "faq.csv",
        "Faq",
        "Do you ship to Norway",
        "Q: Do you ship to Norway\nA: Yes, Norway delivery takes 4 to 6 business days.",
        "faq.csv",
    ),
]
STYLES = ChannelStyles.from_mapping({"default": {"tone": "friendly"}, "email": {"tone": "formal"}})
OPTIONS = ExampleOptions(min_support_similarity=0.3)

SUPPORTED = GenerationPair(
    "c1",
    "web",
    (),
    "how long do i have to return an item",
    "You have 30 days from delivery to return an item, and returns are free.",
)
UNSUPPORTED = GenerationPair(
    "c2",
    "web",
    (),
    "how long do i have to return an item please",
    "You have 60 days from delivery to return an item.",
)
UNLIKE = GenerationPair(
    "c3",
    "web",
    (),
    "how do I return an item",
    "Sure thing, our friendly crew sorts that quickly for everybody.",
)
NOTHING = GenerationPair("c4", "email", (), "zebra xylophone quokka", "Kayaks are in aisle 9.")


def _index() -> KnowledgeIndex:
    return KnowledgeIndex.build(CHUNKS, HashingEmbedder(), model_name="hashing")


def _question(
    qid: str, text: str, split: str, article: str | None, answer: str | None
) -> KnowledgeQuestion:
    return KnowledgeQuestion(qid, text, article, answer, article is not None, split)


QUESTIONS = [
    _question(
        "kq-1",
        "what temperature do I wash down at",
        "dev",
        "care/down.md",
        "Use a front-loading washing machine at 30 degrees with down wash.",
    ),
    _question("kq-2", "do you sell kayaks", "dev", None, None),
    _question(
        "kq-3",
        "how long should I tumble dry down",
        "test",
        "care/down.md",
        "Tumble dry on low heat with tennis balls for 3 hours.",
    ),
    _question(
        "kq-4",
        "HOW long do I have to return an item?",
        "test",
        "returns/policy.md",
        "You have 30 days.",
    ),
]


def _build(
    pairs: Sequence[GenerationPair] = (),
    questions: Sequence[KnowledgeQuestion] = (),
    options: ExampleOptions = OPTIONS,
) -> tuple[list[QAExample], ExampleReport]:
    index = _index()
    return build_examples(
        CHUNKS, index, HashingEmbedder(), pairs, questions, options=options, styles=STYLES
    )


def _by_id(examples: Sequence[QAExample]) -> dict[str, QAExample]:
    return {e.id: e for e in examples}


def test_a_supported_pair_is_kept_as_an_answer_backed_by_its_passage() -> None:
    examples, report = _build([SUPPORTED])

    example = _by_id(examples)["pairs:c1#0"]
    assert (example.kind, example.answer, example.channel) == ("answer", SUPPORTED.agent, "web")
    assert example.source_chunks == ("returns/policy.md#0",)
    assert len(example.passages) == 3
    assert report.kept["pairs"]["answer"] == 1


def test_a_pair_whose_reply_has_an_item_the_passages_lack_is_dropped() -> None:
    examples, report = _build([UNSUPPORTED])

    assert not [e for e in examples if e.source == "pairs"]
    assert report.dropped["pairs"] == {"unsupported_items": 1}


def test_a_pair_whose_reply_is_unlike_every_passage_is_dropped() -> None:
    examples, report = _build([UNLIKE])

    assert not [e for e in examples if e.source == "pairs"]
    assert report.dropped["pairs"] == {"low_similarity": 1}
    assert report.pair_similarity and report.pair_similarity[0] < OPTIONS.min_support_similarity


def test_a_pair_with_nothing_relevant_retrieved_becomes_a_decline_in_its_channels_tone() -> None:
    examples, _ = _build([NOTHING, SUPPORTED])

    decline = _by_id(examples)["pairs:c4#0"]
    assert decline.kind == "decline"
    assert decline.answer == DECLINE_TEXTS["formal"]  # email is formal in STYLES
    assert decline.source_chunks == ()
    assert DEFAULT_MIN_SOURCE_COSINE == GateConfig().min_source_cosine


def test_question_headings_and_faq_rows_give_examples_answered_by_their_first_sentences() -> None:
    report = ExampleReport()
    examples = _by_id(knowledge_examples(CHUNKS, _index(), OPTIONS, report))

    wash = examples["knowledge:care/down.md#0"]
    assert wash.question == "Can I wash a down jacket in a machine?"
    # "Yes." is short, so the second sentence joins it.
    assert wash.answer == "Yes. Use a front-loading washing machine at 30 degrees with down wash."
    assert wash.source_chunks == ("care/down.md#0",)
    faq = examples["knowledge:faq.csv#0"]
    assert (faq.question, faq.answer) == (
        "Do you ship to Norway",
        "Yes, Norway delivery takes 4 to 6 business days.",
    )
    # Five words, no pronoun: the heading stands alone.
    returns = examples["knowledge:returns/policy.md#0"]
    assert returns.question == "How long do I have?"
    assert "knowledge:returns/policy.md#1" not in examples  # same section, second chunk
    assert "knowledge:care/down.md#1" not in examples  # "Drying" asks nothing


def test_a_lead_answer_skips_table_rows() -> None:
    table = (
        "| Size | Chest (cm) |\n|---|---|\n| S | 82–86 |\nMeasure under your arms. Keep it level."
    )
    chunk = Chunk.build("sizes.md#0", "sizes.md", "Sizes", "How do I measure?", table, "sizes.md")
    assert lead_answer(chunk, OPTIONS) == "Measure under your arms. Keep it level."
    only_table = Chunk.build("t.md#0", "t.md", "T", "Which size?", table.split("\nM")[0], "t.md")
    assert lead_answer(only_table, OPTIONS) is None


def test_heading_questions_get_the_title_when_short_or_leaning_on_a_pronoun() -> None:
    def chunk(section: str) -> Chunk:
        return Chunk.build("t.md#0", "t.md", "Meadow 10 Bag", section, "Text.", "t.md")

    assert heading_question(chunk("Is it too warm for summer?")) == (
        "Meadow 10 Bag: Is it too warm for summer?"
    )
    assert heading_question(chunk("Sizes > Between sizes?")) == "Meadow 10 Bag: Between sizes?"
    assert heading_question(chunk("Do our sleeping bags work below freezing?")) == (
        "Do our sleeping bags work below freezing?"
    )
    assert heading_question(chunk("Washing")) is None


class FixedRetriever:
    """Always returns the same chunk, whatever the question."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return [Hit(self.chunk, 1.0, 0.9, 1, 1.0, 1, 0.9)]


def test_a_heading_question_is_dropped_when_its_chunk_is_not_retrieved() -> None:
    report = ExampleReport()

    examples = knowledge_examples(CHUNKS[:1], FixedRetriever(CHUNKS[1]), OPTIONS, report)

    assert examples == []
    assert report.dropped["knowledge"] == {"source_not_retrieved": 1}


def test_only_the_dev_half_of_the_questions_gives_examples() -> None:
    examples, report = _build(questions=QUESTIONS)

    questions = _by_id([e for e in examples if e.source == "questions"])
    assert set(questions) == {"questions:kq-1", "questions:kq-2"}
    assert questions["questions:kq-1"].answer == QUESTIONS[0].answer
    # Every retrieved chunk of the answer's article backs it.
    assert "care/down.md#0" in questions["questions:kq-1"].source_chunks
    assert {c.split("#")[0] for c in questions["questions:kq-1"].source_chunks} == {"care/down.md"}
    assert questions["questions:kq-2"].kind == "decline"
    assert questions["questions:kq-2"].answer == DECLINE_TEXTS["friendly"]
    assert not any("tumble dry down" in e.question for e in examples)


def test_the_test_split_is_refused_everywhere() -> None:
    with pytest.raises(ConfigError, match="test half is held out"):
        build_examples(
            CHUNKS, _index(), HashingEmbedder(), [], QUESTIONS, split="test", styles=STYLES
        )
    with pytest.raises(ConfigError, match="test half is held out"):
        training_questions(QUESTIONS, "test")
    with pytest.raises(ConfigError, match="test half is held out"):
        question_examples(QUESTIONS[2:3], _index(), OPTIONS, ExampleReport())


def test_an_example_asking_a_test_question_is_dropped() -> None:
    # kq-4 (test) asks what the SUPPORTED pair and the returns heading ask, in other case.
    pair = GenerationPair("c9", "web", (), "how long do I have to return an item", SUPPORTED.agent)

    examples, report = _build([pair], QUESTIONS)

    assert not any(
        normalise_question(e.question) == normalise_question(QUESTIONS[3].question)
        for e in examples
    )
    assert report.dropped["pairs"]["test_question"] == 1


def test_duplicate_questions_keep_the_first_source() -> None:
    reply = "Yes. Use a front-loading washing machine at 30 degrees with down wash."
    repeat = GenerationPair("c5", None, (), "Can I wash a down jacket in a machine??", reply)
    again = GenerationPair("c6", None, (), "can i wash a down-jacket in a machine", reply)

    examples, report = _build([repeat, again])

    asked = [
        e
        for e in examples
        if normalise_question(e.question)
        == normalise_question("can I wash a down jacket in a machine")
    ]
    assert [e.id for e in asked] == ["pairs:c5#0"]
    assert report.dropped["pairs"]["duplicate"] == 1
    assert report.dropped["knowledge"]["duplicate"] == 1


def test_every_answer_is_backed_by_its_own_capped_passages() -> None:
    options = ExampleOptions(k=2, max_passage_chars=100, min_support_similarity=0.3)

    examples, _ = _build([SUPPORTED, UNSUPPORTED, UNLIKE, NOTHING], QUESTIONS, options)

    assert examples
    for example in examples:
        assert len(example.passages) <= 2
        assert all(len(p.text) <= 100 for p in example.passages)
        if example.kind == "answer":
            assert not unsupported_items(
                example.answer, source_texts(example.passages), (example.question,)
            )
            assert set(example.source_chunks) <= {p.chunk_id for p in example.passages}


def test_building_twice_writes_identical_bytes_and_reads_back(tmp_path: Path) -> None:
    pairs = [SUPPORTED, UNSUPPORTED, UNLIKE, NOTHING]
    outputs = []
    for run in ("a", "b"):
        examples, report = _build(pairs, QUESTIONS)
        out = tmp_path / run / "qa.jsonl"
        write_examples(out, examples, report, OPTIONS)
        outputs.append((out.read_bytes(), report_path(out).read_bytes()))
    assert outputs[0] == outputs[1]
    assert report_path(out) == tmp_path / "b" / "qa.report.json"
    assert read_examples(out) == examples


def test_product_model_names_come_from_titles() -> None:
    titles = ["Cairn 2 and Cairn 3 backpacking tents", "Ridgeline -5 Down Sleeping Bag", "Refunds"]

    assert product_names_from_titles(titles) == ("Cairn 2", "Cairn 3", "Ridgeline -5")


class WordTokenizer:
    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [len(word) for word in text.split()]}

    def convert_tokens_to_ids(self, token: str) -> int:
        return 0


def test_an_example_tokenises_for_the_fine_tuning_loop() -> None:
    example = QAExample(
        "knowledge:x#0", "knowledge", "answer", "q?", (AnswerPassage("T", "", "Text."),), "A b c"
    )

    tokenised = to_training_example(example, WordTokenizer(), 200, 3)  # type: ignore[arg-type]

    assert tokenised.prompt == [len(w) for w in example.prompt().split()]
    assert tokenised.target == [1, 1, 0]  # cut to the budget, then <|im_end|>


def _write_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    kb = tmp_path / "kb"
    write_chunks(kb / "chunks.jsonl", CHUNKS)
    pairs = tmp_path / "pairs.jsonl"
    write_pairs([SUPPORTED, UNSUPPORTED, NOTHING], pairs)
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps(
                {
                    "id": q.id,
                    "question": q.question,
                    "article": q.article,
                    "answer": q.answer,
                    "answerable": q.answerable,
                    "split": q.split,
                }
            )
            + "\n"
            for q in QUESTIONS
        )
    )
    return kb, pairs, questions


@pytest.fixture
def hashing_minilm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "common.embeddings.MiniLMEmbedder", lambda device="cpu", **_: HashingEmbedder()
    )


@pytest.mark.usefixtures("hashing_minilm")
def test_cli_writes_examples_and_report(tmp_path: Path) -> None:
    kb, pairs, questions = _write_inputs(tmp_path)
    out = tmp_path / "out" / "qa_examples.jsonl"
    argv = [
        "kb-examples",
        "--chunks",
        str(kb),
        "--pairs",
        str(pairs),
        "--questions",
        str(questions),
        "--split",
        "dev",
        "--out",
        str(out),
        "--min-support-similarity",
        "0.3",
    ]

    assert main(argv) == 0

    examples = read_examples(out)
    report = json.loads(report_path(out).read_text())
    assert {e.source for e in examples} == {"pairs", "knowledge", "questions"}
    assert report["examples"] == len(examples)
    assert report["kept"]["questions"] == {"answer": 1, "decline": 1}
    assert report["dropped"]["pairs"]["unsupported_items"] == 1
    assert report["options"]["min_support_similarity"] == 0.3
    assert set(report["inputs"]) == {"chunks", "pairs", "questions"}
    first = out.read_bytes()
    assert main(argv) == 0
    assert out.read_bytes() == first


@pytest.mark.usefixtures("hashing_minilm")
def test_cli_refuses_the_test_split(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kb, pairs, questions = _write_inputs(tmp_path)
    out = tmp_path / "qa.jsonl"
    argv = [
        "kb-examples",
        "--chunks",
        str(kb),
        "--pairs",
        str(pairs),
        "--questions",
        str(questions),
        "--split",
        "test",
        "--out",
        str(out),
    ]

    with caplog.at_level(logging.ERROR):
        assert main(argv) == 2

    assert "test half is held out" in caplog.text
    assert not out.exists()
