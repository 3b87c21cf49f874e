"""Retraining on inbox feedback fixes a mistake an agent marked.

The mistake is made by construction, so the test never depends on the trained model
happening to misclassify something: a message no intent's examples resemble is
corrected to the best-ranked inbox intent other than the one the sample bot predicted
(so the correction always differs from the prediction). The feedback is exported, added
to a temp copy of the NLU data, and `rasa train nlu` runs with the project's NLU
pipeline; the new model gets it right.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from rasa.core.agent import Agent

from bot.handoff import Ticket, Turn
from common.conversation import from_unix
from loopback.rasa_server import ROOT
from tests.support.inbox import INTENTS, Inbox
from training.feedback import cli
from training.feedback.export import NLU_FILE

pytestmark = pytest.mark.slow

# Made-up words: no training example is like it, so only the correction teaches it.
TEXT = "blorptangle wibbleflux snorkadoodle quimbly"


async def _intent(agent: Agent, text: str) -> str:
    parsed = await agent.parse_message(text)
    return str(parsed["intent"]["name"])


async def _mistake(agent: Agent, text: str) -> tuple[str, str]:
    """The bot's intent for ``text`` and a different inbox intent an agent corrects it to.

    The correction is the inbox intent the bot ranks highest after its own answer, the
    least surprising fix; it differs from the prediction by construction.
    """
    parsed = await agent.parse_message(text)
    predicted = str(parsed["intent"]["name"])
    ranked = [str(r["name"]) for r in parsed.get("intent_ranking") or []]
    candidates = [i for i in ranked if i in INTENTS] + list(INTENTS)
    right = next(i for i in candidates if i != predicted)
    return predicted, right


async def test_retrain_on_feedback_fixes_a_marked_mistake(
    sample_bot_model: Path, tmp_path: Path, inbox: Inbox
) -> None:
    agent = await asyncio.to_thread(Agent.load, str(sample_bot_model))
    text = TEXT
    predicted, right = await _mistake(agent, text)
    assert predicted != right

    # The agent marks the bot's answer to that message wrong.
    now = time.time()
    ticket = await inbox.queue.enqueue(
        Ticket.new(
            "web:retrain",
            "web",
            "retrain",
            now,
            intents=(predicted,),
            transcript=(
                Turn("customer", text, from_unix(now - 2)),
                Turn("bot", "(wrong answer)", from_unix(now - 1)),
            ),
        )
    )
    await inbox.service.claim(inbox.alice, ticket.id)
    assert await inbox.service.correct(inbox.alice, ticket.id, 1, right) == predicted

    feedback = tmp_path / "feedback"
    db = str(inbox.db.path)
    assert cli.run(argparse.Namespace(db=db, out=feedback)) == 0

    nlu = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", nlu)
    shutil.copy(feedback / NLU_FILE, nlu / NLU_FILE)
    out = tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    rasa = str(Path(sys.executable).parent / "rasa")
    # The project's NLU pipeline without the reply generator and the knowledge retriever,
    # which do not classify.
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [
        step
        for step in config["pipeline"]
        if not step["name"].endswith(("ResponseGenerator", "KnowledgeRetriever"))
    ]
    config_file = tmp_path / "config.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = ["nice", "-n", "10", rasa, "train", "nlu", "--config", str(config_file)]
    command += ["--nlu", str(nlu), "--out", str(out), "--fixed-model-name", "feedback"]
    result = await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-3000:]

    retrained = await asyncio.to_thread(Agent.load, str(out / "feedback.tar.gz"))
    assert await _intent(retrained, text) == right
