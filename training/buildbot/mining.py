"""Pick each intent's response from the agents' replies, and choose how the bot answers it.

**Reply choice** (:func:`choose_reply`): the replies (redacted) are embedded with MiniLM and
clustered by average linkage, cut at cosine distance ``cluster_distance`` (0.3: members of a
cluster are on average at least 0.7 similar). The response is the *medoid* of the largest
cluster that has a member that can be sent (the member with the highest total similarity to
the others, among those that can be sent), and the next most central sendable members are
its variants.

**Cohesion** is the share of the intent's replies that fall in that cluster: 1.0 when
every agent said the same thing, ``1/n`` when no two replies agree. A response needs
cohesion of at least ``min_cohesion`` (0.5: most agents said it) and ``min_support``
replies behind it.

**Placeholders never reach a customer** (:func:`common.placeholders.sanitise`): a
placeholder a slot can fill (``[ORDER_ID_1]``, ``{{Order Number}}``) becomes ``{order_number}``
and the intent gets a form that asks for the slot first; a sentence with any other
placeholder (a name, ``{{Support Hours}}``) is dropped, and a reply that loses too much is not
a candidate at all.

**Routes** (:func:`plan_intent`), in order:

1. ``handoff``: agents handed at least ``handoff_share`` of the conversations over;
2. ``slot_request``: agents' first reply asked for the same thing (an order number) in at
   least ``slot_share`` of the conversations, or the chosen response needs a slot; the bot
   asks with the agents' most typical question, then answers with the agents' most typical
   reply after it (or the past-reply or knowledge route when those disagree, see below);
3. ``response``: a cohesive, sendable response;
4. the replies disagree too much (low cohesion): ``knowledge`` with a knowledge base, else
   ``past_reply``: the bot answers with the agents' reply to the nearest past question of
   the intent (:mod:`bot.nlg.past_reply`; generated when no past reply is near enough or
   sendable). Without a knowledge base a cohesive intent goes there too when the
   **leave-one-out estimate** (:func:`estimate_replies`) says that, on the intent's own
   conversations, the nearest other customer's reply matches what the agent said better
   than the one fixed response, by more than ``past_reply_margin`` and by more than two
   standard errors;
5. ``generation`` (or ``knowledge``): no reply can be sent at all.

After a slot request, replies that disagree go to ``knowledge`` (with a knowledge base) or
to ``past_reply``: the customer's answer is matched against other customers' answers to
the question (the NLG endpoint searches without an intent after a form), and the agents'
reply to the nearest one is sent, its slots filled.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from common.embeddings import Embedder, encode_matrix
from common.errors import ConfigError
from common.placeholders import Sanitised, sanitise
from training.buildbot.flows import Flow
from training.buildbot.signals import asked_slot, is_handoff
from training.discover.cluster import ClusterConfig, cluster_embeddings, normalise

RESPONSE = "response"
SLOT_REQUEST = "slot_request"
KNOWLEDGE = "knowledge"
GENERATION = "generation"
PAST_REPLY = "past_reply"
HANDOFF = "handoff"
ROUTES = (RESPONSE, SLOT_REQUEST, KNOWLEDGE, PAST_REPLY, GENERATION, HANDOFF)


@dataclass(frozen=True)
class MiningConfig:
    """Thresholds of reply choice and routing (documented in docs/build-bot.md).

    Attributes:
        cluster_distance: Average-linkage cut, in cosine distance, of the reply clusters.
        min_cohesion: Least share of an intent's replies in the largest cluster for a response.
        min_support: Least number of replies in that cluster.
        handoff_share: Share of conversations handed over that routes an intent to handoff.
        slot_share: Share of first replies asking for one slot that makes a slot request.
        variants: Most extra variants kept beside the medoid.
        max_replies: Replies sampled per intent (clustering is quadratic).
        min_kept: Share of a reply's characters that must survive placeholder removal.
        seed: Seeds the sample.
        past_reply_margin: Without a knowledge base, a cohesive intent still takes the
            past-reply route when its leave-one-out past-reply cosine beats its fixed
            response's by more than this; ``None`` never (cohesion alone decides).
        estimate_conversations: Conversations per intent the estimate samples.

    """

    cluster_distance: float = 0.3
    min_cohesion: float = 0.5
    min_support: int = 2
    handoff_share: float = 0.5
    slot_share: float = 0.5
    variants: int = 3
    max_replies: int = 400
    min_kept: float = 0.6
    seed: int = 42
    past_reply_margin: float | None = 0.02
    estimate_conversations: int = 200

    def __post_init__(self) -> None:
        for name in ("min_cohesion", "handoff_share", "slot_share", "min_kept"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1]")
        if not 0.0 < self.cluster_distance < 2.0:
            raise ConfigError("cluster_distance must be in (0, 2)")
        if self.min_support < 1 or self.variants < 0 or self.max_replies < 2:
            raise ConfigError("min_support >= 1, variants >= 0 and max_replies >= 2 required")
        if self.past_reply_margin is not None and not -1.0 < self.past_reply_margin < 1.0:
            raise ConfigError("past_reply_margin must be in (-1, 1) or null")
        if self.estimate_conversations < 2:
            raise ConfigError("estimate_conversations must be at least 2")


@dataclass(frozen=True)
class ReplyChoice:
    """The response chosen from a set of replies.

    Attributes:
        text: The sendable medoid (``{slot}`` interpolations allowed), or None if no reply
            can be sent.
        variants: Further sendable members, most central first.
        slots: Slots that ``text`` interpolates.
        support: Replies in the chosen cluster (the largest with a sendable member).
        total: Replies considered.
        cohesion: ``support / total``.
        similarity: Mean cosine similarity of the cluster's members to the medoid.
        clusters: How many clusters the replies formed.
        refused: Replies that could not be sent (placeholders no slot fills).

    """

    text: str | None
    variants: tuple[str, ...]
    slots: tuple[str, ...]
    support: int
    total: int
    cohesion: float
    similarity: float
    clusters: int
    refused: int

    def to_dict(self) -> dict[str, object]:
        """The choice as JSON-ready data."""
        return {
            "text": self.text,
            "variants": list(self.variants),
            "slots": list(self.slots),
            "support": self.support,
            "total": self.total,
            "cohesion": round(self.cohesion, 4),
            "similarity": round(self.similarity, 4),
            "clusters": self.clusters,
            "refused_placeholder": self.refused,
        }


@dataclass(frozen=True)
class IntentPlan:
    """How the bot answers one intent, and why.

    Attributes:
        intent: The intent.
        conversations: Conversations it opens (with an agent reply).
        route: One of :data:`ROUTES`.
        reason: Why that route.
        response: The reply chosen from the agents' first replies (or, for a slot request,
            from their replies after the customer answered).
        slot: The slot asked for (slot request only).
        question: The question that asks for it.
        after_slot: Slot request only: how the bot answers once the slot is given
            (``response`` with :attr:`response`, else ``knowledge`` or ``past_reply``).
        left_out: What was not used, and why.

    """

    intent: str
    conversations: int
    route: str
    reason: str
    response: ReplyChoice | None = None
    slot: str | None = None
    question: str | None = None
    after_slot: str | None = None
    left_out: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The plan as JSON-ready data."""
        return {
            "intent": self.intent,
            "conversations": self.conversations,
            "route": self.route,
            "reason": self.reason,
            "response": self.response.to_dict() if self.response else None,
            "slot": self.slot,
            "question": self.question,
            "after_slot": self.after_slot,
            "left_out": list(self.left_out),
        }


