"""Tone functions: contraction expansion, word substitutions and emoji stripping.

Each function has the signature of :data:`bot.nlg.markdown.TextTransform`:
``(text, before, after) -> text``, where ``before`` and ``after`` are the visible
characters around ``text`` in its paragraph, so that whole-word matching and
whitespace clean-up also work at the edges of bold, italic or link text. They are
applied to text spans only, never to URLs or markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias

__all__ = [
    "EMOJI_SEQUENCE",
    "Substitutions",
    "expand_contractions",
    "match_case",
    "strip_emoji",
]


def match_case(source: str, replacement: str, *, key: str = "") -> str:
    """Give ``replacement`` the capitalisation of ``source``.

    An all-capitals source (two cased letters or more) gives an all-capitals
    replacement, and a capitalised source a capitalised replacement. When ``key``
    (the table entry that matched) is written with capitals itself, such as an
    acronym, those capitals say nothing about the source and the replacement is
    returned as written.

    Args:
        source: The text that was matched.
        replacement: The text to put in its place, as written in the table.
        key: The table entry that matched ``source``.

    Returns:
        The replacement with the source's capitalisation.

    """
    cased = [c for c in source if c.isalpha()]
    if len(cased) >= 2 and all(c.isupper() for c in cased) and not key.isupper():
        return replacement.upper()
    if source[:1].isupper() and not key[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


_Replace: TypeAlias = Callable[[re.Match[str]], str]


def _apply(pattern: re.Pattern[str], text: str, before: str, after: str, replace: _Replace) -> str:
    """Substitute matches of ``pattern`` inside ``text`` with ``before``/``after`` as context.

    The pattern's look-arounds see the context characters, but a match must lie
    within ``text``.
    """
    padded = before + text + after
    start, stop = len(before), len(before) + len(text)
    out: list[str] = []
    last = start
    for match in pattern.finditer(padded, start):
        if match.end() > stop:
            break
        out.append(padded[last : match.start()])
        out.append(replace(match))
        last = match.end()
    out.append(padded[last:stop])
    return "".join(out)


# ----------------------------------------------------------------- substitutions


class Substitutions:
    """A compiled, case-preserving, whole-word replacement table.

    Keys match case-insensitively and as whole words; a key may be a phrase, and any
    run of whitespace in the text matches a space in it. Longer keys win over shorter
    ones that start at the same place. Replacements take the capitalisation of the
    text they replace (see :func:`match_case`).

    Args:
        table: A mapping or ``(key, replacement)`` pairs.

    """

    __slots__ = ("_lookup", "_pattern", "table")

    def __init__(self, table: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        pairs = tuple(table.items()) if isinstance(table, Mapping) else tuple(table)
        self.table: tuple[tuple[str, str], ...] = pairs
        self._lookup = {_normalise_key(k): (k, v) for k, v in pairs if k.strip()}
        keys = sorted(self._lookup, key=len, reverse=True)
        alternatives = "|".join(r"\s+".join(map(re.escape, k.split())) for k in keys)
        self._pattern = (
            re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if keys else None
        )

    def __call__(self, text: str, before: str = "", after: str = "") -> str:
        """Replace every whole-word occurrence of a key in ``text``.

        Args:
            text: A text span.
            before: The visible character before the span, if any.
            after: The visible character after the span, if any.

        Returns:
            The text with replacements.

        """
        if self._pattern is None:
            return text
        return _apply(self._pattern, text, before, after, self._replace)

    def _replace(self, match: re.Match[str]) -> str:
        key, replacement = self._lookup[_normalise_key(match.group())]
        return match_case(match.group(), replacement, key=key)


def _normalise_key(key: str) -> str:
    return " ".join(key.split()).casefold()


# ------------------------------------------------------------------ contractions

_APOSTROPHE = "['\u2019]"
_IRREGULAR = {
    "can't": "cannot",
    "won't": "will not",
    "shan't": "shall not",
    "let's": "let us",
    "i'm": "I am",
}
_NOT = (
    *("do", "does", "did", "is", "are", "was", "were", "have", "has", "had"),
    *("could", "would", "should", "must", "need", "might"),
)
_ENDINGS = {
    "'re": ("are", ("you", "we", "they", "what", "who")),
    "'ve": ("have", ("i", "you", "we", "they", "could", "would", "should", "might", "must")),
    "'ll": ("will", ("i", "you", "we", "they", "he", "she", "it", "that", "there", "who")),
    "'d": ("would", ("i", "you", "we", "they", "he", "she", "it", "that", "there", "who")),
    "'s": ("is", ("he", "she", "it", "that", "there", "here", "what", "who", "where", "how")),
}


def _contractions() -> dict[str, str]:
    """Build the table of contractions (lower case, with ') and their expansions."""
    table = dict(_IRREGULAR)
    for verb in _NOT:
        table[f"{verb}n't"] = f"{verb} not"
    for ending, (expansion, words) in _ENDINGS.items():
        for word in words:
            table[word + ending] = f"{'I' if word == 'i' else word} {expansion}"
    return table


_CONTRACTIONS = _contractions()
_CONTRACTION_PATTERN = re.compile(
    r"(?<![\w'\u2019])(?:"
    + "|".join(
        re.escape(k).replace("'", _APOSTROPHE) for k in sorted(_CONTRACTIONS, key=len, reverse=True)
    )
    + r")(?![\w'\u2019])(?=(?P<next>\s+\w+)|)",
    re.IGNORECASE,
)
_HAS_BEFORE = frozenset({"been", "got", "gotten"})
_HAD_BEFORE = frozenset({"been", "better", "had"})


def _expand(match: re.Match[str]) -> str:
    word = match.group()
    replacement = _CONTRACTIONS[word.replace("\u2019", "'").lower()]
    next_word = (match.group("next") or "").strip().lower()
    ending = word[-2:].replace("\u2019", "'").lower()
    if ending == "'s" and next_word in _HAS_BEFORE:
        replacement = replacement[: -len("is")] + "has"
    elif ending == "'d" and next_word in _HAD_BEFORE:
        replacement = replacement[: -len("would")] + "had"
    return match_case(word, replacement)


def expand_contractions(text: str, before: str = "", after: str = "") -> str:
    """Expand English contractions for a formal tone: ``don't`` -> ``do not``.

    Only listed forms are expanded, so possessives (``Pinecrest's``) stay as they are.
    ``'s`` reads as *has* before *been*/*got* and as *is* otherwise; ``'d`` reads as
    *had* before *been*/*better* and as *would* otherwise. Both ``'`` and ``’`` work.
    Capitalisation is kept (``Don't`` -> ``Do not``, ``DON'T`` -> ``DO NOT``).

    Args:
        text: A text span.
        before: The visible character before the span, if any.
        after: The visible character after the span, if any.

    Returns:
        The text with contractions expanded.

    """
    return _apply(_CONTRACTION_PATTERN, text, before, after, _expand)


# ------------------------------------------------------------------------- emoji
# Generated from the Unicode Character Database (emoji-data.txt, Unicode 17.0):
# _PRESENTATION: characters shown as emoji by default (Emoji_Presentation=Yes in the
#   BMP, and every Extended_Pictographic code point above U+1F000 together with the
#   regional indicators and skin tones: nothing there is ordinary text, and the
#   reserved ranges cover emoji that later Unicode versions add).
# _TEXT_DEFAULT: pictographs in the BMP that are text unless followed by U+FE0F, a
#   skin tone or a ZWJ (©, ®, ™, arrows, ☺, ❤, ✔ ...); alone they are kept.
_PRESENTATION = (
    "\u231a-\u231b\u23e9-\u23ec\u23f0\u23f3\u25fd-\u25fe\u2614-\u2615\u2648-\u2653"
    "\u267f\u2693\u26a1\u26aa-\u26ab\u26bd-\u26be\u26c4-\u26c5\u26ce\u26d4\u26ea"
    "\u26f2-\u26f3\u26f5\u26fa\u26fd\u2705\u270a-\u270b\u2728\u274c\u274e\u2753-\u2755"
    "\u2757\u2795-\u2797\u27b0\u27bf\u2b1b-\u2b1c\u2b50\u2b55"
    "\U0001f004\U0001f02c-\U0001f02f\U0001f094-\U0001f09f\U0001f0af-\U0001f0b0"
    "\U0001f0c0\U0001f0cf-\U0001f0d0\U0001f0f6-\U0001f0ff\U0001f170-\U0001f171"
    "\U0001f17e-\U0001f17f\U0001f18e\U0001f191-\U0001f19a\U0001f1ae-\U0001f1ff"
    "\U0001f201-\U0001f20f\U0001f21a\U0001f22f\U0001f232-\U0001f23a\U0001f23c-\U0001f23f"
    "\U0001f249-\U0001f25f\U0001f266-\U0001f321\U0001f324-\U0001f393\U0001f396-\U0001f397"
    "\U0001f399-\U0001f39b\U0001f39e-\U0001f3f0\U0001f3f3-\U0001f3f5\U0001f3f7-\U0001f4fd"
    "\U0001f4ff-\U0001f53d\U0001f549-\U0001f54e\U0001f550-\U0001f567\U0001f56f-\U0001f570"
    "\U0001f573-\U0001f57a\U0001f587\U0001f58a-\U0001f58d\U0001f590\U0001f595-\U0001f596"
    "\U0001f5a4-\U0001f5a5\U0001f5a8\U0001f5b1-\U0001f5b2\U0001f5bc\U0001f5c2-\U0001f5c4"
    "\U0001f5d1-\U0001f5d3\U0001f5dc-\U0001f5de\U0001f5e1\U0001f5e3\U0001f5e8\U0001f5ef"
    "\U0001f5f3\U0001f5fa-\U0001f64f\U0001f680-\U0001f6c5\U0001f6cb-\U0001f6d2"
    "\U0001f6d5-\U0001f6e5\U0001f6e9\U0001f6eb-\U0001f6f0\U0001f6f3-\U0001f6ff"
    "\U0001f7da-\U0001f7ff\U0001f80c-\U0001f80f\U0001f848-\U0001f84f\U0001f85a-\U0001f85f"
    "\U0001f888-\U0001f88f\U0001f8ae-\U0001f8af\U0001f8bc-\U0001f8bf\U0001f8c2-\U0001f8cf"
    "\U0001f8d9-\U0001f8ff\U0001f90c-\U0001f93a\U0001f93c-\U0001f945\U0001f947-\U0001f9ff"
    "\U0001fa58-\U0001fa5f\U0001fa6e-\U0001faff\U0001fc00-\U0001fffd"
)
_TEXT_DEFAULT = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9-\u21aa\u2328\u23cf"
    "\u23ed-\u23ef\u23f1-\u23f2\u23f8-\u23fa\u24c2\u25aa-\u25ab\u25b6\u25c0\u25fb-\u25fc"
    "\u2600-\u2604\u260e\u2611\u2618\u261d\u2620\u2622-\u2623\u2626\u262a\u262e-\u262f"
    "\u2638-\u263a\u2640\u2642\u265f-\u2660\u2663\u2665-\u2666\u2668\u267b\u267e\u2692"
    "\u2694-\u2697\u2699\u269b-\u269c\u26a0\u26a7\u26b0-\u26b1\u26c8\u26cf\u26d1\u26d3"
    "\u26e9\u26f0-\u26f1\u26f4\u26f7-\u26f9\u2702\u2708-\u2709\u270c-\u270d\u270f\u2712"
    "\u2714\u2716\u271d\u2721\u2733-\u2734\u2744\u2747\u2763-\u2764\u27a1\u2934-\u2935"
    "\u2b05-\u2b07\u3030\u303d\u3297\u3299"
)
_SKIN_TONE = "\U0001f3fb-\U0001f3ff"
_VS16 = "\ufe0f"
_ZWJ = "\u200d"
_TAGS = "\U000e0020-\U000e007e"
_CANCEL_TAG = "\U000e007f"
_KEYCAP = f"[0-9#*]{_VS16}?\u20e3"
_BASE = f"(?:[{_PRESENTATION}]|[{_TEXT_DEFAULT}](?=[{_VS16}{_SKIN_TONE}]))"
_ELEMENT = f"{_BASE}{_VS16}?[{_SKIN_TONE}]?{_VS16}?(?:[{_TAGS}]+{_CANCEL_TAG})?"
_JOINED = f"{_ZWJ}(?:[{_PRESENTATION}{_TEXT_DEFAULT}]){_VS16}?[{_SKIN_TONE}]?{_VS16}?"

