"""Replay held-out conversations through a trained bot and score it against the agents.

Each conversation's customer turns are sent, in order, to the bot (a trained Rasa model
loaded in process, :class:`RasaAgentBot`, with the action server's actions reached through
``--actions``); each bot turn is compared with what the company's agent actually answered at
that point:

- **intent accuracy**, where the turn has a label;
- **reply similarity**: MiniLM cosine and ROUGE-L F1 against the agent's reply;
- **outcome** (:func:`turn_outcome`): ``handed_off`` (``action_escalate`` ran), ``knowledge``
  (``utter_knowledge_answer``, or a reply with ``knowledge`` metadata that answered or
  extracted; an honest "I don't know" counts as a fallback), ``past_reply`` (a reply with
  ``past_reply`` metadata: the agents' reply to the nearest past question,
  :mod:`bot.nlg.past_reply`), ``generated`` (``utter_generated``, or ``utter_past_reply``
  when no past reply could be sent), ``fallback`` (``nlu_fallback`` unless a form took the
  message as its answer, ``action_default_fallback``,
  ``utter_default``, ``utter_ask_rephrase``, or no reply at all), else ``answered``;
- **latency** of the whole turn.

A conversation (:func:`conversation_outcome`) is ``handed_off`` once a turn hands over (the
replay stops there: the rest was a person's conversation), ``abandoned`` when it ends on a
fallback no later answered turn resolved, else ``contained``.

The **baseline**, in the same run, is a retrieval bot with no intents: each customer turn
gets the agent reply of the nearest customer message of the training pairs (MiniLM cosine).
It sends replies as they were written, placeholders included (``{{Order Number}}``), which
no bot may send; the **sendable baseline** beside it takes the nearest reply that a
customer may receive once :func:`common.placeholders.sanitise` removed its placeholders
(the same rule as the bot's past-reply route, without intents or slots).
The report (JSON and Markdown) has per-intent and per-outcome tables and the 20 worst
conversations by mean similarity (ids and figures only, never texts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rouge_score import rouge_scorer

from bot.knowledge.outcome import ANSWER, DONT_KNOW, EXTRACT, knowledge_outcome
from bot.nlg.past_reply import PAST_REPLY_KEY, answered_a_form
from common.embeddings import Embedder, encode_matrix
from common.errors import TrainingDataError
from common.placeholders import fill_slots, sanitise
from training.ingest import Conversation, read_conversations

logger = logging.getLogger(__name__)

ANSWERED = "answered"
FALLBACK = "fallback"
KNOWLEDGE = "knowledge"
GENERATED = "generated"
PAST_REPLY = "past_reply"
HANDED_OFF = "handed_off"
CONTAINED = "contained"
ABANDONED = "abandoned"
FALLBACK_ACTIONS = frozenset(
    {"action_default_fallback", "utter_default", "utter_ask_rephrase", "action_two_stage_fallback"}
)
WORST = 20


@dataclass(frozen=True)
class BotTurn:
    """What the bot did with one customer message.

    Attributes:
        texts: The texts it sent.
        intent: The predicted intent (after the fallback classifier), if any.
        actions: The actions it ran after the message (``action_listen`` excluded).
        knowledge: The ``knowledge.outcome`` of its knowledge reply (``answer``,
            ``extract``, ``dont_know``...), when it answered from the knowledge base.
        past_reply: Whether a reply was a past agent reply (``past_reply`` metadata).
        form: Whether a form (an active loop) took the message: it answered the bot's
            question, so its NLU intent (often ``nlu_fallback`` for "it's 40417") says
            nothing about whether the bot understood it.

    """

    texts: tuple[str, ...]
    intent: str | None
    actions: tuple[str, ...]
    knowledge: str | None = None
    past_reply: bool = False
    form: bool = False

    @property
    def text(self) -> str:
        """The whole reply as one text."""
        return " ".join(t for t in self.texts if t)


class ConversationBot(Protocol):
    """A bot that answers one message of one conversation."""

    async def respond(self, sender_id: str, text: str) -> BotTurn:
        """Send ``text`` as ``sender_id`` and return the bot's turn."""
        ...


