"""Side-by-side evaluation of reply generation on held-back pairs.

Three systems answer the same held-back customer messages in one run:

* ``retrieval``: the nearest past agent reply from the grounding index;
* ``base``: SmolLM2-135M-Instruct without fine-tuning, with the same grounding;
* ``fine-tuned``: the generator fine-tuned on the training pairs, same grounding.

Each system's replies are scored raw (what the system produced) and as sent (a reply
that fails a guardrail is replaced by the fallback line, as the NLG endpoint does):
ROUGE-L, BLEU, embedding similarity, leak rate (PII or placeholders), per-channel
length compliance, guard pass rate and decoding speed.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bot.nlg.channel_style import ChannelStyles
from bot.nlg.generation.checkpoint import load, read_meta, save, train_generator
from bot.nlg.generation.decoding import validate_beams
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from bot.nlg.generation.generator import Generator
from bot.nlg.generation.guardrails import Guardrails
from bot.nlg.generation.model import load_base
from bot.nlg.generation.pairs import GenerationPair, read_pairs
from common.embeddings import Embedder, MiniLMEmbedder
from common.errors import ConfigError, TrainingDataError
from training.evaluate.intents import machine_description
from training.evaluate.response_metrics import score_replies

__all__ = [
    "FALLBACK_REPLY",
    "ResponseEvalConfig",
    "bitext_pairs",
    "evaluate_responses",
    "markdown_table",
    "neutralise_placeholders",
]

logger = logging.getLogger(__name__)

FALLBACK_REPLY = "I'm sorry, I can't answer that properly here. Let me pass you to a colleague."
"""What is sent instead of a reply that fails a guardrail (as the NLG endpoint does)."""

CHANNELS = ("web", "slack", "telegram", "email")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass(frozen=True)
class ResponseEvalConfig:
    """What to evaluate and how.

    Attributes:
        pairs: Generation pairs JSONL, or Bitext's CSV (``instruction``/``response``).
        test: Held-back pairs; when ``None``, ``test_fraction`` of ``pairs`` is held back.
        test_fraction: Share held back when there is no ``test`` file.
        max_train_pairs: Cap on training pairs (0: all), sampled with ``seed``.
        max_test: Cap on held-back pairs scored (0: all).
        test_offset: Skip this many pairs of the seeded held-back draw before taking
            ``max_test``: with the same seed, offset ``max_test`` gives a second draw that
            shares no pair with the first, for choosing settings without the test pairs.
        systems: Which of ``retrieval``, ``base``, ``fine-tuned`` to run.
        train: Fine-tuning settings.
        max_new_tokens: Reply budget for the generating systems.
        neutralise: Replace ``{{Template Slots}}`` by their plain words in both the
            training replies and the references (Bitext is templated; see the docs).
        seed: Seed for the split and sampling.
        save_model: Where to keep the fine-tuned generator (``None``: not kept). It is
            the same checkpoint the Rasa component persists.
        model: A generator kept by ``save_model`` to score instead of training one. The
            split must be the one it was trained with (same pairs, seed and caps); a model
            that saw a held-back conversation is refused.
        repetition_penalty: Override of the generators' repetition penalty (``None``: the
            trained generator's own setting).
        num_beams: Override of the generators' beam count (``None``: the trained
            generator's own setting); it applies to the base model too.
        out_json: Where the JSON report goes.
        out_markdown: Where the Markdown table goes.
    """

    pairs: Path
    test: Path | None = None
    test_fraction: float = 0.1
    max_train_pairs: int = 2000
    max_test: int = 100
    test_offset: int = 0
    systems: tuple[str, ...] = ("retrieval", "base", "fine-tuned")
    train: GenerationTrainConfig = GenerationTrainConfig()
    max_new_tokens: int = 128
    neutralise: bool = True
    seed: int = 42
    save_model: Path | None = None
    model: Path | None = None
    repetition_penalty: float | None = None
    num_beams: int | None = None
    out_json: Path = Path("bench/results/responses.json")
    out_markdown: Path = Path("bench/results/responses.md")


def neutralise_placeholders(text: str) -> str:
    """Replace template slots such as ``{{Order Number}}`` by their plain words.

    Bitext's replies are templates. A real company's transcripts hold real values,
    which the transcripts pipeline redacts; a template slot would make every system
    fail the placeholder guard, so the evaluation reads the slot's name instead.
    """
    return _PLACEHOLDER.sub(lambda m: m.group(1).strip().lower(), text)


def bitext_pairs(path: Path) -> list[GenerationPair]:
    """Read Bitext's CSV as single-turn generation pairs (one conversation a row).

    Raises:
        TrainingDataError: If the file lacks the ``instruction`` or ``response`` column.
    """
    pairs = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        missing = {"instruction", "response"} - set(columns)
        if missing:
            raise TrainingDataError(f"{path}: missing column(s) {sorted(missing)}; found {columns}")
        for i, row in enumerate(reader):
            customer = (row.get("instruction") or "").strip()
            agent = (row.get("response") or "").strip()
            if customer and agent:
                pairs.append(
                    GenerationPair(
                        conversation_id=f"bitext-{i}",
                        channel=None,
                        context=(),
                        customer=customer,
                        agent=agent,
                        intent=(row.get("intent") or "").strip() or None,
                    )
                )
    return pairs


def _load(path: Path) -> list[GenerationPair]:
    return bitext_pairs(path) if path.suffix.lower() == ".csv" else read_pairs(path)


def _split(
    config: ResponseEvalConfig,
) -> tuple[list[GenerationPair], list[GenerationPair]]:
    pairs = _load(config.pairs)
    rng = random.Random(config.seed)
    if config.test is not None:
        train, test = pairs, _load(config.test)
    else:
        # Hold back whole conversations so no context leaks into training.
        conversations = sorted({p.conversation_id for p in pairs})
        rng.shuffle(conversations)
        held = set(conversations[: max(1, int(len(conversations) * config.test_fraction))])
        train = [p for p in pairs if p.conversation_id not in held]
        test = [p for p in pairs if p.conversation_id in held]
    if config.neutralise:
        train = [replace(p, agent=neutralise_placeholders(p.agent)) for p in train]
        test = [replace(p, agent=neutralise_placeholders(p.agent)) for p in test]
    if config.max_train_pairs and len(train) > config.max_train_pairs:
        train = rng.sample(train, config.max_train_pairs)
    if config.max_test and len(test) > config.max_test:
        test = rng.sample(test, min(len(test), config.test_offset + config.max_test))
        test = test[config.test_offset :]
    elif config.test_offset:
        test = test[config.test_offset :]
    if not train or not test:
        raise TrainingDataError("need at least one training and one held-back pair")
    return train, test


@dataclass
class _Run:
    raw: list[str]
    guard_failures: list[tuple[str, ...]]
    ms_per_token: list[float]
    seconds: float


def _run_generator(
    name: str, generator: Generator, test: Sequence[GenerationPair], max_new_tokens: int
) -> _Run:
    raw, failures, speed = [], [], []
    start = time.perf_counter()
    for pair in tqdm(test, desc=name, unit="reply"):
        result = generator.generate(
            list(pair.context), pair.customer, pair.channel, max_new_tokens=max_new_tokens
        )
        raw.append(result.text)
        failures.append(result.guard_failures)
        if result.tokens:
            speed.append(result.ms_per_token)
    return _Run(raw, failures, speed, time.perf_counter() - start)


def _run_retrieval(
    generator: Generator, guardrails: Guardrails, test: Sequence[GenerationPair]
) -> _Run:
    if generator.index is None:
        raise TrainingDataError("retrieval needs a grounding index")
    start = time.perf_counter()
    hits = generator.index.search([p.customer for p in test], 1)
    raw = [row[0].reply if row else "" for row in hits]
    failures = [
        tuple(guardrails.check(reply, None, [p.customer]))
        for reply, p in zip(raw, test, strict=True)
    ]
    return _Run(raw, failures, [], time.perf_counter() - start)


def _leak_checker(guardrails: Guardrails) -> Callable[[str], list[str]]:
    def leaks(text: str) -> list[str]:
        return guardrails.pii(text) + guardrails.placeholders(text)

    return leaks


def _system_report(
    run: _Run,
    references: list[str],
    encode: Callable[[list[str]], np.ndarray],
    guardrails: Guardrails,
    styles: ChannelStyles,
) -> dict[str, Any]:
    sent = [
        text if not failed else FALLBACK_REPLY
        for text, failed in zip(run.raw, run.guard_failures, strict=True)
    ]
    leaks = _leak_checker(guardrails)
    raw_scores, sent_scores = (
        score_replies(
            texts, references, encode=encode, leaks=leaks, styles=styles, channels=CHANNELS
        )
        for texts in (run.raw, sent)
    )
    failure_counts: dict[str, int] = {}
    for failed in run.guard_failures:
        for code in failed:
            failure_counts[code] = failure_counts.get(code, 0) + 1
    speed = sorted(run.ms_per_token)
    return {
        "raw": asdict(raw_scores),
        "sent": asdict(sent_scores),
        "guard_pass_rate": sum(1 for f in run.guard_failures if not f) / len(run.raw),
        "guard_failures": dict(sorted(failure_counts.items())),
        "ms_per_token_p50": statistics.median(speed) if speed else None,
        "ms_per_token_p95": speed[int(0.95 * (len(speed) - 1))] if speed else None,
        "seconds": round(run.seconds, 1),
        "mean_reply_chars": float(np.mean([len(t) for t in run.raw])) if run.raw else 0.0,
    }


def _saved_generator(
    directory: Path, embedder: Embedder, test: Sequence[GenerationPair]
) -> tuple[Generator, dict[str, Any], GenerationTrainConfig]:
    """Load a kept generator and make sure it never saw a held-back conversation.

    Raises:
        TrainingDataError: If a held-back conversation is in the model's grounding index,
            which means it was trained on a different split.
    """
    meta = read_meta(directory)
    generator = load(directory, embedder=embedder)
    if generator.index is not None:
        seen = generator.index.conversation_ids() & {p.conversation_id for p in test}
        if seen:
            raise TrainingDataError(
                f"{directory}: the model was trained on {len(seen)} of the held-back "
                "conversations; score it with the pairs, seed and caps it was trained with"
            )
    train_config = GenerationTrainConfig.from_dict(meta["train_config"])
    return generator, dict(meta.get("report") or {}), train_config


def evaluate_responses(config: ResponseEvalConfig) -> dict[str, Any]:
    """Train the generator, run the systems on the held-back pairs and write reports.

    Args:
        config: What to evaluate.

    Returns:
        The report (also written as JSON and Markdown).
    """
    unknown = set(config.systems) - {"retrieval", "base", "fine-tuned"}
    if unknown:
        raise TrainingDataError(f"unknown system(s): {sorted(unknown)}")
    if config.num_beams is not None:
        try:
            # The bound only, before any training; the generator's options check beams
            # against their own temperature when the override is applied.
            validate_beams(config.num_beams, temperature=0.0)
        except ConfigError as e:
            raise TrainingDataError(str(e)) from e
    if config.model is not None and config.save_model is not None:
        raise TrainingDataError("--model scores a kept generator; --save-model needs training")
    train, test = _split(config)
    logger.info("Evaluating replies: %d training pairs, %d held back.", len(train), len(test))
    embedder = MiniLMEmbedder().load()

    if config.model is not None:
        tuned, train_report, train_config = _saved_generator(config.model, embedder, test)
        train_seconds = float(train_report.get("train_seconds", 0.0))
    else:
        train_start = time.perf_counter()
        trained = train_generator(train, config.train, embedder=embedder)
        train_seconds = time.perf_counter() - train_start
        if config.save_model is not None:
            config.save_model.mkdir(parents=True, exist_ok=True)
            save(trained, config.save_model)
            logger.info("Saved the fine-tuned generator to %s.", config.save_model)
        tuned, train_report, train_config = trained.generator, trained.report, config.train
    if config.repetition_penalty is not None:
        tuned.options = replace(tuned.options, repetition_penalty=config.repetition_penalty)
    if config.num_beams is not None:
        tuned.options = replace(tuned.options, num_beams=config.num_beams)
    guardrails = tuned.guardrails
    styles = ChannelStyles.load()
    references = [p.agent for p in test]
    runs: dict[str, _Run] = {}
    if "retrieval" in config.systems:
        runs["retrieval"] = _run_retrieval(tuned, guardrails, test)
    if "base" in config.systems:
        base_model = load_base(train_config.base_model, tuned.tokenizer, train_config.seed)
        base = Generator(base_model, tuned.tokenizer, tuned.index, guardrails, tuned.options)
        runs["base"] = _run_generator("base", base, test, config.max_new_tokens)
    if "fine-tuned" in config.systems:
        runs["fine-tuned"] = _run_generator("fine-tuned", tuned, test, config.max_new_tokens)
    report: dict[str, Any] = {
        "machine": machine_description(),
        "date": time.strftime("%Y-%m-%d"),
        "pairs": str(config.pairs),
        "train_pairs": len(train),
        "test_pairs": len(test),
        "train_seconds": round(train_seconds, 1),
        "model": str(config.model) if config.model is not None else None,
        "train_report": train_report,
        "train_config": asdict(train_config),
        "test_offset": config.test_offset,
        "repetition_penalty": tuned.options.repetition_penalty,
        "num_beams": tuned.options.num_beams,
        "max_new_tokens": config.max_new_tokens,
        "neutralised_placeholders": config.neutralise,
        "systems": {
            name: _system_report(run, references, embedder.encode, guardrails, styles)
            for name, run in runs.items()
        },
        "examples": [
            {"customer": p.customer, "reference": p.agent}
            | {name: run.raw[i] for name, run in runs.items()}
            for i, p in enumerate(test[:3])
        ],
    }
    config.out_json.parent.mkdir(parents=True, exist_ok=True)
    config.out_json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    config.out_markdown.write_text(markdown_table(report), encoding="utf-8")
    return report


def markdown_table(report: dict[str, Any]) -> str:
    """Render the report as a Markdown table with the deltas the targets ask for."""
    systems: dict[str, Any] = report["systems"]
    lines = [
        f"Replies on {report['test_pairs']} held-back pairs ({report['pairs']}); "
        f"fine-tuned on {report['train_pairs']} pairs in {report['train_seconds']} s; "
        f"{report['machine']}, {report['date']}.",
        f"Held-back draw from offset {report.get('test_offset', 0)}; repetition penalty "
        f"{report.get('repetition_penalty')}; beams {report.get('num_beams', 1)}"
        + (f"; kept model {report['model']}." if report.get("model") else "."),
        "",
        "| system | ROUGE-L raw | ROUGE-L sent | BLEU raw | similarity raw | "
        "leak rate raw | leak rate sent | guard pass | web fit | slack fit | "
        "telegram fit | email fit | ms/token p50 |",
        "|---|" + "---:|" * 12,
    ]
    for name, s in systems.items():
        fit = s["sent"]["length_compliance"]
        speed = s["ms_per_token_p50"]
        lines.append(
            f"| {name} | {s['raw']['rouge_l']:.1f} | {s['sent']['rouge_l']:.1f} | "
            f"{s['raw']['bleu']:.1f} | {s['raw']['similarity']:.3f} | "
            f"{100 * s['raw']['leak_rate']:.1f}% | {100 * s['sent']['leak_rate']:.1f}% | "
            f"{100 * s['guard_pass_rate']:.0f}% | "
            + " | ".join(f"{100 * fit[c]:.0f}%" for c in CHANNELS)
            + f" | {'-' if speed is None else f'{speed:.1f}'} |"
        )
    tuned = systems.get("fine-tuned")
    if tuned:
        for other in ("retrieval", "base"):
            if other in systems:
                delta = tuned["raw"]["rouge_l"] - systems[other]["raw"]["rouge_l"]
                lines.append("")
                lines.append(f"ROUGE-L (raw), fine-tuned minus {other}: {delta:+.1f} points.")
    return "\n".join(lines) + "\n"
