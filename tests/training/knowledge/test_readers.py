"""Each knowledge format: titles, sections, sources and text."""

from pathlib import Path

import pytest
from fpdf import FPDF

from training.knowledge.document import RejectedFile
from training.knowledge.faq import parse_faq_csv
from training.knowledge.html import parse_html
from training.knowledge.markdown import parse_markdown
from training.knowledge.pdf import parse_pdf
from training.knowledge.readers import read_document
from training.knowledge.text import parse_text


def make_pdf(path: Path, pages: list[str], title: str = "", password: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if password is not None:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def test_markdown_title_sections_and_code_fences():
    text = (
        "# Down jackets\n\nHow to care for down.\n\n## Washing\n\n### Machine wash\n\n"
        "Front loader, 30 degrees.\n\n```\n# not a heading\n```\n\nDrying\n------\n\nLow heat.\n"
    )
    doc = parse_markdown(text, "care/down.md")
    assert doc.title == "Down jackets" and doc.source == "care/down.md"
    assert [(s.heading, s.text.split("\n")[0]) for s in doc.sections] == [
        ("", "How to care for down."),
        ("Washing > Machine wash", "Front loader, 30 degrees."),
        ("Drying", "Low heat."),
    ]
    assert "# not a heading" in doc.sections[1].text


def test_markdown_front_matter_gives_title_and_url():
    text = "---\ntitle: Sizing guide\nurl: https://help.example/sizing\n---\nRuns small.\n"
    doc = parse_markdown(text, "sizing.md")
    assert (doc.title, doc.source) == ("Sizing guide", "https://help.example/sizing")
    assert doc.sections[0].text == "Runs small."


def test_markdown_without_heading_is_titled_after_the_file():
    assert parse_markdown("Just text.", "care/wash-and-dry.md").title == "Wash and dry"


def test_markdown_with_headings_only_is_rejected():
    with pytest.raises(RejectedFile) as info:
        parse_markdown("# Title\n\n## Empty\n", "x.md")
    assert info.value.reason == "no_text"


HELP_PAGE = """<!doctype html><html><head><title>Returns - Pinecrest Help</title>
<link rel="canonical" href="https://help.example/returns"><style>p {color: red}</style></head>
<body><header><h1>Pinecrest Help Centre</h1><nav><a href="/">Home</a> Search</nav></header>
<ol class="breadcrumbs"><li>Home</li><li>Returns</li></ol>
<div role="navigation">Menu</div>
<article><h1>Returns policy</h1>
<p>You have <b>30 days</b>. Use <a href="/forms/return">the form</a>.</p>
<h2>Refunds</h2><ul><li>Card: 5 days</li><li>PayPal: 2 days</li></ul>
<form><input name="q"><button>Search</button> Newsletter</form>
<h3>Exceptions</h3><p>Sale items &amp; gift cards are final.</p></article>
<aside>Related articles</aside><footer>Copyright Pinecrest</footer>
<script>document.write("<h2>Injected</h2>");</script></body></html>"""


def test_html_strips_the_page_chrome_and_keeps_headings():
    doc = parse_html(HELP_PAGE, "returns.html")
    assert doc.title == "Returns policy"
    assert doc.source == "https://help.example/returns"
    assert [s.heading for s in doc.sections] == ["", "Refunds", "Refunds > Exceptions"]
    everything = "\n".join(s.text for s in doc.sections)
    for chrome in ("Home", "Menu", "Search", "Newsletter", "Related", "Copyright", "Injected"):
        assert chrome not in everything
    assert "[the form](https://help.example/forms/return)" in doc.sections[0].text
    assert "Card: 5 days" in doc.sections[1].text
    assert doc.sections[2].text == "Sale items & gift cards are final."


def test_html_title_falls_back_to_the_title_tag_and_source_to_the_path():
    doc = parse_html("<title>Shipping</title><p>We ship worldwide.</p>", "ship.htm")
    assert (doc.title, doc.source) == ("Shipping", "ship.htm")


def test_html_with_only_navigation_is_rejected():
    with pytest.raises(RejectedFile) as info:
        parse_html("<nav><a href='/'>Home</a></nav><footer>x</footer>", "nav.html")
    assert info.value.reason == "no_text"


def test_pdf_text_per_page_and_title_from_metadata(tmp_path):
    path = make_pdf(tmp_path / "care.pdf", ["Care guide\nWash at 30.", "Dry flat."], "Care Guide")
    doc = parse_pdf(path.read_bytes(), "care.pdf")
    assert doc.title == "Care Guide"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Page 1", "Care guide\nWash at 30."),
        ("Page 2", "Dry flat."),
    ]


def test_pdf_title_falls_back_to_the_first_line(tmp_path):
    path = make_pdf(tmp_path / "w.pdf", ["Warranty terms\nTwo years."])
    assert parse_pdf(path.read_bytes(), "w.pdf").title == "Warranty terms"


def test_pdf_encrypted_with_an_empty_user_password_opens(tmp_path):
    path = make_pdf(tmp_path / "open.pdf", ["Readable text."], password="")
    assert parse_pdf(path.read_bytes(), "open.pdf").sections[0].text == "Readable text."


def test_plain_text_first_line_is_the_title():
    doc = parse_text("\n  Sizing guide \n\nOur sizes\nrun small.\n", "sizing.txt")
    assert doc.title == "Sizing guide"
    assert doc.sections[0].text == "Our sizes\nrun small."


def test_faq_csv_one_section_per_row_columns_case_insensitive():
    text = 'ID,Question,ANSWER\n1,Do you ship abroad?,"Yes, to 30\ncountries."\n2,,no q\n3,Q?,\n'
    doc = parse_faq_csv(text, "faq/shipping_faq.csv")
    assert doc.title == "Shipping faq"
    assert [(s.heading, s.lead, s.text) for s in doc.sections] == [
        ("Do you ship abroad?", "Q: Do you ship abroad?", "A: Yes, to 30\ncountries.")
    ]


def test_csv_without_question_and_answer_is_rejected():
    with pytest.raises(RejectedFile) as info:
        parse_faq_csv("text,intent\nhi,greet\n", "pairs.csv")
    assert info.value.reason == "not_faq_csv" and "text, intent" in info.value.detail


def test_read_document_dispatches_on_the_extension_case_insensitively(tmp_path):
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "Guide.MD"
    path.write_text("# Guide\n\nText.", encoding="utf-8")
    doc = read_document(path, tmp_path, 1000)
    assert (doc.doc_id, doc.format, doc.title) == ("a/Guide.MD", "markdown", "Guide")
