"""Fine-tune the packaged MiniLM into a BIO tagger of person names and addresses.

Training data: :class:`~training.pii_ner.generate.ExampleGenerator`'s messages (the
training half of the templates) plus the project's annotated, tuned set
``tests/common/privacy/data/pii_set.jsonl`` (its PERSON and ADDRESS spans; other types
are ``O``). Every word-piece inside a span is labelled (``B-`` on the first, ``I-`` on
the rest), so a prediction decodes straight back to characters. One seed fixes the data,
the order and the new classifier layer's initial weights.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.errors import TrainingDataError
from common.pretrained import minilm_path
from training.pii_ner.generate import LABELLED_TYPES, Example, ExampleGenerator

logger = logging.getLogger(__name__)

LABELS: tuple[str, ...] = ("O",) + tuple(f"{tag}-{t}" for t in LABELLED_TYPES for tag in ("B", "I"))
REPO = Path(__file__).resolve().parents[2]
DEFAULT_ANNOTATED: tuple[str, ...] = ("tests/common/privacy/data/pii_set.jsonl",)


@dataclass(frozen=True)
class TrainConfig:
    """How the tagger is trained (saved beside the weights as ``pii_ner.json``).

    Attributes:
        seed: Seed of the data, the batch order and the classifier's initial weights.
        generated: Number of generated examples.
        annotated: Annotated JSONL sets (relative to the repository) added to the data.
        annotated_repeat: How many times each annotated example is used per epoch.
        epochs: Passes over the data.
        batch_size: Examples per step.
        learning_rate: Peak AdamW learning rate (linear warm-up and decay).
        max_length: Word-pieces per example (longer ones are cut).
        layers: Transformer layers kept from MiniLM's six (the lower ones; fewer is faster
            to train and to run).
        frozen_layers: Lower layers (with the embeddings) left as pre-trained.
        threads: torch intra-op threads.

    """

    seed: int = 13
    generated: int = 4000
    annotated: tuple[str, ...] = DEFAULT_ANNOTATED
    annotated_repeat: int = 2
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-4
    max_length: int = 64
    layers: int = 4
    frozen_layers: int = 1
    threads: int = 2


@dataclass
class TrainReport:
    """What a training run did.

    Attributes:
        examples: Training examples (generated plus annotated repeats).
        steps: Optimiser steps.
        seconds: Wall time of the training loop.
        final_loss: Mean loss of the last 20 steps.
        config: The configuration.

    """

    examples: int
    steps: int
    seconds: float
    final_loss: float
    config: dict[str, Any] = field(default_factory=dict)


def load_annotated(path: Path) -> list[Example]:
    """Read an annotated JSONL set, keeping its PERSON and ADDRESS spans.

    Raises:
        TrainingDataError: If the file is missing or a line is malformed.

    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise TrainingDataError(f"cannot read annotated set {path}: {e}") from e
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            spans = tuple(
                (int(s["start"]), int(s["end"]), str(s["type"]))
                for s in record["spans"]
                if s["type"] in LABELLED_TYPES
            )
            out.append(Example(str(record["text"]), spans))
        except (ValueError, KeyError, TypeError) as e:
            raise TrainingDataError(f"{path.name} line {n}: malformed record") from e
    return out


def token_labels(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]]
) -> list[int]:
    """Label each token: ``B-`` for the first token inside a span, ``I-`` for the rest.

    Special tokens (empty offsets) get -100, which the loss ignores.

    Args:
        offsets: Each token's ``(start, end)`` in the text.
        spans: ``(start, end, type)`` character spans.

    Returns:
        One label id per token (indexes into :data:`LABELS`).

    """
    index = {label: i for i, label in enumerate(LABELS)}
    labels = []
    opened: set[int] = set()
    for start, end in offsets:
        if end <= start:
            labels.append(-100)
            continue
        label = "O"
        for k, (s, e, kind) in enumerate(spans):
            if s <= start and end <= e:
                label = f"{'I' if k in opened else 'B'}-{kind}"
                opened.add(k)
                break
        labels.append(index[label])
    return labels


def training_examples(config: TrainConfig) -> list[Example]:
    """The generated examples (training templates) plus the annotated sets, repeated."""
    examples = ExampleGenerator(config.seed).examples(config.generated)
    for name in config.annotated:
        examples += load_annotated(REPO / name) * config.annotated_repeat
    return examples


def train(config: TrainConfig, out_dir: Path) -> TrainReport:
    """Fine-tune the packaged MiniLM and save the tagger to ``out_dir``.

    The tagger is written to a temporary folder beside ``out_dir`` and moved into place
    at the end, so an interrupted run never leaves a half-written model behind.

    Args:
        config: The training configuration.
        out_dir: Where the tagger goes (replaced if present).

    Returns:
        What the run did.

    """
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from bot.nlu.batching import collate
    from common.schedule import warmup_linear_schedule

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    base = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForTokenClassification.from_pretrained(
        str(base),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        num_hidden_layers=config.layers,
    )
    if config.frozen_layers > 0:
        frozen = [model.bert.embeddings, *model.bert.encoder.layer[: config.frozen_layers]]
        for module in frozen:
            for parameter in module.parameters():
                parameter.requires_grad = False
    examples = training_examples(config)
    enc = tokenizer(
        [e.text for e in examples],
        truncation=True,
        max_length=config.max_length,
        return_offsets_mapping=True,
    )
    rows = [
        (ids, token_labels(offsets, e.spans))
        for ids, offsets, e in zip(enc["input_ids"], enc["offset_mapping"], examples, strict=True)
    ]
    encoded = [ids for ids, _ in rows]
    pad_id = int(tokenizer.pad_token_id or 0)
    cpu = torch.device("cpu")
    rng = random.Random(config.seed)
    steps_per_epoch = -(-len(rows) // config.batch_size)
    total = steps_per_epoch * config.epochs
    optimiser = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.learning_rate,
        weight_decay=0.01,
    )
    scheduler = warmup_linear_schedule(optimiser, max(1, total // 10), total)
    model.train()
    losses: list[float] = []
    t0 = time.perf_counter()
    for epoch in range(config.epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for b in range(0, len(order), config.batch_size):
            batch = order[b : b + config.batch_size]
            input_ids, mask = collate(encoded, batch, pad_id, cpu)
            width = input_ids.shape[1]
            labels = torch.tensor([rows[i][1] + [-100] * (width - len(rows[i][1])) for i in batch])
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
            optimiser.zero_grad()
            losses.append(float(loss.detach()))
        logger.info(
            "epoch %d: mean loss %.4f", epoch + 1, sum(losses[-steps_per_epoch:]) / steps_per_epoch
        )
    seconds = time.perf_counter() - t0
    report = TrainReport(
        examples=len(rows),
        steps=len(losses),
        seconds=round(seconds, 1),
        final_loss=round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
        config=asdict(config),
    )
    model.eval()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / "pii_ner.json").write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return report