def choose_reply(
    replies: Sequence[str],
    embedder: Embedder,
    config: MiningConfig,
    *,
    allowed_slots: frozenset[str] | None = None,
) -> ReplyChoice:
    """Cluster the replies and take the sendable medoid of the largest cluster.

    Args:
        replies: Redacted agent replies (at least one).
        embedder: Sentence encoder.
        config: Thresholds.
        allowed_slots: Slots the response may interpolate; None: any slot.

    Returns:
        The choice (``text`` None when nothing in the largest cluster can be sent).

    Raises:
        ConfigError: If ``replies`` is empty.

    """
    if not replies:
        raise ConfigError("choose_reply needs at least one reply")
    sample = list(replies)
    if len(sample) > config.max_replies:
        sample = random.Random(config.seed).sample(sample, config.max_replies)
    sendable: list[Sanitised | None] = [sanitise(r, config.min_kept) for r in sample]
    if allowed_slots is not None:
        sendable = [s if s and set(s.slots) <= allowed_slots else None for s in sendable]
    refused = sum(s is None for s in sendable)
    vectors = normalise(encode_matrix(embedder, sample))
    if len(sample) == 1:
        labels = np.zeros(1, dtype=int)
        n_clusters = 1
    else:
        clustering = cluster_embeddings(
            vectors,
            ClusterConfig(
                distance_threshold=config.cluster_distance,
                linkage="average",
                min_cluster_size=1,
                sample_size=max(2, len(sample)),
                seed=config.seed,
            ),
        )
        labels, n_clusters = clustering.labels, clustering.n_clusters
    # The largest cluster with a member that can be sent (clusters are numbered by size).
    members = np.flatnonzero(labels == 0)
    for label in range(int(n_clusters)):
        candidates = np.flatnonzero(labels == label)
        if any(sendable[int(i)] is not None for i in candidates):
            members = candidates
            break
    sims = vectors[members] @ vectors[members].T
    centrality = sims.sum(axis=1)
    order = [int(members[i]) for i in np.argsort(-centrality, kind="stable")]
    chosen = [i for i in order if sendable[i] is not None]
    texts: list[str] = []
    for i in chosen:
        candidate = sendable[i]
        if candidate is not None and candidate.text not in texts:
            texts.append(candidate.text)
        if len(texts) > config.variants:
            break
    first = sendable[chosen[0]] if chosen else None
    medoid = int(np.argmax(centrality))
    others = [j for j in range(len(members)) if j != medoid]
    similarity = float(np.mean(sims[medoid, others])) if others else 1.0
    return ReplyChoice(
        text=texts[0] if texts else None,
        variants=tuple(texts[1:]),
        slots=first.slots if first else (),
        support=len(members),
        total=len(sample),
        cohesion=len(members) / len(sample),
        similarity=similarity,
        clusters=int(n_clusters),
        refused=refused,
    )


