"""Render a standalone Rasa project from the intents' plans: every file as text.

The project refers to this repository's runtime by module path (``bot.…``, ``channels.…``,
``actions``), so it runs with this repository on ``PYTHONPATH``. ``config.yml``,
``endpoints.yml``, ``credentials.yml``, ``escalation.yml`` and the channel styles are derived
from this repository's own files at build time, so a built bot follows the sample bot's
settings as they are when it is built.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.errors import ConfigError
from training.buildbot.flows import Flow
from training.buildbot.mining import (
    GENERATION,
    HANDOFF,
    KNOWLEDGE,
    PAST_REPLY,
    RESPONSE,
    SLOT_REQUEST,
    IntentPlan,
)
from training.buildbot.templates import (
    FIXED_RESPONSES,
    KNOWLEDGE_RESPONSE,
    REQUEST_HUMAN_EXAMPLES,
)
from training.rasa_yaml import RASA_VERSION, nlu_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIRS = "data/generation/pairs.jsonl"
KNOWLEDGE_CHUNKS = "knowledge/chunks"
KNOWLEDGE_COMPONENT = "bot.nlu.knowledge_index.KnowledgeRetriever"
FALLBACK_COMPONENT = "FallbackClassifier"
GENERATOR_COMPONENT = "bot.nlu.response_generator.ResponseGenerator"
MAX_STORIES = 50

_ACTION_OF_ROUTE = {
    RESPONSE: None,  # utter_<intent>
    GENERATION: "utter_generated",
    PAST_REPLY: "utter_past_reply",
    KNOWLEDGE: "utter_knowledge_answer",
    HANDOFF: "action_escalate",
}


@dataclass(frozen=True)
class ProjectSpec:
    """What the project is made of.

    Attributes:
        name: The bot's name (README, assistant id, sign-off).
        plans: One plan per intent, sorted by intent.
        examples: NLU training examples per intent.
        flows: Training conversations (for stories).
        knowledge: Whether ``knowledge/chunks`` is built.

    """

    name: str
    plans: Sequence[IntentPlan]
    examples: Mapping[str, Sequence[str]]
    flows: Sequence[Flow]
    knowledge: bool


def _root_file(rel: str) -> str:
    path = REPO_ROOT / rel
    if not path.is_file():
        raise ConfigError(f"{path}: missing; build-bot derives the new project's {rel} from it")
    return path.read_text(encoding="utf-8")


def _dump(header: str, data: Mapping[str, Any]) -> str:
    body = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body


def slug(name: str) -> str:
    """A lower-case id for the bot (``Acme Support`` -> ``acme-support``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "bot"


def utter_of(intent: str) -> str:
    """The response name of an intent's mined reply."""
    return f"utter_{intent}"


def form_of(intent: str) -> str:
    """The form that asks for an intent's slot."""
    return f"{intent}_form"


def answer_action(plan: IntentPlan) -> str:
    """The action that answers an intent (after its form, for a slot request)."""
    route = plan.after_slot if plan.route == SLOT_REQUEST else plan.route
    action = _ACTION_OF_ROUTE.get(str(route))
    return action or utter_of(plan.intent)


def render_project(spec: ProjectSpec) -> dict[str, str]:
    """Every text file of the project, by relative path.

    Args:
        spec: The plans and examples.

    Returns:
        Relative path -> content.

    Raises:
        ConfigError: If a file of this repository it derives from is missing.

    """
    return {
        "config.yml": render_config(spec),
        "endpoints.yml": render_endpoints(spec),
        "credentials.yml": _root_file("credentials.yml")
        .replace("Pinecrest Outfitters", spec.name)
        .replace("pinecrest", slug(spec.name)),
        "escalation.yml": _root_file("escalation.yml"),
        "channel_styles.yml": _root_file("bot/nlg/channel_styles.yml").replace(
            "Pinecrest", spec.name
        ),
        "domain/intents.yml": render_intents(spec),
        "domain/responses.yml": render_responses(spec),
        "domain/slots.yml": render_slots(spec),
        "domain/session.yml": render_session(),
        "data/nlu/intents.yml": nlu_yaml(
            {k: v for k, v in spec.examples.items() if k in {p.intent for p in spec.plans}}
        ),
        "data/nlu/request_human.yml": nlu_yaml({"request_human": REQUEST_HUMAN_EXAMPLES}),
        "data/rules.yml": render_rules(spec),
        "data/stories.yml": render_stories(spec),
        "README.md": render_readme(spec),
    }


def render_config(spec: ProjectSpec) -> str:
    """This repository's ``config.yml`` with the new bot's id and paths."""
    config = yaml.safe_load(_root_file("config.yml"))
    config["assistant_id"] = slug(spec.name)
    pipeline: list[dict[str, Any]] = []
    for component in config.get("pipeline", []):
        component = dict(component)
        if component.get("name") == KNOWLEDGE_COMPONENT:
            continue  # the sample company's help centre; this bot's is added below
        if component.get("name") == GENERATOR_COMPONENT:
            component["pairs"] = PAIRS
            # The answer writer's examples are built from a help centre and the pairs
            # (`python -m training kb-examples`); a new bot starts without them, and its
            # knowledge answers fall back to cited extracts until they are added.
            component.pop("answer_examples", None)
        pipeline.append(component)
        if component.get("name") == FALLBACK_COMPONENT and spec.knowledge:
            routed = sorted(p.intent for p in spec.plans if KNOWLEDGE in (p.route, p.after_slot))
            pipeline.append(
                {"name": KNOWLEDGE_COMPONENT, "chunks": KNOWLEDGE_CHUNKS, "route_intents": routed}
            )
    config["pipeline"] = pipeline
    return _dump(
        f"{spec.name}: NLU pipeline and policies, built by `python -m training build-bot`\n"
        "from this repository's config.yml. Paths are relative to this folder: run rasa here.",
        config,
    )


def render_endpoints(spec: ProjectSpec) -> str:
    """This repository's ``endpoints.yml`` with the generated responses of this bot."""
    endpoints = yaml.safe_load(_root_file("endpoints.yml"))
    nlg = endpoints.get("nlg")
    if isinstance(nlg, dict):
        nlg["generate_for"] = ["utter_generated"]
        nlg["knowledge_for"] = ["utter_knowledge_answer"] if spec.knowledge else []
        nlg["past_reply_for"] = ["utter_past_reply"]
        nlg["fallback_response"] = "utter_generation_fallback"
    return _dump(
        "Endpoints, built from the runtime's endpoints.yml: the SQLite stores under .cache/,\n"
        "generated replies for utter_generated, past agent replies for utter_past_reply"
        + (", knowledge answers for utter_knowledge_answer" if spec.knowledge else "")
        + ".",
        endpoints,
    )


def render_intents(spec: ProjectSpec) -> str:
    """``domain/intents.yml``: the mined intents plus the handoff ones."""
    data = {
        "version": RASA_VERSION,
        "intents": [p.intent for p in spec.plans] + ["request_human", "handoff_resolved"],
        "actions": ["action_escalate"],
    }
    return _dump("Intents mined from the transcripts (training build-bot).", data)


def render_responses(spec: ProjectSpec) -> str:
    """``domain/responses.yml``: mined responses, slot questions, fixed texts."""
    responses: dict[str, list[dict[str, Any]]] = {}
    for plan in spec.plans:
        if answer_action(plan) == utter_of(plan.intent) and plan.response and plan.response.text:
            texts = (plan.response.text, *plan.response.variants)
            responses[utter_of(plan.intent)] = [{"text": t} for t in texts]
        if plan.route == SLOT_REQUEST and plan.slot and plan.question:
            responses.setdefault(f"utter_ask_{plan.slot}", [{"text": plan.question}])
    responses.update({k: list(v) for k, v in FIXED_RESPONSES.items()})
    if spec.knowledge:
        responses.update({k: list(v) for k, v in KNOWLEDGE_RESPONSE.items()})
    return _dump(
        "Responses mined from the agents' replies (the medoid of the largest cluster and its\n"
        "variants; see build_report.md), slot questions, and the fixed texts.",
        {"version": RASA_VERSION, "responses": responses},
    )


def render_slots(spec: ProjectSpec) -> str:
    """``domain/slots.yml``: the handoff slot, and a slot and form per slot request."""
    slots: dict[str, Any] = {
        "escalation_trigger": {
            "type": "text",
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }
    }
    forms: dict[str, Any] = {}
    for plan in spec.plans:
        if plan.route != SLOT_REQUEST or not plan.slot:
            continue
        form = form_of(plan.intent)
        forms[form] = {"required_slots": [plan.slot]}
        slot = slots.setdefault(
            plan.slot, {"type": "text", "influence_conversation": False, "mappings": []}
        )
        slot["mappings"].append(
            {
                "type": "from_text",
                "conditions": [{"active_loop": form, "requested_slot": plan.slot}],
            }
        )
    data: dict[str, Any] = {"version": RASA_VERSION, "slots": slots}
    if forms:
        data["forms"] = forms
    return _dump(
        "Slots: the escalation trigger (set by EscalationPolicy) and one slot per thing the\n"
        "agents asked for first; each slot-request intent has a form that asks for it.",
        data,
    )


def render_session() -> str:
    """``domain/session.yml``: this repository's session settings."""
    session = yaml.safe_load(_root_file("domain/session.yml")).get("session_config", {})
    return _dump("Session settings.", {"version": RASA_VERSION, "session_config": session})


def _rule(name: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"rule": name, **extra, "steps": steps}


def render_rules(spec: ProjectSpec) -> str:
    """``data/rules.yml``: one rule per route, fallbacks and handoff."""
    rules: list[dict[str, Any]] = []
    for plan in spec.plans:
        intent = plan.intent
        if plan.route == SLOT_REQUEST and plan.slot:
            form = form_of(intent)
            rules.append(
                _rule(
                    f"{intent}: ask for {plan.slot} ({plan.route})",
                    [{"intent": intent}, {"action": form}, {"active_loop": form}],
                )
            )
            rules.append(
                _rule(
                    f"{intent}: answer once {plan.slot} is given",
                    [
                        {"action": form},
                        {"active_loop": None},
                        {"slot_was_set": [{"requested_slot": None}]},
                        {"action": answer_action(plan)},
                    ],
                    condition=[{"active_loop": form}],
                )
            )
        else:
            rules.append(
                _rule(
                    f"{intent} ({plan.route})",
                    [{"intent": intent}, {"action": answer_action(plan)}],
                )
            )
    rules += [
        _rule("Ask for a person", [{"intent": "request_human"}, {"action": "action_escalate"}]),
        _rule(
            "Back to the bot after the agent resolved the ticket",
            [{"intent": "handoff_resolved"}, {"action": "utter_back_to_bot"}],
        ),
        _rule("NLU fallback", [{"intent": "nlu_fallback"}, {"action": "utter_default"}]),
        _rule(
            "Second NLU fallback in a row",
            [
                {"action": "utter_default"},
                {"intent": "nlu_fallback"},
                {"action": "utter_ask_rephrase"},
            ],
        ),
    ]
    return _dump(
        "Rules: one per intent, by the route in build_report.md.",
        {"version": RASA_VERSION, "rules": rules},
    )


def render_stories(spec: ProjectSpec) -> str:
    """``data/stories.yml``: the most common multi-intent conversations of the transcripts.

    Only conversations whose every customer turn is labelled with a built intent answered
    without a form are used, up to a handoff; the steps are the rules' actions, so stories
    never contradict the rules.
    """
    plans = {p.intent: p for p in spec.plans}
    sequences: Counter[tuple[str, ...]] = Counter()
    for flow in spec.flows:
        intents: list[str] = []
        for exchange in flow.exchanges:
            plan = plans.get(exchange.intent or "")
            if plan is None or plan.route == SLOT_REQUEST:
                intents = []
                break
            intents.append(plan.intent)
            if plan.route == HANDOFF:
                break
        if len(intents) >= 2:
            sequences[tuple(intents)] += 1
    stories = []
    for number, (sequence, count) in enumerate(sequences.most_common(MAX_STORIES), start=1):
        steps: list[dict[str, Any]] = []
        for intent in sequence:
            steps += [{"intent": intent}, {"action": answer_action(plans[intent])}]
        stories.append({"story": f"transcripts {number} ({count} conversations)", "steps": steps})
    return _dump(
        "Multi-turn conversations seen in the transcripts (most common first).",
        {"version": RASA_VERSION, "stories": stories},
    )


def render_readme(spec: ProjectSpec) -> str:
    """A short README for the built bot."""
    counts = Counter(p.route for p in spec.plans)
    routes = ", ".join(f"{n} {route}" for route, n in sorted(counts.items()))
    kb = (
        "- `knowledge/chunks/`: the knowledge base (`python -m training kb`), searched by\n"
        "  `KnowledgeRetriever` for the intents routed to knowledge.\n"
        if spec.knowledge
        else ""
    )
    return f"""# {spec.name}

Built by `python -m training build-bot` from the company's transcripts:
{len(spec.plans)} intents ({routes}). Why each intent is answered the way it is:
`build_report.md`.

## Run it

The runtime code (`bot.`, `channels.`, `actions`) stays in the runtime repository; run
everything from this folder with the repository on `PYTHONPATH`:

```bash
export PYTHONPATH=/path/to/runtime BOT_CHANNEL_STYLES=channel_styles.yml
rasa data validate --domain domain
rasa train --domain domain
rasa run actions --actions actions &      # handoff (action_escalate)
rasa run --enable-api --endpoints endpoints.yml --credentials credentials.yml
```

Measure it on the held-out conversations:

```bash
python -m training.evaluate conversations --model models/ --endpoints endpoints.yml \\
    --conversations heldout/conversations.jsonl --pairs {PAIRS} --out eval/
```

## What is here

- `config.yml`, `endpoints.yml`, `credentials.yml`, `escalation.yml`, `channel_styles.yml`:
  derived from the runtime's own files.
- `domain/`: intents, mined responses (`responses.yml`), slots and forms, session.
- `data/`: NLU examples, rules, stories, `generation/pairs.jsonl` (the generator's data).
- `heldout/`: held-out NLU examples and conversations (never trained on).
{kb}
Re-running build-bot rewrites only the files it wrote and you did not edit
(`.prepare-manifest.json`); `--force` overwrites your edits.
"""
