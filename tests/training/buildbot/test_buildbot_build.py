"""build-bot end to end on the fixture transcripts: the project, re-runs, hand edits, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from common.errors import TrainingDataError
from common.privacy.detectors import PLACEHOLDER_RE
from training.buildbot.mining import (
    HANDOFF,
    KNOWLEDGE,
    PAST_REPLY,
    RESPONSE,
    SLOT_REQUEST,
    IntentPlan,
)
from training.buildbot.project import KNOWLEDGE_COMPONENT, ProjectSpec, render_project
from training.prepare.manifest import OutputConflictError
from training.rasa_yaml import check_nlu

from .conftest import TRANSCRIPTS, RunBuild, conversation, write_jsonl


@pytest.fixture
def built(tmp_path: Path, run_build: RunBuild) -> Path:
    out = tmp_path / "bot"
    result = run_build(TRANSCRIPTS, out, name="Trail Co")
    assert not result.stopped_for_review
    return out


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_project_is_complete_and_routes_each_intent(built: Path):
    for rel in (
        "config.yml",
        "endpoints.yml",
        "credentials.yml",
        "escalation.yml",
        "channel_styles.yml",
        "README.md",
        "domain/intents.yml",
        "domain/responses.yml",
        "domain/slots.yml",
        "domain/session.yml",
        "data/nlu/intents.yml",
        "data/rules.yml",
        "data/stories.yml",
        "data/generation/pairs.jsonl",
        "heldout/conversations.jsonl",
        "heldout/nlu_test.yml",
        "build_report.md",
    ):
        assert (built / rel).is_file(), rel
    report = json.loads((built / "build_report.json").read_text())
    routes = {i["intent"]: i["route"] for i in report["intents"]}
    assert routes == {
        "legal_threat": HANDOFF,
        "order_status": SLOT_REQUEST,
        "product_question": PAST_REPLY,
        "return_item": RESPONSE,
        "thank_you": RESPONSE,
    }
    order = next(i for i in report["intents"] if i["intent"] == "order_status")
    assert order["slot"] == "order_number"
    assert order["question"].endswith("order number?"), order["question"]
    check_nlu((built / "data/nlu/intents.yml").read_text(), built / "data/nlu/intents.yml")
    rules = _yaml(built / "data/rules.yml")["rules"]
    assert {"intent": "legal_threat"} in rules[0]["steps"]
    assert {"action": "action_escalate"} in rules[0]["steps"]
    product = next(r for r in rules if {"intent": "product_question"} in r["steps"])
    assert {"action": "utter_past_reply"} in product["steps"]
    slots = _yaml(built / "domain/slots.yml")
    assert slots["forms"] == {"order_status_form": {"required_slots": ["order_number"]}}


def test_no_placeholder_reaches_a_response(built: Path):
    responses = _yaml(built / "domain/responses.yml")["responses"]
    texts = [v["text"] for variants in responses.values() for v in variants]
    assert not [t for t in texts if PLACEHOLDER_RE.search(t)]
    assert responses["utter_order_status"][0]["text"].startswith("Thanks! Order {order_number}")


def test_config_and_endpoints_follow_this_repository(built: Path):
    root = Path(__file__).resolve().parents[3]
    ours, theirs = _yaml(root / "config.yml"), _yaml(built / "config.yml")
    # The sample's help centre stays behind: a bot built without --kb has no retriever.
    assert [c["name"] for c in theirs["pipeline"]] == [
        c["name"] for c in ours["pipeline"] if c["name"] != KNOWLEDGE_COMPONENT
    ]
    generator = next(c for c in theirs["pipeline"] if c["name"].endswith("ResponseGenerator"))
    assert "answer_examples" not in generator
    assert theirs["policies"] == ours["policies"]
    assert theirs["assistant_id"] == "trail-co"
    endpoints = _yaml(built / "endpoints.yml")
    assert endpoints["nlg"]["type"] == _yaml(root / "endpoints.yml")["nlg"]["type"]
    assert endpoints["nlg"]["generate_for"] == ["utter_generated"]
    assert endpoints["nlg"]["knowledge_for"] == []
    assert endpoints["nlg"]["past_reply_for"] == ["utter_past_reply"]


def test_rerunning_changes_nothing_and_hand_edits_are_protected(
    tmp_path: Path, built: Path, run_build: RunBuild
):
    again = run_build(TRANSCRIPTS, built, name="Trail Co")
    assert again.written == ()
    responses = built / "domain/responses.yml"
    responses.write_text(responses.read_text() + "# edited\n")
    with pytest.raises(OutputConflictError, match="domain/responses.yml: edited since"):
        run_build(TRANSCRIPTS, built, name="Trail Co")
    forced = run_build(TRANSCRIPTS, built, name="Trail Co", force=True)
    assert forced.written == ("domain/responses.yml",)
    assert "# edited" not in responses.read_text()


def test_knowledge_route_adds_the_retriever_and_its_rule():
    plans = [
        IntentPlan("a", 3, KNOWLEDGE, "low cohesion"),
        IntentPlan("b", 3, HANDOFF, "handed over"),
    ]
    files = render_project(
        ProjectSpec("Kb Co", plans, {"a": ["x", "y"], "b": ["z", "w"]}, [], True)
    )
    pipeline = yaml.safe_load(files["config.yml"])["pipeline"]
    names = [c["name"] for c in pipeline]
    retriever = pipeline[names.index(KNOWLEDGE_COMPONENT)]
    assert names.index(KNOWLEDGE_COMPONENT) == names.index("FallbackClassifier") + 1
    assert names.count(KNOWLEDGE_COMPONENT) == 1
    assert retriever["chunks"] == "knowledge/chunks" and retriever["route_intents"] == ["a"]
    rules = yaml.safe_load(files["data/rules.yml"])["rules"]
    assert rules[0]["steps"] == [{"intent": "a"}, {"action": "utter_knowledge_answer"}]
    assert "utter_knowledge_answer" in yaml.safe_load(files["domain/responses.yml"])["responses"]
    nlg = yaml.safe_load(files["endpoints.yml"])["nlg"]
    assert nlg["generate_for"] == ["utter_generated"]
    assert nlg["knowledge_for"] == ["utter_knowledge_answer"]


def _labelled(n: int, intent: str, reply: str, prefix: str = "") -> list[dict[str, object]]:
    return [
        conversation(
            f"{prefix}{intent}-{i}",
            ("customer", f"{intent} question {i}", intent),
            ("agent", reply, None),
        )
        for i in range(n)
    ]


def test_no_agent_turns_names_the_file_and_a_record(tmp_path: Path, run_build: RunBuild):
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [
            conversation("c1", ("customer", "hello", "greet")),
            conversation("c2", ("customer", "hi", "greet")),
        ],
    )
    with pytest.raises(TrainingDataError, match=r"t\.jsonl.*no customer message is answered.*c1"):
        run_build(path, tmp_path / "out")


def test_a_single_intent_is_refused(tmp_path: Path, run_build: RunBuild):
    path = write_jsonl(tmp_path / "t.jsonl", _labelled(4, "returns", "Returns are free."))
    with pytest.raises(TrainingDataError, match=r"at least two intents.*found 1 \(returns\)"):
        run_build(path, tmp_path / "out")


def test_an_intent_with_one_example_is_named(tmp_path: Path, run_build: RunBuild):
    rows = _labelled(4, "returns", "Returns are free.") + _labelled(4, "hours", "We open at 9.")
    rows += _labelled(1, "lonely", "Hm.")
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(TrainingDataError, match="single example.*lonely.*--drop-thin-intents"):
        run_build(path, tmp_path / "out")
    result = run_build(path, tmp_path / "out", drop_thin=True)
    assert [p.intent for p in result.plans] == ["hours", "returns"]
    report = json.loads((tmp_path / "out/build_report.json").read_text())
    assert report["left_out"]["one_example_intents"] == ["lonely"]


def test_conflicting_labels_name_both_records(tmp_path: Path, run_build: RunBuild):
    rows = _labelled(4, "returns", "Returns are free.") + _labelled(4, "hours", "We open at 9.")
    rows.append(
        conversation("clash", ("customer", "returns question 1", "hours"), ("agent", "ok", None))
    )
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(
        TrainingDataError,
        match=r"conversation clash labels a text 'hours'; .*returns-1 labels it 'returns'",
    ):
        run_build(path, tmp_path / "out")
    assert not run_build(path, tmp_path / "out", drop_conflicts=True).stopped_for_review


def test_unlabelled_transcripts_stop_for_review_then_build_from_the_reviewed_file(
    tmp_path: Path, run_build: RunBuild
):
    rows = json.loads("[" + ",".join(TRANSCRIPTS.read_text().splitlines()) + "]")
    for row in rows:
        for turn in row["turns"]:
            turn.pop("intent", None)
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    out = tmp_path / "out"
    stopped = run_build(path, out)
    assert stopped.stopped_for_review and not (out / "config.yml").exists()
    proposals = out / "intents_proposed.yml"
    assert proposals.is_file()
    # The reviewer's work: the fake encoder clusters nothing, so the review assigns the
    # openers by hand (what renaming and merging clusters amounts to).
    topics = {"return": 1, "send": 1, "sue": 2, "court": 2, "lawyer": 2, "legal": 2}
    reviewed = tmp_path / "review"
    reviewed.mkdir()
    members = [
        json.loads(line) for line in (out / "intents_members.jsonl").read_text().splitlines()
    ]
    for member in members:
        words = member["text"].lower()
        member["cluster"] = next((c for k, c in topics.items() if k in words), 0)
    (reviewed / "intents_members.jsonl").write_text("".join(json.dumps(m) + "\n" for m in members))
    (reviewed / "intents_proposed.yml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "members_file": "intents_members.jsonl",
                "clusters": [
                    {"id": 0, "name": "questions", "action": "keep", "size": 1, "messages": 1},
                    {"id": 1, "name": "returns", "action": "keep", "size": 1, "messages": 1},
                    {"id": 2, "name": "legal", "action": "keep", "size": 1, "messages": 1},
                ],
            }
        )
    )
    built = run_build(path, out, intents=reviewed / "intents_proposed.yml")
    assert not built.stopped_for_review
    routes = {p.intent: p.route for p in built.plans}
    assert routes["legal"] == HANDOFF and routes["returns"] == RESPONSE
    assert (out / "config.yml").is_file()
    pairs = [json.loads(x) for x in (out / "data/generation/pairs.jsonl").read_text().splitlines()]
    assert {"questions", "returns", "legal"} <= {p["intent"] for p in pairs}


class TopicEmbedder:
    """One direction per topic word, so discovery finds the fixture's topics as clusters."""

    TOPICS = (
        ("order", "parcel", "package", "delivery", "track", "arrive"),
        ("return", "send", "back"),
        ("sue", "court", "lawyer", "legal", "solicitor", "attorney", "lawsuit"),
    )

    def encode(self, texts):
        import numpy as np

        vectors = np.zeros((len(texts), len(self.TOPICS) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            topic = next(
                (i for i, words in enumerate(self.TOPICS) if any(w in lowered for w in words)),
                len(self.TOPICS),
            )
            vectors[row, topic] = 1.0
        return vectors


def test_accept_proposals_builds_from_the_unreviewed_clusters(tmp_path: Path, redactor):
    from training.buildbot.pipeline import BuildOptions, build_bot

    rows = json.loads("[" + ",".join(TRANSCRIPTS.read_text().splitlines()) + "]")
    for row in rows:
        for turn in row["turns"]:
            turn.pop("intent", None)
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    out = tmp_path / "out"
    result = build_bot(
        BuildOptions(input=path, out=out, accept_proposals=True, near_dedupe=False),
        TopicEmbedder(),
        redactor,
    )
    assert not result.stopped_for_review
    routes = sorted(p.route for p in result.plans)
    assert len(result.plans) == 4
    assert routes.count(HANDOFF) == 1 and routes.count(SLOT_REQUEST) == 1
    assert (out / "config.yml").is_file() and not (out / "intents_proposed.yml").exists()


def test_the_command_exits_1_on_bad_input(tmp_path: Path, caplog):
    from training.__main__ import main

    path = write_jsonl(tmp_path / "t.jsonl", [conversation("c1", ("customer", "hi", "greet"))])
    assert main(["build-bot", "--input", str(path), "--out", str(tmp_path / "out")]) == 1
    assert "no customer message is answered" in caplog.text


def test_names_with_no_trained_tagger_exits_1_with_the_command(tmp_path: Path, caplog, monkeypatch):
    from training.__main__ import main

    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path / "cache"))  # no tagger there
    path = write_jsonl(tmp_path / "t.jsonl", [conversation("c1", ("customer", "hi", "greet"))])
    argv = ["build-bot", "--input", str(path), "--out", str(tmp_path / "out"), "--names", "vote"]
    assert main(argv) == 1
    assert "python -m training pii-ner" in caplog.text
    assert not (tmp_path / "out").exists()
