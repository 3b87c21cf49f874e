"""The standalone insights report: one HTML file (plotly.js embedded, works offline) + JSON.

Everything shown comes from :func:`bot.insights.service.compute_insights`, which holds no
raw customer text: conversations are named by hashed refs and the example transcripts
are redacted. Every value is HTML-escaped.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import plotly.io as pio

from bot.insights.charts import figures

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f3f3f3;text-align:left}.charts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.turn-customer{color:#034}.turn-bot{color:#555}details{margin:.4rem 0}
"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value / 60:.1f} min"


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _rate_cell(rate: dict[str, Any]) -> str:
    return f"{_pct(rate['value'])} ({rate['numerator']}/{rate['denominator']})"


def _kpis(report: dict[str, Any]) -> str:
    t = report["totals"]
    rows = [
        ["conversations", str(t["conversations"])],
        ["customer messages", str(t["customer_messages"])],
        ["containment", _rate_cell(report["containment"])],
        ["verified resolution", _rate_cell(report["verified_resolution"])],
        ["fallback rate (messages)", _rate_cell(report["fallback"]["messages"])],
        ["conversations with a fallback", _rate_cell(report["fallback"]["conversations"])],
        ["answer-gate refusals", _rate_cell(report["knowledge_refusals"]["rate"])],
        ["abandoned", str(t["abandoned"])],
        ["CSAT (rated 4-5)", _rate_cell(report["csat"]["overall"]["csat"])],
        ["mean rating", _num(report["csat"]["overall"]["mean"], 2)],
    ]
    return _table(["figure", "value"], [[escape(a), escape(b)] for a, b in rows])


def _csat_tables(report: dict[str, Any]) -> str:
    out = []
    for group in ("by_channel", "by_intent", "by_handler"):
        rows = [
            [escape(str(r["key"])), str(r["ratings"]), _num(r["mean"], 2), _rate_cell(r["csat"])]
            for r in report["csat"][group]
        ]
        out.append(f"<h3>CSAT {escape(group.replace('_', ' '))}</h3>")
        out.append(_table(["group", "ratings", "mean", "CSAT"], rows))
    return "".join(out)


def _agents_table(report: dict[str, Any]) -> str:
    overall = report["agents"]["overall"]
    rows = []
    for name, figures_ in [
        ("all", overall),
        *[(a["agent"], a) for a in report["agents"]["by_agent"]],
    ]:
        cells = [escape(str(name))]
        for key in ("time_to_claim", "first_reply", "handle_time"):
            cell = figures_.get(key) or {}
            cells.append(f"{_minutes(cell.get('median'))} / {_minutes(cell.get('mean'))}")
        reopen = figures_.get("reopen_rate")
        cells.append(_rate_cell(reopen) if reopen else "–")
        rows.append(cells)
    head = ["agent", "time to claim (median / mean)", "first reply", "handle time", "reopened"]
    return _table(head, rows)


def _friction_table(report: dict[str, Any]) -> str:
    rows = []
    for r in report["friction"]:
        links = " ".join(
            f'<a href="#conv-{escape(ref)}">{escape(ref)}</a>' for ref in r["examples"]
        )
        rows.append(
            [
                escape(r["kind"]),
                escape(r["step"]),
                str(r["volume"]),
                str(r["failures"]),
                _pct(r["rate"]),
                str(r["score"]),
                links,
            ]
        )
    return _table(
        ["outcome", "after step", "volume", "failures", "rate", "volume × rate", "examples"], rows
    )


def _topics_table(topics: dict[str, Any] | None) -> str:
    if not topics:
        return "<p>No trending-topics file (see docs/insights.md: python -m training trending).</p>"
    rows = [
        [
            escape(t["name"]),
            str(t["this_week"]),
            str(t["last_week"]),
            _pct(t["growth"]),
            escape(", ".join(t["key_terms"])),
            escape(" | ".join(t["examples"][:2])),
        ]
        for t in topics.get("topics", [])
    ]
    return _table(
        ["topic", "this week", "last week", "growth", "key terms", "examples (redacted)"], rows
    )


def _examples(report: dict[str, Any]) -> str:
    out = []
    for ref, turns in report.get("examples", {}).items():
        lines = "".join(
            f'<div class="turn-{escape(t["role"])}"><b>{escape(t["role"])}:</b>'
            f" {escape(t['text'])}</div>"
            for t in turns
        )
        out.append(
            f'<details id="conv-{escape(ref)}"><summary>{escape(ref)}</summary>{lines}</details>'
        )
    return "".join(out)


def render_html(report: dict[str, Any], topics: dict[str, Any] | None = None) -> str:
    """The report as one standalone HTML page (plotly.js inline, no network needed)."""
    charts = []
    for i, fig in enumerate(figures(report).values()):
        charts.append(
            pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs="inline" if i == 0 else False,
                config={"displaylogo": False},
            )
        )
    period = report["period"]
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items() if v) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Support bot insights</title>
<style>{_STYLE}</style></head><body>
<h1>Support bot insights</h1>
<p>{escape(_date(period["since"]))} – {escape(_date(period["until"]))}; filters: {escape(filters)}.
Definitions: docs/insights.md.</p>
<h2>Summary</h2>{_kpis(report)}
<div class="charts">{"".join(f"<div>{c}</div>" for c in charts)}</div>
<h2>Friction points</h2>{_friction_table(report)}
<h2>Trending topics</h2>{_topics_table(topics)}
<h2>Satisfaction</h2>{_csat_tables(report)}
<h2>Agents</h2>{_agents_table(report)}
<h2>Example conversations (redacted)</h2>{_examples(report)}
</body></html>
"""


def write_report(
    report: dict[str, Any],
    out: Path,
    json_out: Path | None = None,
    topics: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the HTML report and its JSON (``json_out``, default: beside it, ``.json``).

    Returns:
        The two paths.
    """
    json_path = json_out or out.with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, topics), encoding="utf-8")
    payload = {**report, "trending_topics": topics}
    json_path.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    return out, json_path
