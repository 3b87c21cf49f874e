"""Side-by-side evaluation of knowledge answers on the help-centre question set.

``python -m training.evaluate answers --kb KB_OUT --questions FILE`` answers every question
of one half of the set (``--split dev`` by default) with each system, in the same run and
from the same retrieved passages (the top three of the hybrid index):

* (a) ``retrieval``: the best passage's extract, or "I don't know";
* (b) ``base``: SmolLM2-135M-Instruct, not fine-tuned, answering from the passages, then
  the guardrails and the answer gate;
* (c) ``ours``: the runtime's own answering step
  (:func:`bot.knowledge.answering.answer_question`) with the generator of a trained model
  (``--ours-model``: a Rasa model archive whose ResponseGenerator learnt the answer
  examples, or a generator checkpoint folder) as the answer writer, then the guardrails
  and the gate; skipped without a model;
* (d) ``generator``: today's fine-tuned reply generator without knowledge (a kept
  checkpoint, ``--generator-model``; without one, the ``--ours-model`` generator replying
  without passages; skipped without either).

(:mod:`training.evaluate.answer_systems` has the systems.) Per system it reports retrieval
recall@1 and @3, answer correctness (:mod:`training.evaluate.answer_metrics`: MiniLM
cosine to the reference at :data:`~training.evaluate.answer_metrics.CORRECT_COSINE`, and
ROUGE-L), the share of unanswerable questions declined, the unsupported-answer rate
(:mod:`training.evaluate.unsupported`, which shares no code with the gate), latency p50
and p95 per answer, and what was sent instead of an answer, how often. It writes
``answers.json`` (per-question records and the summary) and ``answers.md`` (the tables).

The test half is for final reporting only: it runs only when asked for by name, with a
warning, and nothing may be tuned on its figures.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.knowledge.answering import gate_passages, retrieve
from bot.knowledge.gate import AnswerGate, GatePassage, passage_texts
from bot.knowledge.index import Hit
from bot.nlg.generation.generator import TextGenerator
from bot.nlg.generation.guardrails import Guardrails
from common.embeddings import Embedder
from common.errors import TrainingDataError
from training.evaluate.answer_metrics import (
    CORRECT_COSINE,
    SENSITIVITY_COSINES,
    answer_cosines,
    correct_flags,
    latency,
    ms_cell,
    pct,
    recall_at_k,
    reference_null_distribution,
    share,
)
from training.evaluate.answer_questions import (
    KnowledgeQuestion,
    load_knowledge,
    product_names,
    read_questions,
    select_questions,
)
from training.evaluate.answer_systems import (
    AnswerWriter,
    Outcome,
    SentKind,
    run_generator,
    run_retrieval,
    run_writer,
)
from training.evaluate.response_metrics import rouge_l
from training.evaluate.unsupported import AnswerRecord, unsupported_items, unsupported_rate

__all__ = [
    "SYSTEMS",
    "TEST_SPLIT_WARNING",
    "AnswerEvalConfig",
    "evaluate_answers",
    "markdown_report",
]

logger = logging.getLogger(__name__)

SYSTEMS = ("retrieval", "base", "ours", "generator")
"""Every system of the comparison, in the issue's order (a) to (d)."""

LABELS = {
    "retrieval": "(a) retrieval only: the best passage's extract",
    "base": "(b) base SmolLM2 with the passages, gated",
    "ours": "(c) fine-tuned answer writer, gated",
    "generator": "(d) today's generator, no knowledge",
}
UNAVAILABLE: dict[str, str] = {}
TOP_K = 3
"""Passages retrieved per question: the base model's prompt and recall@3."""

TEST_SPLIT_WARNING = (
    "Evaluating the TEST half: it is for final reporting only. Do not tune anything "
    "(thresholds, prompts, training data) on these figures; use --split dev for that."
)


