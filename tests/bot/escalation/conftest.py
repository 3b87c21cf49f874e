"""Fixtures for escalation: the project's domain and the real policy (event builders:
tests/support/trackers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.escalation.config import EscalationConfig, load_escalation_config
from bot.escalation.policy import EscalationPolicy

ROOT = Path(__file__).resolve().parents[3]
CONFIG_FILE = ROOT / "escalation.yml"


@pytest.fixture(scope="session")
def domain() -> Domain:
    """The sample bot's real domain (with domain/handoff.yml)."""
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(scope="session")
def escalation_config() -> EscalationConfig:
    return load_escalation_config(CONFIG_FILE)


def make_policy(tmp_path: Path, **config: Any) -> EscalationPolicy:
    options = {**EscalationPolicy.get_default_config(), "config_path": str(CONFIG_FILE)}
    options.update(config)
    return EscalationPolicy.create(
        options,
        LocalModelStorage(tmp_path),
        Resource("escalation_policy"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


@pytest.fixture(scope="session")
def policy(tmp_path_factory: pytest.TempPathFactory) -> EscalationPolicy:
    return make_policy(tmp_path_factory.mktemp("policy"))


def predicted(policy: EscalationPolicy, t: DialogueStateTracker, domain: Domain) -> str | None:
    """The action the policy predicts with confidence 1.0, ``None`` when it abstains."""
    prediction = policy.predict_action_probabilities(t, domain)
    if prediction.max_confidence == 0.0:
        assert prediction.optional_events == []
        return None
    assert prediction.max_confidence == 1.0
    return domain.action_names_or_texts[prediction.max_confidence_index]


def trigger_slot(policy: EscalationPolicy, t: DialogueStateTracker, domain: Domain) -> str | None:
    prediction = policy.predict_action_probabilities(t, domain)
    values = [e.value for e in prediction.optional_events if e.key == "escalation_trigger"]
    return values[0] if values else None
