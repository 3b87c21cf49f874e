"""(question, passages, answer) examples for fine-tuning the answer writer.

The answer writer is the generator, fine-tuned to write a short answer from retrieved
help-centre passages (:mod:`bot.knowledge.answer_prompt`), or to decline honestly when
they do not answer. Its examples come from three sources, in this order:

1. **pairs**: the company's own (customer message, agent reply) pairs. The passages are
   the top-k chunks the :class:`~bot.knowledge.index.KnowledgeIndex` retrieves for the
   customer's message. The pair becomes

   * a **decline** example when nothing relevant is retrieved: no passage reaches the
     answer gate's ``min_source_cosine`` (the gate would say "I don't know" for it too);
     the target is :func:`~bot.knowledge.answer_prompt.decline_text` for the channel's
     tone;
   * an **answer** example, the agent's reply as the target, when the reply is supported
     by the passages: the independent checker
     (:func:`training.evaluate.unsupported.unsupported_items`) finds every number, price,
     measure, URL and product name of the reply in them or in the customer's message,
     *and* the MiniLM cosine of the reply to its closest passage reaches
     ``min_support_similarity``;
   * dropped otherwise (``unsupported_items`` or ``low_similarity``): the reply may be
     right, but the passages do not show it, and training on it would teach the writer to
     say what its passages do not.

2. **knowledge**: synthetic questions from the knowledge itself. A section whose heading
   is a question ("Can I wash a down jacket in a machine?"), or a FAQ CSV row, gives the
   heading as the question (prefixed with the document's title when it is short or leans
   on a pronoun: "Meadow 10 ...: Is it too warm for summer?"), the passages retrieved for
   it, and as the target the first sentence of the section's first chunk, with the second
   when the first is short ("Yes."). Kept only when that chunk is among the passages.

3. **questions**: the question set's development half only. Answerable questions give
   their reference answer (kept when a chunk of their article is among the passages);
   unanswerable ones give decline examples. The test half is refused.

Every answer example's target passes the independent checker against its own passages,
so the writer never learns an item its prompt does not hold. Examples are deduplicated on
the normalised question (the first source wins); an example whose question is a test-half
question is dropped, so test questions never leak in through the pairs or the headings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.knowledge.answer_prompt import (
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    AnswerPassage,
    decline_text,
)
from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, read_chunks
from bot.knowledge.extract import is_table_row, sentences
from bot.knowledge.gate import GateConfig
from bot.knowledge.index import Hit, KnowledgeIndex
from bot.knowledge.qa_example import (
    KIND_ANSWER,
    KIND_DECLINE,
    KINDS,
    SOURCE_KNOWLEDGE,
    SOURCE_PAIRS,
    SOURCE_QUESTIONS,
    SOURCES,
    QAExample,
)
from bot.nlg.channel_style import DEFAULT_CHANNEL, ChannelStyles
from bot.nlg.generation.pairs import GenerationPair
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError
from training.evaluate.unsupported import unsupported_items
from training.knowledge.questions import (
    HELD_OUT_SPLIT,
    TRAINING_SPLIT,
    KnowledgeQuestion,
    check_training_split,
    training_questions,
)

logger = logging.getLogger(__name__)


DEFAULT_MIN_SUPPORT_SIMILARITY = 0.55
"""MiniLM cosine of a reply to its closest passage for the pair to count as supported.

