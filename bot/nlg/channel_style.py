"""How each channel wants its replies: format, length, tone and emoji, from one YAML file.

The file maps channel names to settings::

    default:            # every other channel starts from these settings
      format: plain
      max_chars: 700
    slack:
      format: slack_mrkdwn
      max_chars: 350

A channel inherits every key it does not set from ``default``; keys that ``default``
does not set either take :class:`ChannelStyle`'s defaults. A channel that is not in
the file gets the ``default`` style. The file is :data:`DEFAULT_STYLES_PATH` unless
the environment variable :data:`STYLES_ENV_VAR` names another one.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, get_args

import yaml

from common.errors import ConfigError

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_STYLES_PATH",
    "FORMATS",
    "STYLES_ENV_VAR",
    "ChannelStyle",
    "ChannelStyleError",
    "ChannelStyles",
    "EmojiPolicy",
    "Format",
    "Tone",
    "configured_styles",
    "resolve_styles_path",
]

logger = logging.getLogger(__name__)

Format: TypeAlias = Literal["plain", "markdown", "slack_mrkdwn", "telegram_html", "email"]
Tone: TypeAlias = Literal["friendly", "formal"]
EmojiPolicy: TypeAlias = Literal["keep", "strip"]
Substitutions: TypeAlias = tuple[tuple[str, str], ...]

FORMATS: tuple[str, ...] = get_args(Format)
TONES: tuple[str, ...] = get_args(Tone)
EMOJI_POLICIES: tuple[str, ...] = get_args(EmojiPolicy)

DEFAULT_CHANNEL = "default"
STYLES_ENV_VAR = "BOT_CHANNEL_STYLES"
DEFAULT_STYLES_PATH = Path(__file__).with_name("channel_styles.yml")

_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_MAX_NAME_CHARS = 80
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ChannelStyleError(ConfigError):
    """The channel styles file, or one setting in it, is invalid.

    Args:
        message: What is wrong.
        source: The file (or other source) the settings came from.
        channel: The channel whose settings are wrong, if any.
        key: The setting that is wrong, if any.

    """

    def __init__(
        self, message: str, *, source: str, channel: str | None = None, key: str | None = None
    ) -> None:
        where = source
        if channel is not None:
            where += f": channel '{channel}'"
        if key is not None:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}")
        self.source = source
        self.channel = channel
        self.key = key


@dataclass(frozen=True)
class ChannelStyle:
    r"""How replies look on one channel.

    Attributes:
        name: The channel these settings are for.
        format: What the channel renders: ``plain`` text, light ``markdown`` (web
            chat), ``slack_mrkdwn``, ``telegram_html`` or ``email`` (HTML with a
            plain-text alternative).
        max_chars: Soft budget of visible characters for the whole reply; longer
            replies lose whole sentences from the end. ``None``: no budget.
        max_message_chars: Hard limit of one message (UTF-16 code units of the
            rendered text, e.g. 4096 on Telegram); longer replies are split into
            several messages. ``None``: no limit.
        max_messages: The most messages one reply may become; the rest is dropped.
        tone: ``friendly`` or ``formal``; picks the substitution table to apply.
        emoji: ``keep`` emoji or ``strip`` them.
        expand_contractions: In a formal tone, write ``do not`` for ``don't``.
        greeting: A line before the reply; ``{name}`` is the customer's name.
        greeting_no_name: The greeting when the name is unknown. Without it, the
            placeholder and the space before it are removed (``Hello {name},`` ->
            ``Hello,``).
        sign_off: Lines after the reply (plain text; ``\n`` starts a new line).
        formal_substitutions: Whole-word, case-preserving replacements applied in a
            formal tone, as ``(word or phrase, replacement)`` pairs.
        friendly_substitutions: The same, applied in a friendly tone.

    """

    name: str = DEFAULT_CHANNEL
    format: Format = "plain"
    max_chars: int | None = None
    max_message_chars: int | None = None
    max_messages: int | None = None
    tone: Tone = "friendly"
    emoji: EmojiPolicy = "keep"
    expand_contractions: bool = False
    greeting: str | None = None
    greeting_no_name: str | None = None
    sign_off: str | None = None
    formal_substitutions: Substitutions = ()
    friendly_substitutions: Substitutions = ()

    def __post_init__(self) -> None:
        """Check every setting, so that a style built in code is as safe as one loaded."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}
        _check_settings(values, channel=self.name, source="<code>")

    @property
    def substitutions(self) -> Substitutions:
        """The replacement table for this style's tone."""
        return self.formal_substitutions if self.tone == "formal" else self.friendly_substitutions

    def greeting_for(self, customer_name: str | None) -> str | None:
        """Return the greeting line for a customer.

        Args:
            customer_name: The customer's name, if known. Whitespace is collapsed,
                control and bidirectional-override characters are dropped, and very
                long names are cut.

        Returns:
            The greeting, or ``None`` when this style has none.

        """
        if self.greeting is None:
            return None
        name = _UNSAFE_IN_NAME.sub("", " ".join((customer_name or "").split()))
        name = name[:_MAX_NAME_CHARS].strip()
        if name:
            return self.greeting.replace("{name}", name)
        if self.greeting_no_name is not None:
            return self.greeting_no_name
        return re.sub(r"[ \t]*\{name\}", "", self.greeting).lstrip(" ,")