def turn_outcome(turn: BotTurn) -> str:
    """Classify a bot turn (see the module docstring)."""
    if "action_escalate" in turn.actions:
        return HANDED_OFF
    if turn.knowledge == DONT_KNOW:
        # The help centre had no answer and the bot said so: not understood, unresolved.
        return FALLBACK
    if "utter_knowledge_answer" in turn.actions or turn.knowledge in (ANSWER, EXTRACT):
        return KNOWLEDGE
    if turn.past_reply:
        return PAST_REPLY
    if "utter_generated" in turn.actions or "utter_past_reply" in turn.actions:
        return GENERATED
    if FALLBACK_ACTIONS & set(turn.actions) or not turn.text:
        return FALLBACK
    if turn.intent == "nlu_fallback" and not turn.form:
        return FALLBACK
    return ANSWERED


def conversation_outcome(outcomes: Sequence[str]) -> str:
    """``handed_off``, ``abandoned`` (ends on an unresolved fallback) or ``contained``."""
    if HANDED_OFF in outcomes:
        return HANDED_OFF
    if outcomes and outcomes[-1] == FALLBACK:
        return ABANDONED
    return CONTAINED


@dataclass
class TurnResult:
    """One replayed customer turn.

    Attributes:
        intent: The label, if any.
        predicted: The bot's intent.
        outcome: See :func:`turn_outcome`.
        latency_ms: Time of the bot's turn.
        cosine: MiniLM cosine of the bot's reply and the agent's (None: no agent reply).
        rouge_l: ROUGE-L F1 (0-1) of the same.
        baseline_cosine: The retrieval baseline's cosine.
        baseline_rouge_l: The retrieval baseline's ROUGE-L.
        sendable_baseline_cosine: The cosine of the baseline limited to replies a customer
            may receive (placeholders removed; replies that lose too much skipped).

    """

    intent: str | None
    predicted: str | None
    outcome: str
    latency_ms: float
    cosine: float | None = None
    rouge_l: float | None = None
    baseline_cosine: float | None = None
    baseline_rouge_l: float | None = None
    sendable_baseline_cosine: float | None = None


@dataclass
class ConversationResult:
    """One replayed conversation."""

    id: str
    outcome: str
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def mean_cosine(self) -> float:
        """Mean cosine over the scored turns (0 when none)."""
        scores = [t.cosine for t in self.turns if t.cosine is not None]
        return float(np.mean(scores)) if scores else 0.0


async def replay(
    conversations: Sequence[Conversation], bot: ConversationBot
) -> list[tuple[Conversation, list[tuple[str, str | None, str | None, BotTurn, float]]]]:
    """Send every customer turn to the bot, stopping a conversation after a handoff.

    Args:
        conversations: The held-out conversations.
        bot: The bot.

    Returns:
        Per conversation: ``(customer text, label, agent reply, bot turn, latency ms)`` per
        replayed customer turn.

    """
    replayed = []
    for conversation in conversations:
        sender = f"replay-{uuid.uuid4().hex[:12]}"
        turns = conversation.turns
        done = []
        for i, turn in enumerate(turns):
            if turn.role != "customer":
                continue
            agent = (
                turns[i + 1].text if i + 1 < len(turns) and turns[i + 1].role == "agent" else None
            )
            started = time.perf_counter()
            answer = await bot.respond(sender, turn.text)
            latency = (time.perf_counter() - started) * 1000.0
            done.append((turn.text, turn.intent, agent, answer, latency))
            if turn_outcome(answer) == HANDED_OFF:
                break
        replayed.append((conversation, done))
    return replayed


