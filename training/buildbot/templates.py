"""The company-neutral parts of a built bot: fallbacks, handoff texts, "talk to a person".

Everything here is what no transcript can supply: the bot's own words when it did not
understand, when a person takes over, and the examples of asking for a person. A maintainer
edits them in the built project (the manifest then protects the edit).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

_TO_A_PERSON = '"talk to a person"'

FIXED_RESPONSES: MappingProxyType[str, list[dict[str, Any]]] = MappingProxyType(
    {
        "utter_default": [
            {"text": "Sorry, I didn't quite get that. Could you put it another way?"},
            {"text": "I'm not sure I understood. Could you rephrase that?"},
        ],
        "utter_ask_rephrase": [
            {
                "text": "Sorry, I'm still not sure what you mean. Could you say it a different "
                f"way, or say {_TO_A_PERSON}?"
            },
        ],
        "utter_generated": [
            {
                "text": "I don't have a ready answer for that one, but our team does. Say "
                f"{_TO_A_PERSON} and someone will help."
            },
        ],
        # Sent only when the model has no generator (the past replies are its grounding
        # index): the NLG endpoint answers utter_past_reply with the agents' nearest reply.
        "utter_past_reply": [
            {
                "text": "I don't have a ready answer for that one, but our team does. Say "
                f"{_TO_A_PERSON} and someone will help."
            },
        ],
        "utter_generation_fallback": [
            {
                "text": "I'm not confident I can answer that well, and I'd rather not guess. "
                "Someone from our team can help with this.",
                "buttons": [{"title": "Talk to a person", "payload": "/request_human"}],
            },
        ],
        "utter_handoff_queued": [
            {
                "text": "I've passed this to a person on our team. You're number {position} in "
                "the queue, and they'll see everything we've said so far."
            },
        ],
        "utter_handoff_agent_joined": [
            {"text": "A person from our team already has your conversation. They'll reply here."},
        ],
        "utter_handoff_unavailable": [
            {
                "text": "Sorry, I can't reach the team right now. Please ask for a person again "
                "in a few minutes."
            },
        ],
        "utter_back_to_bot": [
            {"text": "Thanks for your patience. You're back with the assistant. Anything else?"},
        ],
    }
)

KNOWLEDGE_RESPONSE: MappingProxyType[str, list[dict[str, Any]]] = MappingProxyType(
    {
        "utter_knowledge_answer": [
            {
                "text": "I couldn't find a clear answer to that in our help articles. Say "
                f"{_TO_A_PERSON} and someone from our team will help."
            },
        ],
    }
)

REQUEST_HUMAN_EXAMPLES = (
    "talk to a person",
    "can I speak to a human",
    "I want to talk to an agent",
    "connect me with a real person please",
    "is there a human I can talk to",
    "let me speak to someone",
    "transfer me to customer service",
    "I need a human agent",
    "can a person help me",
    "get me a real person",
    "speak to a representative",
    "I'd like to talk to someone from your team",
)
