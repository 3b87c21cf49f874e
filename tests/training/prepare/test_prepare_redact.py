"""Batch redaction: per-conversation placeholders, the detection cache, worker processes."""

import pytest

from common.privacy import Detection, RedactionConfig, Redactor
from tests.training.prepare.conftest import DATA
from training.ingest import Conversation, Turn
from training.prepare.redact import ConversationRedactor, pseudonymous_id


class CountingNames:
    """A name finder that takes every 'Anna' for a person and counts what it saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def find_many(self, texts):
        self.seen += texts
        return [
            [Detection("PERSON", i, i + 4, "anna")] if (i := t.find("Anna")) >= 0 else []
            for t in texts
        ]


def _conversation(cid: str, *texts: str) -> Conversation:
    roles = ["customer", "agent"]
    turns = tuple(Turn(roles[i % 2], t) for i, t in enumerate(texts))  # type: ignore[arg-type]
    return Conversation(cid, "web", turns, "test")


def test_each_conversation_numbers_its_own_placeholders_and_repeats_are_cached():
    names = CountingNames()
    redactor = ConversationRedactor(Redactor(name_finder=names), cache_size=2)
    template = "Thanks Anna, we will write to a@example.com"
    chunk = [
        _conversation("1", "I am Anna, b@example.com", template),
        _conversation("2", "mail c@example.com", template),
    ]
    first, second = redactor.redact(chunk)
    assert first.turns[0].text == "I am [PERSON_1], [EMAIL_1]"
    assert first.turns[1].text == "Thanks [PERSON_1], we will write to [EMAIL_2]"
    assert second.turns[0].text == "mail [EMAIL_1]"
    assert second.turns[1].text == "Thanks [PERSON_1], we will write to [EMAIL_2]"
    assert first.pii == {"PERSON": 2, "EMAIL": 2}
    assert names.seen.count(template) == 1
    # a later chunk finds the template in the cache; a small cache evicts but stays correct
    third = redactor.redact([_conversation("3", "x", "y", template)])[0]
    assert third.turns[2].text == "Thanks [PERSON_1], we will write to [EMAIL_1]"
    assert names.seen.count(template) == 1 and redactor.cache_hits == 1


def test_ids_that_hold_addresses_are_pseudonymised():
    assert pseudonymous_id("c-1") == "c-1"
    pseudo = pseudonymous_id("<abc@mail.example.com>")
    assert pseudo.startswith("id-") and "example" not in pseudo
    assert pseudo == pseudonymous_id("<abc@mail.example.com>")


@pytest.mark.slow
def test_worker_processes_give_the_same_files(run_prepare, redactor, tmp_path):
    config = RedactionConfig()
    assert redactor.config == config
    one = run_prepare(DATA / "prepare_pii.jsonl", tmp_path / "one", chunk_size=1)
    two = run_prepare(DATA / "prepare_pii.jsonl", tmp_path / "two", chunk_size=1, workers=2)
    assert one.report.pii == two.report.pii
    for rel in one.written:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()