class RetrievalBaseline:
    """Answers with the agent reply of the nearest past customer message (no intents).

    :meth:`answer` gives two baselines from one search: the raw nearest reply,
    placeholders included (the issue's baseline), and the nearest reply a customer may
    receive, made safe by :func:`common.placeholders.sanitise` (no slot to fill, since this
    bot has no conversation state).

    Args:
        customers: Past customer messages.
        replies: The agent replies to them.
        embedder: Sentence encoder.

    """

    def __init__(
        self, customers: Sequence[str], replies: Sequence[str], embedder: Embedder
    ) -> None:
        if not customers:
            raise TrainingDataError("the retrieval baseline needs past pairs")
        self._replies = list(replies)
        self._sendable = [_sendable(r) for r in replies]
        self._usable = np.array([r is not None for r in self._sendable])
        self._embedder = embedder
        self._matrix = _unit(encode_matrix(embedder, list(customers)))

    def answer(self, texts: Sequence[str]) -> tuple[list[str], list[str]]:
        """The nearest past reply, and the nearest sendable one ("" if none), for each text."""
        scores = _unit(encode_matrix(self._embedder, list(texts))) @ self._matrix.T
        raw = [self._replies[int(i)] for i in np.argmax(scores, axis=1)]
        if not self._usable.any():
            return raw, ["" for _ in texts]
        scores[:, ~self._usable] = -np.inf
        return raw, [self._sendable[int(i)] or "" for i in np.argmax(scores, axis=1)]


def _sendable(reply: str) -> str | None:
    sanitised = sanitise(reply)
    return fill_slots(sanitised, {}) if sanitised is not None else None


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def score(
    replayed: Sequence[
        tuple[Conversation, list[tuple[str, str | None, str | None, BotTurn, float]]]
    ],
    embedder: Embedder,
    baseline: RetrievalBaseline | None,
) -> list[ConversationResult]:
    """Score every replayed turn against the agent's reply (and the baselines').

    Args:
        replayed: The output of :func:`replay`.
        embedder: Sentence encoder for the cosine.
        baseline: The retrieval baseline (raw and sendable), or None.

    Returns:
        One result per conversation.

    """
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    flat = [t for _, turns in replayed for t in turns]
    scored = [t for t in flat if t[2]]
    bot_texts = [t[3].text for t in scored]
    references = [str(t[2]) for t in scored]
    base_texts, safe_texts = (
        baseline.answer([t[0] for t in scored]) if baseline and scored else ([], [])
    )
    cos_bot: list[float] = []
    cos_base: list[float] = []
    cos_safe: list[float] = []
    if scored:
        ref = _unit(encode_matrix(embedder, references))
        cos_bot = list(np.sum(_unit(encode_matrix(embedder, bot_texts)) * ref, axis=1))
        if base_texts:
            cos_base = list(np.sum(_unit(encode_matrix(embedder, base_texts)) * ref, axis=1))
        if safe_texts:
            cos_safe = list(np.sum(_unit(encode_matrix(embedder, safe_texts)) * ref, axis=1))
    index = 0
    results = []
    for conversation, turns in replayed:
        result = ConversationResult(conversation.id, CONTAINED)
        for text, label, agent, answer, latency in turns:
            del text
            turn = TurnResult(label, answer.intent, turn_outcome(answer), latency)
            if agent:
                turn.cosine = float(cos_bot[index])
                turn.rouge_l = scorer.score(references[index], bot_texts[index])["rougeL"].fmeasure
                if base_texts:
                    turn.baseline_cosine = float(cos_base[index])
                    turn.baseline_rouge_l = scorer.score(references[index], base_texts[index])[
                        "rougeL"
                    ].fmeasure
                if safe_texts:
                    turn.sendable_baseline_cosine = float(cos_safe[index])
                index += 1
            result.turns.append(turn)
        result.outcome = conversation_outcome([t.outcome for t in result.turns])
        results.append(result)
    return results


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _summary(turns: Sequence[TurnResult]) -> dict[str, Any]:
    labelled = [t for t in turns if t.intent]
    return {
        "turns": len(turns),
        "intent_accuracy": (
            sum(t.intent == t.predicted for t in labelled) / len(labelled) if labelled else None
        ),
        "cosine": _mean([t.cosine for t in turns]),
        "rouge_l": _mean([t.rouge_l for t in turns]),
        "baseline_cosine": _mean([t.baseline_cosine for t in turns]),
        "baseline_rouge_l": _mean([t.baseline_rouge_l for t in turns]),
        "sendable_baseline_cosine": _mean([t.sendable_baseline_cosine for t in turns]),
        "outcomes": dict(sorted(Counter(t.outcome for t in turns).items())),
    }


