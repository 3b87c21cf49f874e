"""The Rasa YAML writer: safe texts, valid files, accepted by Rasa's reader and validator."""

import json

import pytest
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.validator import Validator

from training.rasa_yaml import example_text, intent_name, nlu_yaml

TRICKY = [
    'He said "hi" and: left # not a comment',
    "- starts like a list item",
    'my [EMAIL_1](urgent) and [x]{"entity": "y"} and [a][b]',
    "line one\nline two\ttabbed\u2028separated\x85next",
    "emoji 🏕️ and accents: crème brûlée",
    "{not a mapping} & *not an alias* | !tag %dir @at `tick` > fold",
    "trailing backslash \\",
    "control\x00chars\x07 and a bom\ufeff",
    "   ",
    "'single' quotes: yes",
]


def test_example_text_makes_one_safe_line():
    assert example_text("a\nb\u2028c  d") == "a b c d"
    assert example_text("[EMAIL_1](urgent)") == "[EMAIL_1] (urgent)"
    assert example_text("[[a](b)") == "[[a] (b)"
    assert example_text("x\x00y\ufeff") == "xy"
    assert example_text(" \n ") == ""


def test_intent_names_are_made_valid():
    assert intent_name("Track Order!") == "Track_Order"
    assert intent_name("cancel_order") == "cancel_order"
    assert intent_name("  ") == ""


def test_tricky_texts_round_trip_through_rasa_and_validate(tmp_path):
    texts = [t for t in (example_text(x) for x in TRICKY) if t]
    yaml_text = nlu_yaml({"odd": texts, "plain": ["hello there", "hi"]})
    assert yaml_text.startswith('version: "3.1"\n')
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "prepared.yml").write_text(yaml_text, encoding="utf-8")

    data = RasaYAMLReader().reads(yaml_text)
    read = [m.get("text") for m in data.intent_examples if m.get("intent") == "odd"]
    assert read == texts
    assert not data.entity_examples

    domain = tmp_path / "domain.yml"
    domain.write_text('version: "3.1"\nintents:\n  - odd\n  - plain\n')
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(domain), training_data_paths=[str(nlu)]
    )
    assert Validator.from_importer(importer).verify_nlu(ignore_warnings=False)


def test_empty_intents_are_left_out_and_an_empty_file_is_valid():
    assert "dropped" not in nlu_yaml({"dropped": [], "kept": ["x"]})
    empty = nlu_yaml({})
    assert RasaYAMLReader().reads(empty).intent_examples == []


@pytest.mark.parametrize("label", ["Track Order", "refund/return"])
def test_pipeline_renames_labels_and_reports_it(run_prepare, tmp_path, label):
    path = tmp_path / "in.jsonl"
    turns = [{"role": "customer", "text": "where is it", "intent": label}]
    path.write_text(json.dumps({"id": "1", "turns": turns}) + "\n")
    result = run_prepare(path, tmp_path / "out")
    assert result.report.renamed_intents == {label: intent_name(label)}
    data = RasaYAMLReader().reads((tmp_path / "out" / "nlu" / "prepared.yml").read_text())
    assert {m.get("intent") for m in data.intent_examples} == {intent_name(label)}
