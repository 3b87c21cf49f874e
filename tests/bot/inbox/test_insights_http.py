"""The inbox's Insights page and API: admins only, filters validated, figures served."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.bot.insights import week
from tests.support.insights_server import insights_server


async def _login(client: httpx.AsyncClient, base: str, name: str) -> None:
    r = await client.post(f"{base}/api/login", json={"username": name, "password": f"{name}-pass"})
    assert r.status_code == 200, r.text


SINCE, UNTIL = "2026-11-02", "2026-11-09"  # until is inclusive: the period ends 11-10 00:00


async def test_admin_gets_figures_and_charts(tmp_path: Path) -> None:
    async with insights_server(tmp_path) as base, httpx.AsyncClient(timeout=60) as client:
        await _login(client, base, "root")
        page = await client.get(f"{base}/insights")
        assert page.status_code == 200 and "Pinecrest insights" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        js = await client.get(f"{base}/static/plotly.min.js")
        assert js.status_code == 200 and len(js.content) > 1_000_000
        r = await client.get(f"{base}/api/insights", params={"since": SINCE, "until": UNTIL})
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["report"]["period"] == {"since": week.SINCE, "until": week.T0 + 8 * week.DAY}
        assert data["report"]["totals"]["conversations"] == 13
        assert data["report"]["agents"]["overall"]["tickets"] == 5
        assert set(data["charts"]) == {
            "rates",
            "handoffs",
            "intent_volume",
            "csat",
            "agents",
            "friction",
        }
        assert data["charts"]["handoffs"]["data"][0]["type"] == "bar"
        assert "anna@example.com" not in r.text
        filtered = await client.get(
            f"{base}/api/insights", params={"since": SINCE, "until": UNTIL, "channel": "slack"}
        )
        assert filtered.json()["report"]["totals"]["conversations"] == 3


async def test_agents_get_403_and_strangers_401(tmp_path: Path) -> None:
    async with insights_server(tmp_path) as base, httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/insights")).status_code == 401
        assert (await client.get(f"{base}/api/insights")).status_code == 401
        await _login(client, base, "alice")
        assert (await client.get(f"{base}/insights")).status_code == 403
        assert (await client.get(f"{base}/api/insights")).status_code == 403


async def test_bad_filters_are_400(tmp_path: Path) -> None:
    async with insights_server(tmp_path) as base, httpx.AsyncClient() as client:
        await _login(client, base, "root")
        for params in (
            {"since": "yesterday"},
            {"since": "2026-11-09", "until": "2026-11-01"},
            {"since": "2020-01-01", "until": "2026-11-01"},
            {"channel": "x" * 65},
        ):
            r = await client.get(f"{base}/api/insights", params=params)
            assert r.status_code == 400, params
