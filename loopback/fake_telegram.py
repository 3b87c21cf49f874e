"""A local fake of the Telegram Bot API that checks requests the way Telegram does.

:class:`FakeBotApi` answers the methods the channel calls (``getMe``, ``sendMessage``,
``sendPhoto``, ``answerCallbackQuery``, ``setWebhook``, ``sendChatAction``) with the
response shapes of the real API, and records every call. Like Telegram, it rejects a
wrong token (401), an unknown method (404), HTML that Telegram's parser would refuse, a
text over 4,096 characters after entity parsing, a ``callback_data`` over 64 bytes,
and callback query ids it never issued.

:class:`FakeTelegramServer` serves it over HTTP on loopback (aiohttp in a thread), at
``<url>/bot<token>/<method>``, for a Rasa server in another process;
:class:`FakeBotApiRequest` plugs it into python-telegram-bot in-process for unit tests.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from telegram.request import BaseRequest, RequestData

from loopback.ports import free_port

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Pinecrest",
    "username": "PinecrestTestBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_BYTES = 64
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class ApiCall:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]
    ok: bool
    at: float


def visible_text(text: str) -> str:
    """Parse Telegram HTML like Telegram: return the visible text or raise ApiError(400)."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.append(_check_text(text[pos : match.start()]))
        pos = match.end()
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if name not in ALLOWED_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"'
            )
        if closing:
            if not stack or stack[-1] != name:
                raise ApiError(
                    400, f'Bad Request: can\'t parse entities: Unmatched end tag "{name}"'
                )
            stack.pop()
        else:
            if name == "a" and not re.search(r'href="[^"]*"', attrs):
                raise ApiError(400, "Bad Request: can't parse entities: <a> without href")
            stack.append(name)
    out.append(_check_text(text[pos:]))
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: "
            f'Can\'t find end tag corresponding to "{stack[-1]}"',
        )
    return html.unescape("".join(out))


def _check_text(chunk: str) -> str:
    if "<" in chunk or ">" in chunk:
        raise ApiError(400, "Bad Request: can't parse entities: unexpected < or >")
    without_entities = _ENTITY.sub("", chunk)
    if "&" in without_entities:
        raise ApiError(400, "Bad Request: can't parse entities: unescaped &")
    return chunk


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FakeBotApi:
    """The fake's behaviour, independent of HTTP."""

    token: str
    calls: list[ApiCall] = field(default_factory=list)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _query_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _issued_queries: set[str] = field(default_factory=set)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    # ------------------------------------------------------------------ for tests
    def issue_callback_query_id(self) -> str:
        """Return a callback query id as Telegram would put in an update."""
        with self._lock:
            query_id = f"{next(self._query_ids)}{int(time.time())}"
            self._issued_queries.add(query_id)
            return query_id

    def snapshot(self, method: str | None = None, chat_id: int | None = None) -> list[ApiCall]:
        """Return the recorded calls, optionally of one method and chat."""
        with self._lock:
            return [
                c
                for c in self.calls
                if (method is None or c.method == method)
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
            ]

    def wait_for(
        self, predicate: Callable[[list[ApiCall]], bool], timeout: float = 60.0
    ) -> list[ApiCall]:
        """Wait until ``predicate(calls)`` holds; return the calls (raise on timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self.calls)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met; calls: {self.calls!r}")
                self._lock.wait(left)
            return list(self.calls)

    # ------------------------------------------------------------------ the API
    def handle(self, token: str, method: str, params: Mapping[str, Any]) -> tuple[int, dict]:
        """Answer one call as Telegram would: ``(status, body)``."""
        params = dict(params)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as e:
            status, body = e.code, {"ok": False, "error_code": e.code, "description": e.description}
        with self._lock:
            self.calls.append(ApiCall(method, params, status == 200, time.time()))
            self._lock.notify_all()
        return status, body

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        return True

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        _chat_id(params)
        return True

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            text = visible_text(text)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT_CHARS:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _reply_markup(params)
        message = self._message(chat_id, text=text)
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        if not params.get("photo"):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        photo = {"file_id": "AgAC-fake", "file_unique_id": "fake1", "width": 90, "height": 90}
        return self._message(chat_id, photo=[photo])

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            issued = query_id in self._issued_queries
            self._issued_queries.discard(query_id)
        if not issued:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "from": dict(BOT_USER),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "date": int(time.time()),
            **content,
        }


def _chat_id(params: Mapping[str, Any]) -> int:
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError) as e:
        raise ApiError(400, "Bad Request: chat not found") from e


def _reply_markup(params: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = params.get("reply_markup")
    if raw is None:
        return None
    markup = json.loads(raw) if isinstance(raw, str) else raw
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise ApiError(
            400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
        )
    for row in rows:
        for button in row:
            if not str(button.get("text") or "").strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if (
                data is not None
                and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and not button.get("url"):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
    return markup


def _decode_params(content_type: str, body: bytes, query: Mapping[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = dict(query)
    if not body:
        return params
    if content_type.startswith("application/json"):
        params.update(json.loads(body))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    else:
        raise ApiError(400, f"Bad Request: unsupported content type {content_type}")
    return params


class FakeTelegramServer:
    """Serves a :class:`FakeBotApi` on loopback from a background thread."""

    def __init__(self, token: str) -> None:
        self.api = FakeBotApi(token)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> FakeTelegramServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        try:
            params = _decode_params(request.content_type, await request.read(), request.query)
        except (ApiError, ValueError) as e:
            description = e.description if isinstance(e, ApiError) else "Bad Request: bad JSON"
            return web.json_response(
                {"ok": False, "error_code": 400, "description": description}, status=400
            )
        status, body = self.api.handle(
            request.match_info["token"], request.match_info["method"], params
        )
        return web.json_response(body, status=status)


class FakeBotApiRequest(BaseRequest):
    """python-telegram-bot's HTTP backend, answered by a :class:`FakeBotApi` in-process."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """The read timeout python-telegram-bot waits for, in seconds."""
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""
        return None

    async def shutdown(self) -> None:
        """Nothing to close."""
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call from the in-process fake: (HTTP status, JSON body)."""
        match = re.search(r"/bot([^/]+)/(\w+)$", url)
        assert match, url
        params = request_data.json_parameters if request_data else {}
        status, body = self.api.handle(match.group(1), match.group(2), params)
        return status, json.dumps(body).encode()


# ---------------------------------------------------------------------- update JSON


def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Dana", "language_code": "en"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "first_name": "Dana", "type": "private"}


def message_update(
    update_id: int, chat_id: int, message_id: int = 1, **content: Any
) -> dict[str, Any]:
    """An update with a ``message`` as Telegram sends it; ``content`` is its body."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": _user(chat_id),
            "chat": _chat(chat_id),
            "date": int(time.time()),
            **content,
        },
    }


