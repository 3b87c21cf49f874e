"""escalation.yml loading and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.escalation.config import (
    EscalationConfigError,
    load_escalation_config,
    parse_escalation_config,
)
from common.errors import ConfigError
from tests.bot.escalation.conftest import CONFIG_FILE


def test_project_file_loads_with_the_documented_defaults() -> None:
    config = load_escalation_config(CONFIG_FILE)
    assert config.explicit_request.intents == ("request_human",)
    assert config.low_confidence.times_in_a_row == 2
    assert set(config.low_confidence.intents) == {"nlu_fallback", "out_of_scope"}
    assert {t.name for t in config.sensitive_topics.topics} >= {
        "legal_threat",
        "fraud",
        "bereavement",
    }
    assert "action_default_fallback" in config.repeated_fallback.actions
    assert config.summary.order_number_pattern.search("order pc 482913")


def test_empty_document_gives_defaults(tmp_path: Path) -> None:
    file = tmp_path / "e.yml"
    file.write_text("", encoding="utf-8")
    config = load_escalation_config(file)
    assert config.low_confidence.times_in_a_row == 2
    assert config.sensitive_topics.topics == ()


def test_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "custom.yml"
    file.write_text("triggers:\n  low_confidence:\n    times_in_a_row: 3\n", encoding="utf-8")
    monkeypatch.setenv("BOT_ESCALATION_CONFIG", str(file))
    assert load_escalation_config().low_confidence.times_in_a_row == 3


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EscalationConfigError, match="cannot read"):
        load_escalation_config(tmp_path / "nope.yml")


def test_not_yaml(tmp_path: Path) -> None:
    file = tmp_path / "e.yml"
    file.write_text("triggers: [unclosed", encoding="utf-8")
    with pytest.raises(EscalationConfigError, match="not valid YAML"):
        load_escalation_config(file)


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"trigers": {}}, "", "unknown keys"),
        ({"version": 2}, "version", "unsupported"),
        ({"triggers": {"low_confidence": {"times_in_a_row": 0}}}, "times_in_a_row", "at least 1"),
        ({"triggers": {"low_confidence": {"times_in_a_row": "2"}}}, "times_in_a_row", "integer"),
        (
            {"triggers": {"low_confidence": {"confidence_below": 1.5}}},
            "confidence_below",
            "between",
        ),
        ({"triggers": {"explicit_request": {"priority": 10}}}, "priority", "between 0 and 9"),
        ({"triggers": {"explicit_request": {"intents": []}}}, "intents", "must not be empty"),
        ({"triggers": {"explicit_request": {"enabled": "yes"}}}, "enabled", "true or false"),
        ({"triggers": {"negative_sentiment": {"anger_cues": "ugh"}}}, "anger_cues", "list"),
        ({"triggers": {"negative_sentiment": {"tresh": 1}}}, "negative_sentiment", "unknown"),
        ({"triggers": {"sensitive_topics": {"topics": {"x": {}}}}}, "topics.x", "at least one"),
        (
            {"triggers": {"sensitive_topics": {"topics": {"x": {"patterns": ["(unclosed"]}}}}},
            "topics.x.patterns",
            "invalid regex",
        ),
        ({"triggers": {"repeated_fallback": []}}, "repeated_fallback", "mapping"),
        ({"summary": {"order_number_pattern": 5}}, "order_number_pattern", "string"),
    ],
)
def test_invalid_values_name_the_key(data: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(EscalationConfigError) as info:
        parse_escalation_config(data, source="test.yml")
    assert isinstance(info.value, ConfigError)
    assert key in info.value.key
    assert problem in str(info.value)
    assert "test.yml" in str(info.value)


def test_knowledge_gap_config_is_read_and_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("version: 1\ntriggers:\n  knowledge_gap:\n    priority: 2\n    times: 3\n")
    config = load_escalation_config(good)
    assert (config.knowledge_gap.priority, config.knowledge_gap.times) == (2, 3)
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\ntriggers:\n  knowledge_gap:\n    times: 0\n")
    with pytest.raises(EscalationConfigError, match="knowledge_gap"):
        load_escalation_config(bad)
