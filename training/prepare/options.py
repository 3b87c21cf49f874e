"""The settings of one ``prepare`` run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import ConfigError
from training.ingest import IngestOptions


@dataclass(frozen=True)
class PrepareOptions:
    """What to read, where to write and how to clean.

    Attributes:
        input: A transcript file or folder.
        out: The output folder (``nlu/``, ``test/``, ``generation/`` and the reports).
        format: ``auto`` or an ingest format name.
        test_out: Folder of the held-out NLU split (``nlu_test.yml``); default
            ``<out>/test``. Put it outside the folder ``rasa train --data`` reads.
        ingest: Ingest options (CSV columns, email support addresses, ...).
        dedupe_threshold: Cosine similarity at or above which two examples of one intent
            (or two unlabelled openers) are near duplicates; the later one is dropped.
        near_dedupe: Whether to run the MiniLM near-duplicate pass at all.
        max_per_intent: Cap on the examples kept per intent (None: no cap).
        test_fraction: Share of each intent (and of conversations, for pairs) held out.
        min_examples_to_split: Intents with fewer examples stay whole in the train split.
        long_tail_below: Intents with fewer kept examples are listed as the long tail.
        context_turns: Turns of context before the customer message in a pair.
        seed: Seed of every random choice (cap sampling, splits).
        force: Overwrite files that were edited by hand or not written by ``prepare``.
        chunk_size: Conversations redacted per batch (bounds memory).
        workers: Processes for PII detection (each loads its own spaCy pipeline).

    """

    input: Path
    out: Path
    format: str = "auto"
    test_out: Path | None = None
    ingest: IngestOptions = field(default_factory=IngestOptions)
    dedupe_threshold: float = 0.95
    near_dedupe: bool = True
    max_per_intent: int | None = None
    test_fraction: float = 0.1
    min_examples_to_split: int = 5
    long_tail_below: int = 20
    context_turns: int = 4
    seed: int = 42
    force: bool = False
    chunk_size: int = 256
    workers: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.dedupe_threshold <= 1.0:
            raise ConfigError("dedupe threshold must be in (0, 1]")
        if self.max_per_intent is not None and self.max_per_intent < 1:
            raise ConfigError("max per intent must be at least 1")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError("test fraction must be in [0, 1)")
        if self.context_turns < 0:
            raise ConfigError("context turns must be 0 or more")
        if self.min_examples_to_split < 2:
            raise ConfigError("min examples to split must be at least 2")
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")
        if self.chunk_size < 1:
            raise ConfigError("chunk size must be at least 1")

    @property
    def nlu_test_path(self) -> str:
        """The held-out NLU file, relative to ``out`` (may start with ``..``)."""
        folder = self.test_out if self.test_out is not None else self.out / "test"
        return Path(os.path.relpath(folder / "nlu_test.yml", self.out)).as_posix()

    def fingerprint(self) -> dict[str, object]:
        """The options that shape the output, for the report (no paths, no PII)."""
        csv = self.ingest.csv
        return {
            "format": self.format,
            "csv_request_column": csv.request_column,
            "csv_reply_column": csv.reply_column,
            "csv_intent_column": csv.intent_column,
            "dedupe_threshold": self.dedupe_threshold if self.near_dedupe else None,
            "max_per_intent": self.max_per_intent,
            "test_fraction": self.test_fraction,
            "min_examples_to_split": self.min_examples_to_split,
            "long_tail_below": self.long_tail_below,
            "context_turns": self.context_turns,
            "seed": self.seed,
        }