@dataclass(frozen=True)
class AnswerEvalConfig:
    """What to evaluate.

    Attributes:
        kb: The output folder of ``python -m training kb`` (chunks and vectors).
        questions: The question set (JSONL).
        split: ``dev`` (default) or ``test`` (final reporting only).
        systems: Which of :data:`SYSTEMS` to run.
        generator_model: A generator kept by ``training.evaluate responses --save-model``
            (or a model's checkpoint folder), for ``generator``.
        ours_model: A trained Rasa model archive (``.tar.gz``) or a generator checkpoint
            folder whose generator learnt the answer examples, for ``ours``.
        base_model: The base model for ``base`` (``smollm2``; ``tiny-random`` for checks).
        limit: Only the first ``limit`` questions of the split, in file order (0: all).
        max_new_tokens: Answer budget of the base model.
        threads: Torch threads for the run (MiniLM, the gate, the language models); 0:
            all cores but one, as the NLG endpoint runs generation. On a 2-core machine
            shared with other jobs, two threads wait on each other and are several times
            slower than one.
        out: The folder for ``answers.json`` and ``answers.md``.
    """

    kb: Path
    questions: Path
    split: str = "dev"
    systems: tuple[str, ...] = ("retrieval", "base", "generator")
    generator_model: Path | None = None
    ours_model: Path | None = None
    base_model: str = "smollm2"
    limit: int = 0
    max_new_tokens: int = 80
    threads: int = 0
    out: Path = Path("bench/results/answers")


