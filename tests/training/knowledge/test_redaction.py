"""Redaction of knowledge documents: PII replaced and counted, the allow-list spared."""

from common.privacy import Redactor
from tests.training.knowledge.conftest import AnnaNames
from training.knowledge.document import Document, Section
from training.knowledge.redact import KnowledgeRedactor, knowledge_redaction_config

DOC = Document(
    "contact.md",
    "Contact us",
    "contact.md",
    "markdown",
    (
        Section(
            "Phone",
            "Call +1 (800) 555-0100 or mail help@pinecrest.example. "
            "Anna's line is +44 20 7946 0958, and anna.b@gmail.com reaches her.",
        ),
        Section("Email anna.b@gmail.com", "Again: anna.b@gmail.com.", lead=""),
    ),
)


def test_pii_is_redacted_numbered_per_document_and_counted(redactor):
    result = KnowledgeRedactor(redactor).redact(DOC)
    phone, again = result.document.sections
    assert "anna.b@gmail.com" not in phone.text + again.text + again.heading
    assert "+44 20 7946 0958" not in phone.text and "[PERSON_1]" in phone.text
    assert again.heading == "Email [EMAIL_2]" and again.text == "Again: [EMAIL_2]."
    assert result.redacted == {"EMAIL": 4, "PHONE": 2, "PERSON": 1}
    assert not result.kept


def test_the_allow_list_keeps_the_company_contacts_in_any_format(redactor):
    keep = ["HELP@pinecrest.example", "1-800-555-0100"]
    result = KnowledgeRedactor(redactor, keep).redact(DOC)
    text = result.document.sections[0].text
    assert "Call +1 (800) 555-0100 or mail help@pinecrest.example." in text
    assert "+44 20 7946 0958" not in text and "anna.b@gmail.com" not in text
    assert result.kept == {"EMAIL": 1, "PHONE": 1}
    assert result.redacted == {"EMAIL": 3, "PHONE": 1, "PERSON": 1}


def test_names_are_left_alone_by_default_and_structured_pii_is_not():
    config = knowledge_redaction_config()
    assert "PERSON" not in config.types
    assert {"EMAIL", "PHONE", "CARD", "IBAN", "ORDER_ID"} <= config.types
    redactor = KnowledgeRedactor(Redactor(config, name_finder=AnnaNames()))
    doc = Document(
        "faq.md",
        "Gift cards",
        "faq.md",
        "markdown",
        (Section("Gift cards", "Gift cards are sold by Anna. Write to anna.b@gmail.com."),),
    )
    result = redactor.redact(doc)
    text = result.document.sections[0].text
    assert "Anna" in text and "anna.b@gmail.com" not in text
    assert result.redacted == {"EMAIL": 1}
    named = knowledge_redaction_config(names=True)
    assert "PERSON" in named.types and named.name_proper_noun_fallback is False
