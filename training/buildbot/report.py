"""The build report: per intent, its examples, the chosen response, its support, the route."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from training.buildbot.mining import IntentPlan, MiningConfig

EXAMPLES_SHOWN = 3


@dataclass
class BuildReport:
    """Everything the maintainer reviews after a build (redacted texts only).

    Attributes:
        name: The bot's name.
        conversations: Conversations read.
        without_agent: Conversations with no answered customer message (left out).
        conflicts: Conflicting-label records left out (``--drop-conflicts``).
        dropped_intents: One-example intents left out (``--drop-thin-intents``).
        heldout_conversations: Conversations kept for the replay evaluation.
        plans: One plan per intent.
        examples: Intent -> training examples.
        mining: The thresholds used.

    """

    name: str
    conversations: int
    without_agent: int
    conflicts: int
    dropped_intents: list[str]
    heldout_conversations: int
    plans: list[IntentPlan]
    examples: Mapping[str, Sequence[str]]
    mining: MiningConfig = field(default_factory=MiningConfig)

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return {
            "name": self.name,
            "conversations": self.conversations,
            "left_out": {
                "conversations_without_agent_reply": self.without_agent,
                "conflicting_label_records": self.conflicts,
                "one_example_intents": list(self.dropped_intents),
            },
            "heldout_conversations": self.heldout_conversations,
            "routes": dict(sorted(Counter(p.route for p in self.plans).items())),
            "mining": asdict(self.mining),
            "intents": [
                {
                    **plan.to_dict(),
                    "examples": len(self.examples.get(plan.intent, ())),
                    "example_texts": list(self.examples.get(plan.intent, ()))[:EXAMPLES_SHOWN],
                }
                for plan in self.plans
            ],
        }

    def to_json(self) -> str:
        """The JSON document (stable: no timestamps)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        """The Markdown document."""
        m = self.mining
        routes = Counter(p.route for p in self.plans)
        lines = [
            f"# Build report: {self.name}",
            "",
            f"{self.conversations} conversations read; {len(self.plans)} intents; "
            f"{self.heldout_conversations} conversations held out for "
            "`python -m training.evaluate conversations`.",
            "",
            "Routes: " + ", ".join(f"{route} {n}" for route, n in sorted(routes.items())) + ".",
            "",
            f"Cohesion is the share of an intent's agent replies in the largest cluster "
            f"(average linkage, cut at cosine distance {m.cluster_distance}); a response needs "
            f"cohesion >= {m.min_cohesion} and {m.min_support}+ replies. Handoff at "
            f">= {m.handoff_share:.0%} of conversations handed over; slot request at "
            f">= {m.slot_share:.0%} of first replies asking for one thing.",
            "",
            "| intent | examples | route | support | cohesion | response |",
            "|---|---:|---|---:|---:|---|",
        ]
        for plan in self.plans:
            r = plan.response
            support = f"{r.support}/{r.total}" if r else "–"
            cohesion = f"{r.cohesion:.2f}" if r else "–"
            text = _cell(r.text) if r and r.text else "–"
            lines.append(
                f"| {plan.intent} | {len(self.examples.get(plan.intent, ()))} | {plan.route} | "
                f"{support} | {cohesion} | {text} |"
            )
        lines += ["", "## Intents", ""]
        for plan in self.plans:
            lines += [f"### {plan.intent}", "", f"- route: **{plan.route}**: {plan.reason}"]
            if plan.slot:
                lines.append(f"- asks for `{plan.slot}`: {_cell(plan.question or '')}")
                lines.append(f"- then: {plan.after_slot}")
            examples = list(self.examples.get(plan.intent, ()))[:EXAMPLES_SHOWN]
            lines.append("- examples: " + "; ".join(_cell(e) for e in examples))
            if plan.response and plan.response.text:
                lines.append(f"- response: {_cell(plan.response.text)}")
                for variant in plan.response.variants:
                    lines.append(f"  - variant: {_cell(variant)}")
            for note in plan.left_out:
                lines.append(f"- left out: {note}")
            lines.append("")
        left = []
        if self.without_agent:
            left.append(f"{self.without_agent} conversations with no agent reply")
        if self.conflicts:
            left.append(f"{self.conflicts} records with conflicting labels")
        if self.dropped_intents:
            left.append("one-example intents: " + ", ".join(self.dropped_intents))
        if left:
            lines += ["## Left out", ""] + [f"- {item}" for item in left] + [""]
        return "\n".join(lines)


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
