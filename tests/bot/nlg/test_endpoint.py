"""The NLG endpoint: domain responses and generated replies, adapted per channel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.nlg.endpoint import ChannelAwareNLG, NLGSettings, recent_turns
from bot.nlg.generation.generator import Generation
from bot.nlg.generation.grounding import GroundingHit, GroundingIndex
from bot.nlg.generation.guardrails import Guardrails
from bot.nlg.generation.pairs import Turn
from bot.nlg.generation.registry import GeneratorRegistry
from common.errors import ConfigError
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder

ROOT = Path(__file__).resolve().parents[3]
ANSWER = "Yes. Our tents have a 3000 mm flysheet and taped seams, so they stay dry in heavy rain."


class FakeGenerator:
    """Returns a fixed generation and records what it was asked."""

    def __init__(self, text: str = ANSWER, failures: tuple[str, ...] = (), delay: float = 0.0):
        self.text, self.failures, self.delay = text, failures, delay
        self.calls: list[tuple[list[Turn], str, str | None]] = []

    def generate(
        self, context: Sequence[Turn], message: str, channel: str | None = None, **kwargs: object
    ) -> Generation:
        self.calls.append((list(context), message, channel))
        time.sleep(self.delay)
        hit = GroundingHit("Yes, 3000 mm.", 0.91, "is the tent waterproof", "pc-0001")
        return Generation(self.text, -0.4, 20, 12.5, self.failures, (hit,))


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(
        [str(ROOT / "domain" / "responses.yml"), str(ROOT / "domain" / "generation.yml")]
    )


def _nlg(domain: Domain, generator: FakeGenerator | None, **settings: object) -> ChannelAwareNLG:
    registry = GeneratorRegistry()
    if generator is not None:
        registry.register(generator)
    config = EndpointConfig(type="bot.nlg.endpoint.ChannelAwareNLG", **settings)
    return ChannelAwareNLG(config, domain, registry=registry)


def _tracker(channel: str | None, text: str = "will the tent keep me dry?") -> DialogueStateTracker:
    metadata = {"channel": channel} if channel else {}
    return DialogueStateTracker.from_events(
        "rest:tester",
        [
            ActionExecuted("action_listen"),
            UserUttered("hi", {"name": "greet", "confidence": 1.0}, metadata=metadata),
            BotUttered("Hi, welcome to Pinecrest Outfitters."),
            ActionExecuted("action_listen"),
            UserUttered(text, {"name": "product_question", "confidence": 1.0}, metadata=metadata),
        ],
    )


def test_rasa_builds_it_from_the_endpoint_config(domain: Domain) -> None:
    config = EndpointConfig(type="bot.nlg.endpoint.ChannelAwareNLG", timeout_s=5)
    nlg = NaturalLanguageGenerator.create(config, domain)
    assert isinstance(nlg, ChannelAwareNLG)
    assert nlg.settings.timeout_s == 5 and nlg.settings.generate_for == ("utter_generated",)
    nlg_without_domain = NaturalLanguageGenerator.create(config, None)
    assert isinstance(nlg_without_domain, ChannelAwareNLG)  # Rasa fills responses later


def test_bad_settings_fail() -> None:
    with pytest.raises(ConfigError, match="unknown"):
        NLGSettings.from_endpoint(EndpointConfig(type="x", genrate_for=["a"]))
    with pytest.raises(ConfigError):
        NLGSettings.from_endpoint(EndpointConfig(type="x", workers=0))


async def test_domain_response_is_adapted_and_keeps_buttons(domain: Domain) -> None:
    nlg = _nlg(domain, FakeGenerator())
    response = await nlg.generate("utter_generation_fallback", _tracker("email"), "rest")
    assert response is not None
    assert [b["payload"] for b in response["buttons"]] == ["/request_human"]
    assert response["adapted"]["channel"] == "email"
    assert response["adapted"]["format"] == "email"
    assert response["text"].startswith("Hello,") and "The Pinecrest team" in response["text"]
    assert "generation" not in response


async def test_generated_reply_carries_metadata(domain: Domain) -> None:
    generator = FakeGenerator()
    nlg = _nlg(domain, generator)
    response = await nlg.generate("utter_generated", _tracker("slack"), "rest")
    assert response is not None
    assert response["generation"]["generated"] is True
    assert response["generation"]["guard_failures"] == []
    assert response["generation"]["grounding"] == [{"score": 0.91, "conversation_id": "pc-0001"}]
    assert response["adapted"]["channel"] == "slack"
    assert "3000 mm" in response["text"]
    [(context, message, channel)] = generator.calls
    assert message == "will the tent keep me dry?" and channel == "slack"
    assert context == [
        Turn("customer", "hi"),
        Turn("agent", "Hi, welcome to Pinecrest Outfitters."),
    ]


async def test_two_channels_get_different_adaptations(domain: Domain) -> None:
    nlg = _nlg(domain, FakeGenerator())
    slack = await nlg.generate("utter_generated", _tracker("slack"), "rest")
    email = await nlg.generate("utter_generated", _tracker("email"), "rest")
    assert slack and email and slack["text"] != email["text"]
    assert email["text"].startswith("Hello,") and email["adapted"]["html"]
    assert not slack["text"].startswith("Hello,")


async def test_failed_guard_falls_back_and_reports(domain: Domain) -> None:
    nlg = _nlg(domain, FakeGenerator("we will refund you $50", ("forbidden:refund_amount",)))
    response = await nlg.generate("utter_generated", _tracker("web"), "rest")
    assert response is not None
    assert response["generation"] == {
        "generated": False,
        "guard_failures": ["forbidden:refund_amount"],
        "mean_logprob": -0.4,
        "tokens": 20,
        "ms_per_token": 12.5,
        "grounding": [{"score": 0.91, "conversation_id": "pc-0001"}],
    }
    assert "$50" not in response["text"]
    assert response["buttons"][0]["payload"] == "/request_human"


async def test_without_a_generator_the_domain_text_is_sent(domain: Domain) -> None:
    nlg = _nlg(domain, None)
    response = await nlg.generate("utter_generated", _tracker(None), "rest")
    assert response is not None
    assert response["generation"] == {"generated": False, "guard_failures": ["unavailable"]}
    assert "talk to a person" in response["text"]


async def test_timeout_falls_back(domain: Domain) -> None:
    nlg = _nlg(domain, FakeGenerator(delay=1.0), timeout_s=0.1)
    response = await nlg.generate("utter_generated", _tracker("web"), "rest")
    assert response is not None
    assert response["generation"]["guard_failures"] == ["timeout"]


async def test_configured_responses_are_generated(domain: Domain) -> None:
    generator = FakeGenerator()
    nlg = _nlg(domain, generator, generate_for=["utter_generated", "utter_product_question"])
    response = await nlg.generate("utter_product_question", _tracker("web"), "rest")
    assert response is not None and response["generation"]["generated"] is True
    plain = await nlg.generate("utter_greet", _tracker("web"), "rest")
    assert plain is not None and "generation" not in plain and len(generator.calls) == 1


async def test_generation_runs_off_the_event_loop(domain: Domain) -> None:
    nlg = _nlg(domain, FakeGenerator(delay=0.6))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await nlg.generate("utter_generated", _tracker("web"), "rest")
    task.cancel()
    assert ticks >= 5  # the loop kept running while the generator worked (blocked: 0-1)


def test_recent_turns_limit() -> None:
    turns = recent_turns(_tracker("web"), 1)
    assert turns == [Turn("agent", "Hi, welcome to Pinecrest Outfitters.")]
    assert recent_turns(_tracker("web"), 0) == []


class GuardedFakeGenerator(FakeGenerator):
    """A fake that, like the real generator, carries its guardrails."""

    def __init__(self, past_reply: str, score: float, failures: tuple[str, ...]) -> None:
        super().__init__("The moon is made of cheese.", failures)
        self.guardrails = Guardrails()
        self.past_reply, self.score = past_reply, score

    def generate(
        self, context: Sequence[Turn], message: str, channel: str | None = None, **kwargs: object
    ) -> Generation:
        hit = GroundingHit(self.past_reply, self.score, "is the tent waterproof", "pc-0001")
        return Generation(self.text, -0.4, 20, 12.5, self.failures, (hit,))


async def test_rejected_reply_falls_back_to_the_company_answer_it_was_grounded_on(
    domain: Domain,
) -> None:
    past = "Yes, the Ridge 2 has a 3000 mm flysheet and taped seams."
    nlg = _nlg(domain, GuardedFakeGenerator(past, 0.92, ("off_grounding",)))
    response = await nlg.generate("utter_generated", _tracker("web"), "rest")
    assert response is not None
    assert response["text"] == past
    info = response["generation"]
    assert info["retrieved"] is True and info["generated"] is False
    assert info["guard_failures"] == [] and info["rejected"] == ["off_grounding"]


@pytest.mark.parametrize(
    ("past", "score"),
    [
        ("Your order [ORDER_1] shipped yesterday.", 0.95),  # a placeholder never goes out
        ("Yes, the Ridge 2 has a 3000 mm flysheet.", 0.5),  # not the same question
    ],
)
async def test_no_retrieval_fallback_for_unsafe_or_distant_past_replies(
    domain: Domain, past: str, score: float
) -> None:
    nlg = _nlg(domain, GuardedFakeGenerator(past, score, ("low_logprob",)))
    response = await nlg.generate("utter_generated", _tracker("web"), "rest")
    assert response is not None
    assert response["text"] != past
    assert response["generation"]["guard_failures"] == ["low_logprob"]
    assert response["buttons"][0]["payload"] == "/request_human"


class IndexedGenerator(FakeGenerator):
    """A fake generator with a grounding index and the real guardrails."""

    def __init__(self) -> None:
        super().__init__()
        self.index = GroundingIndex.build(SAMPLE_PAIRS, HashingEmbedder())
        self.guardrails = Guardrails()


async def test_past_reply_route_sends_the_nearest_reply_of_the_intent(domain: Domain) -> None:
    generator = IndexedGenerator()
    nlg = _nlg(domain, generator, generate_for=[], past_reply_for=["utter_generated"], timeout_s=5)
    response = await nlg.generate(
        "utter_generated", _tracker("web", "does the tent leak in the rain?"), "rest"
    )
    assert response is not None
    assert response["text"] == "No, the seams are taped."
    assert response["past_reply"]["conversation_id"] == "c4"
    assert response["past_reply"]["intent"] == "product_question"
    assert response["adapted"]["channel"] == "web"
    assert "generation" not in response and generator.calls == []


async def test_past_reply_route_generates_when_nothing_is_near(domain: Domain) -> None:
    generator = IndexedGenerator()
    nlg = _nlg(domain, generator, generate_for=[], past_reply_for=["utter_generated"])
    response = await nlg.generate("utter_generated", _tracker("web", "zzz qqq xxx"), "rest")
    assert response is not None and "past_reply" not in response
    assert response["generation"]["generated"] is True and len(generator.calls) == 1
    plain = FakeGenerator()  # no grounding index at all
    response = await _nlg(
        domain, plain, generate_for=[], past_reply_for=["utter_generated"]
    ).generate("utter_generated", _tracker("web", "does the tent leak?"), "rest")
    assert response is not None and response["generation"]["generated"] is True
    assert len(plain.calls) == 1


def test_past_reply_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="both generate_for and past_reply_for"):
        NLGSettings.from_endpoint(EndpointConfig(type="x", past_reply_for=["utter_generated"]))
    with pytest.raises(ConfigError, match="past_reply"):
        NLGSettings.from_endpoint(EndpointConfig(type="x", past_reply={"min_scor": 0.5}))
    with pytest.raises(ConfigError, match="past reply: min_score"):
        NLGSettings.from_endpoint(EndpointConfig(type="x", past_reply={"min_score": 2}))
    settings = NLGSettings.from_endpoint(
        EndpointConfig(type="x", past_reply_for="utter_past_reply", past_reply={"candidates": 3})
    )
    assert settings.past_reply_for == ("utter_past_reply",)
    assert settings.past_reply_settings().candidates == 3


async def test_after_a_form_the_past_reply_search_ignores_the_intent(domain: Domain) -> None:
    from rasa.shared.core.events import ActiveLoop

    from bot.nlg.past_reply import answered_a_form

    generator = IndexedGenerator()
    nlg = _nlg(
        domain,
        generator,
        generate_for=[],
        past_reply_for=["utter_generated"],
        past_reply={"min_score": 0.1},
    )
    # "can you ship the tent to canada" labelled product_question: inside that intent the nearest
    # reply is a tent answer; answering a form, the shipping answer is found.
    tracker = _tracker("web", "can you ship the tent to canada")
    assert not answered_a_form(tracker)
    inside = await nlg.generate("utter_generated", tracker, "rest")
    assert inside is not None and inside["past_reply"]["intent"] == "product_question"
    tracker.update(ActionExecuted("order_form"))
    tracker.update(ActiveLoop(None))
    assert answered_a_form(tracker)
    anywhere = await nlg.generate("utter_generated", tracker, "rest")
    assert anywhere is not None and anywhere["past_reply"]["intent"] is None
    assert anywhere["past_reply"]["conversation_id"] in {"c1", "c5"}
