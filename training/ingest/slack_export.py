"""Slack channel exports (`channel/YYYY-MM-DD.json` files); threads become conversations."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

from training.ingest.model import (
    BAD_RECORD,
    BAD_TIMESTAMP,
    EMPTY_TEXT,
    MISSING_FIELD,
    UNKNOWN_ROLE,
    Conversation,
    IngestOptions,
    IngestReport,
    Role,
    Turn,
)
from training.ingest.streams import Problem, iter_json_array

logger = logging.getLogger(__name__)

CHANNEL = "slack"
DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
SKIPPED_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "pinned_item",
        "unpinned_item",
        "message_deleted",
    }
)
EXPORT_METADATA = frozenset(
    {
        "channels.json",
        "users.json",
        "groups.json",
        "dms.json",
        "mpims.json",
        "integration_logs.json",
        "canvases.json",
        "org_users.json",
    }
)
_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LABELLED_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")
_LINK = re.compile(r"<((?:https?|mailto):[^>]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


def is_channel_dir(path: Path) -> bool:
    """Whether a folder holds Slack day files (``YYYY-MM-DD.json``).

    Args:
        path: A folder.

    Returns:
        True if at least one day file is directly inside it.
    """
    return path.is_dir() and any(
        child.is_file() and DAY_FILE.match(child.name) for child in path.iterdir()
    )


def slack_text(text: str) -> str:
    """Turn Slack's message markup into plain text.

    Args:
        text: A message's ``text``.

    Returns:
        The text with mentions as ``@U123``, links as their label (or URL) and entities
        unescaped.
    """
    text = _USER_MENTION.sub(r"@\1", text)
    text = _CHANNEL_MENTION.sub(r"#\1", text)
    text = _LABELLED_LINK.sub(r"\2", text)
    text = _LINK.sub(r"\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    return html.unescape(text).strip()


def _role(message: Mapping[str, object], options: IngestOptions) -> Role | None:
    user = message.get("user")
    if isinstance(user, str) and user in options.slack_agent_user_ids:
        return Role.AGENT
    if message.get("bot_id") and options.slack_bots_are_agents:
        return Role.AGENT
    if isinstance(user, str) and user:
        return Role.CUSTOMER
    return None


def _ts(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def read_slack(path: Path, options: IngestOptions, report: IngestReport) -> Iterator[Conversation]:
    """Read a Slack export: its root folder, one channel folder, or one day file.

    A channel's messages are grouped by ``thread_ts`` (a message without one starts its own
    thread). All of a channel's turns are held until its last day file is read, since
    replies can come on later days.

    Args:
        path: The export root, a channel folder or a day file.
        options: ``slack_agent_user_ids`` and ``slack_bots_are_agents`` decide roles.
        report: Receives the counts, skipped events and rejections.

    Yields:
        One conversation per thread, channel by channel, oldest thread first.
    """
    if path.is_file():
        yield from _read_channel(path.parent.name, [path], options, report)
        return
    if is_channel_dir(path):
        days = sorted(p for p in path.iterdir() if p.is_file() and DAY_FILE.match(p.name))
        yield from _read_channel(path.name, days, options, report)
        return
    for child in sorted(path.iterdir()):
        if child.is_dir():
            yield from read_slack(child, options, report)
        elif child.name in EXPORT_METADATA:
            report.skip("slack_metadata")
        else:
            report.skip("not_slack_file")


def _read_channel(
    name: str, days: list[Path], options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    threads: dict[str, list[tuple[float, Turn]]] = {}
    for day in days:
        source = str(day)
        with day.open("rb") as stream:
            items = iter_json_array(stream, options.max_record_bytes)
            for number, item in enumerate(items, start=1):
                report.read += 1
                location = f"message {number}"
                if isinstance(item, Problem):
                    report.reject(source, location, item.reason, item.detail)
                    continue
                added = _message(item, options, report, source, location)
                if added is not None:
                    thread, ts, turn = added
                    threads.setdefault(thread, []).append((ts, turn))
    source = str(days[0].parent) if len(days) > 1 else str(days[0]) if days else name
    for thread, members in sorted(threads.items(), key=lambda item: float(item[0])):
        members.sort(key=lambda member: member[0])
        turns = tuple(turn for _, turn in members)
        yield report.accept(Conversation(f"{name}:{thread}", CHANNEL, turns, source))


def _message(
    item: object, options: IngestOptions, report: IngestReport, source: str, location: str
) -> tuple[str, float, Turn] | None:
    if not isinstance(item, Mapping):
        report.reject(source, location, BAD_RECORD, "message is not a JSON object")
        return None
    subtype = item.get("subtype")
    if isinstance(subtype, str) and subtype in SKIPPED_SUBTYPES:
        report.skip(subtype)
        return None
    raw_ts = item.get("ts")
    ts = _ts(raw_ts)
    if ts is None:
        reason = MISSING_FIELD if raw_ts is None else BAD_TIMESTAMP
        report.reject(source, location, reason, "no valid 'ts'")
        return None
    thread = item.get("thread_ts")
    if thread is None:
        thread = raw_ts
    if _ts(thread) is None:
        report.reject(source, location, BAD_TIMESTAMP, "invalid 'thread_ts'")
        return None
    role = _role(item, options)
    if role is None:
        report.reject(source, location, UNKNOWN_ROLE, "no 'user' and no 'bot_id'")
        return None
    text = item.get("text")
    cleaned = slack_text(text) if isinstance(text, str) else ""
    if not cleaned:
        report.reject(source, location, EMPTY_TEXT)
        return None
    stamp = datetime.fromtimestamp(ts, tz=timezone.utc)
    return str(thread), ts, Turn(role, cleaned, stamp)
