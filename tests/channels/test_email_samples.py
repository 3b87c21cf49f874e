"""The sample inbound mails of :mod:`loopback.mail_samples` are what the tests rely on."""

from __future__ import annotations

from loopback.mail_samples import html_only_mail, latin1_mail, plain_mail, with_attachment


def test_latin1_sample_is_not_utf8():
    data = latin1_mail("Grüße", "iso-8859-1")
    assert b"charset=iso-8859-1" in data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("the sample body should not be valid UTF-8")


def test_html_only_sample_has_no_plain_part():
    message = html_only_mail("<p>hi</p>")
    assert message.get_content_type() == "text/html"
    assert message.get_body(("plain",)) is None


def test_attachment_sample_is_multipart_mixed():
    message = with_attachment(plain_mail())
    assert message.get_content_type() == "multipart/mixed"
    assert [p.get_filename() for p in message.iter_attachments()] == ["receipt.pdf"]