def _check_settings(values: Mapping[str, object], *, channel: str, source: str) -> None:
    """Raise :class:`ChannelStyleError` for the first invalid setting in ``values``."""
    for key, value in values.items():
        _check_value(key, value, channel=channel, source=source)
    if values.get("format") == "email":
        for key in ("max_message_chars", "max_messages"):
            if values.get(key) is not None:
                raise ChannelStyleError(
                    "an email is sent as one message: set this to null for the email format "
                    f"(it may come from '{DEFAULT_CHANNEL}')",
                    source=source,
                    channel=channel,
                    key=key,
                )


def _check_value(key: str, value: object, *, channel: str, source: str) -> None:
    """Raise :class:`ChannelStyleError` when ``value`` is not valid for ``key``."""

    def fail(message: str) -> ChannelStyleError:
        return ChannelStyleError(message, source=source, channel=channel, key=key)

    if key == "format":
        if value not in FORMATS:
            raise fail(f"expected one of {', '.join(FORMATS)}, got {value!r}")
    elif key == "tone":
        if value not in TONES:
            raise fail(f"expected one of {', '.join(TONES)}, got {value!r}")
    elif key == "emoji":
        if value not in EMOJI_POLICIES:
            raise fail(f"expected one of {', '.join(EMOJI_POLICIES)}, got {value!r}")
    elif key in ("max_chars", "max_message_chars", "max_messages"):
        if value is not None and (type(value) is not int or value < 1):
            raise fail(f"expected a positive whole number or null, got {value!r}")
    elif key == "expand_contractions":
        if type(value) is not bool:
            raise fail(f"expected true or false, got {value!r}")
    elif key in ("greeting", "greeting_no_name", "sign_off"):
        if value is None:
            return
        if not isinstance(value, str) or not value.strip():
            raise fail(f"expected a non-empty string or null, got {value!r}")
        allowed = {"{name}"} if key == "greeting" else set()
        unknown = [p for p in _PLACEHOLDER.findall(value) if p not in allowed]
        if unknown:
            hint = "only {name} is available" if key == "greeting" else "it takes no placeholders"
            raise fail(f"unknown placeholder {unknown[0]} ({hint})")
    elif key in ("formal_substitutions", "friendly_substitutions"):
        if not isinstance(value, tuple) or not all(
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(part, str) and part.strip() for part in pair)
            for pair in value
        ):
            raise fail("expected pairs of non-empty strings")


_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ChannelStyle) if f.name != "name")


