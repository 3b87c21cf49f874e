"""``EscalationPolicy``: a Rasa dialogue policy that hands conversations to a person.

After each customer message it evaluates the triggers of ``escalation.yml`` (see
:mod:`bot.escalation.triggers`). When one fires it predicts ``action_escalate`` with
confidence 1.0 and a priority above ``RulePolicy``'s, so it wins the ensemble, and sets
the ``escalation_trigger`` slot (only if it wins) so the action knows why. Otherwise it
abstains (all zeros). It never fires while the conversation is paused (handed off), nor
twice for one customer message.

Add it to ``config.yml``::

    policies:
      - name: bot.escalation.policy.EscalationPolicy

``escalation.yml`` is read when the model loads, not when it trains: edit it and restart
the server, no retraining needed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.escalation.config import load_escalation_config
from bot.escalation.triggers import ESCALATE_ACTION, TRIGGER_SLOT, TriggerEvaluator

logger = logging.getLogger(__name__)

ESCALATION_POLICY_PRIORITY = RULE_POLICY_PRIORITY + 1
"""Above RulePolicy, so a fired trigger wins a tie at confidence 1.0."""


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class EscalationPolicy(Policy):
    """Predicts ``action_escalate`` when an escalation trigger fires; abstains otherwise.

    Config keys: ``config_path`` (the triggers file; ``$BOT_ESCALATION_CONFIG`` or
    ``escalation.yml`` when empty), ``action_name``, ``trigger_slot`` and ``priority``.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Returns the default config (see parent class for full docstring)."""
        return {
            POLICY_PRIORITY: ESCALATION_POLICY_PRIORITY,
            "config_path": None,
            "action_name": ESCALATE_ACTION,
            "trigger_slot": TRIGGER_SLOT,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.action_name: str = str(config.get("action_name") or ESCALATE_ACTION)
        self.trigger_slot: str = str(config.get("trigger_slot") or TRIGGER_SLOT)
        self.evaluator = TriggerEvaluator(load_escalation_config(config.get("config_path")))
        self._missing_action_warned = False

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Nothing to learn; stores a marker so the model package has the resource.

        Args:
            training_trackers: Ignored.
            domain: Ignored.
            **kwargs: Ignored.

        Returns:
            The policy's resource.
        """
        with self._model_storage.write_to(self._resource) as path:
            (path / "escalation_policy.json").write_text(
                json.dumps({"action_name": self.action_name}), encoding="utf-8"
            )
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict ``action_escalate`` if a trigger fires on the latest customer message.

        Args:
            tracker: The conversation.
            domain: The model's domain.
            rule_only_data: Ignored.
            **kwargs: Ignored.

        Returns:
            Confidence 1.0 for the escalation action and the slot event, or all zeros.
        """
        probabilities = self._default_predictions(domain)
        if not self._should_evaluate(tracker, domain):
            return self._prediction(probabilities)
        fired = self.evaluator.first([e.as_dict() for e in tracker.applied_events()])
        if fired is None:
            return self._prediction(probabilities)
        logger.info(
            "Escalation trigger %s fired for sender %s (priority %d).",
            fired.key,
            tracker.sender_id,
            fired.priority,
        )
        probabilities[domain.index_for_action(self.action_name)] = 1.0
        return self._prediction(
            probabilities,
            optional_events=[SlotSet(self.trigger_slot, fired.key)],
            diagnostic_data={"escalation_trigger": fired.key, "priority": fired.priority},
        )

    def _should_evaluate(self, tracker: DialogueStateTracker, domain: Domain) -> bool:
        if tracker.is_paused() or not _right_after_user_message(tracker):
            return False
        if self.action_name not in domain.action_names_or_texts:
            if not self._missing_action_warned:
                logger.warning(
                    "EscalationPolicy: action '%s' is not in the domain; not escalating.",
                    self.action_name,
                )
                self._missing_action_warned = True
            return False
        return True


def _right_after_user_message(tracker: DialogueStateTracker) -> bool:
    """Whether no action ran since the latest user message (and it is not external)."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            return False
        if isinstance(event, UserUttered):
            return not (event.text or "").startswith(EXTERNAL_MESSAGE_PREFIX)
    return False
