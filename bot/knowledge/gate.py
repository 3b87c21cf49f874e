"""The answer gate: a knowledge answer goes out only if it is relevant and supported.

Every answer written from retrieved passages passes six checks before it is sent:

* **sources**: at least one passage matches the question (dense cosine at least
  ``min_source_cosine``); an answer written from nothing is not a knowledge answer;
* **answerable**: the knowledge base can answer the question: the calibrated probability
  of :mod:`bot.knowledge.answerability` (the best passage's cosine and the share of the
  question's words one passage holds) is at least ``min_answerable``. A fluent, relevant,
  supported answer to a question the help centre does not cover is still a guess;
* **relevance**: the calibrated MiniLM question-answer probability
  (:mod:`bot.knowledge.relevance`) is at least ``min_relevance``;
* **support**: every checkable item of the answer (numbers with their units, durations,
  prices, percentages, URLs, email addresses, order-like codes, product and other names,
  policy terms) appears in the passages (their text, title and source) or in the
  conversation (:mod:`bot.knowledge.claims`);
* **echo**: the answer says something the question did not: at least ``min_novelty`` of
  its content words (English stop words left out, plurals folded) are not the question's.
  A small model asked a question it cannot answer often writes the question back as a
  statement ("Can I wash a down jacket in a machine? You can wash a down jacket in a
  machine."), which reads as relevant and holds no checkable item, so the other checks
  pass it;
* **confidence**: the generator's mean token log-probability, the measure the guardrails
  use (:meth:`bot.nlg.generation.guardrails.Guardrails.confidence`), is at least
  ``min_mean_logprob``; unknown (None) passes, as in the guardrails.

All six run, so the decision lists every failure. When one fails, the decision says what
to send instead: an extract of the best passage (:class:`FallbackKind.EXTRACT`, the
passage's own sentences closest to the question, with its title and source to cite) when
the question is answerable (the same probability; for passages without a word coverage,
the best cosine at least ``extract_min_cosine``), else
:class:`FallbackKind.DONT_KNOW`: the caller says plainly that the bot does not know and
offers a person, raising the escalation trigger :data:`KNOWLEDGE_GAP_TRIGGER`.

The gate replaces none of the guardrails (PII, placeholders, length, promises,
degeneration): the caller runs those too. It is synchronous and CPU-bound (two small MiniLM
encodes): call it from an executor in async code.
"""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.knowledge import outcome
from bot.knowledge.answerability import DEFAULT_ANSWERABILITY, AnswerabilityModel, signals
from bot.knowledge.chunks import Chunk
from bot.knowledge.claims import DEFAULT_POLICY_TERMS, Claim, unsupported_claims
from bot.knowledge.extract import PassageExtract, extract_best
from bot.knowledge.relevance import RelevanceCalibration, RelevanceScorer
from bot.nlg.generation.guardrails import GuardConfig, Guardrails
from common.embeddings import Embedder
from common.errors import ConfigError

try:  # scikit-learn is a dependency (the intent classifier's lexical expert)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as _STOP_WORDS
except ImportError:  # pragma: no cover - only without scikit-learn
    _STOP_WORDS = frozenset()

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

logger = logging.getLogger(__name__)

KNOWLEDGE_GAP_TRIGGER = "knowledge_gap"
"""The escalation trigger for "the bot does not know" (for ``bot/escalation`` to name)."""


class FallbackKind(str, enum.Enum):
    """What to send when the gate stops an answer."""

    EXTRACT = outcome.EXTRACT
    """An extract of the best passage, cited."""
    DONT_KNOW = outcome.DONT_KNOW
    """An honest "I don't know" and the offer of a person (:data:`KNOWLEDGE_GAP_TRIGGER`)."""


