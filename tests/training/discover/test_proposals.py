from __future__ import annotations

from pathlib import Path

import pytest

from training.discover import (
    ClusterProposal,
    Member,
    ProposalError,
    Proposals,
    load_proposals,
    read_members,
    write_members,
    write_proposals,
)


def sample_proposals() -> Proposals:
    return Proposals(
        clusters=[
            ClusterProposal(0, "track_order", 4, 6, ["track", "order"], ["track my order"]),
            ClusterProposal(1, "refund_request", 3, 3, ["refund"], ["I want a refund: now"]),
            ClusterProposal(2, "order_where", 2, 2, ["order"], ["where's my order?"]),
            ClusterProposal(3, "hello_hi", 2, 5, ["hello"], ["hi", "- hello #1"]),
        ],
        unclustered=1,
        unclustered_examples=["asdf"],
        settings={"linkage": "average", "distance_threshold": 0.55},
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_proposals_round_trip(tmp_path):
    path = tmp_path / "intents_proposed.yml"
    original = sample_proposals()
    write_proposals(path, original)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Intents proposed")
    loaded = load_proposals(path)
    lines = text.splitlines()
    assert lines[loaded.clusters[1].line - 1].lstrip("- ").startswith("id: 1")
    for got, want in zip(loaded.clusters, original.clusters, strict=True):
        assert got.line is not None
        got.line = None
        assert got == want
    assert loaded.unclustered == 1 and loaded.unclustered_examples == ["asdf"]
    assert loaded.settings == original.settings
    assert loaded.members_file == "intents_members.jsonl"


def test_members_round_trip(tmp_path):
    members = [Member(0, "track my order", 2), Member(-1, 'odd "quoted"\ttext', 1)]
    write_members(tmp_path / "m.jsonl", members)
    assert list(read_members(tmp_path / "m.jsonl")) == members


def test_malformed_members_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"cluster": 0, "text": "a", "count": 1}\n{"cluster": "x"}\n')
    with pytest.raises(Exception, match="m.jsonl:2"):
        list(read_members(path))


@pytest.fixture
def written(tmp_path) -> Path:
    path = tmp_path / "intents_proposed.yml"
    write_proposals(path, sample_proposals())
    return path


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ProposalError) as info:
        load_proposals(path)
    return info.value.issues


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_unknown_merge_target_is_reported_on_its_line(written):
    edit(
        written,
        "name: order_where\n  action: keep\n  merge_into: null",
        "name: order_where\n  action: merge\n  merge_into: track_ordr",
    )
    issues = issues_of(written)
    assert len(issues) == 1
    assert "'track_ordr' is not the name of any cluster" in issues[0]
    assert issues[0].startswith(f"line {line_of(written, 'id: 2')}:")


def test_duplicate_kept_names_name_both_lines(written):
    edit(written, "name: order_where", "name: track_order")
    issues = issues_of(written)
    assert len(issues) == 1
    assert "already used by cluster 0" in issues[0]
    assert f"line {line_of(written, 'id: 0')})" in issues[0]


def test_merge_into_a_dropped_cluster_is_an_error(written):
    edit(written, "name: refund_request\n  action: keep", "name: refund_request\n  action: drop")
    edit(
        written,
        "name: order_where\n  action: keep\n  merge_into: null",
        "name: order_where\n  action: merge\n  merge_into: refund_request",
    )
    assert "whose action is drop" in issues_of(written)[0]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("action: keep", "action: kepp", "must be keep, merge or drop"),
        ("name: track_order", "name: track order", "must start with a letter"),
        ("name: track_order", "name: 1track", "must start with a letter"),
        ("merge_into: null", "merge_into: hello_hi", "merge_into is set but action is keep"),
        ("name: hello_hi\n  action: keep", "name: hello_hi\n  action: merge", "needs merge_into"),
        ("- id: 1\n", "- id: 0\n", "listed twice"),
        ("- id: 1\n", "- id: one\n", "id must be an integer"),
    ],
)
def test_field_errors_are_reported_with_lines(written, old, new, message):
    edit(written, old, new)
    issues = issues_of(written)
    assert any(message in i for i in issues), issues
    assert all(i.startswith("line ") for i in issues)


def test_bad_yaml_reports_the_line(written):
    lines = written.read_text().splitlines()
    target = line_of(written, "name: refund_request")
    lines[target - 1] = "  name: [refund_request"
    written.write_text("\n".join(lines) + "\n")
    issues = issues_of(written)
    assert len(issues) == 1 and "invalid YAML" in issues[0]
    reported = int(issues[0].split(":")[0].removeprefix("line "))
    assert target <= reported <= target + 2


def test_wrong_structure_and_nothing_kept(tmp_path, written):
    bad = tmp_path / "bad.yml"
    bad.write_text("- just a list\n")
    assert "expected a mapping" in issues_of(bad)[0]
    bad.write_text("clusters: 3\n")
    assert "'clusters' must be a list" in issues_of(bad)[0]
    text = written.read_text().replace("action: keep", "action: drop")
    written.write_text(text)
    assert "no cluster is kept" in issues_of(written)[0]
