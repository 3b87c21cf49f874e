from common.email_text import clean_body, html_to_text, strip_quoted, strip_signature


def test_on_wrote_quote_is_cut_even_when_wrapped():
    text = "Yes please.\n\nOn Mon, 6 May 2024 at 10:00, Jane Doe <jane@example.com>\nwrote:\n> old"
    assert clean_body(text) == "Yes please."


def test_interleaved_quote_lines_are_dropped():
    assert strip_quoted("> question one\nanswer one\n> question two\nanswer two") == (
        "answer one\nanswer two"
    )


def test_outlook_header_block_is_cut():
    text = "Done.\n\nFrom: Acme <help@acme.test>\nSent: Monday\nTo: me\nSubject: x\n\nold text"
    assert clean_body(text) == "Done."
    underscores = "Done.\n________________________________\nFrom: Acme\nSent: Monday\n\nold"
    assert clean_body(underscores) == "Done."


def test_from_inside_a_sentence_is_kept():
    assert (
        clean_body("From: the shop I got a broken item.") == "From: the shop I got a broken item."
    )


def test_signatures():
    assert strip_signature("Hi\n-- \nJane Doe\n+44 20 0000 0000") == "Hi"
    assert clean_body("Please help.\n\nSent from my iPhone") == "Please help."
    assert clean_body("Please help.\n\nKind regards,\nJane Doe\nACME Ltd") == "Please help."
    # A sign-off followed by a long paragraph is not a signature.
    long_tail = "Thanks\n" + "This is a long line of real content that continues " * 3
    assert clean_body(long_tail) == long_tail.strip()


def test_a_thank_you_note_keeps_its_words():
    assert clean_body("Thank you!\nJane") == "Thank you!"


def test_html_blockquote_becomes_a_quote():
    text = html_to_text("<p>New text</p><blockquote><p>old text</p></blockquote>")
    assert clean_body(text) == "New text"