@dataclass(frozen=True)
class GateConfig:
    """The gate's thresholds.

    The defaults are starting points, to be tuned on the evaluation's development half
    (never its test half):

    Attributes:
        min_relevance: Lowest calibrated relevance probability. 0.5 is the calibration's
            own border (with the default calibration, a cosine of 0.26).
        min_mean_logprob: Lowest mean token log-probability. Stricter than the
            guardrails' -2.5: an answer written from passages mostly copies them, which a
            fine-tuned model does confidently; a low value means it wrote from elsewhere.
        min_source_cosine: A passage must reach this dense cosine for the answer to count
            as written from the knowledge base. 0.3 is about where MiniLM's cosine between
            a question and an unrelated support text ends (the relevance module's figures).
        min_answerable: Lowest probability that the knowledge base answers the question
            (:mod:`bot.knowledge.answerability`), for an answer and for the extract sent
            instead of one. 0.75 was chosen on the sample question set's development half
            (10-fold cross-validated): 87% of answerable questions get an answer or an
            extract and 86% of unanswerable ones the honest reply, where the best cosine
            alone at 0.5 gave 84% and 70% (docs/knowledge.md).
        extract_min_cosine: Used only for passages without a word coverage (built by other
            code than :class:`~bot.knowledge.index.KnowledgeIndex`): the best passage must
            reach this cosine for its extract to be sent. 0.5 is near the median cosine of
            a question and its true reply (0.54 on the sample pairs).
        extract_max_chars: Longest extract, in characters (fits a chat bubble and a
            Telegram message; the channel adapter may shorten it further).
        policy_terms: Policy phrases an answer may only use where a source does.
        check_names: Whether capitalised multi-word names outside the product list are
            claims (turn off for a knowledge base that capitalises common phrases).
        min_novelty: Lowest share of the answer's content words that are not the
            question's (the echo check). At 0.3, an answer that restates the question fails
            when fewer than about one content word in three is new ("You can wash a down
            jacket in a machine." to "can I wash a down jacket in a machine?": 0 new); a
            short answer that names one thing the question did not (a country, a number)
            passes. 0 turns the check off.
    """

    min_relevance: float = 0.5
    min_mean_logprob: float = -1.5
    min_source_cosine: float = 0.3
    min_answerable: float = 0.75
    extract_min_cosine: float = 0.5
    extract_max_chars: int = 320
    policy_terms: tuple[str, ...] = DEFAULT_POLICY_TERMS
    check_names: bool = True
    min_novelty: float = 0.3

    def __post_init__(self) -> None:
        for name in ("min_relevance", "min_answerable"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"answer gate: {name} must be within [0, 1]")
        if math.isnan(self.min_mean_logprob) or self.min_mean_logprob > 0:
            raise ConfigError("answer gate: min_mean_logprob must be a number <= 0")
        for name in ("min_source_cosine", "extract_min_cosine"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ConfigError(f"answer gate: {name} must be within [-1, 1]")
        if not 0.0 <= self.min_novelty <= 1.0:
            raise ConfigError("answer gate: min_novelty must be within [0, 1]")
        if self.extract_max_chars < 40:
            raise ConfigError("answer gate: extract_max_chars must be at least 40")
        if any(not isinstance(t, str) or not t.strip() for t in self.policy_terms):
            raise ConfigError("answer gate: policy_terms must be non-empty strings")


@dataclass(frozen=True)
class GatePassage:
    """A retrieved passage and how well it matches the question.

    Attributes:
        chunk: The passage.
        cosine: Its dense cosine similarity to the question (not a fused rank score).
        coverage: The IDF-weighted share of the question's words it holds
            (:attr:`bot.knowledge.index.Hit.coverage`); None when not measured.
    """

    chunk: Chunk
    cosine: float
    coverage: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: ``sources``, ``relevance``, ``support`` or ``confidence``.
        passed: Whether the answer passed it.
        reason: Why it failed, in words ("" when it passed).
    """

    name: str
    passed: bool
    reason: str = ""


@dataclass(frozen=True)
class GateDecision:
    """Whether to send an answer and, if not, what to send instead.

    Attributes:
        send: Whether the answer may go out (its guardrails permitting).
        checks: Every check's result, in the order run.
        fallback: What to send instead (None when ``send``).
        extract: The passage extract for :class:`FallbackKind.EXTRACT`.
        trigger: :data:`KNOWLEDGE_GAP_TRIGGER` for :class:`FallbackKind.DONT_KNOW`.
        relevance: The calibrated relevance probability.
        unsupported: The answer's items that no source backs.
        answerability: The probability that the knowledge base answers the question
            (None when the passages carry no word coverage).
    """

    send: bool
    checks: tuple[CheckResult, ...]
    fallback: FallbackKind | None = None
    extract: PassageExtract | None = None
    trigger: str | None = None
    relevance: float | None = None
    unsupported: tuple[Claim, ...] = ()
    answerability: float | None = None

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the failed checks."""
        return tuple(c.name for c in self.checks if not c.passed)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why each failed check failed."""
        return tuple(f"{c.name}: {c.reason}" for c in self.checks if not c.passed)


def passage_texts(passages: Sequence[GatePassage]) -> list[str]:
    """Return what the passages say, for the support check: text, title, section, source."""
    texts = []
    for passage in passages:
        chunk = passage.chunk
        texts += [chunk.title, chunk.section, chunk.source, chunk.text]
    return [t for t in texts if t]


class AnswerGate:
    """Checks knowledge answers before they are sent.

    Args:
        embedder: The sentence encoder (MiniLM in production, the one retrieval uses).
        calibration: The relevance calibration (default: the documented defaults).
        config: The thresholds.
        answerability: The answerability model (default: :data:`DEFAULT_ANSWERABILITY`).
    """

    def __init__(
        self,
        embedder: Embedder,
        calibration: RelevanceCalibration | None = None,
        config: GateConfig | None = None,
        answerability: AnswerabilityModel | None = None,
    ) -> None:
        self.config = config or GateConfig()
        self.answerability_model = answerability or DEFAULT_ANSWERABILITY
        self.embedder = embedder
        self.scorer = RelevanceScorer(embedder, calibration)
        # The guardrails' own confidence check, with the gate's (stricter) floor.
        self._guards = Guardrails(GuardConfig(min_mean_logprob=self.config.min_mean_logprob))

    def sources(self, passages: Sequence[GatePassage]) -> CheckResult:
        """Check that some passage matches the question."""
        best = max((p.cosine for p in passages), default=None)
        if best is None:
            return CheckResult("sources", False, "no passage was retrieved")
        if best < self.config.min_source_cosine:
            return CheckResult(
                "sources",
                False,
                f"best passage cosine {best:.2f} < {self.config.min_source_cosine:.2f}",
            )
        return CheckResult("sources", True)

    def answerability(self, passages: Sequence[GatePassage]) -> float | None:
        """Return P(the knowledge base answers the question), from the passages' signals.

        Args:
            passages: The retrieved passages.

        Returns:
            The probability; None when no passage carries a word coverage.
        """
        found = signals(passages)
        return None if found is None else self.answerability_model.probability(*found)

    def answerable(self, passages: Sequence[GatePassage]) -> tuple[CheckResult, float | None]:
        """Check that the knowledge base can answer the question.

        Without word coverage, the best passage's cosine must reach ``extract_min_cosine``.

        Returns:
            The result and the probability (None without word coverage).
        """
        probability = self.answerability(passages)
        if probability is None:
            best = max((p.cosine for p in passages), default=None)
            if best is None or best < self.config.extract_min_cosine:
                shown = "none" if best is None else f"{best:.2f}"
                reason = f"best passage cosine {shown} < {self.config.extract_min_cosine:.2f}"
                return CheckResult("answerable", False, reason), None
            return CheckResult("answerable", True), None
        if probability < self.config.min_answerable:
            reason = f"answerability {probability:.2f} < {self.config.min_answerable:.2f}"
            return CheckResult("answerable", False, reason), probability
        return CheckResult("answerable", True), probability

    def relevance(self, question: str, answer: str) -> tuple[CheckResult, float]:
        """Check that the answer addresses the question.

        Returns:
            The result and the calibrated probability.
        """
        score = self.scorer.score(question, answer)
        if score.probability < self.config.min_relevance:
            reason = (
                f"relevance {score.probability:.2f} < {self.config.min_relevance:.2f} "
                f"(cosine {score.cosine:.2f})"
            )
            return CheckResult("relevance", False, reason), score.probability
        return CheckResult("relevance", True), score.probability

    def support(
        self,
        answer: str,
        passages: Sequence[GatePassage],
        conversation: Sequence[str] = (),
        product_names: Iterable[str] = (),
    ) -> tuple[CheckResult, tuple[Claim, ...]]:
        """Check that every checkable item of the answer is in the passages or conversation.

        Returns:
            The result and the unsupported items (each once, in the order found).
        """
        missing = unsupported_claims(
            answer,
            [*passage_texts(passages), *conversation],
            product_names,
            self.config.policy_terms,
            self.config.check_names,
        )
        if missing:
            listed = ", ".join(f"{c.kind} '{c.text}'" for c in missing)
            return CheckResult("support", False, f"not in the sources: {listed}"), tuple(missing)
        return CheckResult("support", True), ()

    def echo(self, question: str, answer: str) -> CheckResult:
        """Check that the answer adds to the question rather than restating it.

        Args:
            question: The customer's question.
            answer: The written answer.

        Returns:
            The ``echo`` check's result.
        """
        share = novelty(question, answer)
        if share < self.config.min_novelty:
            reason = (
                f"the answer mostly restates the question ({share:.0%} of its content words "
                f"are new, below {self.config.min_novelty:.0%})"
            )
            return CheckResult("echo", False, reason)
        return CheckResult("echo", True)

    def confidence(self, mean_logprob: float | None) -> CheckResult:
        """Check the generator's mean token log-probability (None: unknown, passes)."""
        if self._guards.confidence(mean_logprob):
            reason = f"mean log-probability {mean_logprob:.2f} < {self.config.min_mean_logprob:.2f}"
            return CheckResult("confidence", False, reason)
        return CheckResult("confidence", True)

    def fallback(self, question: str, passages: Sequence[GatePassage]) -> GateDecision:
        """Decide what to send instead of an answer; only the ``answerable`` check runs.

        Args:
            question: The customer's question.
            passages: The retrieved passages, best first (the extract comes from the first
                one's document).

        Returns:
            A decision with ``send`` False and the extract or don't-know fallback.
        """
        answerable, answerability = self.answerable(passages)
        return self._fallback(question, passages, (answerable,), None, (), answerability)

    def check(
        self,
        question: str,
        answer: str,
        passages: Sequence[GatePassage],
        conversation: Sequence[str] = (),
        mean_logprob: float | None = None,
        product_names: Iterable[str] = (),
    ) -> GateDecision:
        """Run every check on an answer and decide.

        Args:
            question: The customer's question.
            answer: The generated answer (before channel adaptation).
            passages: The retrieved passages with their dense cosines to the question, best first.
            conversation: The conversation's earlier texts (customer and bot); items the
                customer wrote (an order number) may be repeated back.
            mean_logprob: The generator's mean token log-probability, if known.
            product_names: Known product names (e.g. collected from chunk titles).

        Returns:
            The decision.
        """
        relevance_check, probability = self.relevance(question, answer)
        support_check, unsupported = self.support(answer, passages, conversation, product_names)
        answerable_check, answerability = self.answerable(passages)
        checks = (
            self.sources(passages),
            answerable_check,
            relevance_check,
            support_check,
            self.echo(question, answer),
            self.confidence(mean_logprob),
        )
        if all(c.passed for c in checks):
            return GateDecision(True, checks, relevance=probability, answerability=answerability)
        return self._fallback(question, passages, checks, probability, unsupported, answerability)

    def _fallback(
        self,
        question: str,
        passages: Sequence[GatePassage],
        checks: tuple[CheckResult, ...],
        probability: float | None,
        unsupported: tuple[Claim, ...],
        answerability: float | None,
    ) -> GateDecision:
        failed = ",".join(c.name for c in checks if not c.passed) or "none"
        answerable = all(c.passed for c in checks if c.name == "answerable")
        if passages and answerable:
            extract = extract_best(
                question,
                [(p.chunk, p.cosine) for p in passages],
                self.embedder,
                self.config.extract_max_chars,
            )
            if extract is not None and extract.text:
                logger.info(
                    "Answer gate: failed %s; extract of chunk %s.", failed, extract.chunk_id
                )
                return GateDecision(
                    False,
                    checks,
                    FallbackKind.EXTRACT,
                    extract=extract,
                    relevance=probability,
                    unsupported=unsupported,
                    answerability=answerability,
                )
        logger.info("Answer gate: failed %s; not answerable, knowledge gap.", failed)
        return GateDecision(
            False,
            checks,
            FallbackKind.DONT_KNOW,
            trigger=KNOWLEDGE_GAP_TRIGGER,
            relevance=probability,
            unsupported=unsupported,
            answerability=answerability,
        )


def content_words(text: str) -> set[str]:
    """The words of a text that carry content.

    Lower-cased, English stop words left out, a plural ``s`` folded (``jackets`` ->
    ``jacket``).

    Args:
        text: Any text.

    Returns:
        The set of content words.
    """
    words = set()
    for word in _WORD_RE.findall(text.lower()):
        if word in _STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


def novelty(question: str, answer: str) -> float:
    """Share of the answer's content words that the question does not hold.

    Args:
        question: The customer's question.
        answer: The written answer.

    Returns:
        A value in [0, 1]; 0 for an answer with no content word at all ("It is.").
    """
    said = content_words(answer)
    if not said:
        return 0.0
    return len(said - content_words(question)) / len(said)
