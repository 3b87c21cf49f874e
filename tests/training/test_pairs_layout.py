"""The generation pairs JSONL layout: prepare and export-feedback write the bot's, byte for byte."""

from __future__ import annotations

from pathlib import Path

from bot.nlg.generation.pairs import GenerationPair, Turn, read_pairs
from training.feedback.export import PAIRS_FILE, export
from training.prepare.pairs import Pair

LINE = (
    '{"conversation_id": "c-1", "channel": null, '
    '"context": [{"role": "customer", "text": "héllo 🙂"}, {"role": "agent", "text": "hi"}], '
    '"customer": "wo ist \\"es\\"?", "agent": "on its way", "intent": "order_status"}'
)
PAIR = GenerationPair(
    "c-1",
    None,
    (Turn("customer", "héllo 🙂"), Turn("agent", "hi")),
    'wo ist "es"?',
    "on its way",
    "order_status",
)


def test_prepare_writes_the_bots_layout() -> None:
    context = (("customer", "héllo 🙂"), ("agent", "hi"))
    pair = Pair("c-1", None, context, 'wo ist "es"?', "on its way", "order_status")
    assert pair.to_json() == PAIR.to_json() == LINE


def test_feedback_writes_the_bots_layout(tmp_path: Path) -> None:
    export([PAIR, PAIR], [], tmp_path)
    path = tmp_path / PAIRS_FILE
    assert path.read_bytes() == (LINE + "\n" + LINE + "\n").encode("utf-8")
    assert read_pairs(path) == [PAIR, PAIR]
