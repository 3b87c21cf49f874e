"""Chain the steps: stream, redact, collect, dedupe, cap, split, write.

Conversations stream through in chunks: each chunk is redacted, its generation pairs go
straight to staged files (split by conversation id), and only the customer messages that
become NLU examples or unlabelled openers are kept (as cleaned, redacted text) for the
duplicate, cap and split steps. Everything is staged under ``<out>/.prepare-*`` and moved
into place at the end, guarded by the manifest.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from common.embeddings import Embedder
from common.errors import TrainingDataError
from common.privacy import Redactor
from training.ingest import Conversation, read_conversations
from training.prepare.balance import cap, long_tail
from training.prepare.dedupe import near_dedupe, near_dedupe_embedder, text_hash
from training.prepare.manifest import Manifest
from training.prepare.options import PrepareOptions
from training.prepare.pairs import conversation_pairs
from training.prepare.redact import ConversationRedactor, RedactedConversation
from training.prepare.report import PrepareReport
from training.prepare.split import held_out, stratified_split
from training.rasa_yaml import example_text, intent_name, nlu_yaml

logger = logging.getLogger(__name__)

T = TypeVar("T")

NLU_TRAIN = "nlu/prepared.yml"
PAIRS_TRAIN = "generation/pairs.jsonl"
PAIRS_TEST = "generation/pairs_test.jsonl"
UNLABELLED = "unlabelled_openers.jsonl"
REPORT_JSON = "prepare_report.json"
REPORT_MD = "prepare_report.md"


def outputs(options: PrepareOptions) -> tuple[str, ...]:
    """Return the files a run writes, relative to ``options.out``."""
    return (
        NLU_TRAIN,
        options.nlu_test_path,
        PAIRS_TRAIN,
        PAIRS_TEST,
        UNLABELLED,
        REPORT_JSON,
        REPORT_MD,
    )


@dataclass(frozen=True)
class PrepareResult:
    """The outcome of a run.

    Attributes:
        report: The counts.
        written: Output files whose content changed.
        unchanged: Output files that were already identical.

    """

    report: PrepareReport
    written: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether the run changed any file."""
        return bool(self.written)


@dataclass(frozen=True)
class Opener:
    """An unlabelled customer opener (redacted, cleaned)."""

    conversation_id: str
    channel: str | None
    text: str


@dataclass
class _Collected:
    """What the streaming pass keeps: cleaned example texts, in input order."""

    labelled: dict[str, list[str]] = field(default_factory=dict)
    unlabelled: list[Opener] = field(default_factory=list)
    seen: dict[bytes, str] = field(default_factory=dict)
    unlabelled_seen: set[bytes] = field(default_factory=set)
    pairs_seen: set[bytes] = field(default_factory=set)