@dataclass(frozen=True)
class ReplyEstimate:
    """How well each way of answering an intent matched its agents, left one out.

    Attributes:
        response: Mean cosine of the fixed response to each agent's reply.
        past_reply: Mean cosine, over the conversations, of the sendable reply to the
            nearest *other* customer's opener to the agent's own reply.
        conversations: Conversations the means are over.
        standard_error: Standard error of the mean per-conversation difference (past reply
            minus response): the two are scored on the same conversations, so paired.
    """

    response: float
    past_reply: float
    conversations: int
    standard_error: float

    def past_reply_wins(self, margin: float) -> bool:
        """Whether past replies beat the response clearly enough to replace it.

        By more than ``margin`` and by more than two standard errors (a one-sided paired
        test at about 97.5%): on a handful of conversations a chance difference must not
        move an intent off its response.

        Args:
            margin: The least gain in mean cosine.

        Returns:
            True when the past-reply route should answer the intent.
        """
        gain = self.past_reply - self.response
        return gain > margin and gain > 2.0 * self.standard_error


def estimate_replies(
    flows: Sequence[Flow], response: str, embedder: Embedder, config: MiningConfig
) -> ReplyEstimate | None:
    """Estimate, on an intent's own conversations, a fixed response against past replies.

    For each conversation (at most ``estimate_conversations``, sampled with ``seed``), the
    past reply is what the runtime would send: the reply, sanitised as the past-reply route
    sanitises it, of the nearest other customer's opener whose reply can be sent. Both are
    scored by MiniLM cosine to the agent's actual reply. Only training conversations are
    used; nothing held out.

    Args:
        flows: The intent's conversations.
        response: The fixed response the cohesion rule chose.
        embedder: Sentence encoder.
        config: Thresholds (``min_kept``, the sample size and seed).

    Returns:
        The estimate, or None with fewer than two conversations with a sendable reply.
    """
    sample = list(flows)
    if len(sample) > config.estimate_conversations:
        sample = random.Random(config.seed).sample(sample, config.estimate_conversations)
    sendable = [sanitise(f.opener.agent, config.min_kept) for f in sample]
    usable = [(i, s.text) for i, s in enumerate(sendable) if s is not None]
    if len(usable) < 2:
        return None
    openers = normalise(encode_matrix(embedder, [f.opener.customer for f in sample]))
    actual = normalise(encode_matrix(embedder, [f.opener.agent for f in sample]))
    candidates = normalise(encode_matrix(embedder, [response] + [text for _, text in usable]))
    fixed = actual @ candidates[0]
    similarity = openers @ openers[[i for i, _ in usable]].T
    for row, (i, _) in enumerate(usable):
        similarity[i, row] = -np.inf  # never one's own reply
    nearest = np.argmax(similarity, axis=1)
    past = np.sum(actual * candidates[1:][nearest], axis=1)
    difference = past - fixed
    error = float(np.std(difference, ddof=1) / np.sqrt(len(difference)))
    return ReplyEstimate(float(np.mean(fixed)), float(np.mean(past)), len(sample), error)


