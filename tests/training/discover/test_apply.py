from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.loading import load_data

from common.errors import TrainingDataError
from training.discover import (
    ClusterProposal,
    Member,
    ProposalError,
    Proposals,
    apply_file,
    write_members,
    write_proposals,
)
from training.rasa_yaml import example_text, nlu_yaml

MEMBERS = [
    Member(0, "track my order", 3),
    Member(0, "where is my parcel", 1),
    Member(1, "I want a refund", 1),
    Member(1, "money back please", 2),
    Member(2, "where's my order?", 1),
    Member(2, "has [ORDER_ID_1] shipped", 1),
    Member(3, "hi", 4),
    Member(3, "hello there", 1),
    Member(-1, "asdf qwer", 1),
]


@pytest.fixture
def files(tmp_path) -> Path:
    proposals = Proposals(
        clusters=[
            ClusterProposal(0, "track_order", 2, 4, ["track"], ["track my order"]),
            ClusterProposal(1, "refund_request", 2, 3, ["refund"], ["I want a refund"]),
            ClusterProposal(2, "order_where", 2, 2, ["order"], ["where's my order?"]),
            ClusterProposal(3, "hello_hi", 2, 5, ["hello"], ["hi"]),
        ],
        unclustered=1,
    )
    path = tmp_path / "review" / "intents_proposed.yml"
    write_members(path.parent / "intents_members.jsonl", MEMBERS)
    write_proposals(path, proposals)
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def read_back(path: Path) -> dict[str, set[str]]:
    data = load_data(str(path))
    intents: dict[str, set[str]] = {}
    for message in data.intent_examples:
        intents.setdefault(message.get("intent"), set()).add(message.get("text"))
    return intents


def test_unedited_proposals_keep_every_cluster(files, tmp_path):
    out = tmp_path / "data" / "nlu" / "discovered.yml"
    result = apply_file(files, out)
    assert out.read_text().startswith('version: "3.1"\nnlu:\n')
    assert result.intents == {
        "track_order": 2,
        "refund_request": 2,
        "order_where": 2,
        "hello_hi": 2,
    }
    assert result.dropped == 1
    intents = read_back(out)
    assert intents["order_where"] == {"where's my order?", "has [ORDER_ID_1] shipped"}
    assert "asdf qwer" not in {t for texts in intents.values() for t in texts}


def test_renames_merges_and_drops_are_applied(files, tmp_path):
    edit(files, "name: track_order", "name: order_status")
    edit(
        files,
        "name: order_where\n  action: keep\n  merge_into: null",
        "name: order_where\n  action: merge\n  merge_into: order_status",
    )
    edit(files, "name: hello_hi\n  action: keep", "name: greet\n  action: drop")
    out = tmp_path / "nlu.yml"
    result = apply_file(files, out)
    intents = read_back(out)
    assert set(intents) == {"order_status", "refund_request"}
    assert intents["order_status"] == {
        "track my order",
        "where is my parcel",
        "where's my order?",
        "has [ORDER_ID_1] shipped",
    }
    assert result.dropped == 3  # two greetings and the unclustered text


def test_review_errors_stop_apply_before_writing(files, tmp_path):
    edit(files, "name: refund_request", "name: track_order")
    out = tmp_path / "nlu.yml"
    with pytest.raises(ProposalError, match="already used"):
        apply_file(files, out)
    assert not out.exists()


def test_intents_with_too_few_examples_are_refused(files, tmp_path):
    with pytest.raises(ProposalError, match="has 2 example"):
        apply_file(files, tmp_path / "nlu.yml", min_examples=3)


def test_a_foreign_members_file_is_detected(files, tmp_path):
    other = tmp_path / "other.jsonl"
    write_members(other, [m for m in MEMBERS if m.cluster != 3])
    with pytest.raises(ProposalError, match="cluster 3 has no members"):
        apply_file(files, tmp_path / "nlu.yml", other)
    with pytest.raises(TrainingDataError, match="members file not found"):
        apply_file(files, tmp_path / "nlu.yml", tmp_path / "missing.jsonl")


def test_awkward_texts_survive_rasas_reader():
    texts = [
        "see [this](link) now",
        "line one\nline two\ttab",
        '# not a comment: "quoted" - dash',
        "- starts with a dash",
        "ünïcode ✓ and emoji 🙂",
        "{curly} [ORDER_ID_1] [EMAIL_2]",
    ]
    data = RasaYAMLReader().reads(nlu_yaml({"odd": [example_text(t) for t in texts]}))
    got = [m.get("text") for m in data.intent_examples]
    assert got[0] == "see [this] (link) now"
    assert got[1] == "line one line two tab"
    assert got[2:] == texts[2:]
    assert not data.entity_examples


def test_clusters_deleted_from_the_review_are_left_out(files, tmp_path, caplog):
    text = files.read_text()
    start = text.index("- id: 3")
    end = text.index("unclustered:")
    files.write_text(text[:start] + text[end:])
    edit(files, "size: 2\n  messages: 4", "size: lots\n  messages: 4")  # informational only
    result = apply_file(files, tmp_path / "nlu.yml")
    assert set(result.intents) == {"track_order", "refund_request", "order_where"}
    assert result.dropped == 3
    assert "1 cluster(s) missing from the proposals" in caplog.text
