from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.nlg.adapter import AdaptedReply
from channels.base import adapted_reply
from channels.email_loops import automated_reason
from channels.email_reply import (
    MAX_REFERENCES,
    MailIdentity,
    ThreadState,
    build_reply,
    merge_replies,
    reply_subject,
    thread_references,
)

IDENTITY = MailIdentity("support@pinecrest.example", "help@pinecrest.example", "Pinecrest Support")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("My order", "Re: My order"),
        ("Re: My order", "Re: My order"),
        ("RE: re: Re:My order", "Re: My order"),
        ("AW: Re[2]: My order", "Re: My order"),
        ("", "Re: Your message"),
        ("  Where   is it  ", "Re: Where is it"),
    ],
)
def test_reply_subject_has_one_re(subject: str, expected: str):
    assert reply_subject(subject) == expected


def test_thread_references_append_the_answered_message():
    assert thread_references(("<a>", "<b>"), "<b>", "<c>") == ("<a>", "<b>", "<c>")
    assert thread_references((), "<b>", "<c>") == ("<b>", "<c>")
    assert thread_references((), None, "<c>") == ("<c>",)
    long = tuple(f"<{i}>" for i in range(50))
    capped = thread_references(long, None, "<new>")
    assert len(capped) == MAX_REFERENCES
    assert capped[0] == "<0>" and capped[-1] == "<new>"


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_build_reply_threads_and_identifies_the_mail():
    thread = ThreadState(
        "email:abc:root", "dana@example.org", "Re: My order", "<m2@x>", ("<root>", "<m2@x>")
    )
    message = _parsed(build_reply(IDENTITY, thread, "Hello,\n\nIt shipped.", "<p>It shipped.</p>"))
    assert message["Subject"] == "Re: My order"
    assert message["In-Reply-To"] == "<m2@x>"
    assert message["References"] == "<root> <m2@x>"
    assert message["To"] == "dana@example.org"
    assert message["From"].addresses[0].addr_spec == "support@pinecrest.example"
    assert message["From"].addresses[0].display_name == "Pinecrest Support"
    assert message["Reply-To"].addresses[0].addr_spec == "help@pinecrest.example"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"].endswith("@pinecrest.example>")
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "It shipped." in plain.get_content()
    assert html is not None and "<p>It shipped.</p>" in html.get_content()
    # our own reply would never be answered if it came back to us
    assert automated_reason(message, {IDENTITY.from_address}) is not None


def test_agent_reply_is_not_marked_auto_submitted():
    thread = ThreadState("email:abc:root", "dana@example.org", "My order", "<m1>", ("<m1>",))
    message = build_reply(IDENTITY, thread, "text", "<p>text</p>", auto_submitted=False)
    assert "Auto-Submitted" not in message


def test_thread_state_after_adds_our_message():
    thread = ThreadState("s", "c@x", "subj", "<m1>", ("<m1>",))
    later = thread.after("<ours>")
    assert later.last_message_id == "<ours>"
    assert later.references == ("<m1>", "<ours>")


def test_merge_one_reply_keeps_it_as_is():
    reply = adapted_reply({"text": "Your order **PC-1** shipped."}, "email")
    text, html = merge_replies([reply])
    assert (text, html) == (reply.text, reply.html)
    assert text.startswith("Hello,") and "Kind regards," in text
    assert "<strong>PC-1</strong>" in html


def test_merge_several_replies_keeps_one_greeting_and_one_sign_off():
    replies = [
        adapted_reply({"text": "Your order shipped."}, "email"),
        adapted_reply({"text": "Anything else?"}, "email"),
    ]
    text, html = merge_replies(replies)
    assert text.count("Hello,") == 1 and text.count("Kind regards,") == 1
    assert text.index("Your order shipped.") < text.index("Anything else?")
    assert text.startswith("Hello,") and text.rstrip().endswith("The Pinecrest team")
    assert html.count("Hello,") == 1 and html.count("Kind regards,") == 1
    assert html.index("Your order shipped.") < html.index("Anything else?")
    assert html.startswith("<!DOCTYPE html>")


def test_merge_replies_without_frames_keeps_everything():
    replies = [
        AdaptedReply("email", "email", ("a",), "a", None),
        AdaptedReply("email", "email", ("b <c>",), "b <c>", None),
    ]
    text, html = merge_replies(replies)
    assert text == "a\n\nb <c>"
    assert "<p>b &lt;c&gt;</p>" in html


def test_merge_nothing():
    assert merge_replies([]) == ("", "")
