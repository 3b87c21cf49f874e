"""The answer writer's prompt: layout, passage caps, decline texts and the token budget."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.knowledge.answer_prompt import (
    ANSWER_INSTRUCTION,
    DECLINE_TEXTS,
    NO_PASSAGES,
    AnswerPassage,
    answer_prompt,
    answer_prompt_ids,
    cap_passage,
    decline_text,
)
from bot.knowledge.chunks import Chunk
from bot.nlg.channel_style import TONES
from bot.nlg.generation.model import IM_END, IM_START
from bot.nlg.generation.prompt import DEFAULT_SYSTEM, PromptParts, render
from common.errors import ConfigError

WASH = AnswerPassage(
    "Washing a down jacket",
    "Can I wash a down jacket in a machine?",
    "Yes. Use a front-loading machine at 30°C with down wash.",
    "https://help.pinecrest.example/care/washing-down-jackets",
    "care/washing-down-jackets.md#1",
)
DRY = AnswerPassage("Washing a down jacket", "", "Tumble dry low with tennis balls.", "", "c#2")


class WordTokenizer:
    """One token per whitespace-separated word; ``<|im_end|>`` is id 0."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [len(word) for word in text.split()]}

    def convert_tokens_to_ids(self, token: str) -> int:
        return 0


def _count(text: str) -> int:
    return len(text.split())


def test_prompt_is_the_generators_chatml_with_passages_then_question() -> None:
    prompt = answer_prompt("can I wash a down jacket in a machine?", [WASH, DRY], "web")

    assert prompt.startswith(f"{IM_START}system\n{DEFAULT_SYSTEM} {ANSWER_INSTRUCTION}\n")
    assert "Channel: web." in prompt
    assert prompt.endswith(f"{IM_START}assistant\n")
    user = prompt.split(f"{IM_START}user\n", 1)[1].split(IM_END, 1)[0]
    assert user == (
        "Help centre:\n"
        "[1] Washing a down jacket > Can I wash a down jacket in a machine?\n"
        "Yes. Use a front-loading machine at 30°C with down wash.\n\n"
        "[2] Washing a down jacket\n"
        "Tumble dry low with tennis balls.\n\n"
        "Question: can I wash a down jacket in a machine?"
    )
    # Exactly the generator's layout: render() with the passages as the customer's turn.
    parts = PromptParts(context=(), message=user, channel="web")
    assert prompt == render(parts, f"{DEFAULT_SYSTEM} {ANSWER_INSTRUCTION}")


def test_prompt_without_passages_or_channel_says_nothing_was_found() -> None:
    prompt = answer_prompt("  do you sell   kayaks? ", [])

    assert f"Help centre:\n{NO_PASSAGES}\n\nQuestion: do you sell kayaks?" in prompt
    assert "Channel:" not in prompt


def test_cap_passage_keeps_short_text_and_cuts_at_a_sentence_end() -> None:
    assert cap_passage("  Short text.  ", 100) == "Short text."
    text = "First sentence is here. Second sentence is here. Third one is longer than the rest."
    assert cap_passage(text, 50) == "First sentence is here. Second sentence is here."


def test_cap_passage_cuts_between_words_when_no_sentence_end_is_near() -> None:
    capped = cap_passage("word " * 40, 32)

    assert len(capped) <= 32
    assert capped.endswith("…")
    assert capped.rstrip("…").split() == ["word"] * len(capped.rstrip("…").split())


def test_from_chunk_caps_the_text_and_keeps_where_it_comes_from() -> None:
    chunk = Chunk.build("d.md#3", "d.md", "Title", "Sec", "A sentence. " * 100, "https://x.example")

    passage = AnswerPassage.from_chunk(chunk, max_chars=120)

    assert len(passage.text) <= 120
    assert passage.text.endswith(".")
    assert (passage.chunk_id, passage.source, passage.heading) == (
        "d.md#3",
        "https://x.example",
        "Title > Sec",
    )


@pytest.mark.parametrize("tone", TONES)
def test_every_channel_tone_has_a_short_decline_that_offers_a_person(tone: str) -> None:
    text = decline_text(tone)

    assert len(text) <= 160
    assert "team" in text
    assert "know" in text or "information" in text


def test_the_formal_decline_uses_no_contractions_and_unknown_tones_are_refused() -> None:
    assert "'" not in DECLINE_TEXTS["formal"]
    with pytest.raises(ConfigError, match="casual"):
        decline_text("casual")


def test_prompt_ids_fit_the_budget_by_dropping_the_weakest_passages_first() -> None:
    tokenizer = WordTokenizer()
    passages: Sequence[AnswerPassage] = [WASH, DRY, DRY]
    full = _count(answer_prompt("q?", passages))
    one = _count(answer_prompt("q?", [WASH]))

    assert len(answer_prompt_ids("q?", passages, tokenizer, full)) == full
    ids = answer_prompt_ids("q?", passages, tokenizer, one)
    assert ids == [len(w) for w in answer_prompt("q?", [WASH]).split()]


def test_prompt_ids_shorten_the_last_passage_then_keep_the_end() -> None:
    tokenizer = WordTokenizer()
    long = AnswerPassage("T", "", "many words here " * 50)
    empty = _count(answer_prompt("q?", [AnswerPassage("T", "", "x")]))

    ids = answer_prompt_ids("q?", [long], tokenizer, empty + 20)
    assert empty < len(ids) <= empty + 20

    tiny = answer_prompt_ids("q?", [long], tokenizer, 5)
    assert len(tiny) == 5
