"""The insights charts as plotly figures (built here, drawn by plotly.js).

The same figure JSON feeds the standalone HTML report and the inbox's Insights page.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import plotly.graph_objects as go

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    "height": 340,
    "template": "plotly_white",
}


def _percent(value: float | None) -> float:
    return 0.0 if value is None else round(100 * value, 2)


def rates_figure(report: dict[str, Any]) -> go.Figure:
    """Containment, verified resolution, fallback and refusal rates as bars (%)."""
    items = {
        "containment": report["containment"]["value"],
        "verified resolution": report["verified_resolution"]["value"],
        "fallback (messages)": report["fallback"]["messages"]["value"],
        "answer-gate refusals": report["knowledge_refusals"]["rate"]["value"],
        "CSAT (4-5)": report["csat"]["overall"]["csat"]["value"],
        "reopened tickets": report["agents"]["overall"]["reopen_rate"]["value"],
    }
    fig = go.Figure(go.Bar(x=list(items), y=[_percent(v) for v in items.values()]))
    fig.update_layout(title="Rates (%)", yaxis={"range": [0, 100]}, **_LAYOUT)
    return fig


def handoff_figure(report: dict[str, Any]) -> go.Figure:
    """Handoff rate per trigger (%)."""
    rows = report["handoff_by_trigger"]
    fig = go.Figure(go.Bar(x=[r["trigger"] for r in rows], y=[_percent(r["value"]) for r in rows]))
    fig.update_layout(title="Handoff rate by trigger (% of conversations)", **_LAYOUT)
    return fig


def intent_volume_figure(report: dict[str, Any], top: int = 8) -> go.Figure:
    """Customer messages per day for the busiest intents (the rest as ``other``)."""
    totals: dict[str, int] = defaultdict(int)
    for row in report["intent_volume"]:
        totals[row["intent"]] += row["messages"]
    keep = set(sorted(totals, key=lambda i: -totals[i])[:top])
    days = sorted({r["day"] for r in report["intent_volume"]})
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in report["intent_volume"]:
        name = row["intent"] if row["intent"] in keep else "other"
        series[name][row["day"]] += row["messages"]
    fig = go.Figure(
        [
            go.Bar(name=name, x=days, y=[values.get(d, 0) for d in days])
            for name, values in series.items()
        ]
    )
    fig.update_layout(title="Intent volume per day", barmode="stack", **_LAYOUT)
    return fig


def csat_figure(report: dict[str, Any]) -> go.Figure:
    """CSAT (% of ratings 4-5) by channel and by bot versus agent."""
    csat = report["csat"]
    fig = go.Figure()
    for group in ("by_channel", "by_handler"):
        rows = csat[group]
        fig.add_bar(
            name=group.removeprefix("by_"),
            x=[r["key"] for r in rows],
            y=[_percent(r["csat"]["value"]) for r in rows],
            text=[f"n={r['ratings']}" for r in rows],
        )
    fig.update_layout(title="CSAT (% rated 4-5)", yaxis={"range": [0, 100]}, **_LAYOUT)
    return fig


def agents_figure(report: dict[str, Any]) -> go.Figure:
    """Median time to claim, first reply and handle time per agent (minutes)."""
    rows = report["agents"]["by_agent"]
    fig = go.Figure()
    for figure in ("time_to_claim", "first_reply", "handle_time"):
        fig.add_bar(
            name=figure.replace("_", " "),
            x=[r["agent"] for r in rows],
            y=[round((r.get(figure) or {}).get("median") or 0.0, 1) / 60.0 for r in rows],
        )
    fig.update_layout(title="Agents: median minutes", **_LAYOUT)
    return fig


def friction_figure(report: dict[str, Any], top: int = 10) -> go.Figure:
    """The friction points ranked by volume x rate."""
    rows = report["friction"][:top][::-1]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=[r["score"] for r in rows],
            y=[f"{r['kind']} after {r['step']}" for r in rows],
        )
    )
    fig.update_layout(
        title="Friction points (volume x rate)",
        **{**_LAYOUT, "margin": {"l": 260, "r": 20, "t": 50, "b": 40}},
    )
    return fig


def figures(report: dict[str, Any]) -> dict[str, go.Figure]:
    """Every chart of a report, by id."""
    return {
        "rates": rates_figure(report),
        "handoffs": handoff_figure(report),
        "intent_volume": intent_volume_figure(report),
        "csat": csat_figure(report),
        "agents": agents_figure(report),
        "friction": friction_figure(report),
    }


def figures_json(report: dict[str, Any]) -> dict[str, Any]:
    """The charts as plotly JSON (``data`` and ``layout``), for plotly.js in the browser."""
    return {name: json.loads(fig.to_json()) for name, fig in figures(report).items()}
