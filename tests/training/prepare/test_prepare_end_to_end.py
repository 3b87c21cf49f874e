"""Bitext subset -> prepare -> rasa data validate -> rasa train nlu -> parse held-back requests."""

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.privacy import Redactor
from tests.training.prepare.conftest import ROOT
from training.ingest import IngestOptions
from training.prepare import PrepareOptions, prepare

BITEXT = ROOT.parent / "shared" / "datasets" / "bitext_support" / "bitext_support_qa.csv"
INTENTS = (
    "cancel_order",
    "track_order",
    "get_refund",
    "recover_password",
    "delete_account",
    "payment_issue",
    "newsletter_subscription",
    "complaint",
)
TRAIN_ROWS, HELD_BACK = 40, 6

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _subset(target: Path) -> list[tuple[str, str]]:
    """Write 40 rows per intent to ``target``; return 6 later rows per intent, held back."""
    taken = {intent: 0 for intent in INTENTS}
    held: list[tuple[str, str]] = []
    with (
        BITEXT.open(encoding="utf-8", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for row in reader:
            intent = row["intent"]
            if intent not in taken:
                continue
            taken[intent] += 1
            if taken[intent] <= TRAIN_ROWS:
                writer.writerow(row)
            elif TRAIN_ROWS + 20 < taken[intent] <= TRAIN_ROWS + 20 + HELD_BACK:
                held.append((row["instruction"], intent))
    return held


def _config(tmp: Path) -> Path:
    project = yaml.safe_load((ROOT / "config.yml").read_text())
    # The NLU pipeline only: reply generation and knowledge are not what this test measures.
    pipeline = [
        c
        for c in project["pipeline"]
        if not c["name"].endswith(("ResponseGenerator", "KnowledgeRetriever"))
    ]
    for component in pipeline:
        if component["name"].endswith("TransformerIntentClassifier"):
            component.update(epochs=3, min_steps=30, max_length=32, device="cpu")
    path = tmp / "config.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "recipe": "default.v1",
                "language": "en",
                "assistant_id": "prepare-e2e",
                "pipeline": pipeline,
                "policies": [],
            }
        )
    )
    return path


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


@pytest.mark.timeout(1500)
def test_bitext_subset_trains_a_model_that_recognises_held_back_requests(tmp_path):
    if not BITEXT.is_file():
        pytest.skip(f"shared datasets missing: {BITEXT} (needs ../shared/datasets/bitext_support)")
    source = tmp_path / "bitext_subset.csv"
    held = _subset(source)
    out = tmp_path / "data"

    result = prepare(
        PrepareOptions(input=source, out=out, ingest=IngestOptions(), test_fraction=0.1),
        redactor=Redactor(),
    )
    counts = result.report.intents
    assert set(counts) == set(INTENTS)
    assert all(c.train >= 25 and c.test >= 3 for c in counts.values())
    # Bitext paraphrases its requests: the real MiniLM pass finds near duplicates.
    assert sum(c.near_duplicates for c in counts.values()) > 0
    pairs = [json.loads(x) for x in (out / "generation" / "pairs.jsonl").open()]
    assert len(pairs) > 250 and {p["intent"] for p in pairs} == set(INTENTS)

    domain = tmp_path / "domain.yml"
    domain.write_text(yaml.safe_dump({"version": "3.1", "intents": sorted(INTENTS)}))
    validate = _rasa("data", "validate", "--data", str(out / "nlu"), "--domain", str(domain))
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]

    models = tmp_path / "models"
    train = _rasa(
        "train",
        "nlu",
        "--config",
        str(_config(tmp_path)),
        "--nlu",
        str(out / "nlu"),
        "--out",
        str(models),
        "--fixed-model-name",
        "prepared",
    )
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-2000:]

    from rasa.core.agent import Agent

    agent = Agent.load(str(models / "prepared.tar.gz"))

    async def parse_all() -> list[str]:
        return [(await agent.parse_message(text))["intent"]["name"] for text, _ in held]

    predicted = asyncio.run(parse_all())
    accuracy = sum(p == gold for p, (_, gold) in zip(predicted, held, strict=True)) / len(held)
    assert len(held) == len(INTENTS) * HELD_BACK
    assert accuracy >= 0.8, list(zip(predicted, [g for _, g in held], strict=True))
    specific = asyncio.run(agent.parse_message("I forgot my password, how can I get back in?"))
    assert specific["intent"]["name"] == "recover_password"
