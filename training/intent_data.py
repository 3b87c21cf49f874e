"""Read labelled intent examples from the formats people have them in.

Three formats are recognised, by path:

- a Rasa NLU YAML file (``.yml``/``.yaml``) or a folder of them, read with Rasa's own reader;
- a CSV file with a text column and a label column (``text,label``; ``category`` and
  ``intent`` are accepted as the label column's name);
- a folder with ``seq.in`` (one text per line) and ``label`` (the label on the same line),
  as in the Banking77-OOS and CLINC releases.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from common.errors import TrainingDataError

LABEL_COLUMNS = ("label", "intent", "category")
TEXT_COLUMNS = ("text", "utterance", "query", "instruction")


@dataclass(frozen=True)
class LabelledText:
    """One training or test example."""

    text: str
    label: str


def load_examples(path: Path) -> list[LabelledText]:
    """Load labelled examples, detecting the format from the path.

    Args:
        path: A Rasa YAML file or folder, a CSV file, or a ``seq.in``/``label`` folder.

    Returns:
        The examples, in file order; empty texts are skipped.

    Raises:
        TrainingDataError: If the path is missing, the format unknown or the data malformed.
    """
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file or folder")
    if path.is_dir() and (path / "seq.in").is_file():
        examples = list(_read_seq_in(path))
    elif path.suffix.lower() == ".csv":
        examples = list(_read_csv(path))
    elif path.is_dir() or path.suffix.lower() in {".yml", ".yaml"}:
        examples = _read_rasa(path)
    else:
        raise TrainingDataError(
            f"{path}: unknown format; expected a Rasa .yml file or folder, a .csv file with "
            "text,label columns, or a folder with seq.in and label files"
        )
    if not examples:
        raise TrainingDataError(f"{path}: no labelled examples found")
    return examples


def _read_seq_in(folder: Path) -> Iterator[LabelledText]:
    label_file = folder / "label"
    if not label_file.is_file():
        raise TrainingDataError(f"{folder}: has seq.in but no label file")
    texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = label_file.read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise TrainingDataError(
            f"{folder}: seq.in has {len(texts)} lines but label has {len(labels)}"
        )
    for text, label in zip(texts, labels, strict=True):
        if text.strip():
            yield LabelledText(text.strip(), label.strip())


def _pick(columns: list[str], wanted: tuple[str, ...], path: Path, what: str) -> str:
    lowered = {c.strip().lower(): c for c in columns}
    for name in wanted:
        if name in lowered:
            return lowered[name]
    raise TrainingDataError(f"{path}: no {what} column; expected one of {', '.join(wanted)}")


def _read_csv(path: Path) -> Iterator[LabelledText]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        text_col = _pick(columns, TEXT_COLUMNS, path, "text")
        label_col = _pick(columns, LABEL_COLUMNS, path, "label")
        for line, row in enumerate(reader, start=2):
            text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
            if text and not label:
                raise TrainingDataError(f"{path}:{line}: text without a label")
            if text:
                yield LabelledText(text, label)


def _read_rasa(path: Path) -> list[LabelledText]:
    from rasa.shared.importers.utils import training_data_from_paths
    from rasa.shared.nlu.constants import INTENT, TEXT

    files = sorted(str(p) for p in path.rglob("*.yml")) if path.is_dir() else [str(path)]
    data = training_data_from_paths(files, language="en")
    return [
        LabelledText(m.get(TEXT).strip(), m.get(INTENT))
        for m in data.intent_examples
        if (m.get(TEXT) or "").strip()
    ]


def to_rasa_yaml(examples: list[LabelledText]) -> str:
    """Serialise examples as Rasa 3.x NLU YAML, escaping what Rasa would parse as markup.

    Args:
        examples: Labelled texts.

    Returns:
        The YAML document.
    """
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={TEXT: e.text, INTENT: e.label}) for e in examples]
    return RasaYAMLWriter().dumps(TrainingData(training_examples=messages))
