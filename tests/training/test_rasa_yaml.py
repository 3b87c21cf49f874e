"""training.rasa_yaml: one escaping rule, intent names and NLU documents, for every writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.loading import load_data

from bot.inbox.feedback import Correction
from common.errors import TrainingDataError
from training.discover import (
    ClusterProposal,
    Member,
    Proposals,
    apply_file,
    write_members,
    write_proposals,
)
from training.feedback.export import NLU_FILE, export
from training.rasa_yaml import (
    check_nlu,
    example_text,
    intent_name,
    is_intent_name,
    nlu_yaml,
    write_nlu,
)

# Texts on which the three former writers disagreed, with the one answer they share now.
DIFFERENCES = {
    # feedback wrote entity markup as it was: Rasa read an entity and the text "see this".
    "see [this](link) now": "see [this] (link) now",
    '[ORDER_ID_1]{"entity": "x"}': '[ORDER_ID_1] {"entity": "x"}',
    "[ORDER_ID_1][EMAIL_2]": "[ORDER_ID_1] [EMAIL_2]",
    # apply broke every "](", markup or not; a text Rasa reads as text stays as it is.
    "a ](b) and [c](": "a ](b) and [c](",
    "[x](:y)": "[x](:y)",
    # apply turned control characters into spaces; feedback kept them (double-quoted YAML).
    "x\x00y\x07z": "xyz",
    # neither removed the byte order mark or other characters YAML may not hold.
    "bom\ufeff and \ufffe here": "bom and here",
    # all three collapsed whitespace; Unicode line breaks included.
    "line one\nline two\u2028three\x85four\ttab": "line one line two three four tab",
}

TRICKY = [
    'He said "hi" and: left # not a comment',
    "- starts like a list item",
    "{not a mapping} & *not an alias* | !tag %dir @at `tick` > fold",
    "trailing backslash \\",
    "'single' quotes: yes",
    "emoji 🏕️ and accents: crème brûlée",
    *DIFFERENCES,
]


def read_examples(text: str) -> dict[str, list[str]]:
    data = RasaYAMLReader().reads(text)
    assert not data.entity_examples
    examples: dict[str, list[str]] = {}
    for message in data.intent_examples:
        examples.setdefault(message.get("intent"), []).append(message.get("text"))
    return examples


@pytest.mark.parametrize(("raw", "expected"), DIFFERENCES.items())
def test_one_escaping_rule(raw: str, expected: str) -> None:
    assert example_text(raw) == expected
    assert example_text(expected) == expected  # idempotent


def test_intent_names() -> None:
    assert intent_name(" Track Order! ") == "Track_Order"
    assert intent_name("refund/return") == "refund_return"
    assert is_intent_name("order.status-v2")
    assert not is_intent_name("Track Order")
    assert not is_intent_name("")
    with pytest.raises(TrainingDataError, match="not a valid intent name"):
        nlu_yaml({"Track Order": ["x"]})


def test_document_layout_is_fixed_and_sorted() -> None:
    text = nlu_yaml({"b_intent": ["two", "one"], "a_intent": ["x y"], "empty": []})
    assert text == (
        'version: "3.1"\n'
        "nlu:\n"
        '- intent: "a_intent"\n'
        "  examples: |\n"
        "    - x y\n"
        '- intent: "b_intent"\n'
        "  examples: |\n"
        "    - two\n"
        "    - one\n"
    )
    assert nlu_yaml({"a_intent": ["x y"], "b_intent": ["two", "one"]}) == text
    assert nlu_yaml({}) == 'version: "3.1"\nnlu: []\n'
    assert nlu_yaml({"a": ["", " \n "]}) == 'version: "3.1"\nnlu: []\n'


def test_names_yaml_would_read_as_other_types_stay_strings() -> None:
    # apply wrote names bare: "- intent: null" is read as no intent at all.
    examples = {name: ["hello", "hi"] for name in ("null", "true", "no", "on", "1.5", "0x1F")}
    assert read_examples(nlu_yaml(examples)) == examples


def test_written_file_loads_with_rasa_and_round_trips(tmp_path: Path) -> None:
    expected = [example_text(t) for t in TRICKY]
    path = tmp_path / "data" / "nlu.yml"
    text = write_nlu(path, {"odd": TRICKY, "plain": ["hello there", "hi"]})
    assert path.read_text(encoding="utf-8") == text
    check_nlu(text, path)
    data = load_data(str(path))
    assert not data.entity_examples
    assert [m.get("text") for m in data.intent_examples if m.get("intent") == "odd"] == expected
    assert {m.get("intent") for m in data.intent_examples} == {"odd", "plain"}


def test_check_nlu_reports_what_rasa_rejects(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="Rasa cannot read"):
        check_nlu('version: "3.1"\nnlu:\n- intent: x\n  examples: 5\n', tmp_path / "x.yml")


def _snapshot() -> dict[type | None, object]:
    return dict(yaml.SafeDumper.yaml_representers)


def test_global_safe_dumper_is_untouched(tmp_path: Path) -> None:
    before = _snapshot()
    corrections = [Correction("t1", "where is it", "greet", "order_status")]
    export([], corrections, tmp_path / "out")
    write_nlu(tmp_path / "nlu.yml", {"greet": ["hi"]})
    assert _snapshot() == before
    assert not [t for t in yaml.SafeDumper.yaml_representers if t and "training" in t.__module__]


def test_feedback_export_uses_the_rule(tmp_path: Path) -> None:
    corrections = [Correction(f"t{i}", t, "greet", "odd") for i, t in enumerate(TRICKY)]
    corrections.append(Correction("t", "where is it", "greet", "Order Status"))
    report = export([], corrections, tmp_path)
    examples = read_examples((tmp_path / NLU_FILE).read_text(encoding="utf-8"))
    assert examples == {
        "odd": [example_text(t) for t in TRICKY],
        "Order_Status": ["where is it"],
    }
    assert report.examples == len(TRICKY) + 1


def test_apply_uses_the_rule(tmp_path: Path) -> None:
    review = tmp_path / "intents_proposed.yml"
    write_members(
        tmp_path / "intents_members.jsonl",
        [Member(0, t) for t in TRICKY] + [Member(1, "hello"), Member(1, "hi")],
    )
    write_proposals(
        review,
        Proposals([ClusterProposal(0, "odd", len(TRICKY), 9), ClusterProposal(1, "greet", 2, 2)]),
    )
    out = tmp_path / "nlu.yml"
    apply_file(review, out)
    text = out.read_text(encoding="utf-8")
    assert text.index('"greet"') < text.index('"odd"')  # sorted, like every NLU file
    assert read_examples(text) == {
        "odd": [example_text(t) for t in TRICKY],
        "greet": ["hello", "hi"],
    }
