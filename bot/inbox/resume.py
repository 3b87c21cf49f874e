"""Hands a conversation back to the bot when its ticket is resolved.

Like Rasa's ``POST /conversations/<id>/tracker/events`` handler, the tracker is changed
under the conversation's lock: ``ConversationResumed`` (and ``action_listen``, which the
pausing action left out) is appended, then the
``handoff_resolved`` intent is triggered (the rule answers with ``action_back_to_bot``).
The bot's closing words are collected and sent through the outbound registry, after the
customer's client is told that the bot is back.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ConversationResumed

from bot.handoff.outbound import outbound_registry
from common.errors import BotError

logger = logging.getLogger(__name__)

RESOLVED_INTENT = "handoff_resolved"


class Resumer(Protocol):
    """Gives a conversation back to the bot."""

    async def resume(self, sender_id: str) -> None:
        """Hand ``sender_id`` back to the bot."""
        ...


class ResumeError(BotError):
    """The conversation could not be handed back to the bot."""

    status_code = 503


class RasaResumer:
    """Resumes conversations in the Rasa agent of the running server.

    Args:
        agent: ``request.app.ctx.agent`` (a ``rasa.core.agent.Agent``).
        outbound: Has ``deliver`` and ``notify_state``; default: the outbound registry.
        intent: The intent triggered after resuming.
    """

    def __init__(self, agent: Any, outbound: Any | None = None, intent: str = RESOLVED_INTENT):
        self.agent = agent
        self._outbound = outbound
        self.intent = intent

    def _registry(self) -> Any:
        if self._outbound is None:
            return outbound_registry()
        return self._outbound

    async def resume(self, sender_id: str) -> None:
        """Resume ``sender_id``, let the bot close politely, and say the bot is back.

        Raises:
            ResumeError: If no model is loaded or Rasa fails.
        """
        agent = self.agent
        if agent is None or not agent.is_ready():
            raise ResumeError("no model loaded; cannot resume the conversation")
        collector = CollectingOutputChannel()
        try:
            async with agent.lock_store.lock(sender_id):
                processor = agent.processor
                tracker = await processor.get_tracker(sender_id)
                tracker.update(ConversationResumed(), agent.domain)
                # A pausing action ends the turn without action_listen; rules for the
                # triggered intent expect the bot to have listened, as after any turn.
                if tracker.latest_action_name != ACTION_LISTEN_NAME:
                    tracker.update(ActionExecuted(ACTION_LISTEN_NAME), agent.domain)
                await agent.tracker_store.save(tracker)
                await processor.trigger_external_user_uttered(self.intent, None, tracker, collector)
        except BotError:
            raise
        except Exception as e:
            raise ResumeError(f"Rasa could not resume the conversation ({type(e).__name__})") from e
        registry = self._registry()
        try:
            await registry.notify_state(sender_id, "bot")
        except BotError as e:
            logger.warning("No handoff state sent to %s (%s).", sender_id, type(e).__name__)
        for message in collector.messages:
            text = message.get("text")
            if text:
                await registry.deliver(sender_id, str(text), author="bot")
        logger.info("Conversation %s resumed by the bot.", sender_id)
