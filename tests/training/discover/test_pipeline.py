"""End to end: real MiniLM and redactor, the library and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import normalized_mutual_info_score

import common.embeddings
import common.privacy
from training.__main__ import main
from training.discover import ClusterConfig, discover, load_proposals
from training.discover.pipeline import write_discovery

PII = {
    "Anna Schmidt": "Hi, I'm Anna Schmidt, where is my order PC-482913?",
    "anna.schmidt@example.com": "track my order, email anna.schmidt@example.com",
    "+44 20 7946 0958": "refund please, call me on +44 20 7946 0958",
    "PC-482913": "I want a refund for PC-482913",
    "Jonathan Miller": "Jonathan Miller here, I forgot my password",
}


@pytest.fixture(scope="module")
def messages(grouped) -> list[str]:
    texts, _ = grouped
    return texts + list(PII.values()) + ["where is my order"] * 3


def test_discover_groups_names_and_counts(messages, grouped, embedder, redactor):
    texts, labels = grouped
    result = discover(messages, embedder, redactor, ClusterConfig(n_clusters=4, min_cluster_size=3))
    clusters = result.proposals.clusters
    assert len(clusters) == 4
    assert len({c.name for c in clusters}) == 4
    by_text = {m.text: m.cluster for m in result.members}
    predicted = [by_text[t] for t in texts]
    assert normalized_mutual_info_score(labels, predicted) >= 0.9
    names = {by_text[texts[0]]: "order", by_text["I want a refund"]: "refund"}
    for cluster_id, word in names.items():
        assert word in clusters[cluster_id].name or word in " ".join(clusters[cluster_id].key_terms)
    repeated = next(m for m in result.members if m.text == "where is my order")
    assert repeated.count == 4  # three copies plus the one in the group
    assert sum(c.messages for c in clusters) + result.proposals.unclustered <= len(messages)
    assert all(len(c.examples) == min(5, c.size) for c in clusters)


def assert_no_pii(*paths: Path) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for value in PII:
            assert value not in text, f"{value!r} leaked into {path.name}"


def test_outputs_hold_no_raw_pii(messages, embedder, redactor, tmp_path):
    result = discover(messages, embedder, redactor, ClusterConfig(min_cluster_size=2))
    proposals, members = write_discovery(result, tmp_path)
    assert_no_pii(proposals, members)
    all_members = members.read_text()
    assert "[EMAIL_1]" in all_members and "[ORDER_ID_1]" in all_members
    assert "[PERSON_1]" in all_members


def test_command_line_propose_then_apply(messages, embedder, redactor, tmp_path, monkeypatch):
    monkeypatch.setattr(common.embeddings, "MiniLMEmbedder", lambda device: embedder)
    monkeypatch.setattr(common.privacy, "Redactor", lambda: redactor)
    source = tmp_path / "unlabelled_openers.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in messages))
    out = tmp_path / "review"
    assert main(["discover", str(source), "--out", str(out), "--min-cluster-size", "3"]) == 0
    proposals = out / "intents_proposed.yml"
    loaded = load_proposals(proposals)
    assert len(loaded.clusters) >= 3
    first, second = loaded.clusters[0], loaded.clusters[1]
    text = proposals.read_text()
    text = text.replace(
        f"name: {second.name}\n  action: keep\n  merge_into: null",
        f"name: {second.name}\n  action: merge\n  merge_into: {first.name}",
    )
    proposals.write_text(text)
    nlu = tmp_path / "data" / "nlu" / "discovered.yml"
    assert main(["apply-intents", str(proposals), "--out", str(nlu)]) == 0
    assert_no_pii(proposals, out / "intents_members.jsonl", nlu)
    data = load_data(str(nlu))
    intents = {m.get("intent") for m in data.intent_examples}
    assert first.name in intents and second.name not in intents
    assert len(intents) == len(loaded.clusters) - 1
    merged = sum(1 for m in data.intent_examples if m.get("intent") == first.name)
    assert merged == first.size + second.size


def test_command_line_reports_review_errors(tmp_path, caplog):
    proposals = tmp_path / "intents_proposed.yml"
    proposals.write_text("clusters:\n- id: 0\n  name: x\n  action: merge\n  merge_into: y\n")
    assert main(["apply-intents", str(proposals), "--out", str(tmp_path / "nlu.yml")]) == 2
    assert "line 2: cluster 0: merge_into 'y' is not the name of any cluster" in caplog.text
    assert not (tmp_path / "nlu.yml").exists()