def prepare(
    options: PrepareOptions,
    redactor: Redactor | None = None,
    embedder: Embedder | None = None,
) -> PrepareResult:
    """Run the whole preparation and write the outputs into ``options.out``.

    Args:
        options: The run's settings.
        redactor: The PII redactor; default: every type, spaCy names.
        embedder: Sentence encoder for near duplicates; default: packaged MiniLM.

    Returns:
        What was written and the report.

    Raises:
        TrainingDataError: If the input is missing, has the wrong CSV columns, or yields
            no conversation at all.
        ConfigError: If the format is unknown.
        OutputConflictError: If an output file was edited or not written by prepare
            (and ``options.force`` is off).

    """
    check_csv_columns(options)
    read_conversations(options.input, options.format, options.ingest)  # validates eagerly
    options.out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(options.out)
    manifest.check(outputs(options), options.force)
    report = PrepareReport(options=options.fingerprint())
    staging = Path(tempfile.mkdtemp(prefix=".prepare-", dir=options.out))
    try:
        conversations = read_conversations(
            options.input, options.format, options.ingest, report.ingest
        )
        started = time.perf_counter()
        collected = _stream(
            conversations,
            options,
            ConversationRedactor(redactor or Redactor(), workers=options.workers),
            report,
            staging,
        )
        if report.ingest.accepted == 0:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(report.ingest.rejected.items()))
            raise TrainingDataError(
                f"{options.input}: no conversation could be read ({reasons or 'no records'})"
            )
        streamed = time.perf_counter()
        if options.near_dedupe and embedder is None:
            embedder = near_dedupe_embedder()
        train, test = _nlu_splits(collected, options, embedder, report)
        openers = _unlabelled(collected, options, embedder, report)
        deduped = time.perf_counter()
        staged = _write(staging, options.nlu_test_path, train, test, openers, report)
        summary = manifest.commit(staged)
        logger.info(
            "timings: ingest+redact %.1f s, near-dedupe/cap/split %.1f s, write %.1f s",
            streamed - started,
            deduped - streamed,
            time.perf_counter() - deduped,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info(
        "prepare finished: %d files written, %d unchanged; %s",
        len(summary.written),
        len(summary.unchanged),
        report.ingest.summary(),
    )
    return PrepareResult(report, summary.written, summary.unchanged)


def check_csv_columns(options: PrepareOptions) -> None:
    """Fail early, listing the columns found, when a CSV input lacks a configured column.

    Args:
        options: The run's settings.

    Raises:
        TrainingDataError: If the input does not exist or a column is missing.

    """
    path = options.input
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file or folder")
    is_csv = options.format == "csv" or (options.format == "auto" and path.suffix == ".csv")
    if not is_csv or not path.is_file():
        return
    mapping = options.ingest.csv
    with path.open(encoding=options.ingest.csv_encoding, errors="replace", newline="") as f:
        header = next(csv.reader(itertools.islice(f, 1)), [])
    found = [h.strip().lstrip("\ufeff") for h in header]
    folded = {h.lower() for h in found}
    wanted = [mapping.request_column, mapping.reply_column, mapping.intent_column]
    missing = [c for c in wanted if c is not None and c.lower() not in folded]
    if missing:
        raise TrainingDataError(
            f"{path}: missing CSV column(s) {', '.join(map(repr, missing))}; columns found: "
            f"{', '.join(found) or '(none)'} (set --csv-text-column, --csv-reply-column, "
            "--csv-intent-column)"
        )


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _stream(
    conversations: Iterable[Conversation],
    options: PrepareOptions,
    redactor: ConversationRedactor,
    report: PrepareReport,
    staging: Path,
) -> _Collected:
    collected = _Collected()
    with (
        _staged(staging, PAIRS_TRAIN).open("w", encoding="utf-8", newline="\n") as train,
        _staged(staging, PAIRS_TEST).open("w", encoding="utf-8", newline="\n") as test,
        tqdm(desc="ingest + redact", unit="conv", disable=None) as bar,
    ):
        for redacted in redactor.redact_stream(_chunks(conversations, options.chunk_size)):
            for conversation in redacted:
                report.pii.update(conversation.pii)
                is_test = held_out(conversation.id, options.test_fraction, options.seed)
                for pair in conversation_pairs(conversation, options.context_turns):
                    digest = pair.digest()
                    if digest in collected.pairs_seen:
                        report.pairs["exact_duplicates"] += 1
                        continue
                    collected.pairs_seen.add(digest)
                    (test if is_test else train).write(pair.to_json() + "\n")
                    report.pairs["test" if is_test else "train"] += 1
                _collect_messages(conversation, collected, report)
            bar.update(len(redacted))
    return collected


def _collect_messages(
    conversation: RedactedConversation, collected: _Collected, report: PrepareReport
) -> None:
    first_customer = True
    for turn in conversation.turns:
        if turn.role != "customer":
            continue
        opener, first_customer = first_customer, False
        label = intent_name(turn.intent) if turn.intent else ""
        if turn.intent and label != turn.intent and label:
            report.renamed_intents[turn.intent] = label
        if not label and not opener:
            continue
        text = example_text(turn.text)
        if not text:
            report.empty_after_cleaning += 1
            continue
        digest = text_hash(text)
        if not label:
            report.unlabelled["found"] += 1
            if digest in collected.unlabelled_seen:
                report.unlabelled["exact_duplicates"] += 1
            else:
                collected.unlabelled_seen.add(digest)
                channel = None if conversation.channel in ("", "unknown") else conversation.channel
                collected.unlabelled.append(Opener(conversation.id, channel, text))
            continue
        counts = report.intent(label)
        counts.found += 1
        earlier = collected.seen.get(digest)
        if earlier == label:
            counts.exact_duplicates += 1
        elif earlier is not None:
            counts.conflicts += 1
        else:
            collected.seen[digest] = label
            collected.labelled.setdefault(label, []).append(text)


def _nlu_splits(
    collected: _Collected,
    options: PrepareOptions,
    embedder: Embedder | None,
    report: PrepareReport,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    total = sum(len(v) for v in collected.labelled.values())
    with tqdm(desc="near-dedupe (embed)", unit="ex", total=total, disable=None) as bar:
        for intent in sorted(collected.labelled):
            texts = collected.labelled[intent]
            counts = report.intent(intent)
            if embedder is not None:
                keep = near_dedupe(texts, embedder, options.dedupe_threshold)
                counts.near_duplicates += len(texts) - len(keep)
                kept = [texts[i] for i in keep]
            else:
                kept = list(texts)
            bar.update(len(texts))
            capped = cap(kept, options.max_per_intent, options.seed, intent)
            counts.capped += len(kept) - len(capped)
            split = stratified_split(
                capped, options.test_fraction, options.seed, intent, options.min_examples_to_split
            )
            counts.train, counts.test = len(split.train), len(split.test)
            counts.too_few_to_split = split.too_few
            train[intent], test[intent] = split.train, split.test
    report.long_tail = long_tail(
        {i: c.train + c.test for i, c in report.intents.items()}, options.long_tail_below
    )
    return train, test


def _unlabelled(
    collected: _Collected,
    options: PrepareOptions,
    embedder: Embedder | None,
    report: PrepareReport,
) -> list[Opener]:
    openers = [o for o in collected.unlabelled if text_hash(o.text) not in collected.seen]
    report.unlabelled["already_labelled"] = len(collected.unlabelled) - len(openers)
    if embedder is not None and openers:
        keep = near_dedupe([o.text for o in openers], embedder, options.dedupe_threshold)
        report.unlabelled["near_duplicates"] = len(openers) - len(keep)
        openers = [openers[i] for i in keep]
    report.unlabelled["kept"] = len(openers)
    return openers


def _staged(staging: Path, rel: str) -> Path:
    """Where an output is staged: flat, as the target may lie outside ``out``."""
    return staging / rel.replace("/", "__")


def _write(
    staging: Path,
    nlu_test: str,
    train: dict[str, list[str]],
    test: dict[str, list[str]],
    openers: list[Opener],
    report: PrepareReport,
) -> dict[str, Path]:
    contents = {
        NLU_TRAIN: lambda: nlu_yaml(train),
        nlu_test: lambda: nlu_yaml(test),
        UNLABELLED: lambda: "".join(
            json.dumps(
                {"conversation_id": o.conversation_id, "channel": o.channel, "text": o.text},
                ensure_ascii=False,
            )
            + "\n"
            for o in openers
        ),
        REPORT_JSON: report.to_json,
        REPORT_MD: report.to_markdown,
    }
    staged = {rel: _staged(staging, rel) for rel in (PAIRS_TRAIN, PAIRS_TEST)}
    for rel, render in tqdm(contents.items(), desc="writing", unit="file", disable=None):
        path = _staged(staging, rel)
        path.write_text(render(), encoding="utf-8", newline="\n")
        staged[rel] = path
    return staged