def build_report(results: Sequence[ConversationResult], model: str) -> dict[str, Any]:
    """The report's data: overall, first turns, per intent, per outcome, worst conversations."""
    turns = [t for r in results for t in r.turns]
    first = [r.turns[0] for r in results if r.turns]
    latencies = [t.latency_ms for t in turns]
    by_intent: dict[str, list[TurnResult]] = defaultdict(list)
    by_outcome: dict[str, list[TurnResult]] = defaultdict(list)
    for t in turns:
        by_intent[t.intent or "(unlabelled)"].append(t)
        by_outcome[t.outcome].append(t)
    worst = sorted(results, key=lambda r: (r.mean_cosine, r.id))[:WORST]
    return {
        "model": model,
        "conversations": len(results),
        "conversation_outcomes": dict(sorted(Counter(r.outcome for r in results).items())),
        "containment": (
            sum(r.outcome == CONTAINED for r in results) / len(results) if results else None
        ),
        "all_turns": _summary(turns),
        "first_turns": _summary(first),
        "latency_ms": {
            "p50": statistics.median(latencies) if latencies else None,
            "p95": float(np.percentile(latencies, 95)) if latencies else None,
        },
        "per_intent": {k: _summary(v) for k, v in sorted(by_intent.items())},
        "per_outcome": {k: _summary(v) for k, v in sorted(by_outcome.items())},
        "worst": [
            {
                "id": r.id,
                "outcome": r.outcome,
                "turns": len(r.turns),
                "mean_cosine": round(r.mean_cosine, 4),
                "turn_outcomes": [t.outcome for t in r.turns],
                "intent_errors": sum(bool(t.intent) and t.intent != t.predicted for t in r.turns),
            }
            for r in worst
        ],
    }


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def report_markdown(report: dict[str, Any]) -> str:
    """The Markdown version of :func:`build_report`."""
    header = (
        "| {key} | turns | intent acc. % | cosine | ROUGE-L | baseline cosine | "
        "baseline ROUGE-L | sendable baseline cosine | outcomes |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )

    def row(name: str, s: dict[str, Any]) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in s["outcomes"].items())
        return (
            f"| {name} | {s['turns']} | {_fmt(s['intent_accuracy'], True)} | "
            f"{_fmt(s['cosine'])} | {_fmt(s['rouge_l'])} | {_fmt(s['baseline_cosine'])} | "
            f"{_fmt(s['baseline_rouge_l'])} | {_fmt(s.get('sendable_baseline_cosine'))} | "
            f"{outcomes} |"
        )

    lat = report["latency_ms"]
    lines = [
        f"# Conversation replay: {report['model']}",
        "",
        f"{report['conversations']} conversations: "
        + ", ".join(f"{k} {v}" for k, v in report["conversation_outcomes"].items())
        + f"; containment {_fmt(report['containment'], True)}%. Turn latency p50 "
        f"{_fmt(lat['p50'])} ms, p95 {_fmt(lat['p95'])} ms.",
        "",
        header.format(key="turns"),
        row("first turns", report["first_turns"]),
        row("all turns", report["all_turns"]),
        "",
        "## Per intent",
        "",
        header.format(key="intent"),
        *(row(k, v) for k, v in report["per_intent"].items()),
        "",
        "## Per outcome",
        "",
        header.format(key="outcome"),
        *(row(k, v) for k, v in report["per_outcome"].items()),
        "",
        f"## The {WORST} worst conversations (lowest mean cosine)",
        "",
        "| conversation | outcome | turns | mean cosine | intent errors | turn outcomes |",
        "|---|---|---:|---:|---:|---|",
        *(
            f"| {w['id']} | {w['outcome']} | {w['turns']} | {w['mean_cosine']:.3f} | "
            f"{w['intent_errors']} | {', '.join(w['turn_outcomes'])} |"
            for w in report["worst"]
        ),
        "",
    ]
    return "\n".join(lines)