def mine_questions(
    flows: Sequence[Flow], embedder: Embedder, config: MiningConfig
) -> dict[str, str]:
    """The agents' most typical question for each slot they ask for in a first reply.

    Args:
        flows: Every conversation.
        embedder: Sentence encoder.
        config: Thresholds.

    Returns:
        Slot -> the question (sendable; no placeholder).

    """
    asked: dict[str, list[str]] = {}
    for flow in flows:
        slot = asked_slot(flow.opener.agent)
        if slot:
            asked.setdefault(slot, []).append(flow.opener.agent)
    questions = {}
    for slot, replies in sorted(asked.items()):
        choice = choose_reply(replies, embedder, config, allowed_slots=frozenset())
        if choice.text:
            questions[slot] = choice.text
    return questions


def template_question(slot: str) -> str:
    """The question used when no agent ever asked for ``slot`` in a first reply."""
    return f"Could you tell me your {slot.replace('_', ' ')}, please?"


def plan_intent(
    intent: str,
    flows: Sequence[Flow],
    embedder: Embedder,
    config: MiningConfig,
    *,
    questions: Mapping[str, str],
    knowledge: bool,
) -> IntentPlan:
    """Choose the route and the response of one intent from its conversations.

    Args:
        intent: The intent.
        flows: Conversations that the intent opens (at least one).
        embedder: Sentence encoder.
        config: Thresholds.
        questions: Mined questions per slot (:func:`mine_questions`).
        knowledge: Whether a knowledge base is built (low-cohesion intents go there;
            without one they go to the past-reply route).

    Returns:
        The plan.

    """
    total = len(flows)
    fallback_route = KNOWLEDGE if knowledge else GENERATION
    # Where replies that disagree go: the help centre, else the agents' nearest past reply.
    disagree_route = KNOWLEDGE if knowledge else PAST_REPLY
    handed = sum(any(is_handoff(e.agent) for e in flow.exchanges[:2]) for flow in flows)
    if handed / total >= config.handoff_share:
        return IntentPlan(
            intent,
            total,
            HANDOFF,
            f"agents handed {handed} of {total} conversations over (>= {config.handoff_share:.0%})",
        )
    asks = Counter(slot for flow in flows if (slot := asked_slot(flow.opener.agent)))
    if asks:
        slot, count = asks.most_common(1)[0]
        if count / total >= config.slot_share:
            return _slot_plan(
                intent, flows, slot, count, embedder, config, questions, disagree_route
            )
    choice = choose_reply([f.opener.agent for f in flows], embedder, config)
    left_out = _left_out(choice)
    if choice.text is None:
        return IntentPlan(
            intent,
            total,
            fallback_route,
            "no reply can be sent: each has a placeholder no slot fills",
            choice,
            left_out=left_out,
        )
    if choice.cohesion < config.min_cohesion or choice.support < config.min_support:
        return IntentPlan(
            intent,
            total,
            disagree_route,
            f"low cohesion: {choice.support} of {choice.total} replies agree "
            f"({choice.cohesion:.2f} < {config.min_cohesion} or fewer than "
            f"{config.min_support})",
            choice,
            left_out=left_out,
        )
    if not knowledge and config.past_reply_margin is not None and not choice.slots:
        estimate = estimate_replies(flows, choice.text, embedder, config)
        if estimate is not None and estimate.past_reply_wins(config.past_reply_margin):
            return IntentPlan(
                intent,
                total,
                PAST_REPLY,
                f"{choice.support} of {choice.total} replies agree, but the nearest past "
                f"reply matched the agents better than one fixed response (leave-one-out "
                f"cosine {estimate.past_reply:.2f} against {estimate.response:.2f} on "
                f"{estimate.conversations} conversations, standard error "
                f"{estimate.standard_error:.3f})",
                choice,
                left_out=left_out,
            )
    if choice.slots:
        slot = choice.slots[0]
        question = questions.get(slot) or template_question(slot)
        return IntentPlan(
            intent,
            total,
            SLOT_REQUEST,
            f"the response needs {slot}: the bot asks for it first"
            + ("" if slot in questions else " (template question: agents never asked for it)"),
            choice,
            slot=slot,
            question=question,
            after_slot=RESPONSE,
            left_out=left_out,
        )
    return IntentPlan(
        intent,
        total,
        RESPONSE,
        f"{choice.support} of {choice.total} replies agree (cohesion {choice.cohesion:.2f})",
        choice,
        left_out=left_out,
    )


