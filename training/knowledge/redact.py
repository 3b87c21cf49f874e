"""PII redaction of knowledge documents, with an allow-list for the company's own contacts.

A help centre names people and numbers on purpose: the support address, the hotline, the
returns address. Those must survive, while anything else that looks personal (a customer's
email pasted into an article, a colleague's direct line) must not. :class:`KnowledgeRedactor`
runs the shared :class:`~common.privacy.Redactor` over every text that ends up in a chunk
(the title, the section headings, the FAQ questions and the text), then gives back the
detections that match an allow-list entry (``--keep``):

- literally: the detected span equals the entry, ignoring case and runs of spaces;
- or by value: the entry, run through the same detectors, yields the same normalised value
  (an email in another case, a phone number in another format: ``+1 (800) 555-0100`` and
  ``1-800-555-0100`` are one number).

Each document is one placeholder session, so an address repeated in an article is the same
``[EMAIL_1]`` everywhere in it. Counts are kept per type, redacted and kept apart; the values
never leave this module.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from common.privacy import Detection, PlaceholderSession, RedactionConfig, Redactor
from training.knowledge.document import Document, Section
from training.prepare.redact import substitute


def knowledge_redaction_config(
    not_names: Sequence[str] = (), *, names: bool = False
) -> RedactionConfig:
    """The redaction settings for help-centre text.

    Every structured type the transcript pipeline redacts (emails, phone numbers, cards,
    IBANs, order and account numbers, URLs with secrets, addresses) is redacted. Person names
    are not, unless ``names`` is set: a help centre is text the company published, not a
    customer's message, and on the sample help centre (48 articles and a PDF) the name finder
    redacted 39 spans, every one a false positive ("Gift cards", "Forgot password?", table
    headers such as "Size" and "Waist", colour names), which cost answers their facts. With
    ``names`` the proper-noun fallback of the name finder stays off: help-centre prose is
    full of capitalised product and place names ("Ridgeline 2", "Lake District") that it
    would take for people; spaCy's NER and the cue patterns ("contact Anna") still apply.

    Args:
        not_names: Product and brand names the name finder must never take for people
            (added to the default list, which holds the company's name).
        names: Also redact person names (``python -m training kb --redact-names``).

    Returns:
        The config.

    """
    base = RedactionConfig()
    return replace(
        base,
        types=base.types if names else base.types - {"PERSON"},
        name_proper_noun_fallback=False,
        name_denylist=(*base.name_denylist, *not_names),
    )


@dataclass(frozen=True)
class RedactedDocument:
    """A document whose every text has been redacted.

    Attributes:
        document: The document, with placeholders in place of PII.
        redacted: Spans replaced, by PII type.
        kept: Spans left in place because the allow-list names them, by PII type.

    """

    document: Document
    redacted: Counter[str]
    kept: Counter[str]


class KnowledgeRedactor:
    """Redacts whole documents, sparing the allow-listed contacts.

    Args:
        redactor: The PII redactor.
        keep: Literal strings never to redact (the company's support email, phone, address).

    """

    def __init__(self, redactor: Redactor, keep: Sequence[str] = ()) -> None:
        self._redactor = redactor
        self._keep = tuple(k for k in (k.strip() for k in keep) if k)
        self._keep_literals = frozenset(_normalise(k) for k in self._keep)

    @functools.cached_property
    def _keep_values(self) -> frozenset[tuple[str, str]]:
        """(type, normalised value) of each allow-listed entry, as the detectors see it."""
        found = self._redactor.detect_many(list(self._keep)) if self._keep else []
        return frozenset((d.type, d.key) for spans in found for d in spans if d.key)

    def redact(self, document: Document) -> RedactedDocument:
        """Redact a document's title, headings, leads and texts in one batch.

        Args:
            document: The parsed document.

        Returns:
            The redacted document and the counts per PII type.

        """
        texts = [document.title]
        for section in document.sections:
            texts += [section.heading, section.lead, section.text]
        detections = self._redactor.detect_many(texts)
        session = PlaceholderSession()
        redacted: Counter[str] = Counter()
        kept: Counter[str] = Counter()
        out: list[str] = []
        for text, found in zip(texts, detections, strict=True):
            spans: list[Detection] = []
            for d in found:
                if self._is_kept(text, d):
                    kept[d.type] += 1
                else:
                    spans.append(d)
                    redacted[d.type] += 1
            out.append(substitute(text, spans, session))
        sections = tuple(
            Section(heading=out[i], lead=out[i + 1], text=out[i + 2]) for i in range(1, len(out), 3)
        )
        return RedactedDocument(replace(document, title=out[0], sections=sections), redacted, kept)

    def _is_kept(self, text: str, detection: Detection) -> bool:
        if not self._keep:
            return False
        if _normalise(text[detection.start : detection.end]) in self._keep_literals:
            return True
        return bool(detection.key) and (detection.type, detection.key) in self._keep_values


def _normalise(value: str) -> str:
    return " ".join(value.casefold().split())