class RasaAgentBot:
    """A trained Rasa model loaded in process (``rasa.core.agent``).

    Args:
        agent: A loaded :class:`rasa.core.agent.Agent`.

    """

    def __init__(self, agent: Any) -> None:
        self._agent = agent

    @classmethod
    async def load(
        cls, model: Path, actions_url: str | None = None, endpoints: Path | None = None
    ) -> RasaAgentBot:
        """Load a model (a ``.tar.gz`` or a folder of them, the newest is used).

        Args:
            model: The model.
            actions_url: The action server's webhook (``http://127.0.0.1:5055/webhook``).
            endpoints: An endpoints file whose ``nlg`` (and action endpoint) to use; its
                stores and event broker are ignored (the replay keeps trackers in memory).

        Returns:
            The bot.

        """
        from rasa.core.agent import load_agent
        from rasa.core.utils import AvailableEndpoints
        from rasa.model import get_local_model
        from rasa.utils.endpoints import EndpointConfig

        available = AvailableEndpoints()
        if endpoints is not None:
            read = AvailableEndpoints.read_endpoints(str(endpoints))
            available = AvailableEndpoints(nlg=read.nlg, action=read.action)
        if actions_url:
            available.action = EndpointConfig(url=actions_url)
        agent = await load_agent(model_path=get_local_model(str(model)), endpoints=available)
        if not agent.is_ready():
            raise TrainingDataError(f"{model}: the model could not be loaded")
        return cls(agent)

    async def respond(self, sender_id: str, text: str) -> BotTurn:
        """Send one message and read the bot's turn back from the tracker."""
        from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

        messages = await self._agent.handle_text(text, sender_id=sender_id) or []
        tracker = await self._agent.tracker_store.retrieve(sender_id)
        intent = None
        knowledge = None
        past_reply = False
        actions: list[str] = []
        for event in reversed(tracker.events if tracker else []):
            if isinstance(event, UserUttered):
                intent = (event.intent or {}).get("name")
                break
            if isinstance(event, ActionExecuted) and event.action_name != "action_listen":
                actions.append(str(event.action_name))
            if isinstance(event, BotUttered):
                if knowledge is None:
                    knowledge = knowledge_outcome(event.metadata)
                past_reply = past_reply or PAST_REPLY_KEY in (event.metadata or {})
        texts = tuple(str(m.get("text") or "") for m in messages)
        form = tracker is not None and answered_a_form(tracker)
        return BotTurn(texts, intent, tuple(reversed(actions)), knowledge, past_reply, form)


@dataclass(frozen=True)
class ReplayConfig:
    """One replay run.

    Attributes:
        model: The trained model (``.tar.gz`` or folder).
        conversations: Held-out conversations (any ingest format, e.g. build-bot's
            ``heldout/conversations.jsonl``).
        out: Output folder (``conversations.json``, ``conversations.md``).
        actions_url: The action server's webhook, if the bot uses custom actions.
        endpoints: Endpoints file for the NLG endpoint.
        pairs: Training pairs for the retrieval baseline (None: no baseline).
        limit: Only the first N conversations (0: all).

    """

    model: Path
    conversations: Path
    out: Path
    actions_url: str | None = None
    endpoints: Path | None = None
    pairs: Path | None = None
    limit: int = 0


def evaluate_conversations(
    config: ReplayConfig, embedder: Embedder | None = None, bot: ConversationBot | None = None
) -> dict[str, Any]:
    """Replay, score, and write the report.

    Args:
        config: The run.
        embedder: Sentence encoder; default: the packaged MiniLM.
        bot: The bot; default: :meth:`RasaAgentBot.load` of ``config.model``.

    Returns:
        The report's data.

    Raises:
        TrainingDataError: No conversation to replay, or the model cannot be loaded.

    """
    conversations = list(read_conversations(config.conversations))
    if config.limit:
        conversations = conversations[: config.limit]
    if not conversations:
        raise TrainingDataError(f"{config.conversations}: no conversation to replay")
    if embedder is None:
        from common.embeddings import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    baseline = None
    if config.pairs is not None:
        from bot.nlg.generation.pairs import read_pairs

        pairs = read_pairs(config.pairs)
        baseline = RetrievalBaseline(
            [p.customer for p in pairs], [p.agent for p in pairs], embedder
        )

    async def run() -> list[Any]:
        chosen = bot or await RasaAgentBot.load(config.model, config.actions_url, config.endpoints)
        return await replay(conversations, chosen)

    replayed = asyncio.run(run())
    results = score(replayed, embedder, baseline)
    report = build_report(results, config.model.name)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "conversations.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    (config.out / "conversations.md").write_text(report_markdown(report), encoding="utf-8")
    logger.info("replayed %d conversations: %s", len(results), report["conversation_outcomes"])
    return report