@dataclass(frozen=True)
class _Retrieved:
    hits: list[Hit]
    seconds: float

    @property
    def passages(self) -> list[GatePassage]:
        return gate_passages(self.hits)


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Run on ``threads`` torch threads (0: all cores but one), restoring the count after."""
    import torch

    previous = torch.get_num_threads()
    count = threads if threads > 0 else max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(count)
    logger.info("Language models run on %d torch thread(s).", count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _base_writer(config: AnswerEvalConfig) -> AnswerWriter:
    from bot.nlg.generation.model import load_base, load_tokenizer
    from training.evaluate.answer_systems import BaseModelWriter

    tokenizer = load_tokenizer()
    model = load_base(config.base_model, tokenizer)
    return BaseModelWriter(model, tokenizer, config.max_new_tokens)


def _kept_generator(path: Path, embedder: Embedder) -> TextGenerator:
    from bot.nlg.generation.checkpoint import load

    return load(path, embedder=embedder)


def load_model_generator(path: Path, embedder: Embedder) -> TextGenerator:
    """Load the generator of a Rasa model archive, or of a checkpoint folder.

    Args:
        path: A ``rasa train`` archive (its ResponseGenerator's resource is used) or a
            folder written by :func:`bot.nlg.generation.checkpoint.save`.
        embedder: The grounding encoder.

    Returns:
        The generator.

    Raises:
        TrainingDataError: If the archive holds no generator checkpoint.
    """
    import tarfile
    import tempfile

    from bot.nlg.generation.checkpoint import META_FILE

    if path.is_dir():
        return _kept_generator(path, embedder)
    if not tarfile.is_tarfile(path):
        raise TrainingDataError(f"{path}: neither a checkpoint folder nor a model archive")
    scratch = Path(tempfile.mkdtemp(prefix="answers-model-"))
    with tarfile.open(path) as archive:
        members = [
            m
            for m in archive.getmembers()
            if "ResponseGenerator" in m.name and (m.isfile() or m.isdir())
        ]
        archive.extractall(scratch, members=members, filter="data")
    metas = sorted(scratch.rglob(META_FILE))
    if not metas:
        raise TrainingDataError(f"{path}: the model has no trained ResponseGenerator")
    return _kept_generator(metas[0].parent, embedder)


def evaluate_answers(
    config: AnswerEvalConfig,
    *,
    embedder: Embedder | None = None,
    writer: AnswerWriter | None = None,
    generator: TextGenerator | None = None,
    ours_generator: Any = None,
) -> dict[str, Any]:
    """Answer the questions with every requested system and write the reports.

    Args:
        config: What to evaluate.
        embedder: The sentence encoder (default: the packaged MiniLM); the one the
            knowledge base was embedded with.
        writer: The ``base`` system's writer (default: ``config.base_model``, loaded).
        generator: The ``generator`` system (default: loaded from
            ``config.generator_model``).
        ours_generator: The ``ours`` system's generator (default: loaded from
            ``config.ours_model``).

    Returns:
        The report (also written to ``config.out``).

    Raises:
        TrainingDataError: For an unknown system, split or limit, or unreadable inputs.
    """
    unknown = sorted(set(config.systems) - set(SYSTEMS))
    if unknown:
        raise TrainingDataError(f"unknown system(s) {unknown}; known: {', '.join(SYSTEMS)}")
    if config.split == "test":
        logger.warning(TEST_SPLIT_WARNING)
    questions = select_questions(read_questions(config.questions), config.split, config.limit)
    if embedder is None:
        from common.embeddings import MiniLMEmbedder

        embedder = MiniLMEmbedder().load()
    index, chunks = load_knowledge(config.kb, embedder)
    names = product_names(chunks)
    logger.info(
        "Answering %d %s questions from %d chunks.", len(questions), config.split, len(chunks)
    )
    with _torch_threads(config.threads):
        retrieved = []
        for question in tqdm(questions, desc="retrieve", unit="question"):
            started = time.perf_counter()
            hits = retrieve(index, question.question, TOP_K)
            retrieved.append(_Retrieved(hits, time.perf_counter() - started))
        gate = AnswerGate(embedder, answerability=index.answerability)
        pairs = list(zip(questions, retrieved, strict=True))
        runs: dict[str, list[Outcome]] = {}
        status: dict[str, str] = {}
        if "retrieval" in config.systems:
            runs["retrieval"] = [
                run_retrieval(q.question, r.passages, gate)
                for q, r in tqdm(pairs, desc="retrieval", unit="question")
            ]
        if "base" in config.systems:
            base_writer = writer or _base_writer(config)
            guardrails = Guardrails()
            runs["base"] = [
                run_writer(q.question, r.passages, base_writer, gate, guardrails, names)
                for q, r in tqdm(pairs, desc="base", unit="question")
            ]
        ours = ours_generator
        if ours is None and (
            "ours" in config.systems
            or ("generator" in config.systems and config.generator_model is None)
        ):
            if config.ours_model is not None:
                ours = load_model_generator(config.ours_model, embedder)
        if "ours" in config.systems:
            if ours is None:
                status["ours"] = "skipped: no --ours-model given (a model trained by rasa train)"
                logger.warning("System 'ours' %s.", status["ours"])
            else:
                from bot.knowledge.answering import GeneratorAnswerWriter

                ours_writer = GeneratorAnswerWriter(ours)  # type: ignore[arg-type]
                ours_guards = getattr(ours, "guardrails", None) or Guardrails()
                runs["ours"] = [
                    run_writer(q.question, r.passages, ours_writer, gate, ours_guards, names)
                    for q, r in tqdm(pairs, desc="ours", unit="question")
                ]
        if "generator" in config.systems:
            kept = generator
            if kept is None and config.generator_model is not None:
                kept = _kept_generator(config.generator_model, embedder)
            if kept is None:
                kept = ours
            if kept is None:
                status["generator"] = (
                    "skipped: no --generator-model or --ours-model given (a generator kept "
                    "by `python -m training.evaluate responses --save-model DIR`)"
                )
                logger.warning("System 'generator' %s.", status["generator"])
            else:
                runs["generator"] = [
                    run_generator(q.question, kept)
                    for q in tqdm(questions, desc="generator", unit="question")
                ]
    for name, reason in UNAVAILABLE.items():
        status[name] = f"unavailable: {reason}"
    report = _report(config, questions, retrieved, runs, status, names, embedder)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "answers.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (config.out / "answers.md").write_text(markdown_report(report), encoding="utf-8")
    return report


def _sources(retrieved: _Retrieved) -> tuple[str, ...]:
    return tuple(passage_texts(retrieved.passages))


def _report(
    config: AnswerEvalConfig,
    questions: Sequence[KnowledgeQuestion],
    retrieved: Sequence[_Retrieved],
    runs: dict[str, list[Outcome]],
    status: dict[str, str],
    names: tuple[str, ...],
    embedder: Embedder,
) -> dict[str, Any]:
    from training.evaluate.intents import machine_description

    answerable = [i for i, q in enumerate(questions) if q.answerable]
    references = [str(questions[i].answer) for i in answerable]
    articles = [str(questions[i].article) for i in answerable]
    records: list[dict[str, Any]] = [
        {
            "id": q.id,
            "question": q.question,
            "answerable": q.answerable,
            "article": q.article,
            "reference": q.answer,
            "retrieved": [
                {"chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "cosine": h.cosine}
                for h in r.hits
            ],
            "retrieval_ms": 1000 * r.seconds,
            "systems": {},
        }
        for q, r in zip(questions, retrieved, strict=True)
    ]
    systems: dict[str, Any] = {}
    for name in SYSTEMS:
        if name in runs:
            systems[name] = _system_summary(
                name, runs[name], questions, retrieved, records, names, embedder
            )
        elif name in status:
            systems[name] = {"label": LABELS[name], "status": status[name]}
        else:
            systems[name] = {"label": LABELS[name], "status": "not requested (--systems)"}
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "kb": str(config.kb),
        "questions_file": str(config.questions),
        "split": config.split,
        "limit": config.limit,
        "questions": len(questions),
        "answerable": len(answerable),
        "unanswerable": len(questions) - len(answerable),
        "top_k": TOP_K,
        "correct_cosine": CORRECT_COSINE,
        "reference_null": reference_null_distribution(references, articles, embedder.encode),
        "product_names": list(names),
        "systems": systems,
        "records": records,
    }


def _system_summary(
    name: str,
    outcomes: Sequence[Outcome],
    questions: Sequence[KnowledgeQuestion],
    retrieved: Sequence[_Retrieved],
    records: list[dict[str, Any]],
    names: tuple[str, ...],
    embedder: Embedder,
) -> dict[str, Any]:
    uses_knowledge = name != "generator"
    answerable = [i for i, q in enumerate(questions) if q.answerable]
    unanswerable = [i for i, q in enumerate(questions) if not q.answerable]
    cosines = answer_cosines(
        [outcomes[i].sent for i in answerable],
        [str(questions[i].answer) for i in answerable],
        embedder.encode,
    )
    declined = [outcomes[i].kind.declines for i in answerable]
    correct = correct_flags(cosines, declined)
    # Every system is held to what the knowledge base says on the question (the top
    # passages) and to the question itself, whether or not it was given the passages.
    sources = [_sources(r) for r in retrieved]
    items = [
        unsupported_items(o.sent, s, (q.question,), names) if not o.kind.declines else []
        for o, s, q in zip(outcomes, sources, questions, strict=True)
    ]
    sent_records = [
        AnswerRecord(o.sent, s, (q.question,), names, sent=not o.kind.declines)
        for o, s, q in zip(outcomes, sources, questions, strict=True)
    ]
    raw_records = [
        AnswerRecord(o.raw, s, (q.question,), names)
        for o, s, q in zip(outcomes, sources, questions, strict=True)
        if o.raw
    ]
    seconds = [
        o.seconds + (r.seconds if uses_knowledge else 0.0)
        for o, r in zip(outcomes, retrieved, strict=True)
    ]
    cosine_of = dict(zip(answerable, cosines, strict=True))
    correct_of = dict(zip(answerable, correct, strict=True))
    for i, (outcome, record) in enumerate(zip(outcomes, records, strict=True)):
        record["systems"][name] = {
            "raw": outcome.raw,
            "sent": outcome.sent,
            "kind": outcome.kind.value,
            "failed": list(outcome.failed),
            "title": outcome.title,
            "source": outcome.source,
            "ms": 1000 * seconds[i],
            "cosine": cosine_of.get(i),
            "correct": correct_of.get(i),
            "unsupported": items[i],
        }
    doc_ids = [[h.chunk.doc_id for h in retrieved[i].hits] for i in answerable]
    articles = [str(questions[i].article) for i in answerable]
    kinds = Counter(o.kind.value for o in outcomes)
    failed = Counter(check for o in outcomes for check in o.failed)
    answers_sent = sum(1 for r in sent_records if r.sent)
    return {
        "label": LABELS[name],
        "status": "ran",
        "recall_at_1": recall_at_k(articles, doc_ids, 1) if uses_knowledge else None,
        "recall_at_3": recall_at_k(articles, doc_ids, 3) if uses_knowledge else None,
        "correct": share(correct),
        "correct_at": {
            f"{t:.1f}": share(correct_flags(cosines, declined, t)) for t in SENSITIVITY_COSINES
        },
        "mean_cosine": sum(cosines) / len(cosines) if cosines else 0.0,
        "rouge_l": rouge_l(
            [outcomes[i].sent for i in answerable], [str(questions[i].answer) for i in answerable]
        ),
        "unanswerable_declined": share([outcomes[i].kind.declines for i in unanswerable]),
        "answerable_declined": share(declined),
        "answers_sent": answers_sent,
        "unsupported_answers": sum(1 for found in items if found),
        "unsupported_rate": unsupported_rate(sent_records),
        "unsupported_rate_raw": unsupported_rate(raw_records) if raw_records else None,
        "latency": latency(seconds),
        "sent": {kind.value: kinds.get(kind.value, 0) for kind in SentKind},
        "failed_checks": dict(sorted(failed.items())),
    }


def markdown_report(report: dict[str, Any]) -> str:
    """Render the report's summary as Markdown tables.

    Args:
        report: What :func:`evaluate_answers` returns.

    Returns:
        The Markdown text.
    """
    half = "development" if report["split"] == "dev" else "TEST (final reporting only)"
    limit = f", the first {report['limit']} of the half" if report["limit"] else ""
    lines = [
        f"Knowledge answers on the **{half}** half of {report['questions_file']}: "
        f"{report['questions']} questions ({report['answerable']} answerable, "
        f"{report['unanswerable']} unanswerable{limit}); knowledge base {report['kb']}; "
        f"top {report['top_k']} passages; {report['machine']}; {report['date']}.",
        "",
        f"| system | recall@1 | recall@3 | correct (cos ≥ {report['correct_cosine']}) | "
        "mean cosine | ROUGE-L | unanswerable declined | unsupported (sent) | "
        "p50 ms | p95 ms |",
        "|---|" + "---:|" * 9,
    ]
    ran = {n: s for n, s in report["systems"].items() if s["status"] == "ran"}
    for s in ran.values():
        lines.append(
            f"| {s['label']} | {pct(s['recall_at_1'])} | {pct(s['recall_at_3'])} | "
            f"{pct(s['correct'])} | {s['mean_cosine']:.3f} | {s['rouge_l']:.1f} | "
            f"{pct(s['unanswerable_declined'])} | {pct(s['unsupported_rate'])} "
            f"({s['unsupported_answers']}/{s['answers_sent']}) | "
            f"{ms_cell(s['latency']['p50_ms'])} | {ms_cell(s['latency']['p95_ms'])} |"
        )
    lines += [
        "",
        "What was sent (all questions), and the checks the raw answers failed:",
        "",
        "| system | own answer | extract | don't know | hand-off | "
        "answerable declined | unsupported (raw) | failed checks |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, s in ran.items():
        sent = s["sent"]
        failed = ", ".join(f"{k} {v}" for k, v in s["failed_checks"].items()) or "-"
        lines.append(
            f"| {name} | {sent['answer']} | {sent['extract']} | {sent['dont_know']} | "
            f"{sent['handoff']} | {pct(s['answerable_declined'])} | "
            f"{pct(s['unsupported_rate_raw'])} | {failed} |"
        )
    lines += ["", "Correctness at other thresholds (answerable questions):", ""]
    thresholds = [f"{t:.1f}" for t in SENSITIVITY_COSINES]
    lines += [
        "| system | " + " | ".join(f"cos ≥ {t}" for t in thresholds) + " |",
        "|---|" + "---:|" * len(thresholds),
    ]
    for name, s in ran.items():
        lines.append(
            f"| {name} | " + " | ".join(pct(s["correct_at"][t]) for t in thresholds) + " |"
        )
    null = report["reference_null"]
    if null["same_article_p95"] is not None or null["other_article_p99"] is not None:
        same = null["same_article_p95"]
        other = null["other_article_p99"]
        lines += [
            "",
            "Threshold check on these references: cosine between reference answers of "
            "different questions, 95th percentile on the same article "
            f"{'-' if same is None else f'{same:.3f}'} ({null['same_article_pairs']} pairs), "
            f"99th percentile across articles {'-' if other is None else f'{other:.3f}'} "
            f"({null['other_article_pairs']} pairs).",
        ]
    others = {n: s for n, s in report["systems"].items() if s["status"] != "ran"}
    if others:
        lines += ["", "Not run:", ""]
        lines += [f"- {s['label']}: {s['status']}" for s in others.values()]
    return "\n".join(lines) + "\n"