class ChannelStyles(Mapping[str, ChannelStyle]):
    """The styles of all configured channels, read-only.

    Args:
        styles: Styles by channel name.
        source: Where they came from, for messages.

    """

    __slots__ = ("_source", "_styles")

    def __init__(self, styles: Mapping[str, ChannelStyle], *, source: str = "<code>") -> None:
        self._styles: Mapping[str, ChannelStyle] = MappingProxyType(
            {name.strip().lower(): style for name, style in styles.items()}
        )
        self._source = source

    def __getitem__(self, channel: str) -> ChannelStyle:
        return self._styles[channel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._styles)

    def __len__(self) -> int:
        return len(self._styles)

    def __repr__(self) -> str:
        return f"ChannelStyles({sorted(self._styles)!r}, source={self._source!r})"

    @property
    def source(self) -> str:
        """Where these styles were loaded from."""
        return self._source

    def for_channel(self, channel: str) -> ChannelStyle:
        """Return the style for ``channel``; unknown channels get the ``default`` style.

        Args:
            channel: A channel name such as ``slack`` (see
                :func:`bot.nlg.adapter.channel_from`); case does not matter.

        Returns:
            The channel's style, else the ``default`` style, else built-in defaults.

        """
        key = channel.strip().lower()
        if key in self._styles:
            return self._styles[key]
        logger.debug("No style for channel %s; using %s.", key, DEFAULT_CHANNEL)
        return self._styles.get(DEFAULT_CHANNEL) or ChannelStyle()

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "<mapping>") -> ChannelStyles:
        """Build styles from parsed YAML, checking every channel and key.

        Args:
            data: A mapping of channel name to a mapping of settings.
            source: Where ``data`` came from, for messages.

        Returns:
            The styles.

        Raises:
            ChannelStyleError: A channel name, key or value is invalid.

        """
        if not isinstance(data, Mapping):
            raise ChannelStyleError(
                f"expected a mapping of channel names to settings, got {type(data).__name__}",
                source=source,
            )
        raw: dict[str, Mapping[str, Any]] = {}
        for channel, settings in data.items():
            if not isinstance(channel, str) or not _CHANNEL_NAME.match(channel):
                raise ChannelStyleError(
                    f"invalid channel name {channel!r}: use lower-case letters, digits, "
                    "'_' and '-'",
                    source=source,
                )
            if settings is None:
                settings = {}
            if not isinstance(settings, Mapping):
                raise ChannelStyleError(
                    f"expected a mapping of settings, got {type(settings).__name__}",
                    source=source,
                    channel=channel,
                )
            for key in settings:
                if key not in _KEYS:
                    close = difflib.get_close_matches(str(key), _KEYS, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ChannelStyleError(
                        f"unknown key{hint}; known keys: {', '.join(_KEYS)}",
                        source=source,
                        channel=channel,
                        key=str(key),
                    )
            raw[channel] = settings
        base = raw.get(DEFAULT_CHANNEL, {})
        styles = {
            channel: _build(channel, {**base, **settings}, source=source)
            for channel, settings in raw.items()
        }
        return cls(styles, source=source)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ChannelStyles:
        """Read styles from a YAML file.

        Args:
            path: The file.

        Returns:
            The styles.

        Raises:
            ChannelStyleError: The file is missing, unreadable, not YAML or invalid.

        """
        source = str(path)
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
        except OSError as e:
            raise ChannelStyleError(f"cannot read the file ({e.strerror})", source=source) from e
        except yaml.YAMLError as e:
            raise ChannelStyleError(f"not valid YAML: {e}", source=source) from e
        if data is None:
            raise ChannelStyleError("the file is empty", source=source)
        styles = cls.from_mapping(data, source=source)
        logger.info("Loaded styles for %d channel(s) from %s.", len(styles), source)
        return styles

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> ChannelStyles:
        """Load the styles file: ``path``, else ``$BOT_CHANNEL_STYLES``, else the bundled one.

        Args:
            path: An explicit file, which wins over everything else.
            environ: The environment to read :data:`STYLES_ENV_VAR` from (default:
                ``os.environ``).

        Returns:
            The styles.

        Raises:
            ChannelStyleError: The chosen file is missing or invalid.

        """
        return cls.from_yaml(resolve_styles_path(path, environ))


def _build(channel: str, settings: Mapping[str, Any], *, source: str) -> ChannelStyle:
    values: dict[str, Any] = dict(settings)
    for key in ("formal_substitutions", "friendly_substitutions"):
        if key in values:
            values[key] = _substitution_pairs(values[key], channel=channel, key=key, source=source)
    _check_settings(values, channel=channel, source=source)
    return ChannelStyle(name=channel, **values)


def _substitution_pairs(value: object, *, channel: str, key: str, source: str) -> Substitutions:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ChannelStyleError(
            f"expected a mapping of word or phrase to replacement, got {type(value).__name__}",
            source=source,
            channel=channel,
            key=key,
        )
    pairs: list[tuple[str, str]] = []
    for word, replacement in value.items():
        if not isinstance(word, str) or not isinstance(replacement, str):
            raise ChannelStyleError(
                f"expected text for both sides, got {word!r}: {replacement!r}",
                source=source,
                channel=channel,
                key=key,
            )
        pairs.append((word, replacement))
    return tuple(pairs)


def resolve_styles_path(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Return the styles file to read: ``path``, else ``$BOT_CHANNEL_STYLES``, else the bundled.

    Args:
        path: An explicit file, which wins over everything else.
        environ: The environment to read :data:`STYLES_ENV_VAR` from (default: ``os.environ``).

    Returns:
        The file's path.

    Raises:
        ChannelStyleError: ``$BOT_CHANNEL_STYLES`` names a file that does not exist.
    """
    if path is not None:
        return Path(path)
    env = os.environ if environ is None else environ
    override = env.get(STYLES_ENV_VAR, "").strip()
    if override:
        if not Path(override).is_file():
            raise ChannelStyleError(
                f"{STYLES_ENV_VAR} names a file that does not exist", source=override
            )
        return Path(override)
    return Path(DEFAULT_STYLES_PATH)


@lru_cache(maxsize=8)
def _styles_from(path: Path) -> ChannelStyles:
    return ChannelStyles.from_yaml(path)


def configured_styles(path: str | os.PathLike[str] | None = None) -> ChannelStyles:
    """The channel styles for ``path`` (resolved as in :meth:`ChannelStyles.load`), read once.

    The channels (for replies that did not come through the NLG endpoint, such as an
    agent's) and the NLG endpoint share one instance per file, so they cannot disagree
    unless the endpoint is given a different file on purpose.

    Args:
        path: An explicit file; default: ``$BOT_CHANNEL_STYLES`` or the bundled file.

    Returns:
        The styles.
    """
    return _styles_from(resolve_styles_path(path).resolve())
