"""One training example of the answer writer, and its file format.

The examples are built by ``python -m training kb-examples``
(``training/knowledge/qa_examples.py``: from the company's pairs, the knowledge's own
question headings and the question set's development half). The runtime reads them here:
:class:`bot.nlu.response_generator.ResponseGenerator` fine-tunes the generator on them
(option ``answer_examples``), with the answer prompt of :mod:`bot.knowledge.answer_prompt`,
so that the generator writes short answers from retrieved passages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from bot.knowledge.answer_prompt import AnswerPassage, answer_prompt, answer_prompt_ids
from bot.nlg.generation.fine_tune import TrainingExample
from bot.nlg.generation.prompt import target_ids
from common.errors import TrainingDataError

SOURCE_PAIRS = "pairs"
SOURCE_KNOWLEDGE = "knowledge"
SOURCE_QUESTIONS = "questions"
SOURCES = (SOURCE_PAIRS, SOURCE_KNOWLEDGE, SOURCE_QUESTIONS)
"""The sources, in output order and in order of precedence among duplicates."""

KIND_ANSWER = "answer"
KIND_DECLINE = "decline"
KINDS = (KIND_ANSWER, KIND_DECLINE)


@dataclass(frozen=True)
class QAExample:
    """One training example of the answer writer.

    Attributes:
        id: Unique and stable: ``<source>:<origin>`` (a pair's conversation id and line,
            a chunk id, a question id).
        source: ``pairs``, ``knowledge`` or ``questions``.
        kind: ``answer`` or ``decline``.
        question: The customer's question.
        passages: The retrieved passages, best first (capped).
        answer: The target.
        source_chunks: The chunks that back the answer (empty for a decline).
        channel: The channel the question came on, if known.
    """

    id: str
    source: str
    kind: str
    question: str
    passages: tuple[AnswerPassage, ...]
    answer: str
    source_chunks: tuple[str, ...] = ()
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES or self.kind not in KINDS:
            raise TrainingDataError(f"example {self.id!r}: unknown source or kind")
        if not self.question.strip() or not self.answer.strip():
            raise TrainingDataError(f"example {self.id!r} needs a question and an answer")

    def prompt(self) -> str:
        """The prompt text the writer is trained with (:func:`answer_prompt`)."""
        return answer_prompt(self.question, self.passages, self.channel)

    def training_example(
        self, tokenizer: PreTrainedTokenizerBase, max_prompt_tokens: int, max_target_tokens: int
    ) -> TrainingExample:
        """Tokenise the example for the generator's fine-tuning loop.

        Args:
            tokenizer: The generator's tokenizer.
            max_prompt_tokens: The prompt budget (passages are trimmed to fit).
            max_target_tokens: The target budget, ``<|im_end|>`` included.

        Returns:
            Prompt ids and target ids (:func:`to_training_example`).
        """
        return to_training_example(self, tokenizer, max_prompt_tokens, max_target_tokens)

    def to_dict(self) -> dict[str, Any]:
        """The example as the JSON object of a JSONL line."""
        return {
            "id": self.id,
            "source": self.source,
            "kind": self.kind,
            "question": self.question,
            "passages": [
                {
                    "chunk_id": p.chunk_id,
                    "title": p.title,
                    "section": p.section,
                    "source": p.source,
                    "text": p.text,
                }
                for p in self.passages
            ],
            "answer": self.answer,
            "source_chunks": list(self.source_chunks),
            "channel": self.channel,
        }

    def to_json(self) -> str:
        """One JSONL line (no newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QAExample:
        """Read an example from its JSON object.

        Raises:
            TrainingDataError: If a field is missing or of the wrong type.
        """
        try:
            passages = tuple(
                AnswerPassage(
                    str(p["title"]),
                    str(p["section"]),
                    str(p["text"]),
                    str(p["source"]),
                    str(p["chunk_id"]),
                )
                for p in data["passages"]
            )
            return cls(
                id=str(data["id"]),
                source=str(data["source"]),
                kind=str(data["kind"]),
                question=str(data["question"]),
                passages=passages,
                answer=str(data["answer"]),
                source_chunks=tuple(str(c) for c in data["source_chunks"]),
                channel=None if data.get("channel") is None else str(data["channel"]),
            )
        except (KeyError, TypeError) as e:
            raise TrainingDataError(f"not a QA example: missing or wrong field ({e})") from e


def read_examples(path: Path) -> list[QAExample]:
    """Read an examples file written by :func:`write_examples`.

    Args:
        path: The JSONL file.

    Returns:
        The examples, in order.

    Raises:
        TrainingDataError: If the file is unreadable or a line is not an example.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingDataError(f"cannot read QA examples from {path}: {e}") from e
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            examples.append(QAExample.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TrainingDataError, AttributeError) as e:
            raise TrainingDataError(f"{path}:{number}: {e}") from e
    return examples


def to_training_example(
    example: QAExample,
    tokenizer: PreTrainedTokenizerBase,
    max_prompt_tokens: int,
    max_target_tokens: int,
) -> TrainingExample:
    """Tokenise an example for the generator's fine-tuning loop.

    Args:
        example: The example.
        tokenizer: The generator's tokenizer.
        max_prompt_tokens: The prompt budget (:func:`answer_prompt_ids` trims passages).
        max_target_tokens: The target budget, ``<|im_end|>`` included.

    Returns:
        Prompt ids and target ids, as :func:`bot.nlg.generation.fine_tune.fine_tune` takes.
    """
    prompt = answer_prompt_ids(
        example.question, example.passages, tokenizer, max_prompt_tokens, example.channel
    )
    return TrainingExample(prompt, target_ids(example.answer, tokenizer, max_target_tokens))