Measured on the question set's dev half (``scripts/kb_support_threshold.py``; docs/knowledge.md,
"Training the answer writer"): a reference answer's cosine to a retrieved passage of its own
article against its cosine to the best retrieved passage of another article. 0.55 separates
the two best (Youden's J: keeps 68% of supporting passages, 19% of the others); erring
strict costs only examples, erring lax teaches unsupported answers."""

DEFAULT_MIN_SOURCE_COSINE = GateConfig.min_source_cosine
"""Below this query-to-passage cosine nothing relevant was retrieved (the gate's value)."""

REPORT_SUFFIX = ".report.json"

_PRONOUNS = frozenset("it its this that these those they them one".split())
_WORD = re.compile(r"[^\W_]+")
_NOT_WORD = re.compile(r"[\W_]+")
_EMPHASIS = re.compile(r"\*\*|__|`")
_PRODUCT_MODEL = re.compile(r"\b[A-Z][a-z]+ -?\d+[A-Za-z]?\b")


class Retriever(Protocol):
    """Finds passages for a question (:class:`~bot.knowledge.index.KnowledgeIndex`)."""

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Return the ``k`` best hits, best first."""
        ...


@dataclass(frozen=True)
class ExampleOptions:
    """How examples are built.

    Attributes:
        k: Passages per example (the prompt's :data:`MAX_PASSAGES`).
        max_passage_chars: Characters per passage (:data:`MAX_PASSAGE_CHARS`).
        min_source_cosine: Below this best query-to-passage cosine, a pair becomes a
            decline example.
        min_support_similarity: A pair's reply must reach this MiniLM cosine to its
            closest passage to be kept as an answer.
        short_sentence_chars: A heading answer's first sentence shorter than this takes
            the second sentence too.
        max_answer_chars: A heading answer longer than this is not used.
        product_names: Product names the checker looks for (besides numbers and URLs).
    """

    k: int = MAX_PASSAGES
    max_passage_chars: int = MAX_PASSAGE_CHARS
    min_source_cosine: float = DEFAULT_MIN_SOURCE_COSINE
    min_support_similarity: float = DEFAULT_MIN_SUPPORT_SIMILARITY
    short_sentence_chars: int = 60
    max_answer_chars: int = 300
    product_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.k <= MAX_PASSAGES:
            raise ConfigError(f"k must be between 1 and {MAX_PASSAGES}")
        if self.max_passage_chars < 100:
            raise ConfigError("max_passage_chars must be at least 100")
        for name in ("min_source_cosine", "min_support_similarity"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be a cosine between -1 and 1")
        if self.short_sentence_chars < 0 or self.max_answer_chars < 20:
            raise ConfigError("short_sentence_chars must be >= 0 and max_answer_chars >= 20")

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON object (for the report)."""
        return {
            "k": self.k,
            "max_passage_chars": self.max_passage_chars,
            "min_source_cosine": self.min_source_cosine,
            "min_support_similarity": self.min_support_similarity,
            "short_sentence_chars": self.short_sentence_chars,
            "max_answer_chars": self.max_answer_chars,
            "product_names": list(self.product_names),
        }


@dataclass
class ExampleReport:
    """What was built and what was left out.

    Attributes:
        kept: Examples per source and kind.
        dropped: Candidates left out per source and reason.
        pair_similarity: The closest-passage cosine of each pair reply the checker passed.
        inputs: What the examples were built from (file names and SHA-256).
    """

    kept: dict[str, Counter[str]] = field(default_factory=dict)
    dropped: dict[str, Counter[str]] = field(default_factory=dict)
    pair_similarity: list[float] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)

    def drop(self, source: str, reason: str) -> None:
        """Count a candidate left out."""
        self.dropped.setdefault(source, Counter())[reason] += 1

    def keep(self, example: QAExample) -> None:
        """Count an example kept."""
        self.kept.setdefault(example.source, Counter())[example.kind] += 1

    def to_dict(self, options: ExampleOptions) -> dict[str, Any]:
        """The report as a JSON object (sorted, no timestamps: identical runs, same bytes)."""
        sims = np.asarray(self.pair_similarity, dtype=np.float64)
        quantiles = (
            {f"p{q}": round(float(np.percentile(sims, q)), 4) for q in (0, 10, 50, 90, 100)}
            if len(sims)
            else {}
        )
        kept = {s: {k: self.kept.get(s, Counter())[k] for k in KINDS} for s in SOURCES}
        return {
            "examples": sum(sum(c.values()) for c in self.kept.values()),
            "kept": kept,
            "kinds": {k: sum(kept[s][k] for s in SOURCES) for k in KINDS},
            "dropped": {s: dict(sorted(self.dropped.get(s, Counter()).items())) for s in SOURCES},
            "pair_reply_similarity": {"count": len(sims), **quantiles},
            "options": options.to_dict(),
            "inputs": dict(sorted(self.inputs.items())),
        }


def normalise_question(text: str) -> str:
    """The key examples are deduplicated on: case, accents' forms and punctuation folded.

    Args:
        text: A question.

    Returns:
        Its words, case-folded (NFKC), joined by single spaces.
    """
    return " ".join(_NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def product_names_from_titles(titles: Iterable[str]) -> tuple[str, ...]:
    """Product model names in document titles: a capitalised word and a number.

    ``Ridgeline -5 Down Sleeping Bag`` gives ``Ridgeline -5``, ``Cairn 2 and Cairn 3
    backpacking tents`` gives ``Cairn 2`` and ``Cairn 3``. These are the names a small
    model most easily gets wrong (a "Cairn 1" that does not exist).

    Args:
        titles: Chunk titles.

    Returns:
        The names, sorted, each once.
    """
    return tuple(sorted({m.group() for title in titles for m in _PRODUCT_MODEL.finditer(title)}))


def source_texts(passages: Sequence[AnswerPassage]) -> list[str]:
    """What an answer may rely on: each passage's heading, source and text."""
    return [f"{p.heading}\n{p.source}\n{p.text}" for p in passages]


def heading_question(chunk: Chunk) -> str | None:
    """The question a chunk's heading asks, if it asks one.

    A FAQ CSV row (text ``Q: <section>`` then ``A: ...``) asks its section. A section
    whose last heading ends with "?" asks that heading; under four words or with a pronoun
    ("Is it too warm for summer?"), the document's title goes first, so the question
    stands alone.

    Args:
        chunk: The chunk.

    Returns:
        The question, or None.
    """
    if is_faq_row(chunk):
        return chunk.section.strip()
    heading = chunk.section.split(" > ")[-1].strip()
    if not heading.endswith("?"):
        return None
    words = [w.casefold() for w in _WORD.findall(heading)]
    if len(words) < 4 or _PRONOUNS.intersection(words):
        return f"{chunk.title}: {heading}" if chunk.title else heading
    return heading


def is_faq_row(chunk: Chunk) -> bool:
    """Whether a chunk is a FAQ CSV row (``Q: <section>``, then ``A: <answer>``)."""
    return bool(chunk.section) and chunk.text.startswith(f"Q: {chunk.section}\nA: ")


def lead_answer(chunk: Chunk, options: ExampleOptions) -> str | None:
    """The first one or two sentences of a chunk's text: the answer its heading promises.

    Table rows are skipped and Markdown emphasis is dropped. The second sentence joins
    when the first is under ``short_sentence_chars`` ("Yes.") and both fit
    ``max_answer_chars``.

    Args:
        chunk: The chunk (the first of its section).
        options: The options.

    Returns:
        The answer, or None when there is no prose sentence within ``max_answer_chars``.
    """
    body = chunk.text.split("\nA: ", 1)[1] if is_faq_row(chunk) else chunk.text
    # Table rows are not prose (sentences() would write them out as "Size S: Chest ...").
    prose = "\n".join(line for line in body.split("\n") if not is_table_row(line))
    found = [_EMPHASIS.sub("", s).strip() for s in sentences(prose) if "|" not in s]
    found = [s for s in found if s]
    if not found or len(found[0]) > options.max_answer_chars:
        return None
    answer = found[0]
    if len(found) > 1 and len(answer) < options.short_sentence_chars:
        joined = f"{answer} {found[1]}"
        if len(joined) <= options.max_answer_chars:
            answer = joined
    return answer


def _passages(hits: Sequence[Hit], options: ExampleOptions) -> tuple[AnswerPassage, ...]:
    return tuple(AnswerPassage.from_chunk(h.chunk, options.max_passage_chars) for h in hits)


def _supported(
    answer: str, question: str, passages: Sequence[AnswerPassage], options: ExampleOptions
) -> bool:
    return not unsupported_items(answer, source_texts(passages), (question,), options.product_names)


def channel_tone(styles: ChannelStyles) -> Callable[[str | None], str]:
    """The tone of a channel's style (the ``default`` channel's when unknown)."""
    return lambda channel: styles.for_channel(channel or DEFAULT_CHANNEL).tone


def pair_examples(
    pairs: Sequence[GenerationPair],
    retriever: Retriever,
    embedder: Embedder,
    options: ExampleOptions,
    tone_for: Callable[[str | None], str],
    report: ExampleReport,
) -> list[QAExample]:
    """Examples from the company's pairs (rule 1 of the module docstring).

    Args:
        pairs: The pairs, in file order.
        retriever: Finds passages.
        embedder: MiniLM (the reply-to-passage similarity).
        options: The options.
        tone_for: A channel's tone (picks the decline text).
        report: Counts drops and similarities.

    Returns:
        The examples, in pair order.
    """
    decided: list[QAExample | None] = []
    pending: list[tuple[int, int, GenerationPair, tuple[AnswerPassage, ...]]] = []
    for number, pair in enumerate(pairs):
        example_id = f"{SOURCE_PAIRS}:{pair.conversation_id}#{number}"
        hits = retriever.search(pair.customer, options.k)
        passages = _passages(hits, options)
        if not hits or max(h.cosine for h in hits) < options.min_source_cosine:
            decided.append(
                QAExample(
                    example_id,
                    SOURCE_PAIRS,
                    KIND_DECLINE,
                    pair.customer,
                    passages,
                    decline_text(tone_for(pair.channel)),
                    (),
                    pair.channel,
                )
            )
        elif not _supported(pair.agent, pair.customer, passages, options):
            report.drop(SOURCE_PAIRS, "unsupported_items")
            decided.append(None)
        else:
            pending.append((len(decided), number, pair, passages))
            decided.append(None)
    if pending:
        texts = sorted({p.text for *_, passages in pending for p in passages})
        rows = {text: row for row, text in enumerate(texts)}
        passage_vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
        reply_vectors = np.asarray(embedder.encode([p.agent for _, _, p, _ in pending]))
        for (at, number, pair, passages), reply in zip(pending, reply_vectors, strict=True):
            cosines = [float(passage_vectors[rows[p.text]] @ reply) for p in passages]
            best = int(np.argmax(cosines))
            report.pair_similarity.append(round(cosines[best], 4))
            if cosines[best] < options.min_support_similarity:
                report.drop(SOURCE_PAIRS, "low_similarity")
                continue
            decided[at] = QAExample(
                f"{SOURCE_PAIRS}:{pair.conversation_id}#{number}",
                SOURCE_PAIRS,
                KIND_ANSWER,
                pair.customer,
                passages,
                pair.agent,
                (passages[best].chunk_id,),
                pair.channel,
            )
    return [e for e in decided if e is not None]


def knowledge_examples(
    chunks: Sequence[Chunk],
    retriever: Retriever,
    options: ExampleOptions,
    report: ExampleReport,
) -> list[QAExample]:
    """Examples from question headings and FAQ rows (rule 2 of the module docstring).

    Args:
        chunks: The knowledge base's chunks, in document order.
        retriever: Finds passages.
        options: The options.
        report: Counts drops.

    Returns:
        The examples, in chunk order.
    """
    examples = []
    seen: set[tuple[str, str]] = set()
    for chunk in chunks:
        if (chunk.doc_id, chunk.section) in seen:
            continue
        seen.add((chunk.doc_id, chunk.section))
        question = heading_question(chunk)
        if question is None:
            continue
        answer = lead_answer(chunk, options)
        if answer is None:
            report.drop(SOURCE_KNOWLEDGE, "no_answer_sentence")
            continue
        passages = _passages(retriever.search(question, options.k), options)
        if chunk.chunk_id not in {p.chunk_id for p in passages}:
            report.drop(SOURCE_KNOWLEDGE, "source_not_retrieved")
        elif not _supported(answer, question, passages, options):
            report.drop(SOURCE_KNOWLEDGE, "unsupported_items")
        else:
            examples.append(
                QAExample(
                    f"{SOURCE_KNOWLEDGE}:{chunk.chunk_id}",
                    SOURCE_KNOWLEDGE,
                    KIND_ANSWER,
                    question,
                    passages,
                    answer,
                    (chunk.chunk_id,),
                )
            )
    return examples


def question_examples(
    questions: Sequence[KnowledgeQuestion],
    retriever: Retriever,
    options: ExampleOptions,
    report: ExampleReport,
    tone: str = "friendly",
) -> list[QAExample]:
    """Examples from the question set's dev half (rule 3 of the module docstring).

    Args:
        questions: Dev questions only (:func:`~training.knowledge.questions.training_questions`).
        retriever: Finds passages.
        options: The options.
        report: Counts drops.
        tone: The decline text's tone (the questions come on no channel).

    Returns:
        The examples, in question order.

    Raises:
        ConfigError: If a question is not from the dev half.
    """
    examples = []
    for q in questions:
        if q.split != TRAINING_SPLIT:
            check_training_split(q.split)
        hits = retriever.search(q.question, options.k)
        passages = _passages(hits, options)
        example_id = f"{SOURCE_QUESTIONS}:{q.id}"
        if not q.answerable or q.answer is None:
            examples.append(
                QAExample(
                    example_id,
                    SOURCE_QUESTIONS,
                    KIND_DECLINE,
                    q.question,
                    passages,
                    decline_text(tone),
                )
            )
            continue
        backing = tuple(h.chunk.chunk_id for h in hits if h.chunk.doc_id == q.article)
        if not backing:
            report.drop(SOURCE_QUESTIONS, "source_not_retrieved")
        elif not _supported(q.answer, q.question, passages, options):
            report.drop(SOURCE_QUESTIONS, "unsupported_items")
        else:
            examples.append(
                QAExample(
                    example_id,
                    SOURCE_QUESTIONS,
                    KIND_ANSWER,
                    q.question,
                    passages,
                    q.answer,
                    backing,
                )
            )
    return examples


def build_examples(
    chunks: Sequence[Chunk],
    retriever: Retriever,
    embedder: Embedder,
    pairs: Sequence[GenerationPair],
    questions: Sequence[KnowledgeQuestion] = (),
    *,
    split: str = TRAINING_SPLIT,
    options: ExampleOptions | None = None,
    styles: ChannelStyles | None = None,
) -> tuple[list[QAExample], ExampleReport]:
    """Build, deduplicate and count the examples of all three sources.

    Args:
        chunks: The knowledge base's chunks (the ones ``retriever`` searches).
        retriever: Finds passages.
        embedder: MiniLM, for the pairs' reply-to-passage similarity.
        pairs: The company's pairs.
        questions: The question set, both halves (the dev half gives examples; the test
            half's questions are kept out), or empty.
        split: The half to use; only ``dev`` is accepted.
        options: The options (defaults when None).
        styles: Channel styles for the decline texts' tones (the configured ones when None).

    Returns:
        The examples (pairs, then knowledge, then questions, each in input order) and the
        report.

    Raises:
        ConfigError: If ``split`` is not ``dev``.
    """
    check_training_split(split)
    options = options or ExampleOptions()
    tone_for = channel_tone(styles or ChannelStyles.load())
    report = ExampleReport()
    candidates = [
        *pair_examples(pairs, retriever, embedder, options, tone_for, report),
        *knowledge_examples(chunks, retriever, options, report),
        *question_examples(
            training_questions(questions, split), retriever, options, report, tone_for(None)
        ),
    ]
    held_out = {normalise_question(q.question) for q in questions if q.split == HELD_OUT_SPLIT}
    examples: list[QAExample] = []
    seen: set[str] = set()
    for example in candidates:
        key = normalise_question(example.question)
        if key in held_out:
            report.drop(example.source, "test_question")
        elif key in seen:
            report.drop(example.source, "duplicate")
        else:
            seen.add(key)
            examples.append(example)
            report.keep(example)
    return examples, report


def load_knowledge(
    folder: Path, embedder: Embedder, model_name: str
) -> tuple[list[Chunk], KnowledgeIndex]:
    """Open the output of ``python -m training kb`` as chunks and a knowledge index.

    The stored vectors are used when they come from ``model_name`` and cover every chunk;
    otherwise the index embeds the chunks itself.

    Args:
        folder: The ``kb`` output folder.
        embedder: Embeds queries (and the chunks when the stored vectors cannot be used).
        model_name: The embedder's model name.

    Returns:
        The chunks, in file order, and the index over them.

    Raises:
        TrainingDataError: If there are no chunks.
    """
    chunks = list(read_chunks(folder / CHUNKS_FILE))
    if not chunks:
        raise TrainingDataError(f"{folder / CHUNKS_FILE} holds no chunks")
    vectors = None
    try:
        stored = read_chunk_vectors(folder)
        rows = [stored.vector(c.embedding_key) for c in chunks]
        if stored.model == model_name and all(r is not None for r in rows):
            vectors = np.stack([r for r in rows if r is not None])
        else:
            logger.info("Stored chunk vectors are of another model or incomplete; re-embedding.")
    except TrainingDataError as e:
        logger.info("No usable stored chunk vectors (%s); embedding the chunks.", e.message)
    return chunks, KnowledgeIndex.build(chunks, embedder, vectors, model_name=model_name)


def report_path(out: Path) -> Path:
    """Where the report of an examples file goes: ``qa.jsonl`` -> ``qa.report.json``."""
    return out.with_name(out.stem + REPORT_SUFFIX)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (recorded in the report)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_examples(
    out: Path, examples: Sequence[QAExample], report: ExampleReport, options: ExampleOptions
) -> Path:
    """Write the examples (JSONL) and the report (JSON), each atomically.

    Args:
        out: The JSONL file.
        examples: The examples.
        report: Their report.
        options: The options they were built with.

    Returns:
        The report's path.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(e.to_json() + "\n" for e in examples), encoding="utf-8")
    tmp.replace(out)
    path = report_path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.to_dict(options), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
