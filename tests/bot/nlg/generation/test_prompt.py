"""Prompts: ChatML layout, trimming to the token budget, training targets."""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from bot.nlg.generation.model import IM_END
from bot.nlg.generation.pairs import Turn
from bot.nlg.generation.prompt import PromptParts, build_ids, render, target_ids


def test_render_layout() -> None:
    parts = PromptParts(
        (Turn("customer", "hi"), Turn("agent", "Hello!")),
        "is it waterproof?",
        (("does the tent leak?", "No, 3000 mm."), ("is it dry?", "Yes, 3000 mm.")),
        "email",
    )
    text = render(parts, system="SYS")
    assert text.startswith("<|im_start|>system\nSYS\nChannel: email.<|im_end|>\n")
    # Grounding exchanges come first, the best match last (closest to the question).
    assert text.index("is it dry?") < text.index("does the tent leak?") < text.index("hi")
    assert (
        "<|im_start|>user\ndoes the tent leak?<|im_end|>\n<|im_start|>assistant\nNo, 3000 mm."
        in text
    )
    assert "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>" in text
    assert text.endswith("<|im_start|>user\nis it waterproof?<|im_end|>\n<|im_start|>assistant\n")


def test_budget_drops_old_turns_then_grounding(tokenizer: PreTrainedTokenizerBase) -> None:
    turns = tuple(Turn("customer", f"old message number {i} " * 5) for i in range(6))
    parts = PromptParts(
        turns, "the real question", (("an old question", "a grounding reply " * 10),)
    )
    full = build_ids(parts, tokenizer, 10_000)
    trimmed = build_ids(parts, tokenizer, len(full) - 20)
    text = tokenizer.decode(trimmed)
    assert len(trimmed) <= len(full) - 20
    assert "old message number 0" not in text and "old message number 5" in text
    assert "the real question" in text
    no_context = build_ids(
        PromptParts((), "the real question", (("an old question", "a grounding reply " * 10),)),
        tokenizer,
        10_000,
    )
    tight = tokenizer.decode(build_ids(parts, tokenizer, len(no_context) - 5))
    assert "grounding reply" not in tight and "the real question" in tight


def test_target_ends_with_im_end(tokenizer: PreTrainedTokenizerBase) -> None:
    ids = target_ids("word " * 100, tokenizer, 16)
    assert len(ids) == 16
    assert tokenizer.convert_ids_to_tokens(ids[-1]) == IM_END
