from datetime import datetime, timedelta, timezone
from pathlib import Path

from training.ingest import IngestOptions, IngestReport, Turn, read_conversations

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc
OPTIONS = IngestOptions(
    support_domains=frozenset({"acme.test"}), slack_agent_user_ids=frozenset({"UAGENT"})
)


def _read(path: Path, **kwargs: object) -> tuple[list, IngestReport]:
    report = IngestReport()
    options = kwargs.pop("options", OPTIONS)
    conversations = list(read_conversations(path, options=options, report=report, **kwargs))
    return conversations, report


def _reasons(report: IngestReport) -> list[tuple[str, str, str]]:
    return [(Path(r.source).name, r.location, r.reason) for r in report.rejections]


def test_jsonl_turns_and_rejections():
    conversations, report = _read(FIXTURES / "conversations.jsonl")
    assert [(c.id, c.channel) for c in conversations] == [("c-1", "web"), ("c-3", "unknown")]
    assert conversations[0].turns == (
        Turn(
            "customer", "Where is my order?", datetime(2024, 5, 1, 10, tzinfo=UTC), "order_status"
        ),
        Turn("agent", "It ships tomorrow.", datetime(2024, 5, 1, 10, 1, 30, tzinfo=UTC)),
    )
    assert conversations[1].turns == (
        Turn("customer", "Refund please", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    )
    assert conversations[0].source.endswith("conversations.jsonl")
    assert _reasons(report) == [
        ("conversations.jsonl", "line 3", "unknown_role"),
        ("conversations.jsonl", "line 4, turn 1", "empty_text"),
        ("conversations.jsonl", "line 5", "bad_json"),
    ]
    assert (report.read, report.accepted, report.turns) == (4, 2, 3)
    assert report.skipped == {"blank_line": 1}


def test_csv_pairs_with_default_mapping():
    conversations, report = _read(FIXTURES / "pairs.csv")
    assert [c.id for c in conversations] == ["pairs:1", "pairs:3"]
    assert conversations[0].turns == (
        Turn("customer", "How do I reset my password?", None, "reset_password"),
        Turn(
            "agent",
            'Click "Forgot password" on the login page.\nThen follow the link we email you.',
        ),
    )
    assert conversations[1].turns[0].intent is None
    assert {c.channel for c in conversations} == {"csv"}
    assert _reasons(report) == [
        ("pairs.csv", "row 2", "empty_text"),
        ("pairs.csv", "row 4", "missing_column"),
    ]
    assert report.read == 4


def test_csv_custom_mapping_and_missing_column(tmp_path):
    from training.ingest import CsvMapping

    path = tmp_path / "tickets.csv"
    path.write_text("id,question,answer\nA7,hi,hello\n")
    mapping = CsvMapping(
        request_column="Question",
        reply_column="answer",
        intent_column=None,
        id_column="id",
        channel="web",
    )
    conversations, report = _read(path, options=IngestOptions(csv=mapping))
    assert [(c.id, c.channel, [t.text for t in c.turns]) for c in conversations] == [
        ("A7", "web", ["hi", "hello"])
    ]
    assert report.total_rejected == 0

    conversations, report = _read(path)  # default mapping wants "instruction"
    assert conversations == []
    assert report.rejections[0].reason == "missing_column"
    assert report.rejections[0].location == "header"
    assert "instruction" in report.rejections[0].detail


def test_taskmaster_mapping():
    conversations, report = _read(FIXTURES / "taskmaster_like.json")
    assert [c.id for c in conversations] == ["dlg-1", "dlg-3"]
    assert conversations[0].turns == (
        Turn("customer", "One latte, please."),
        Turn("agent", "Sure. Anything else?"),
        Turn("customer", "No, thanks."),
    )
    assert conversations[1].turns == (Turn("customer", 'A mocha "to go", {big}'),)
    assert conversations[0].channel == "taskmaster"
    assert _reasons(report) == [
        ("taskmaster_like.json", "dialogue 1, utterance 3", "empty_text"),
        ("taskmaster_like.json", "dialogue 2", "unknown_role"),
        ("taskmaster_like.json", "dialogue 3", "bad_json"),
    ]


def test_eml_folder():
    conversations, report = _read(FIXTURES / "email")
    by_id = {c.id: c for c in conversations}
    assert set(by_id) == {
        "<m1@example.com>",
        "<m2@acme.test>",
        "<m3@example.fr>",
        "<m4@example.org>",
        "<m6@example.com>",
    }
    assert by_id["<m1@example.com>"].turns == (
        Turn(
            "customer",
            "Hello,\n\nMy kettle stopped working after two days.",
            datetime(2024, 5, 1, 9, tzinfo=UTC),
        ),
    )
    # HTML-only reply from a support domain: text, no quote.
    html = by_id["<m2@acme.test>"].turns[0]
    assert (html.role, html.text) == ("agent", "Hi Jane,\n\nWe will send you a new kettle today.")
    # iso-8859-1 quoted-printable, "-- " signature removed.
    latin1 = by_id["<m3@example.fr>"].turns[0]
    assert latin1.text == "Bonjour,\n\nJ'ai reçu une cafetière abîmée. Pouvez-vous l'échanger ?"
    assert latin1.timestamp == datetime(2024, 5, 2, 8, tzinfo=timezone(timedelta(hours=2)))
    # windows-1252 8bit, Outlook original message removed.
    assert by_id["<m4@example.org>"].turns[0].text == (
        "Thanks \u2013 the \u201cexpress\u201d option is fine for me."
    )
    # Attachment ignored, quoted line removed.
    assert by_id["<m6@example.com>"].turns[0].text == "Here is my receipt for the kettle."
    assert {c.channel for c in conversations} == {"email"}
    assert _reasons(report) == [("wrong_charset.eml", "message 1", "undecodable")]
    assert (report.read, report.accepted) == (6, 5)


def test_mbox_threads():
    conversations, report = _read(FIXTURES / "thread.mbox")
    assert [c.id for c in conversations] == ["<t1@example.com>", "<other@example.org>"]
    thread = conversations[0]
    assert [(t.role, t.text) for t in thread.turns] == [
        ("customer", "My kettle stopped working.\nFrom now on I will buy elsewhere."),
        ("agent", "Sorry to hear that. Can you send a photo?"),
        ("customer", "Photo attached."),
    ]
    assert [t.timestamp.hour for t in thread.turns] == [9, 10, 11]
    assert conversations[1].turns == (
        Turn("customer", "Please resend my invoice.", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
    )
    assert (report.read, report.accepted, report.total_rejected) == (4, 2, 0)


def test_mbox_without_support_config_makes_everyone_a_customer():
    conversations, _ = _read(FIXTURES / "thread.mbox", options=IngestOptions())
    assert {t.role for c in conversations for t in c.turns} == {"customer"}


def test_slack_export_threads():
    conversations, report = _read(FIXTURES / "slack_export")
    assert [c.id for c in conversations] == [
        "random:1714552000.000000",
        "support:1714550100.000200",
        "support:1714551000.000000",
    ]
    thread = conversations[1]
    assert [(t.role, t.text) for t in thread.turns] == [
        ("customer", "My invoice is wrong & late"),
        ("agent", "Looking into it, @U9"),
        ("agent", "Fixed, a new invoice is on its way."),
    ]
    assert thread.turns[0].timestamp == datetime.fromtimestamp(1714550100.0002, tz=UTC)
    assert conversations[2].turns == (
        Turn(
            "customer",
            "Is the status page right?",
            datetime.fromtimestamp(1714551000, tz=UTC),
        ),
    )
    assert report.skipped["channel_join"] == 1
    assert report.skipped["channel_leave"] == 1
    assert _reasons(report) == [("2024-05-01.json", "message 5", "empty_text")]
    assert report.read == 8


def test_slack_channel_folder_and_bot_setting():
    options = IngestOptions(slack_bots_are_agents=False)
    conversations, report = _read(FIXTURES / "slack_export" / "support", options=options)
    thread = conversations[0]
    # UAGENT is not configured and bots are not agents: the bot message has no user.
    assert [t.role for t in thread.turns] == ["customer", "customer"]
    assert _reasons(report) == [
        ("2024-05-01.json", "message 5", "empty_text"),
        ("2024-05-02.json", "message 1", "unknown_role"),
    ]
