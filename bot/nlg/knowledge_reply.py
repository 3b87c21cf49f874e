"""Knowledge answers for the NLG endpoint: search, answer, gate, cite (off the event loop).

The NLG endpoint (:mod:`bot.nlg.endpoint`) hands every response listed under
``knowledge_for`` in ``endpoints.yml`` to :class:`KnowledgeResponder`, which runs in the
endpoint's generation thread pool:

1. searches the knowledge index that :class:`bot.nlu.knowledge_index.KnowledgeRetriever`
   loaded with the model (:func:`bot.knowledge.registry.knowledge_registry`);
2. answers with :func:`bot.knowledge.answering.answer_question`: with ``knowledge_writer``
   on, the fine-tuned generator writes, the guardrails and the answer gate check, and the
   gate's fallback (a cited extract, or the honest "I don't know") replaces a failed
   answer; off (the default), the gate's fallback is sent directly;
3. returns the message: the text, a source line in Markdown (the channel adapter turns it
   into each channel's link format), a "Talk to a person" button with the honest reply,
   and ``knowledge`` metadata (outcome, sources, failed checks; never customer text) that
   the escalation policy's ``knowledge_gap`` trigger and the insights read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.knowledge.answering import (
    AnswerKind,
    Citation,
    GeneratorAnswerWriter,
    KnowledgeAnswer,
    answer_question,
    gate_passages,
    retrieve,
)
from bot.knowledge.gate import AnswerGate, GateConfig
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.outcome import KNOWLEDGE_KEY
from bot.nlg.generation.generator import TextGenerator

logger = logging.getLogger(__name__)

HANDOFF_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}
"""The offer of a person that goes with the honest "I don't know"."""

MAX_TOP_K = 10
_URL = re.compile(r"^https?://", re.IGNORECASE)
_DOC_SUFFIX = re.compile(r"\.(md|markdown|html?|txt|pdf|csv)$", re.IGNORECASE)


def source_link(source: str, base_url: str | None) -> str | None:
    """Return the URL of a knowledge source, if it has one.

    Args:
        source: The chunk's source: a URL (HTML exports, FAQ rows with a link) or a path
            relative to the knowledge folder.
        base_url: The help centre's address; a relative path becomes
            ``base_url/path-without-suffix`` (``care/down.md`` -> ``.../care/down``).

    Returns:
        The link, or None when the source is a path and no base URL is set.
    """
    if _URL.match(source):
        return source
    if not base_url:
        return None
    path = _DOC_SUFFIX.sub("", source.lstrip("/"))
    return f"{base_url.rstrip('/')}/{quote(path)}"


def cite(text: str, citations: Sequence[Citation], base_url: str | None = None) -> str:
    """Append the source line to an answer, in Markdown.

    Args:
        text: The answer or extract.
        citations: Its sources (only the first is cited: one line fits every channel).
        base_url: The help centre's address, for sources that are paths.

    Returns:
        ``text`` plus ``Source: [Title](link)`` (or ``Source: Title`` without a link).
    """
    if not citations:
        return text
    first = citations[0]
    title = first.title.replace("[", "(").replace("]", ")").strip() or "our help centre"
    link = source_link(first.source, base_url)
    line = f"Source: [{title}]({link})" if link else f"Source: {title}"
    return f"{text}\n\n{line}"


@dataclass(frozen=True)
class KnowledgeSettings:
    """How knowledge answers are made.

    Attributes:
        top_k: Passages retrieved per question.
        help_centre_url: The help centre's address, for links to sources given as paths.
        gate: The answer gate's thresholds.
        writer: Let the fine-tuned generator write answers; off: the gate's fallback.
    """

    top_k: int = 3
    help_centre_url: str | None = None
    gate: GateConfig = GateConfig()
    writer: bool = False


class KnowledgeResponder:
    """Answers one question from the knowledge base (blocking: run it in a worker thread).

    Args:
        index: The loaded knowledge index.
        generator: The fine-tuned generator (the answer writer), or None.
        settings: How to answer.
    """

    def __init__(
        self,
        index: KnowledgeIndex,
        generator: TextGenerator | None,
        settings: KnowledgeSettings,
    ) -> None:
        self.index = index
        self.generator = generator
        self.settings = settings
        self.gate = AnswerGate(
            index.embedder, config=settings.gate, answerability=index.answerability
        )
        self.writer = (
            GeneratorAnswerWriter(generator)  # type: ignore[arg-type]
            if settings.writer and generator is not None and hasattr(generator, "complete")
            else None
        )

    def answer(
        self, question: str, channel: str, tone: str, conversation: Sequence[str] = ()
    ) -> KnowledgeAnswer:
        """Search, write, check and decide.

        Args:
            question: The customer's latest message.
            channel: The channel (part of the writer's prompt).
            tone: The channel's tone, for the honest decline.
            conversation: The customer's earlier messages.

        Returns:
            What to send.
        """
        hits = retrieve(self.index, question, min(self.settings.top_k, MAX_TOP_K))
        guardrails = getattr(self.generator, "guardrails", None)
        return answer_question(
            question,
            gate_passages(hits),
            self.gate,
            self.writer,
            guardrails,
            channel=channel,
            tone=tone,
            conversation=conversation,
        )

    def message(self, answer: KnowledgeAnswer) -> dict[str, Any]:
        """Turn a decision into the response dict the NLG endpoint returns.

        Args:
            answer: The decision.

        Returns:
            ``{text, buttons?, knowledge}``.
        """
        text = cite(answer.text, answer.citations, self.settings.help_centre_url)
        response: dict[str, Any] = {"text": text, KNOWLEDGE_KEY: answer.metadata()}
        if answer.kind is AnswerKind.DONT_KNOW:
            response["buttons"] = [dict(HANDOFF_BUTTON)]
        logger.info(
            "Knowledge reply: %s (failed: %s; %.0f ms).",
            answer.kind.value,
            ",".join(answer.failed) or "none",
            answer.seconds * 1000,
        )
        return response
