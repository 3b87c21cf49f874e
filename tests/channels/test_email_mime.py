from __future__ import annotations

import pytest

from channels.email_mime import (
    BadEmailError,
    address_hash,
    parse_inbound,
    sender_id_for,
    thread_root,
)
from loopback.mail_samples import (
    html_only_mail,
    latin1_mail,
    plain_mail,
    raw,
    with_attachment,
)


def test_plain_mail_keeps_only_the_senders_words():
    body = (
        "Hi, my boots arrived with a torn sole.\n\n"
        "Best regards,\nDana\n\n"
        "On Mon, 3 Mar 2025 at 10:00, Pinecrest Support <support@pinecrest.example> wrote:\n"
        "> Thanks for your order!\n> Pinecrest\n"
    )
    inbound = parse_inbound(raw(plain_mail(body)))
    assert inbound.text == "Hi, my boots arrived with a torn sole."
    assert inbound.sender == "dana@example.org"
    assert inbound.sender_name == "Dana Fox"
    assert inbound.subject == "My order"
    assert inbound.html_only is False
    assert inbound.attachments == 0


def test_quoted_lines_and_signature_delimiter_are_removed():
    body = "Cancel order PC-1 please\n> earlier text\n-- \nDana Fox\n+1 555 0100\n"
    assert parse_inbound(raw(plain_mail(body))).text == "Cancel order PC-1 please"


def test_html_only_mail_becomes_text():
    html = (
        "<html><body><p>Where is <b>my order</b> PC-482913?</p>"
        "<blockquote><p>old quoted text</p></blockquote></body></html>"
    )
    inbound = parse_inbound(raw(html_only_mail(html)))
    assert inbound.html_only is True
    assert "Where is my order PC-482913?" in inbound.text
    assert "<" not in inbound.text
    assert "old quoted text" not in inbound.text


def test_attachment_is_counted_not_read():
    message = with_attachment(plain_mail("Here is my receipt, it was a wrong size"))
    inbound = parse_inbound(raw(message))
    assert inbound.attachments == 1
    assert inbound.text == "Here is my receipt, it was a wrong size"
    assert "PDF" not in inbound.text


@pytest.mark.parametrize("charset", ["iso-8859-1", "windows-1252"])
def test_non_utf8_charsets_are_decoded(charset: str):
    inbound = parse_inbound(latin1_mail("Grüße aus Köln, où est ma commande ?", charset))
    assert inbound.text == "Grüße aus Köln, où est ma commande ?"


def test_windows_1252_specific_characters():
    inbound = parse_inbound(latin1_mail("It costs \u20ac20 \u2013 isn\u2019t it?", "windows-1252"))
    assert inbound.text == "It costs \u20ac20 \u2013 isn\u2019t it?"


def test_body_in_a_wrong_charset_is_decoded_leniently():
    data = latin1_mail("caf\u00e9 ordered", "iso-8859-1").replace(b"iso-8859-1", b"utf-8")
    inbound = parse_inbound(data)
    assert inbound.text.startswith("caf") and inbound.text.endswith("ordered")


def test_no_sender_is_a_bad_email():
    message = plain_mail()
    del message["From"]
    with pytest.raises(BadEmailError):
        parse_inbound(raw(message))


def test_garbage_is_a_bad_email():
    with pytest.raises(BadEmailError):
        parse_inbound(b"   ")


def test_thread_root_prefers_references_then_in_reply_to_then_own_id():
    assert thread_root("<c>", "<b>", ("<a>", "<b>")) == "<a>"
    assert thread_root("<c>", "<b>", ()) == "<b>"
    assert thread_root("<c>", None, ()) == "<c>"
    assert thread_root(None, None, ()) == "<unknown>"


def test_messages_of_one_thread_share_a_sender_id():
    first = parse_inbound(raw(plain_mail(message_id="<root@example.org>")))
    reply = parse_inbound(
        raw(
            plain_mail(
                "and another thing",
                subject="Re: My order",
                message_id="<m3@example.org>",
                in_reply_to="<ours@pinecrest.example>",
                references="<root@example.org> <ours@pinecrest.example>",
            )
        )
    )
    assert first.sender_id == reply.sender_id
    assert first.sender_id == f"email:{address_hash('dana@example.org')}:root@example.org"
    other_thread = parse_inbound(raw(plain_mail(message_id="<other@example.org>")))
    assert other_thread.sender_id != first.sender_id


def test_sender_id_hides_the_address_and_is_url_safe():
    sender_id = sender_id_for("Dana@Example.org ", "<a/b c?d@host>")
    assert "dana" not in sender_id.lower()
    assert sender_id == f"email:{address_hash('dana@example.org')}:a_b_c_d@host"
    assert address_hash("DANA@example.org") == address_hash("dana@example.org")


def test_import_email_in_the_channel_package_is_the_stdlib():
    import email as stdlib_email
    import sysconfig

    import channels.email_mime as module

    assert module.email is stdlib_email
    assert str(stdlib_email.__file__).startswith(sysconfig.get_paths()["stdlib"])
