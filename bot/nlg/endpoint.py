"""Rasa NLG endpoint: domain responses and generated replies, adapted to each channel.

Enable it in ``endpoints.yml``::

    nlg:
      type: bot.nlg.endpoint.ChannelAwareNLG
      generate_for: [utter_generated]          # responses the generator writes
      fallback_response: utter_generation_fallback
      timeout_s: 30
      workers: 1
      torch_threads: 0                         # 0: one core less than the machine has
      past_reply_for: [utter_past_reply]       # answered with the nearest past agent reply
      past_reply: {min_score: 0.35}            # bot.nlg.past_reply.PastReplySettings

For every response Rasa asks for, :class:`ChannelAwareNLG`:

1. takes the domain response (Rasa's templated generator), or, for the responses in
   ``generate_for``, runs the generator registered by
   :class:`bot.nlu.response_generator.ResponseGenerator` in a bounded thread pool (never
   on the event loop) with the conversation's recent turns, the latest user text and the
   grounding replies;
   For the responses in ``past_reply_for``, it first looks for the nearest sendable past
   agent reply within the recognised intent (:mod:`bot.nlg.past_reply`) and generates
   only when there is none;
2. falls back to ``fallback_response`` when a guardrail fails (low mean log-probability
   included), the generator is missing or times out; a missing generator serves the
   domain's text for the generation response itself;
3. adapts the text for the channel (:func:`bot.nlg.adapter.adapt_reply`) and returns it
   with ``adapted`` and, for generation responses, ``generation`` metadata (which ends up
   in the ``BotUttered`` event and in ``OutputChannel.send_response``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, TypeVar

import torch
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.knowledge.gate import GateConfig
from bot.knowledge.registry import DEFAULT_NAME as DEFAULT_KNOWLEDGE_NAME
from bot.knowledge.registry import knowledge_registry
from bot.nlg.adapter import AdaptedReply, adapt_reply, channel_from
from bot.nlg.channel_style import ChannelStyles, configured_styles
from bot.nlg.generation.generator import Generation, TextGenerator
from bot.nlg.generation.grounding import GroundingIndex
from bot.nlg.generation.registry import DEFAULT_NAME, GeneratorRegistry, generator_registry
from bot.nlg.knowledge_reply import (
    KNOWLEDGE_KEY,
    MAX_TOP_K,
    KnowledgeResponder,
    KnowledgeSettings,
)
from bot.nlg.past_reply import (
    PAST_REPLY_KEY,
    PastReply,
    PastReplySettings,
    PiiGuard,
    answered_a_form,
    find_past_reply,
)
from common.conversation import Role, Turn
from common.errors import ConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")

GENERATION_KEY = "generation"
ADAPTED_KEY = "adapted"


@dataclass(frozen=True)
class NLGSettings:
    """Settings of the NLG endpoint (the keys under ``nlg:`` in ``endpoints.yml``).

    Attributes:
        generate_for: Response names the generator writes.
        fallback_response: Response sent when a generated reply is rejected.
        registry_name: Name the generator is registered under.
        timeout_s: Longest wait for one generation.
        workers: Generation threads (generations are serialised per model anyway).
        torch_threads: torch's CPU threads for generation; ``0``: cores minus one.
        context_turns: Earlier turns passed to the generator.
        styles: A channel styles file; default: the bundled one (or
            ``$BOT_CHANNEL_STYLES``).
        knowledge_for: Response names answered from the knowledge base
            (:mod:`bot.nlg.knowledge_reply`).
        knowledge_registry_name: Name the knowledge index is registered under.
        knowledge_top_k: Passages retrieved per knowledge question (3, as the evaluation
            retrieves: what is measured is what is served).
        help_centre_url: The help centre's address, for links to sources given as paths.
        answer_gate: Thresholds of the answer gate (:class:`bot.knowledge.gate.GateConfig`).
        knowledge_writer: Let the fine-tuned generator write knowledge answers (checked by
            the gate). Off by default: the gate's fallback (the cited extract of the best
            passage, or an honest "I don't know") is sent, which measured better on the
            sample's question set than a writer trained within ``rasa train``'s CPU budget
            (docs/knowledge.md, "Results").
        past_reply_for: Response names answered with the nearest sendable past agent reply
            within the recognised intent, generated when there is none
            (:mod:`bot.nlg.past_reply`).
        past_reply: Settings of that route (:class:`bot.nlg.past_reply.PastReplySettings`).
    """

    generate_for: tuple[str, ...] = ("utter_generated",)
    fallback_response: str = "utter_generation_fallback"
    registry_name: str = DEFAULT_NAME
    timeout_s: float = 30.0
    workers: int = 1
    torch_threads: int = 0
    context_turns: int = 6
    styles: str | None = None
    knowledge_for: tuple[str, ...] = ()
    knowledge_registry_name: str = DEFAULT_KNOWLEDGE_NAME
    knowledge_top_k: int = 3
    help_centre_url: str | None = None
    answer_gate: dict[str, Any] = field(default_factory=dict)
    knowledge_writer: bool = False
    past_reply_for: tuple[str, ...] = ()
    past_reply: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_endpoint(cls, config: EndpointConfig | None) -> NLGSettings:
        """Read the settings from an endpoint config's extra keys.

        Raises:
            ConfigError: On an unknown key or a bad value.
        """
        values = dict(config.kwargs) if config is not None else {}
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"nlg endpoint: unknown option(s) {', '.join(unknown)}")
        for key in ("generate_for", "knowledge_for", "past_reply_for"):
            if isinstance(values.get(key), str):
                values[key] = (values[key],)
            elif key in values:
                values[key] = tuple(values[key])
        settings = cls(**values)
        if settings.workers < 1 or settings.timeout_s <= 0:
            raise ConfigError("nlg endpoint: workers must be >= 1 and timeout_s > 0")
        if not isinstance(settings.knowledge_writer, bool):
            raise ConfigError("nlg endpoint: knowledge_writer must be true or false")
        if not 1 <= settings.knowledge_top_k <= MAX_TOP_K:
            raise ConfigError(f"nlg endpoint: knowledge_top_k must be from 1 to {MAX_TOP_K}")
        lists = {
            "generate_for": set(settings.generate_for),
            "knowledge_for": set(settings.knowledge_for),
            "past_reply_for": set(settings.past_reply_for),
        }
        for first, second in itertools.combinations(sorted(lists), 2):
            both = lists[first] & lists[second]
            if both:
                raise ConfigError(
                    f"nlg endpoint: {sorted(both)} listed under both {first} and {second}"
                )
        settings.gate_config()
        settings.past_reply_settings()
        return settings

    def past_reply_settings(self) -> PastReplySettings:
        """The past-reply route's settings.

        Raises:
            ConfigError: On an unknown key or a bad value under ``past_reply``.
        """
        if not isinstance(self.past_reply, dict):
            raise ConfigError("nlg endpoint: past_reply must be a mapping")
        try:
            return PastReplySettings(**self.past_reply)
        except TypeError as e:
            raise ConfigError(f"nlg endpoint: past_reply: {e}") from e

    def gate_config(self) -> GateConfig:
        """The answer gate's thresholds.

        Raises:
            ConfigError: On an unknown key or a bad value under ``answer_gate``.
        """
        values = dict(self.answer_gate or {})
        if "policy_terms" in values:
            values["policy_terms"] = tuple(values["policy_terms"])
        try:
            return GateConfig(**values)
        except TypeError as e:
            raise ConfigError(f"nlg endpoint: answer_gate: {e}") from e

    def knowledge_settings(self) -> KnowledgeSettings:
        """The settings of knowledge answers."""
        return KnowledgeSettings(
            self.knowledge_top_k, self.help_centre_url, self.gate_config(), self.knowledge_writer
        )


class ChannelAwareNLG(TemplatedNaturalLanguageGenerator):
    """Domain responses and generated replies, adapted to the customer's channel.

    A subclass of Rasa's templated generator, so Rasa refreshes :attr:`responses` when it
    loads a model (the endpoint is built before the domain is known).

    Args:
        endpoint_config: The ``nlg:`` endpoint config (Rasa passes it).
        domain: The domain, when Rasa knows it already.
        registry: Where to find generators; default: the process-wide registry.
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        registry: GeneratorRegistry | None = None,
    ) -> None:
        super().__init__(domain.responses if domain else {})
        self.settings = NLGSettings.from_endpoint(endpoint_config)
        self._past_reply_settings = self.settings.past_reply_settings()
        self._registry = registry or generator_registry()
        self._knowledge_responder: KnowledgeResponder | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=self.settings.workers,
            thread_name_prefix="nlg-generate",
            initializer=_set_torch_threads,
            initargs=(self.settings.torch_threads,),
        )

    @cached_property
    def styles(self) -> ChannelStyles:
        """The channel styles (read on first use)."""
        return configured_styles(self.settings.styles)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Return the response for ``utter_action``, adapted to the channel.

        Args:
            utter_action: The response's name.
            tracker: The conversation.
            output_channel: ``OutputChannel.name()`` of the channel replying.
            **kwargs: Passed to Rasa's templated generator.

        Returns:
            The message dict, or ``None`` when the domain has no such response.
        """
        metadata = tracker.latest_message.metadata if tracker.latest_message else None
        channel = channel_from(metadata, output_channel, known=list(self.styles))
        if utter_action in self.settings.generate_for:
            response = await self._generated(utter_action, tracker, output_channel, **kwargs)
        elif utter_action in self.settings.past_reply_for:
            response = await self._past_reply(utter_action, tracker, output_channel, **kwargs)
        elif utter_action in self.settings.knowledge_for:
            response = await self._knowledge(utter_action, tracker, output_channel, **kwargs)
        else:
            response = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if response is None:
            return None
        return self.adapt(response, channel)

    def adapt(self, response: dict[str, Any], channel: str) -> dict[str, Any]:
        """Add the channel-adapted reply to a response dict (texts only)."""
        text = response.get("text")
        if not isinstance(text, str) or not text.strip():
            return response
        adapted = adapt_reply(text, channel, self.styles)
        response[ADAPTED_KEY] = adapted_dict(adapted)
        if len(adapted.messages) == 1:
            response["text"] = adapted.messages[0]
        elif adapted.text:
            response["text"] = adapted.text
        return response

    async def _generated(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        generator = self._registry.get(self.settings.registry_name)
        message = (tracker.latest_message.text if tracker.latest_message else None) or ""
        if generator is None or not message.strip() or message.startswith("/"):
            # No model, or nothing to answer (a button's intent payload such as
            # "/product_question" is not a question).
            reason = "unavailable" if generator is None else "no_message"
            logger.info(
                "No generation for %s (%s); using the domain response.", tracker.sender_id, reason
            )
            response = await super().generate(utter_action, tracker, output_channel, **kwargs)
            return _with_generation(response, None, [reason])
        metadata = tracker.latest_message.metadata if tracker.latest_message else None
        channel = channel_from(metadata, output_channel, known=list(self.styles))
        context = recent_turns(tracker, self.settings.context_turns)
        try:
            generation = await self._in_worker(_run_generator, generator, context, message, channel)
        except asyncio.TimeoutError:
            logger.warning("Generation timed out for %s.", tracker.sender_id)
            return await self._fallback(tracker, output_channel, None, ["timeout"], **kwargs)
        if not generation.ok:
            retrieved = _retrieval_fallback(generator, generation, message)
            if retrieved is not None:
                logger.info(
                    "Generated reply for %s rejected (%s); sending the past reply it was "
                    "grounded on.",
                    tracker.sender_id,
                    ", ".join(generation.guard_failures),
                )
                response = _with_generation({"text": retrieved}, generation, [])
                if response is not None:
                    response[GENERATION_KEY].update(
                        {
                            "generated": False,
                            "retrieved": True,
                            "rejected": list(generation.guard_failures),
                        }
                    )
                return response
            logger.info(
                "Generated reply for %s rejected (%s); sending the fallback.",
                tracker.sender_id,
                ", ".join(generation.guard_failures),
            )
            return await self._fallback(
                tracker, output_channel, generation, list(generation.guard_failures), **kwargs
            )
        return _with_generation({"text": generation.text}, generation, [])

    async def _past_reply(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        """The nearest sendable past reply within the recognised intent, else a generation."""
        generator = self._registry.get(self.settings.registry_name)
        index: GroundingIndex | None = getattr(generator, "index", None)
        latest = tracker.latest_message
        message = (latest.text if latest else None) or ""
        if index is None or not message.strip() or message.startswith("/"):
            return await self._generated(utter_action, tracker, output_channel, **kwargs)
        # A message that answered a form's question is a slot value, not an intent: it is
        # matched against every customer's answer, whatever intent NLU gave it.
        intent = None if answered_a_form(tracker) else (latest.intent or {}).get("name")
        guard: PiiGuard | None = getattr(generator, "guardrails", None)
        search = partial(
            find_past_reply,
            index,
            message,
            intent=intent,
            slots=tracker.current_slot_values(),
            customer_texts=[*earlier_customer_texts(tracker, self.settings.context_turns), message],
            guard=guard,
            settings=self._past_reply_settings,
        )
        try:
            found: PastReply | None = await self._in_worker(search)
        except asyncio.TimeoutError:
            logger.warning("Past-reply search timed out for %s.", tracker.sender_id)
            return await self._fallback(tracker, output_channel, None, ["timeout"], **kwargs)
        if found is None:
            logger.info(
                "No near, sendable past reply for %s; generating instead.", tracker.sender_id
            )
            return await self._generated(utter_action, tracker, output_channel, **kwargs)
        logger.info(
            "Sending a past reply to %s (similarity %.2f, rank %d).",
            tracker.sender_id,
            found.score,
            found.rank,
        )
        return {"text": found.text, PAST_REPLY_KEY: found.metadata()}

    async def _in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking model work in the generation pool, never on the event loop.

        Raises:
            asyncio.TimeoutError: After ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._executor, fn, *args), timeout=self.settings.timeout_s
        )

    def _responder(self) -> KnowledgeResponder | None:
        """The knowledge responder of the loaded model (rebuilt when a model is reloaded)."""
        index = knowledge_registry().get(self.settings.knowledge_registry_name)
        if index is None:
            return None
        generator = self._registry.get(self.settings.registry_name)
        cached = self._knowledge_responder
        if cached is None or cached.index is not index or cached.generator is not generator:
            cached = KnowledgeResponder(index, generator, self.settings.knowledge_settings())
            self._knowledge_responder = cached
        return cached

    async def _knowledge(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        message = (tracker.latest_message.text if tracker.latest_message else None) or ""
        responder = self._responder()
        if responder is None or not message.strip() or message.startswith("/"):
            reason = "unavailable" if responder is None else "no_message"
            logger.info(
                "No knowledge answer for %s (%s); using the domain response.",
                tracker.sender_id,
                reason,
            )
            response = await super().generate(utter_action, tracker, output_channel, **kwargs)
            if response is not None:
                response[KNOWLEDGE_KEY] = {"outcome": reason}
            return response
        metadata = tracker.latest_message.metadata if tracker.latest_message else None
        channel = channel_from(metadata, output_channel, known=list(self.styles))
        tone = self.styles[channel].tone
        earlier = earlier_customer_texts(tracker, self.settings.context_turns)
        try:
            answer = await self._in_worker(responder.answer, message, channel, tone, earlier)
        except asyncio.TimeoutError:
            logger.warning("Knowledge answer timed out for %s.", tracker.sender_id)
            response = await self._fallback(tracker, output_channel, None, ["timeout"], **kwargs)
            if response is not None:
                response[KNOWLEDGE_KEY] = {"outcome": "timeout"}
            return response
        return responder.message(answer)

    async def _fallback(
        self,
        tracker: DialogueStateTracker,
        output_channel: str,
        generation: Generation | None,
        failures: list[str],
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        response = await super().generate(
            self.settings.fallback_response, tracker, output_channel, **kwargs
        )
        if response is None:
            logger.error("The domain has no response '%s'.", self.settings.fallback_response)
            response = {"text": "Sorry, I can't answer that right now. Ask for a person any time."}
        return _with_generation(response, generation, failures)


def _retrieval_fallback(
    generator: TextGenerator, generation: Generation, message: str
) -> str | None:
    """Return the past reply a rejected generation was grounded on, when it may stand in.

    Only a reply to a near-identical question (``grounded_min_score``) that itself passes
    the PII and placeholder guards qualifies: it is the company's own answer, so sending
    it beats a generic fallback. Generators without guardrails (fakes) get ``None``.
    """
    guardrails = getattr(generator, "guardrails", None)
    if guardrails is None or not generation.grounding:
        return None
    top = generation.grounding[0]
    if top.score < guardrails.config.grounded_min_score:
        return None
    if guardrails.pii(top.reply, [message]) or guardrails.placeholders(top.reply):
        return None
    return top.reply


def adapted_dict(adapted: AdaptedReply) -> dict[str, Any]:
    """Return an adapted reply as the ``adapted`` key of a message dict."""
    return {
        "channel": adapted.channel,
        "format": adapted.format,
        "messages": list(adapted.messages),
        "text": adapted.text,
        "html": adapted.html,
        "shortened": adapted.shortened,
    }


def earlier_customer_texts(tracker: DialogueStateTracker, limit: int) -> list[str]:
    """Return what the customer wrote among :func:`recent_turns`, oldest first."""
    return [t.text for t in recent_turns(tracker, limit) if t.role is Role.CUSTOMER]


def recent_turns(tracker: DialogueStateTracker, limit: int) -> list[Turn]:
    """Return the conversation's turns before the latest user message, oldest first.

    Args:
        tracker: The conversation.
        limit: Most turns to return.

    Returns:
        Customer and agent turns with text.
    """
    turns: list[Turn] = []
    latest = tracker.latest_message
    for event in tracker.applied_events():
        if isinstance(event, UserUttered) and event is not latest and event.text:
            turns.append(Turn(Role.CUSTOMER, event.text))
        elif isinstance(event, BotUttered) and event.text:
            turns.append(Turn(Role.AGENT, event.text))
    return turns[-limit:] if limit > 0 else []


def _with_generation(
    response: dict[str, Any] | None, generation: Generation | None, failures: list[str]
) -> dict[str, Any] | None:
    if response is None:
        return None
    info: dict[str, Any] = {
        "generated": generation is not None and not failures,
        "guard_failures": failures,
    }
    if generation is not None:
        info.update(
            {
                "mean_logprob": round(generation.mean_logprob, 4),
                "tokens": generation.tokens,
                "ms_per_token": round(generation.ms_per_token, 2),
                "grounding": [
                    {"score": round(h.score, 4), "conversation_id": h.conversation_id}
                    for h in generation.grounding
                ],
            }
        )
    response[GENERATION_KEY] = info
    return response


def _run_generator(
    generator: TextGenerator, context: list[Turn], message: str, channel: str
) -> Generation:
    return generator.generate(context, message, channel=channel)


def _set_torch_threads(threads: int) -> None:
    """Thread-pool initializer: give generation all cores but one, unless configured."""
    count = threads if threads > 0 else max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(count)
