"""The soak: 500 messages over the four channels at once against one Rasa server.

Every message must be answered exactly once and none lost (see
:mod:`loopback.soak_driver`); ``bench/soak.py`` runs the same driver and reports
throughput. The last tests check the checker itself on hand-made conversations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.rasa_server import RunningBot
from loopback.soak_driver import (
    CHANNELS,
    RATE_LIMIT,
    Exchange,
    Fakes,
    Inbox,
    SoakPlan,
    SoakReport,
    check_conversation,
    run_soak,
    soak_bot,
)

logger = logging.getLogger(__name__)

PLAN = SoakPlan(messages=500, per_sender=5)
soak_test = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def soak(
    sample_bot_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningBot, Fakes]]:
    with soak_bot(sample_bot_model, tmp_path_factory.mktemp("soak")) as running:
        yield running


@pytest.fixture(scope="module")
def report(soak: tuple[RunningBot, Fakes]) -> SoakReport:
    bot, fakes = soak
    result = asyncio.run(run_soak(bot, fakes, PLAN))
    logger.info("Soak results:\n%s", result.markdown())
    return result


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_message_is_answered_exactly_once(report: SoakReport) -> None:
    assert report.problems == []
    assert len(report.exchanges) == PLAN.messages
    assert all(e.replies >= 1 for e in report.exchanges)
    assert all(count >= 1 for count in report.probe.values())


@pytest.mark.integration
@pytest.mark.slow
def test_each_channel_carried_its_share_concurrently(report: SoakReport) -> None:
    summary = report.summary()
    for channel in CHANNELS:
        row = summary["channels"][channel]
        assert row["messages"] == PLAN.messages // len(CHANNELS), channel
        assert row["conversations"] == PLAN.messages // len(CHANNELS) // PLAN.per_sender
        assert row["p50_ms"] is not None and row["p95_ms"] >= row["p50_ms"] > 0
    # more conversations overlapped than a rate-limited or serial run would allow
    first_replies = sorted(e.first_reply_at or 0.0 for e in report.exchanges)
    sent = sorted(e.sent_at for e in report.exchanges)
    in_flight = sum(s < first_replies[0] for s in sent)
    assert in_flight > len(CHANNELS)
    assert summary["messages_per_s"] > 0


@pytest.mark.integration
@pytest.mark.slow
def test_the_platforms_received_exactly_the_replies(
    report: SoakReport, soak: tuple[RunningBot, Fakes]
) -> None:
    _, fakes = soak
    replies = {c: sum(e.replies for e in report.exchanges if e.channel == c) for c in CHANNELS}
    assert len(fakes.slack.posts()) == replies["slack"]
    assert all(call.token == fakes.slack.token for call in fakes.slack.calls("chat.postMessage"))
    sent = fakes.telegram.api.snapshot("sendMessage")
    assert len(sent) == replies["telegram"] and all(call.ok for call in sent)
    assert len(fakes.smtp.handler.messages) == replies["email"] == PLAN.messages // 4
    rasa_log = soak[0].log.read_text(errors="replace")
    assert "Rate limit hit" not in rasa_log and "Traceback" not in rasa_log


# --------------------------------------------------------------------------- the checker


class _Recorded:
    """A finished conversation as the driver sees it: its id and its deliveries."""

    def __init__(self, channel: str, delivered: int) -> None:
        self.channel = channel
        self.sender_id = f"{channel}:c1"
        self._delivered = delivered

    def delivered(self) -> int:
        return self._delivered


def _events(*turns: tuple[str, int]) -> list[dict]:
    events: list[dict] = [{"event": "action", "name": "action_session_start"}]
    for text, bots in turns:
        events.append({"event": "user", "text": text})
        events.extend({"event": "bot", "text": f"reply {i}"} for i in range(bots))
        events.append({"event": "action", "name": "action_listen"})
    return events


def _exchanges(channel: str, *replies: tuple[str, int]) -> list[Exchange]:
    return [Exchange(channel, f"{channel}:c1", t, 0.0, 0.1, n) for t, n in replies]


def test_checker_accepts_one_delivery_per_bot_message() -> None:
    events = _events(("hi", 1), ("thanks", 2))
    ok = check_conversation(
        _Recorded("slack", 3), _exchanges("slack", ("hi", 1), ("thanks", 2)), events
    )
    assert ok == []


@pytest.mark.parametrize(
    ("channel", "delivered", "replies", "turns", "fault"),
    [
        ("slack", 3, (("hi", 2), ("bye", 1)), (("hi", 1), ("bye", 1)), "turn 1 got 2 replies"),
        ("telegram", 3, (("hi", 1), ("bye", 1)), (("hi", 1), ("bye", 1)), "arrived after"),
        ("web", 1, (("hi", 1), ("bye", 0)), (("hi", 1), ("bye", 0)), "turn 2 has no bot"),
        ("web", 2, (("hi", 1), ("bye", 1)), (("hi", 1), ("hi", 1), ("bye", 1)), "user events"),
        ("email", 2, (("hi", 1), ("bye", 1)), (("hi", 1),), "2 messages sent, 1 user events"),
        ("web", 2, (("hi", 1), ("bye", 1)), (("bye", 1), ("hi", 1)), "user texts differ"),
    ],
    ids=["duplicate", "late", "unanswered", "doubled-user", "lost", "reordered"],
)
def test_checker_finds_what_a_soak_must_not_hide(
    channel: str,
    delivered: int,
    replies: tuple[tuple[str, int], ...],
    turns: tuple[tuple[str, int], ...],
    fault: str,
) -> None:
    problems = check_conversation(
        _Recorded(channel, delivered), _exchanges(channel, *replies), _events(*turns)
    )
    assert any(fault in p for p in problems), problems


def test_email_expects_one_mail_per_turn_and_the_plan_spreads_evenly() -> None:
    events = _events(("hi", 2))
    assert check_conversation(_Recorded("email", 1), _exchanges("email", ("hi", 1)), events) == []
    scripts = SoakPlan(messages=22, per_sender=5).scripts()
    assert [sum(map(len, scripts[c])) for c in CHANNELS] == [6, 6, 5, 5]
    assert [len(scripts[c]) for c in CHANNELS] == [2, 2, 1, 1]
    assert RATE_LIMIT["burst"] >= PLAN.per_sender


async def test_inbox_wakes_a_waiter_whose_reply_another_conversation_read() -> None:
    """A delivery picked up by someone else's refresh still wakes its waiter promptly.

    This was the bench's "late" Slack reply: the reply had arrived, but the poller only
    woke waiters when its own refresh found something new.
    """
    deliveries: list[tuple[str, float | None]] = []
    inbox = Inbox(lambda: list(deliveries))
    poller = asyncio.create_task(inbox.poll())
    try:
        waiter = asyncio.create_task(inbox.wait_beyond("D1", 0))
        await asyncio.sleep(0.1)  # the waiter waits; the poller has seen nothing
        deliveries.append(("D1", None))
        inbox.refresh()  # another conversation's refresh reads D1's delivery first
        arrived = await asyncio.wait_for(waiter, timeout=2.0)
    finally:
        poller.cancel()
    assert arrived == inbox.times["D1"][0]
    assert inbox.count("D1") == 1
