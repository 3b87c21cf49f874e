"""When the bot hands a conversation to a person, and what the person is told.

* :mod:`bot.escalation.config` loads ``escalation.yml``;
* :mod:`bot.escalation.triggers` decides (pure functions over Rasa event dicts), helped by
  :mod:`bot.escalation.sentiment` and :mod:`bot.escalation.sensitive`;
* :mod:`bot.escalation.summary` and :mod:`bot.escalation.ticket` build the agent's ticket;
* :mod:`bot.escalation.policy` is the Rasa policy (imported by Rasa, not from here, so
  the action server does not load Rasa's policy stack);
* the handoff queue settings in ``endpoints.yml`` are read by :mod:`bot.handoff.config`.
"""

from bot.escalation.config import (
    EscalationConfig,
    EscalationConfigError,
    load_escalation_config,
    parse_escalation_config,
)
from bot.escalation.triggers import FiredTrigger, TriggerEvaluator

__all__ = [
    "EscalationConfig",
    "EscalationConfigError",
    "FiredTrigger",
    "TriggerEvaluator",
    "load_escalation_config",
    "parse_escalation_config",
]