def text_update(update_id: int, chat_id: int, text: str, message_id: int = 1) -> dict[str, Any]:
    """A text message; bot commands carry a ``bot_command`` entity, as Telegram sets."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        length = len(text.split()[0])
        content["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    return message_update(update_id, chat_id, message_id, **content)


def sticker_update(update_id: int, chat_id: int) -> dict[str, Any]:
    """A sticker message."""
    sticker = {
        "file_id": "CAACAgIAAxkBAAEfake",
        "file_unique_id": "AgADfake",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "\U0001f44d",
        "set_name": "FakeStickers",
    }
    return message_update(update_id, chat_id, sticker=sticker)


def photo_update(update_id: int, chat_id: int, caption: str | None = None) -> dict[str, Any]:
    """A photo message (several sizes), optionally with a caption."""
    sizes = [
        {"file_id": f"AgACfake{w}", "file_unique_id": f"AQADfake{w}", "width": w, "height": w}
        for w in (90, 320, 800)
    ]
    extra: dict[str, Any] = {"caption": caption} if caption else {}
    return message_update(update_id, chat_id, photo=sizes, **extra)


def voice_update(update_id: int, chat_id: int) -> dict[str, Any]:
    """A voice note."""
    voice = {"file_id": "AwACfake", "file_unique_id": "AgADvoice", "duration": 3}
    return message_update(update_id, chat_id, voice=voice)


def edited_update(update_id: int, chat_id: int, text: str, message_id: int = 1) -> dict[str, Any]:
    """An ``edited_message`` update."""
    update = text_update(update_id, chat_id, text, message_id)
    message = update.pop("message")
    message["edit_date"] = message["date"] + 5
    return {**update, "edited_message": message}


def callback_update(
    update_id: int,
    chat_id: int,
    query_id: str,
    data: str,
    *,
    message_id: int = 1000,
    keyboard: list[list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A button press on a message the bot sent (which carries its keyboard)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": dict(BOT_USER),
        "chat": _chat(chat_id),
        "date": int(time.time()) - 10,
        "text": "Hi, welcome to Pinecrest Outfitters.",
    }
    if keyboard is not None:
        message["reply_markup"] = {"inline_keyboard": keyboard}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": _user(chat_id),
            "message": message,
            "chat_instance": "-4242424242",
            "data": data,
        },
    }
