"""Write inbox feedback as Rasa NLU YAML and generation pairs JSONL."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.inbox.feedback import Correction
from bot.nlg.generation.pairs import GenerationPair

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


class _Literal(str):
    """A string dumped as a YAML block literal (Rasa's ``examples: |``)."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def nlu_yaml(corrections: Sequence[Correction]) -> str:
    """Rasa ``version: "3.1"`` NLU YAML with one example per distinct corrected text.

    When the same text was corrected to different intents, the latest correction wins.
    """
    latest: dict[str, str] = {}
    for c in corrections:
        text = " ".join(c.text.split())
        if text:
            latest[text] = c.intent
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in latest.items():
        by_intent[intent].append(text)
    dumper = yaml.SafeDumper
    dumper.add_representer(_Literal, _literal)
    nlu = [
        {"intent": intent, "examples": _Literal("".join(f"- {t}\n" for t in texts))}
        for intent, texts in sorted(by_intent.items())
    ]
    body = yaml.dump({"nlu": nlu}, Dumper=dumper, sort_keys=False, allow_unicode=True)
    return 'version: "3.1"\n' + body


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
    nlu_path.write_text(nlu_yaml(corrections), encoding="utf-8")
    with pairs_path.open("w", encoding="utf-8") as f:
        for pair in pairs:
            f.write(json.dumps(pair.to_dict(), ensure_ascii=False) + "\n")
    examples = len({" ".join(c.text.split()) for c in corrections if c.text.strip()})
    logger.info("Exported %d NLU examples and %d pairs to %s.", examples, len(pairs), out)
    return ExportReport(nlu_path, pairs_path, examples, len(pairs))