EMOJI_SEQUENCE = re.compile(f"(?:{_KEYCAP}|{_ELEMENT}(?:{_JOINED})*)")
"""One emoji as a reader sees it: a single pictograph, a keycap, a flag (two regional
indicators or a tag sequence), a skin-toned emoji or a ZWJ sequence such as 👩‍💻."""

_EMOJI_RUN = re.compile(f"{EMOJI_SEQUENCE.pattern}(?:[ \\t]*{EMOJI_SEQUENCE.pattern})*")
_CLOSING_PUNCTUATION = frozenset(".,;:!?)]}\u2026\u201d\u2019'\"")
_SPACE = " \t"


def strip_emoji(text: str, before: str = "", after: str = "") -> str:
    """Remove emoji, and the spaces they leave behind, from a text span.

    ``"Great news 🎉!"`` becomes ``"Great news!"``, ``"🎉 Done"`` becomes ``"Done"``
    and ``"Hi 👋 Ana"`` becomes ``"Hi Ana"``. Letters of every script are left alone,
    and so are the joiners some scripts use (ZWJ in Devanagari, ZWNJ in Persian) and
    text-style symbols such as © ® ™ that have no emoji variation selector.

    Args:
        text: A text span.
        before: The visible character before the span, if any.
        after: The visible character after the span, if any.

    Returns:
        The text without emoji.

    """
    padded = before + text + after
    start, stop = len(before), len(before) + len(text)
    out: list[str] = []
    last = start
    for match in _EMOJI_RUN.finditer(padded, start, stop):
        left, right = match.start(), match.end()
        while left > last and padded[left - 1] in _SPACE:
            left -= 1
        while right < len(padded) and padded[right] in _SPACE:
            right += 1
        previous = padded[left - 1] if left > 0 else ""
        following = padded[right] if right < len(padded) else ""
        spaced = left < match.start() or right > match.end()
        keep_space = (
            spaced
            and previous not in ("", "\n")
            and following not in ("", "\n")
            and following not in _CLOSING_PUNCTUATION
        )
        out.append(padded[last:left])
        out.append(" " if keep_space else "")
        last = min(right, stop)
    out.append(padded[last:stop])
    return "".join(out)
