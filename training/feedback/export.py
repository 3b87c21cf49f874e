"""Write inbox feedback as Rasa NLU YAML and generation pairs JSONL."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.inbox.feedback import Correction
from bot.nlg.generation.pairs import GenerationPair, write_pairs
from training.rasa_yaml import example_text, intent_name, write_nlu

logger = logging.getLogger(__name__)

NLU_FILE = "nlu_feedback.yml"
PAIRS_FILE = "pairs_feedback.jsonl"


@dataclass(frozen=True)
class ExportReport:
    """What was written.

    Attributes:
        nlu_path: The NLU YAML file.
        pairs_path: The pairs JSONL file.
        examples: NLU examples written.
        pairs: Pairs written.
    """

    nlu_path: Path
    pairs_path: Path
    examples: int
    pairs: int


def corrected_examples(corrections: Sequence[Correction]) -> dict[str, list[str]]:
    """Group corrected texts by intent, one example per distinct text.

    Texts are cleaned with :func:`~training.rasa_yaml.example_text` and intents named with
    :func:`~training.rasa_yaml.intent_name`, as every NLU file is; when the same (cleaned)
    text was corrected to different intents, the latest correction wins.

    Args:
        corrections: Redacted intent corrections, oldest first.

    Returns:
        Intent name to example texts.
    """
    latest: dict[str, str] = {}
    unnamed = 0
    for c in corrections:
        text, intent = example_text(c.text), intent_name(c.intent)
        if not intent:
            unnamed += 1
        elif text:
            latest[text] = intent
    if unnamed:
        logger.warning("%d correction(s) without a usable intent name left out.", unnamed)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in latest.items():
        by_intent[intent].append(text)
    return dict(by_intent)


def export(
    pairs: Sequence[GenerationPair], corrections: Sequence[Correction], out: Path
) -> ExportReport:
    """Write the two files into ``out``.

    Args:
        pairs: Redacted agent reply pairs.
        corrections: Redacted intent corrections.
        out: The output folder (created).

    Returns:
        The report.
    """
    out.mkdir(parents=True, exist_ok=True)
    nlu_path = out / NLU_FILE
    pairs_path = out / PAIRS_FILE
    examples = corrected_examples(corrections)
    write_nlu(nlu_path, examples)
    write_pairs(pairs, pairs_path)
    count = sum(len(texts) for texts in examples.values())
    logger.info("Exported %d NLU examples and %d pairs to %s.", count, len(pairs), out)
    return ExportReport(nlu_path, pairs_path, count, len(pairs))
