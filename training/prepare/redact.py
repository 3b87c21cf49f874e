"""Redact whole conversations in batches, one placeholder session per conversation.

NER runs over the texts of many conversations at once (``nlp.pipe`` batches), while each
conversation keeps its own numbering (``[EMAIL_1]`` means the same address throughout one
conversation only). Repeated texts (templated agent replies) are detected once: the
detections of recent texts are cached under a keyed hash of the text, never the text.
Detection can run in worker processes (one spaCy pipeline each, one BLAS thread each so
that two workers do not fight over two cores), a few chunks ahead.

The cache holds 250,000 texts by default (about 50 MB: a 16-byte key and, for most texts, an
empty detection list). That spans roughly 100,000 conversations, so an agent's templated
reply is detected once per run rather than once per 20,000 conversations as with the earlier
50,000; NER over long agent replies was most of the redaction time (about 16 ms per
700-character reply against 1.5 ms per customer message).
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import secrets
import sys
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from common.privacy import Detection, RedactionConfig, Redactor, ReplacementSession
from training.ingest import Conversation, Turn


@dataclass(frozen=True)
class RedactedConversation:
    """A conversation whose every text has been redacted.

    Attributes:
        id: The conversation id (pseudonymised if it looked like an address).
        channel: Where it happened.
        turns: The turns with redacted texts, oldest first.
        pii: Spans replaced, by PII type.

    """

    id: str
    channel: str
    turns: tuple[Turn, ...]
    pii: Counter[str]


@dataclass(frozen=True)
class _Plan:
    """A chunk's texts as cache keys, their cached detections, and the texts to detect."""

    keys: list[bytes]
    cached: dict[bytes, list[Detection]]
    todo: list[str]
    todo_keys: list[bytes]


class ConversationRedactor:
    """Redacts conversations in batches with a bounded cache of detections.

    Args:
        redactor: The PII redactor (its name finder is loaded on first use).
        cache_size: Distinct texts whose detections are remembered.
        workers: Processes that run detection in :meth:`redact_stream` (1: this process).
            Each worker builds its own ``Redactor(redactor.config)`` with the default
            spaCy name finder.

    """

    def __init__(self, redactor: Redactor, cache_size: int = 250_000, workers: int = 1) -> None:
        self._redactor = redactor
        self._cache: OrderedDict[bytes, list[Detection]] = OrderedDict()
        self._cache_size = cache_size
        self._key = secrets.token_bytes(16)
        self._workers = workers
        self.cache_hits = 0

    def redact(self, conversations: Sequence[Conversation]) -> list[RedactedConversation]:
        """Redact a batch of conversations in this process.

        Args:
            conversations: The conversations.

        Returns:
            The redacted conversations, in order.

        """
        plan = self._plan(conversations)
        return self._assemble(conversations, plan, self._redactor.detect_many(plan.todo))

    def redact_stream(
        self, chunks: Iterable[Sequence[Conversation]]
    ) -> Iterator[list[RedactedConversation]]:
        """Redact chunks in order; with workers, up to two chunks per worker are in flight.

        Args:
            chunks: Batches of conversations.

        Yields:
            The redacted conversations of each chunk, in order.

        """
        if self._workers <= 1:
            for chunk in chunks:
                yield self.redact(chunk)
            return
        Pending = tuple[Sequence[Conversation], _Plan, Future[list[list[Detection]]]]
        pending: deque[Pending] = deque()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self._workers, mp_context=context, initializer=_init_worker
        ) as pool:
            for chunk in chunks:
                plan = self._plan(chunk)
                future = pool.submit(_detect_in_worker, self._redactor.config, plan.todo)
                pending.append((chunk, plan, future))
                if len(pending) > 2 * self._workers:
                    done, done_plan, result = pending.popleft()
                    yield self._assemble(done, done_plan, result.result())
            while pending:
                done, done_plan, result = pending.popleft()
                yield self._assemble(done, done_plan, result.result())

    def _plan(self, conversations: Sequence[Conversation]) -> _Plan:
        texts = [turn.text for c in conversations for turn in c.turns]
        keys = [hashlib.blake2b(t.encode(), key=self._key, digest_size=16).digest() for t in texts]
        todo: list[str] = []
        todo_keys: list[bytes] = []
        cached: dict[bytes, list[Detection]] = {}
        planned: set[bytes] = set()
        for key, text in zip(keys, texts, strict=True):
            if key in planned:
                continue
            planned.add(key)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                cached[key] = hit
                self.cache_hits += 1
            else:
                todo.append(text)
                todo_keys.append(key)
        return _Plan(keys, cached, todo, todo_keys)

    def _assemble(
        self,
        conversations: Sequence[Conversation],
        plan: _Plan,
        detected: list[list[Detection]],
    ) -> list[RedactedConversation]:
        found = dict(zip(plan.todo_keys, detected, strict=True))
        found.update(plan.cached)
        for key, detections in zip(plan.todo_keys, detected, strict=True):
            self._cache[key] = detections
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        result: list[RedactedConversation] = []
        at = 0
        for conversation in conversations:
            session = self._redactor.new_session()
            pii: Counter[str] = Counter()
            turns: list[Turn] = []
            for turn in conversation.turns:
                detections = found[plan.keys[at]]
                at += 1
                pii.update(d.type for d in detections)
                text = substitute(turn.text, detections, session)
                turns.append(Turn(turn.role, text, turn.timestamp, turn.intent))
            result.append(
                RedactedConversation(
                    pseudonymous_id(conversation.id), conversation.channel, tuple(turns), pii
                )
            )
        return result


def _init_worker() -> None:
    """Limit a worker to one thread for BLAS and for torch.

    spaCy's matrix products go through numpy's BLAS; the MiniLM tagger's through torch's
    intra-op pool, which would otherwise take every core in every worker.
    """
    os.environ["OMP_NUM_THREADS"] = "1"  # read when torch is first imported
    if "torch" in sys.modules:  # already imported (by the parent's main module, say)
        sys.modules["torch"].set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn, which Rasa needs
        return
    threadpool_limits(limits=1, user_api="blas")


@functools.cache
def _worker_redactor(config: RedactionConfig) -> Redactor:
    """The redactor of a worker process, built once per process."""
    return Redactor(config)


def _detect_in_worker(config: RedactionConfig, texts: list[str]) -> list[list[Detection]]:
    return _worker_redactor(config).detect_many(texts) if texts else []


def substitute(text: str, detections: Sequence[Detection], session: ReplacementSession) -> str:
    """Replace detected spans with the session's placeholders.

    Uses the redactor's own substitution, so numbering (and the reservation of placeholders
    already in the text) is exactly that of :meth:`Redactor.redact`.

    Args:
        text: The original text.
        detections: Its resolved detections (from :meth:`Redactor.detect_many`).
        session: The conversation's numbering.

    Returns:
        The redacted text.

    """
    return Redactor._substitute(text, detections, session).text


def pseudonymous_id(conversation_id: str) -> str:
    """Return the id, or a stable hash of it if it holds an address (email Message-IDs).

    Args:
        conversation_id: The id from the source.

    Returns:
        An id safe to write out.

    """
    if "@" not in conversation_id:
        return conversation_id
    return "id-" + hashlib.sha256(conversation_id.encode()).hexdigest()[:20]