def _slot_plan(
    intent: str,
    flows: Sequence[Flow],
    slot: str,
    count: int,
    embedder: Embedder,
    config: MiningConfig,
    questions: Mapping[str, str],
    fallback_route: str,
) -> IntentPlan:
    total = len(flows)
    asking = [f for f in flows if asked_slot(f.opener.agent) == slot]
    question = questions.get(slot) or template_question(slot)
    after = [f.exchanges[1].agent for f in asking if len(f.exchanges) > 1]
    reason = f"agents asked for {slot} first in {count} of {total} conversations"
    if not after:
        return IntentPlan(
            intent,
            total,
            SLOT_REQUEST,
            reason + f"; no reply after it to mine, so the {fallback_route} route answers",
            None,
            slot=slot,
            question=question,
            after_slot=fallback_route,
        )
    choice = choose_reply(after, embedder, config, allowed_slots=frozenset({slot}))
    if choice.text is None or choice.cohesion < config.min_cohesion:
        return IntentPlan(
            intent,
            total,
            SLOT_REQUEST,
            reason + f"; their replies after it disagree (cohesion {choice.cohesion:.2f}) or "
            f"cannot be sent, so the {fallback_route} route answers",
            choice,
            slot=slot,
            question=question,
            after_slot=fallback_route,
            left_out=_left_out(choice),
        )
    return IntentPlan(
        intent,
        total,
        SLOT_REQUEST,
        reason + f"; then {choice.support} of {choice.total} replies agree",
        choice,
        slot=slot,
        question=question,
        after_slot=RESPONSE,
        left_out=_left_out(choice),
    )


def _left_out(choice: ReplyChoice) -> list[str]:
    notes = []
    outside = choice.total - choice.support
    if outside:
        notes.append(f"{outside} replies outside the largest cluster ({choice.clusters} clusters)")
    if choice.refused:
        notes.append(f"{choice.refused} replies with a placeholder no slot fills")
    return notes
