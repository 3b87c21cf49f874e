"""ChatML prompts for SmolLM2: the company's voice, grounding replies, recent turns.

The same builder makes the training prompts and the inference prompts, so the model sees
one layout. Grounding replies go in as earlier exchanges (the past customer question, then
the team's reply), best match closest to the customer's message: a small instruct model
follows example turns far more reliably than instructions in the system message.

The prompt is cut to a token budget by dropping the oldest context turns first, then the
weakest grounding exchanges (the customer's message is always kept, shortened if need be).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from bot.nlg.generation.model import IM_END, IM_START
from common.conversation import Role, Turn

DEFAULT_SYSTEM = (
    "You are the customer support assistant of Pinecrest Outfitters, an online outdoor-gear "
    "store. Answer in the team's voice: warm, plain-spoken, competent, short sentences. "
    "Only state policies you are sure of. Never promise refunds, amounts or outcomes; "
    "offer a person from the team when unsure."
)


@dataclass(frozen=True)
class PromptParts:
    """What goes into one prompt.

    Attributes:
        context: Earlier turns, oldest first.
        message: The customer's latest message.
        grounding: Past ``(question, agent reply)`` exchanges on similar questions,
            best first.
        channel: The channel the reply goes to, if known.
    """

    context: tuple[Turn, ...]
    message: str
    grounding: tuple[tuple[str, str], ...] = ()
    channel: str | None = None


def _block(role: str, text: str) -> str:
    return f"{IM_START}{role}\n{text}{IM_END}\n"


def render(parts: PromptParts, system: str = DEFAULT_SYSTEM) -> str:
    """Render the prompt as ChatML text, ending where the assistant's reply starts.

    Args:
        parts: The prompt's parts.
        system: The system instruction.

    Returns:
        The prompt text.
    """
    lines = [system]
    if parts.channel:
        lines.append(f"Channel: {parts.channel}.")
    text = _block("system", "\n".join(lines))
    for question, reply in reversed(parts.grounding):
        text += _block("user", question) + _block("assistant", reply)
    for turn in parts.context:
        text += _block("user" if turn.role is Role.CUSTOMER else "assistant", turn.text)
    text += _block("user", parts.message)
    return text + f"{IM_START}assistant\n"


def build_ids(
    parts: PromptParts,
    tokenizer: PreTrainedTokenizerBase,
    max_tokens: int,
    system: str = DEFAULT_SYSTEM,
) -> list[int]:
    """Tokenise the prompt, trimming it to at most ``max_tokens`` tokens.

    Args:
        parts: The prompt's parts.
        tokenizer: The model's tokenizer.
        max_tokens: The budget.
        system: The system instruction.

    Returns:
        The prompt's token ids.
    """
    context: Sequence[Turn] = parts.context
    grounding: Sequence[tuple[str, str]] = parts.grounding
    while True:
        current = PromptParts(tuple(context), parts.message, tuple(grounding), parts.channel)
        ids = _encode(render(current, system), tokenizer)
        if len(ids) <= max_tokens:
            return ids
        if context:
            context = context[1:]
        elif grounding:
            grounding = grounding[:-1]
        else:
            # Keep the end: the assistant header and the end of the customer's message.
            return ids[-max_tokens:]


def _encode(text: str, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def target_ids(reply: str, tokenizer: PreTrainedTokenizerBase, max_tokens: int) -> list[int]:
    """Tokenise a training target: the reply followed by ``<|im_end|>``.

    Args:
        reply: The agent's reply.
        tokenizer: The model's tokenizer.
        max_tokens: The budget, including the end token.

    Returns:
        The target's token ids (always ending with ``<|im_end|>``).
    """
    end = tokenizer.convert_tokens_to_ids(IM_END)
    ids = _encode(reply, tokenizer)[: max(max_tokens - 1, 1)]
    return [*ids, int(end)]
