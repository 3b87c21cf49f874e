"""Grounding: find past agent replies to questions like the customer's, with MiniLM.

The index embeds the customer side of every generation pair with the packaged
all-MiniLM-L6-v2 and keeps the agent's reply next to it. A query returns the top-k replies
by cosine similarity above a floor; those go into the prompt, so the model answers with
the company's facts rather than inventing them. Each entry keeps the pair's intent label,
when it has one, so that a search can stay inside the intent the bot recognised (the NLG
endpoint's past-reply route, :mod:`bot.nlg.past_reply`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.nlg.generation.pairs import GenerationPair
from common.embeddings import Embedder
from common.errors import TrainingDataError

logger = logging.getLogger(__name__)

EMBEDDINGS_FILE = "grounding.npy"
ENTRIES_FILE = "grounding.json"


@dataclass(frozen=True)
class GroundingHit:
    """One past reply found for a query.

    Attributes:
        reply: The agent's reply.
        score: Cosine similarity of its question to the query.
        question: The customer message it answered.
        conversation_id: The conversation it comes from.
        intent: The intent label of its pair, if it had one.
    """

    reply: str
    score: float
    question: str
    conversation_id: str
    intent: str | None = None


@dataclass(frozen=True)
class _Entry:
    question: str
    reply: str
    conversation_id: str
    intent: str | None = None


class GroundingIndex:
    """Past agent replies, searchable by the similarity of the questions they answered.

    Args:
        embedder: Encodes texts; MiniLM in production, a fake in tests.
        entries: The indexed question/reply pairs.
        embeddings: Unit-normalised embeddings of the questions, one row per entry.
    """

    def __init__(
        self, embedder: Embedder, entries: Sequence[_Entry], embeddings: np.ndarray
    ) -> None:
        if len(entries) != len(embeddings):
            raise TrainingDataError("grounding index: entries and embeddings differ in length")
        self._embedder = embedder
        self._entries = list(entries)
        self._embeddings = embeddings.astype(np.float32)
        self._intents = np.array([e.intent or "" for e in self._entries], dtype=object)
        self._intent_set = frozenset(e.intent for e in self._entries if e.intent)

    def __len__(self) -> int:
        return len(self._entries)

    def intents(self) -> frozenset[str]:
        """Return the intent labels the indexed pairs carry."""
        return self._intent_set

    def conversation_ids(self) -> set[str]:
        """Return the conversations whose replies are indexed (the training conversations)."""
        return {entry.conversation_id for entry in self._entries}

    @classmethod
    def build(cls, pairs: Sequence[GenerationPair], embedder: Embedder) -> GroundingIndex:
        """Index the pairs (identical question/reply pairs are kept once).

        Args:
            pairs: Generation pairs.
            embedder: The sentence encoder.

        Returns:
            The index.
        """
        seen: set[tuple[str, str]] = set()
        entries = []
        for pair in pairs:
            key = (pair.customer.lower(), pair.agent)
            if key not in seen:
                seen.add(key)
                entries.append(_Entry(pair.customer, pair.agent, pair.conversation_id, pair.intent))
        embeddings = cls._encode(embedder, [e.question for e in entries])
        logger.info("Built a grounding index of %d replies.", len(entries))
        return cls(embedder, entries, embeddings)

    @staticmethod
    def _encode(embedder: Embedder, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.asarray(embedder.encode(texts), dtype=np.float32)

    def similarity(self, text: str, other: str) -> float:
        """Return the cosine similarity of two texts under the index's encoder."""
        a, b = self._encode(self._embedder, [text, other])
        return float(a @ b)

    def search(
        self,
        queries: Sequence[str],
        k: int,
        min_score: float = 0.0,
        exclude_conversations: Sequence[str | None] | None = None,
        intent: str | None = None,
    ) -> list[list[GroundingHit]]:
        """Return the top-``k`` replies for each query, best first.

        Args:
            queries: Customer messages.
            k: Replies per query.
            min_score: Replies below this cosine similarity are left out.
            exclude_conversations: Per query, a conversation whose replies must not be
                returned (training uses it so a pair never sees its own answer).
            intent: Only replies whose pair has this intent label; None: any reply.

        Returns:
            One list of hits per query.
        """
        if k <= 0 or not self._entries or not queries:
            return [[] for _ in queries]
        scores = self._encode(self._embedder, list(queries)) @ self._embeddings.T
        if intent is not None:
            scores[:, self._intents != intent] = -np.inf
        excluded = exclude_conversations or [None] * len(queries)
        results = []
        for row, skip in zip(scores, excluded, strict=True):
            hits: list[GroundingHit] = []
            replies: set[str] = set()
            for index in np.argsort(-row):
                entry = self._entries[int(index)]
                score = float(row[index])
                if score < min_score or len(hits) >= k:
                    break
                if entry.conversation_id == skip or entry.reply in replies:
                    continue
                replies.add(entry.reply)
                hits.append(
                    GroundingHit(
                        entry.reply, score, entry.question, entry.conversation_id, entry.intent
                    )
                )
            results.append(hits)
        return results

    def save(self, directory: Path) -> None:
        """Write the index into ``directory``."""
        np.save(directory / EMBEDDINGS_FILE, self._embeddings)
        (directory / ENTRIES_FILE).write_text(
            json.dumps([asdict(e) for e in self._entries], ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path, embedder: Embedder) -> GroundingIndex:
        """Read an index written by :meth:`save`.

        Args:
            directory: The folder.
            embedder: The sentence encoder used to build it.

        Returns:
            The index.
        """
        entries = [
            _Entry(**e) for e in json.loads((directory / ENTRIES_FILE).read_text(encoding="utf-8"))
        ]
        return cls(embedder, entries, np.load(directory / EMBEDDINGS_FILE))
