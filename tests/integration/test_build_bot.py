"""build-bot end to end: fixture transcripts -> project -> `rasa data validate` -> `rasa train`
(small budgets) -> a running server answers a held-out opener with the mined response, and
the replay of a few conversations gives the expected outcomes. An intent whose agents'
replies disagree (product questions) is answered with the agents' reply to the nearest
past question of that intent.

The trained model is cached under ``.cache/test-models`` by the hash of its inputs, like the
sample bot's.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from loopback.rasa_server import ROOT, running_bot
from tests.conftest import _tree_hash

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRANSCRIPTS = ROOT / "tests" / "data" / "buildbot" / "transcripts.jsonl"
SMALL_BUDGETS = {
    "bot.nlu.intent_classifier.TransformerIntentClassifier": {
        "epochs": 3,
        "min_steps": 60,
        "refit": False,
    },
    "bot.nlu.response_generator.ResponseGenerator": {"max_steps": 2, "max_train_seconds": 20},
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}


def _rasa() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def _build(out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "training", "build-bot", "--input", str(TRANSCRIPTS)]
        + ["--out", str(out), "--name", "Trail Co"],
        cwd=ROOT,
        check=True,
        env=_env(),
        timeout=900,
    )
    config_path = out / "config.yml"
    config = yaml.safe_load(config_path.read_text())
    for component in config["pipeline"]:
        component.update(SMALL_BUDGETS.get(component["name"], {}))
    for policy in config["policies"]:
        if policy["name"] == "TEDPolicy":
            policy["epochs"] = 5
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "trail-co"
    _build(out)
    return out


@pytest.fixture(scope="module")
def model(project: Path) -> Path:
    inputs = [TRANSCRIPTS, ROOT / "training" / "buildbot", ROOT / "config.yml"]
    inputs += [ROOT / "common", ROOT / "bot" / "nlu", ROOT / "bot" / "escalation"]
    inputs += [ROOT / "bot" / "nlg" / "generation"]  # the grounding index is in the model
    key = _tree_hash(inputs)
    cache = ROOT / ".cache" / "test-models"
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"buildbot-{key}.tar.gz"
    with open(cache / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.is_file():
            subprocess.run(
                [_rasa(), "train", "--domain", "domain", "--out", "models"]
                + ["--fixed-model-name", "bot"],
                cwd=project,
                check=True,
                env=_env(),
                timeout=2700,  # fixtures are outside pytest's per-test limit
            )
            shutil.copy(project / "models" / "bot.tar.gz", cached)
    return cached


def test_the_built_project_validates(project: Path):
    result = subprocess.run(
        [_rasa(), "data", "validate", "--domain", "domain"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_held_out_opener_gets_the_mined_response(project: Path, model: Path, tmp_path: Path):
    responses = yaml.safe_load((project / "domain" / "responses.yml").read_text())["responses"]
    mined = {v["text"] for v in responses["utter_return_item"]}
    nlg = yaml.safe_load((project / "endpoints.yml").read_text())["nlg"]
    pairs = (project / "data" / "generation" / "pairs.jsonl").read_text().splitlines()
    product_replies = {
        p["agent"] for p in map(json.loads, pairs) if p["intent"] == "product_question"
    }
    with running_bot(model, tmp_path, endpoints_extra=yaml.safe_dump({"nlg": nlg})) as bot:

        def ask(message: str) -> list[dict[str, object]]:
            return requests.post(
                f"{bot.url}/webhooks/rest/webhook",
                json={"sender": uuid.uuid4().hex, "message": message},
                timeout=120,
            ).json()

        reply = ask("How do I send back a tent I bought?")
        product = ask("Do the hiking boots run small or true to size?")
    assert reply and reply[0]["text"] in mined
    # The past-reply route: the agents' own reply to the nearest product question.
    assert product and product[0]["text"] in product_replies, product
    assert "size" in str(product[0]["text"])


def test_replay_gives_the_expected_outcomes(project: Path, model: Path, tmp_path: Path):
    from training.evaluate.conversations import ReplayConfig, evaluate_conversations

    def conv(cid: str, *turns: tuple[str, str]) -> str:
        return json.dumps({"id": cid, "turns": [{"role": r, "text": t} for r, t in turns]})

    held = tmp_path / "held.jsonl"
    held.write_text(
        "\n".join(
            [
                conv(
                    "returns",
                    ("customer", "Can I return a sleeping bag I never used?"),
                    ("agent", "Yes, within 30 days of delivery; start it in My account."),
                ),
                conv(
                    "legal",
                    ("customer", "I'm going to take legal action against you"),
                    ("agent", "I'm transferring you to a colleague."),
                ),
                conv(
                    "product",
                    ("customer", "Is the Alpine sleeping bag warm enough below freezing?"),
                    ("agent", "The Alpine bag has a comfort rating of minus 5."),
                ),
                conv(
                    "order",
                    ("customer", "Where is my parcel? It hasn't arrived"),
                    ("agent", "What's your order number?"),
                    ("customer", "it is 40417"),
                    ("agent", "Order 40417 has shipped and arrives in 3 days."),
                ),
            ]
        )
        + "\n"
    )
    report = evaluate_conversations(
        ReplayConfig(
            model=model,
            conversations=held,
            out=tmp_path / "replay",
            endpoints=project / "endpoints.yml",
            pairs=project / "data" / "generation" / "pairs.jsonl",
        )
    )
    assert report["conversation_outcomes"] == {"contained": 3, "handed_off": 1}
    assert report["per_outcome"]["past_reply"]["turns"] == 1
    assert report["all_turns"]["baseline_cosine"] is not None
