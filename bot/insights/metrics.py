"""Every insights figure as SQL over a loaded :class:`~bot.insights.warehouse.Warehouse`.

Each function returns plain JSON-ready values; the formulas are in docs/insights.md. The
conversation-level figures read ``sel``, the conversations that pass the report's filters
(:func:`select`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.insights.warehouse import (
    FALLBACK_SQL,
    GOOD_RATING,
    LOW_RATING,
    VERIFY_SECONDS,
    Warehouse,
)
from bot.knowledge.outcome import DONT_KNOW, EXTRACT

REFUSAL_OUTCOMES = (EXTRACT, DONT_KNOW)
"""``metadata.knowledge.outcome`` values of bot messages the answer gate refused."""

EXAMPLES_PER_FRICTION = 3


@dataclass(frozen=True)
class Filters:
    """Which conversations a report covers (``None``: all)."""

    channel: str | None = None
    intent: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """As JSON."""
        return {"channel": self.channel, "intent": self.intent}


def rate(numerator: int | float, denominator: int | float) -> dict[str, Any]:
    """A ratio with its parts; ``value`` is ``None`` when the denominator is 0."""
    n, d = numerator or 0, denominator or 0
    return {"value": (n / d) if d else None, "numerator": n, "denominator": d}


def select(wh: Warehouse, filters: Filters) -> None:
    """(Re)build ``sel``: the conversations that pass ``filters``."""
    wh.db.execute("DROP TABLE IF EXISTS sel")
    wh.db.execute(
        "CREATE TABLE sel AS SELECT * FROM conv WHERE (?1 IS NULL OR channel = ?1)"
        " AND (?2 IS NULL OR intent = ?2)",
        (filters.channel, filters.intent),
    )
    wh.db.execute("CREATE INDEX sel_conv ON sel (conv)")


def _one(wh: Warehouse, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    return wh.query(sql, params)[0]


def totals(wh: Warehouse) -> dict[str, Any]:
    """Counts the rates are built from."""
    row = _one(
        wh,
        "SELECT COUNT(*), COALESCE(SUM(user_msgs), 0), COALESCE(SUM(handed_off), 0),"
        " COALESCE(SUM(abandoned), 0), COUNT(rating) FROM sel",
    )
    return {
        "conversations": row[0],
        "customer_messages": row[1],
        "handed_off": row[2],
        "abandoned": row[3],
        "rated": row[4],
    }


def containment(wh: Warehouse) -> dict[str, Any]:
    """Conversations with no handoff and no unresolved fallback, over all conversations."""
    n, d = _one(
        wh, "SELECT COALESCE(SUM(NOT handed_off AND NOT unresolved_fallback), 0), COUNT(*) FROM sel"
    )
    return rate(n, d)


def verified_resolution(wh: Warehouse) -> dict[str, Any]:
    """Contained, not abandoned, and rated >= 4 or unrated and not back within 24 h.

    Only settled conversations count: rated ones, and those that ended at least 24 h
    before the period's end (whether the customer came back is known for them).
    """
    settle_by = wh.until - VERIFY_SECONDS
    n, d = _one(
        wh,
        f"""
        SELECT COALESCE(SUM(
                   NOT handed_off AND NOT unresolved_fallback AND NOT abandoned AND (
                       rating >= {GOOD_RATING}
                       OR (rating IS NULL AND (next_start IS NULL
                                               OR next_start - end_ts > {VERIFY_SECONDS})))), 0),
               COUNT(*)
        FROM sel WHERE rating IS NOT NULL OR end_ts <= ?
        """,
        (settle_by,),
    )
    return rate(n, d)


def handoff_by_trigger(wh: Warehouse) -> list[dict[str, Any]]:
    """Per trigger: conversations handed off for it, over all conversations."""
    (total,) = _one(wh, "SELECT COUNT(*) FROM sel")
    rows = wh.query(
        "SELECT trigger, COUNT(*) FROM sel WHERE handed_off GROUP BY trigger"
        " ORDER BY COUNT(*) DESC, trigger"
    )
    return [{"trigger": t, **rate(n, total)} for t, n in rows]


def fallback(wh: Warehouse) -> dict[str, Any]:
    """Fallback customer messages over customer messages, and conversations with one."""
    msgs, fb, convs, fb_convs = _one(
        wh,
        "SELECT COALESCE(SUM(user_msgs), 0), COALESCE(SUM(fallback_msgs), 0), COUNT(*),"
        " COALESCE(SUM(fallback_msgs > 0), 0) FROM sel",
    )
    return {"messages": rate(fb, msgs), "conversations": rate(fb_convs, convs)}


def knowledge_refusals(wh: Warehouse) -> dict[str, Any]:
    """Knowledge answers the answer gate refused, over knowledge answers (by outcome too)."""
    rows = wh.query(
        "SELECT e.value, COUNT(*) FROM evc e JOIN sel s ON s.conv = e.conv"
        " WHERE e.type_name = 'bot' AND e.value IS NOT NULL GROUP BY e.value ORDER BY e.value"
    )
    answers = sum(n for _, n in rows)
    refused = sum(n for outcome, n in rows if outcome in REFUSAL_OUTCOMES)
    return {"rate": rate(refused, answers), "by_outcome": {o: n for o, n in rows}}


def intent_volume(wh: Warehouse) -> list[dict[str, Any]]:
    """Customer messages per UTC day and intent (fallbacks included)."""
    rows = wh.query(
        "SELECT DATE(e.ts, 'unixepoch') AS day, COALESCE(e.name, '(none)'), COUNT(*)"
        " FROM evc e JOIN sel s ON s.conv = e.conv WHERE e.type_name = 'user'"
        " GROUP BY day, e.name ORDER BY day, COUNT(*) DESC"
    )
    return [{"day": d, "intent": i, "messages": n} for d, i, n in rows]


def _csat_rows(wh: Warehouse, key: str) -> list[dict[str, Any]]:
    rows = wh.query(
        f"SELECT {key} AS k, COUNT(*), AVG(rating), SUM(rating >= {GOOD_RATING}) FROM sel"
        " WHERE rating IS NOT NULL GROUP BY k ORDER BY COUNT(*) DESC, k"
    )
    return [
        {"key": k, "ratings": n, "mean": mean, "csat": rate(good, n)} for k, n, mean, good in rows
    ]


def csat(wh: Warehouse) -> dict[str, Any]:
    """Ratings: count, mean and CSAT (share of 4 and 5), overall and by group."""
    n, mean, good, comments = _one(
        wh,
        f"SELECT COUNT(rating), AVG(rating), COALESCE(SUM(rating >= {GOOD_RATING}), 0),"
        " COALESCE(SUM(commented), 0) FROM sel",
    )
    return {
        "overall": {"ratings": n, "mean": mean, "csat": rate(good, n), "comments": comments},
        "by_channel": _csat_rows(wh, "channel"),
        "by_intent": _csat_rows(wh, "intent"),
        "by_handler": _csat_rows(wh, "CASE WHEN handed_off THEN 'agent' ELSE 'bot' END"),
    }


def _ticket_scope(filtered: bool) -> str:
    return "WHERE conversation_id IN (SELECT sender_id FROM sel)" if filtered else ""


def _medians(wh: Warehouse, expr: str, group: str, scope: str) -> dict[Any, float]:
    rows = wh.query(
        f"""
        WITH x AS (
            SELECT {group} AS g, {expr} AS v FROM tk {scope}
        ), r AS (
            SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) AS rn,
                   COUNT(*) OVER (PARTITION BY g) AS n
            FROM x WHERE v IS NOT NULL
        )
        SELECT g, AVG(v) FROM r WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY g
        """
    )
    return {g: v for g, v in rows}


def agents(wh: Warehouse, filtered: bool) -> dict[str, Any]:
    """Time to claim, first reply, handle time and reopen rate, overall and by agent.

    Time to claim and first reply count from the ticket's creation and belong to the
    agent who claimed it first; handle time (claim to resolve) and reopens belong to the
    agent who resolved it. Medians and means, in seconds.
    """
    scope = _ticket_scope(filtered)
    figures = {
        "time_to_claim": ("claimed_at - created_at", "first_agent"),
        "first_reply": ("first_reply_at - created_at", "first_agent"),
        "handle_time": ("resolved_at - claimed_at", "resolver"),
    }
    overall: dict[str, Any] = {}
    by_agent: dict[str, dict[str, Any]] = {}
    for name, (expr, owner) in figures.items():
        overall[name] = {
            "median": _medians(wh, expr, "'all'", scope).get("all"),
            "mean": _one(wh, f"SELECT AVG({expr}) FROM tk {scope}")[0],
        }
        where = f"{scope} {'AND' if scope else 'WHERE'} {owner} IS NOT NULL"
        means = dict(wh.query(f"SELECT {owner}, AVG({expr}) FROM tk {where} GROUP BY {owner}"))
        for agent, median in _medians(wh, expr, owner, where).items():
            by_agent.setdefault(agent, {})[name] = {"median": median, "mean": means.get(agent)}
    tickets, resolved, reopened = _one(
        wh,
        f"SELECT COUNT(*), COUNT(resolved_at), COALESCE(SUM(reopened), 0) FROM tk {scope}",
    )
    overall["tickets"] = tickets
    overall["reopen_rate"] = rate(reopened, resolved)
    where = f"{scope} {'AND' if scope else 'WHERE'} resolver IS NOT NULL"
    for agent, n, reopens in wh.query(
        f"SELECT resolver, COUNT(*), SUM(reopened) FROM tk {where} GROUP BY resolver"
    ):
        by_agent.setdefault(agent, {})["reopen_rate"] = rate(reopens, n)
    return {
        "overall": overall,
        "by_agent": [{"agent": a, **v} for a, v in sorted(by_agent.items())],
    }


_STEP = """(SELECT u.name FROM uev u WHERE u.conv = o.conv AND (u.ts, u.id) <= (o.ts, o.id)
           ORDER BY u.ts DESC, u.id DESC LIMIT 1)"""

_FRICTION = f"""
WITH outcome AS (
    SELECT 'fallback' AS kind, o.conv, {_STEP} AS step FROM (
        SELECT e.conv, e.ts, e.id, ROW_NUMBER() OVER (PARTITION BY e.conv ORDER BY e.ts, e.id) rn
        FROM evc e JOIN sel s ON s.conv = e.conv
        WHERE e.type_name = 'user' AND e.name IN ({FALLBACK_SQL})) o WHERE o.rn = 1
    UNION ALL
    SELECT 'escalation', o.conv, {_STEP} FROM (
        SELECT e.conv, e.ts, e.id, ROW_NUMBER() OVER (PARTITION BY e.conv ORDER BY e.ts, e.id) rn
        FROM evc e JOIN sel s ON s.conv = e.conv
        WHERE e.type_name = 'slot' AND e.name = 'escalation_trigger' AND e.value != 'null') o
    WHERE o.rn = 1
    UNION ALL
    SELECT 'low_rating', o.conv, {_STEP} FROM (
        SELECT s.conv, s.end_ts AS ts, 9223372036854775807 AS id FROM sel s  -- after all
        WHERE s.rating <= {LOW_RATING}) o
    UNION ALL
    SELECT 'abandoned', conv, 'form:' || open_loop FROM sel WHERE abandoned
),
volume AS (
    SELECT DISTINCT u.conv, u.name AS step FROM uev u JOIN sel s ON s.conv = u.conv
    UNION
    SELECT DISTINCT e.conv, 'form:' || e.name FROM evc e JOIN sel s ON s.conv = e.conv
    WHERE e.type_name = 'active_loop' AND e.name IS NOT NULL
),
vol AS (
    SELECT step, COUNT(*) AS n FROM volume GROUP BY step
    UNION ALL SELECT '(start)', COUNT(*) FROM sel
),
fails AS (
    SELECT kind, COALESCE(step, '(start)') AS step, COUNT(*) AS n, MIN(conv) AS example_1
    FROM outcome GROUP BY kind, COALESCE(step, '(start)')
)
SELECT f.kind, f.step, COALESCE(v.n, 0) AS volume, f.n FROM fails f
LEFT JOIN vol v ON v.step = f.step
ORDER BY f.n DESC, f.kind, f.step
"""


def friction(wh: Warehouse, limit: int = 20) -> list[dict[str, Any]]:
    """Steps after which conversations fall back, escalate, are abandoned or rate low.

    A step is the last recognised intent before the outcome (``(start)`` when there was
    none), or the open form (``form:NAME``) of an abandoned conversation. Volume is the
    number of conversations that reached the step (every conversation reaches
    ``(start)``); ranked by volume x rate, which is the
    number of conversations that failed there.
    """
    rows = wh.query(_FRICTION)[:limit]
    out = []
    for kind, step, volume, failures in rows:
        out.append(
            {
                "kind": kind,
                "step": step,
                "volume": volume,
                "failures": failures,
                "rate": rate(failures, volume)["value"] if volume else None,
                "score": failures,
                "examples": _examples(wh, kind, step),
            }
        )
    return out


def _examples(wh: Warehouse, kind: str, step: str) -> list[str]:
    """Up to :data:`EXAMPLES_PER_FRICTION` conversation keys of one friction row."""
    if kind == "abandoned":
        rows = wh.query(
            "SELECT conv FROM sel WHERE abandoned AND 'form:' || open_loop = ?"
            " ORDER BY conv LIMIT ?",
            (step, EXAMPLES_PER_FRICTION),
        )
        return [r[0] for r in rows]
    condition = {
        "fallback": f"e.type_name = 'user' AND e.name IN ({FALLBACK_SQL})",
        "escalation": "e.type_name = 'slot' AND e.name = 'escalation_trigger'"
        " AND e.value != 'null'",
        "low_rating": f"e.type_name = 'slot' AND e.name = 'csat_rating' AND e.value != 'null'"
        f" AND s.rating <= {LOW_RATING}",
    }[kind]
    rows = wh.query(
        f"""
        SELECT DISTINCT o.conv FROM (
            SELECT e.conv, e.ts, e.id FROM evc e JOIN sel s ON s.conv = e.conv WHERE {condition}
        ) o WHERE COALESCE({_STEP}, '(start)') = ? ORDER BY o.conv LIMIT ?
        """,
        (step, EXAMPLES_PER_FRICTION),
    )
    return [r[0] for r in rows]


__all__ = [
    "Filters",
    "agents",
    "containment",
    "csat",
    "fallback",
    "friction",
    "handoff_by_trigger",
    "intent_volume",
    "knowledge_refusals",
    "rate",
    "select",
    "totals",
    "verified_resolution",
]
