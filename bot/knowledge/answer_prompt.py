"""The answer writer's prompt: the customer's question and the retrieved help-centre passages.

The answer writer (the generator fine-tuned on (question, passages, answer) examples,
``training/knowledge/qa_examples.py``) is trained and served with this one prompt, so it
sees one layout. It is the generator's ChatML layout (:func:`bot.nlg.generation.prompt.render`):
the company's voice (:data:`~bot.nlg.generation.prompt.DEFAULT_SYSTEM`) plus
:data:`ANSWER_INSTRUCTION` and the channel in the system message, then one customer turn
holding the numbered passages and the question, then the assistant's turn::

    <|im_start|>system
    You are the customer support assistant of Pinecrest Outfitters, ... Answer the
    customer's question from the help-centre passages only, ...
    Channel: web.<|im_end|>
    <|im_start|>user
    Help centre:
    [1] Washing a down jacket > Can I wash a down jacket in a machine?
    Yes. Use a front-loading machine ...

    Question: can I wash a down jacket in a machine?<|im_end|>
    <|im_start|>assistant

When the passages do not answer the question the writer is taught to reply with
:func:`decline_text` for the channel's tone: one short, honest "I don't know" that offers a
person. The runtime sends the same text when the answer gate falls back to "don't know".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from transformers import PreTrainedTokenizerBase

from bot.knowledge.chunks import Chunk
from bot.knowledge.extract import shorten
from bot.nlg.generation.prompt import DEFAULT_SYSTEM, PromptParts, render
from common.errors import ConfigError

MAX_PASSAGES = 3
"""Passages per prompt: the top 3 hold the answer for the sample help centre's questions
(retrieval recall@3), and each more costs the 135M model prompt tokens."""

MAX_PASSAGE_CHARS = 600
"""Characters per passage (about 150 tokens): three passages, the system message and the
question stay near 700 tokens."""

ANSWER_INSTRUCTION = (
    "Answer the customer's question from the help-centre passages only, in one to three "
    "short sentences. If the passages don't answer it, say you don't know and offer a "
    "person from the team."
)

NO_PASSAGES = "(nothing found)"

DECLINE_TEXTS = MappingProxyType(
    {
        "friendly": (
            "Sorry, I don't know the answer to that, and I'd rather not guess. "
            "Would you like me to pass you to someone from the team?"
        ),
        "formal": (
            "I am sorry, I do not have that information. "
            "Would you like me to pass your question to a member of our team?"
        ),
    }
)
"""The honest "I don't know" per channel tone (``bot.nlg.channel_style.TONES``)."""

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s)|\n")


def decline_text(tone: str = "friendly") -> str:
    """Return the honest "I don't know, shall I get a person?" reply for a tone.

    Args:
        tone: ``friendly`` or ``formal`` (a channel style's tone).

    Returns:
        The reply.

    Raises:
        ConfigError: For another tone.
    """
    try:
        return DECLINE_TEXTS[tone]
    except KeyError:
        raise ConfigError(
            f"no decline text for tone {tone!r} (known: {', '.join(DECLINE_TEXTS)})"
        ) from None


def cap_passage(text: str, max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """Cut a passage to at most ``max_chars`` characters, at a sentence end if possible.

    Args:
        text: The passage.
        max_chars: The budget.

    Returns:
        The text itself if it fits; else its longest prefix ending a sentence or a line, if
        that keeps at least half the budget; else its longest whole-word prefix with an
        ellipsis.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: max_chars + 1]) if m.end() <= max_chars]
    if ends and ends[-1] >= max_chars // 2:
        return text[: ends[-1]].rstrip()
    return shorten(text, max_chars)


@dataclass(frozen=True)
class AnswerPassage:
    """One retrieved passage as the answer writer sees it.

    Attributes:
        title: The document's title.
        section: The passage's heading path ("" at the top).
        text: The passage (already capped, see :func:`cap_passage`).
        source: Where a customer can read it (URL or path).
        chunk_id: The chunk it comes from.
    """

    title: str
    section: str
    text: str
    source: str = ""
    chunk_id: str = ""

    @classmethod
    def from_chunk(cls, chunk: Chunk, max_chars: int = MAX_PASSAGE_CHARS) -> AnswerPassage:
        """Make a passage from a knowledge chunk, capping its text.

        Args:
            chunk: The chunk.
            max_chars: The passage budget.

        Returns:
            The passage.
        """
        return cls(
            chunk.title,
            chunk.section,
            cap_passage(chunk.text, max_chars),
            chunk.source,
            chunk.chunk_id,
        )

    @property
    def heading(self) -> str:
        """The title and heading path joined by " > " (empty parts left out)."""
        return " > ".join(part for part in (self.title, self.section) if part)


def user_message(question: str, passages: Sequence[AnswerPassage]) -> str:
    """The customer turn of the prompt: numbered passages, then the question.

    Args:
        question: The customer's question.
        passages: The passages, best first.

    Returns:
        The text.
    """
    blocks = []
    for number, passage in enumerate(passages, start=1):
        heading = f"[{number}] {passage.heading}".rstrip()
        blocks.append(f"{heading}\n{passage.text.strip()}")
    found = "\n\n".join(blocks) if blocks else NO_PASSAGES
    return f"Help centre:\n{found}\n\nQuestion: {' '.join(question.split())}"


def answer_system(system: str = DEFAULT_SYSTEM) -> str:
    """The system message: the company's voice, then :data:`ANSWER_INSTRUCTION`."""
    return f"{system} {ANSWER_INSTRUCTION}"


def answer_prompt(
    question: str,
    passages: Sequence[AnswerPassage],
    channel: str | None = None,
    system: str = DEFAULT_SYSTEM,
) -> str:
    """Render the answer writer's prompt, ending where the assistant's answer starts.

    Args:
        question: The customer's question.
        passages: The retrieved passages, best first (at most :data:`MAX_PASSAGES` are
            expected; all given are rendered).
        channel: The channel the answer goes to, if known.
        system: The company's voice (the generator's system message).

    Returns:
        The ChatML prompt text.
    """
    parts = PromptParts(context=(), message=user_message(question, passages), channel=channel)
    return render(parts, answer_system(system))


def answer_prompt_ids(
    question: str,
    passages: Sequence[AnswerPassage],
    tokenizer: PreTrainedTokenizerBase,
    max_tokens: int,
    channel: str | None = None,
    system: str = DEFAULT_SYSTEM,
) -> list[int]:
    """Tokenise the answer prompt, trimming it to at most ``max_tokens`` tokens.

    The weakest (last) passages are dropped first, down to one; then the remaining passage
    is shortened at a word boundary; a prompt still too long (a very long question) keeps
    its end, as :func:`bot.nlg.generation.prompt.build_ids` does.

    Args:
        question: The customer's question.
        passages: The passages, best first.
        tokenizer: The model's tokenizer.
        max_tokens: The budget.
        channel: The channel, if known.
        system: The company's voice.

    Returns:
        The prompt's token ids.
    """
    kept = list(passages)
    while True:
        text = answer_prompt(question, kept, channel, system)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(ids) <= max_tokens:
            return ids
        if len(kept) > 1:
            kept.pop()
        elif kept and len(kept[0].text) > 1:
            shorter = shorten(kept[0].text, max(1, int(len(kept[0].text) * 0.8)))
            kept = [replace(kept[0], text=shorter)] if shorter else []
        else:
            return ids[-max_tokens:]
