"""The agent inbox as a Rasa input channel: ``bot.inbox.channel.InboxInput`` (``inbox``).

Enable it in ``credentials.yml``::

    bot.inbox.channel.InboxInput:
      db: .cache/inbox.db           # users, sessions, audit, feedback, delivery claims
      lease_seconds: 900            # a claim lasts this long without activity
      handoff_queue: null           # null: the `handoff_queue:` of $BOT_ENDPOINTS
      secure_cookies: auto          # auto: Secure when the request came over https
      events_url: null              # null: `event_broker.url` of $BOT_ENDPOINTS (insights)

The app is served at ``/webhooks/inbox/``; its JSON API lives under ``/webhooks/inbox/api``.
Admins also get ``/webhooks/inbox/insights`` (docs/insights.md); agents get 403 there.
With the server it starts the delivery worker (agent replies to customers) and a
housekeeping loop (expired leases back to the queue, SLA checks); both stop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import plotly
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff.config import handoff_queue_config
from bot.handoff.factory import create_handoff_queue
from bot.handoff.queue import HandoffQueue
from bot.inbox.audit import AuditLog
from bot.inbox.auth import (
    AuthError,
    ForbiddenError,
    LoginLimiter,
    Session,
    User,
    UserStore,
    check_csrf,
)
from bot.inbox.db import DEFAULT_DB_PATH, InboxDB
from bot.inbox.delivery import DeliveryWorker
from bot.inbox.feedback import FeedbackStore
from bot.inbox.resume import RasaResumer
from bot.inbox.service import InboxService, StateNotifier, ticket_view
from bot.inbox.sse import sse_stream
from bot.inbox.suggest import Suggester
from bot.insights.charts import figures_json
from bot.insights.config import events_url
from bot.insights.metrics import Filters
from bot.insights.service import compute_insights
from bot.insights.store import SQLEventStore
from common.errors import BadRequestError, BotError
from common.privacy import Redactor

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "inbox_session"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 64 * 1024
HIDDEN_INTENTS = frozenset({"handoff_resolved", "nlu_fallback"})
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "insights.html": "text/html; charset=utf-8",
    "insights.js": "text/javascript; charset=utf-8",
    "plotly.min.js": "text/javascript; charset=utf-8",
}
PUBLIC_ASSETS = ("app.js", "app.css", "insights.js", "plotly.min.js")
MAX_INSIGHTS_DAYS = 366
MAX_FILTER_CHARS = 64
DAY_SECONDS = 86400.0
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

INSIGHTS_HEADERS = {
    **SECURITY_HEADERS,
    # plotly.js adds its stylesheet as a <style> element; scripts stay 'self' only.
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    ),
}

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


class InboxInput(InputChannel):
    """Serves the agent inbox and runs its background work with the Rasa server.

    Args:
        db_path: The inbox database file.
        queue_config: The handoff queue config; ``None``: from the endpoints file.
        lease_seconds: Claim lease.
        secure_cookies: ``auto``, ``true`` or ``false``.
        housekeeping_seconds: Interval of lease reaping and SLA checks.
        events_url: The insights event store; ``None``: from the endpoints file.
    """

    @classmethod
    def name(cls) -> str:
        """The channel name and URL segment."""
        return "inbox"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section."""
        options = dict(credentials or {})
        queue = options.get("handoff_queue")
        return cls(
            db_path=str(options.get("db") or DEFAULT_DB_PATH),
            queue_config=dict(queue) if isinstance(queue, Mapping) else None,
            lease_seconds=float(options.get("lease_seconds") or 900),
            secure_cookies=str(options.get("secure_cookies", "auto")).lower(),
            housekeeping_seconds=float(options.get("housekeeping_seconds") or 15),
            events_url=str(options["events_url"]) if options.get("events_url") else None,
        )

    def __init__(
        self,
        db_path: str = DEFAULT_DB_PATH,
        queue_config: dict[str, Any] | None = None,
        lease_seconds: float = 900.0,
        secure_cookies: str = "auto",
        housekeeping_seconds: float = 15.0,
        events_url: str | None = None,
    ) -> None:
        self.db_path = db_path
        self.queue_config = queue_config
        self.lease_seconds = lease_seconds
        self.secure_cookies = secure_cookies
        self.housekeeping_seconds = housekeeping_seconds
        self.events_url = events_url
        self._events: SQLEventStore | None = None
        self._redactor: Redactor | None = None
        self.limiter = LoginLimiter()
        self.service: InboxService | None = None
        self._queue: HandoffQueue | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = asyncio.Event()
        self._assets: dict[str, bytes] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, agent: Any = None) -> InboxService:
        """Open the queue and the database and start the background tasks.

        Args:
            agent: The Rasa agent (for resuming conversations); ``None``: no resume.

        Returns:
            The service.
        """
        config = dict(self.queue_config) if self.queue_config else handoff_queue_config()
        queue = create_handoff_queue(config)
        await queue.initialize()
        self._queue = queue
        db = InboxDB(self.db_path)
        delivery = DeliveryWorker(queue, db)
        service = InboxService(
            queue=queue,
            db=db,
            users=UserStore(db),
            audit=AuditLog(db),
            feedback=FeedbackStore(db),
            delivery=delivery,
            suggester=Suggester(),
            resumer=RasaResumer(agent) if agent is not None else None,
            notifier=StateNotifier(),
            intents=_intents(agent),
            lease_seconds=self.lease_seconds,
        )
        await service.initialize()
        self._assets = await asyncio.to_thread(_read_assets)
        self.service = service
        self._closing.clear()
        self._tasks = [
            asyncio.create_task(delivery.run(0.5), name="inbox-delivery"),
            asyncio.create_task(self._housekeeping(queue), name="inbox-housekeeping"),
        ]
        logger.info("Agent inbox started (database %s).", self.db_path)
        return service

    async def stop(self) -> None:
        """Stop the background tasks and close the queue."""
        self._closing.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._queue is not None:
            await self._queue.close()
            self._queue = None
        if self._events is not None:
            await asyncio.to_thread(self._events.close)
            self._events = None
        logger.info("Agent inbox stopped.")

    async def _housekeeping(self, queue: HandoffQueue) -> None:
        while True:
            try:
                await queue.reap_expired()
                await queue.check_sla()
            except BotError as e:
                logger.error("Inbox housekeeping failed (%s).", type(e).__name__)
            await asyncio.sleep(self.housekeeping_seconds)

    def _service(self) -> InboxService:
        if self.service is None:
            raise BotError("the inbox is not started")
        return self.service

    # -- HTTP --------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Build the inbox's routes; the background work follows the server's life."""
        bp = Blueprint("inbox_webhook", __name__)

        @bp.listener("after_server_start")
        async def _start(app: Any, _: Any) -> None:
            await self.start(getattr(app.ctx, "agent", None))

        @bp.listener("before_server_stop")
        async def _stop(_: Any, __: Any) -> None:
            await self.stop()

        bp.add_route(self._page("index.html"), "/", methods=["GET"], name="index")
        for asset in PUBLIC_ASSETS:
            bp.add_route(self._page(asset), f"/static/{asset}", methods=["GET"], name=asset)

        async def login(request: Request) -> HTTPResponse:
            return await self._login(request)

        bp.add_route(login, "/api/login", methods=["POST"], name="login")
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/api/logout", self._logout),
            ("GET", "/api/me", self._me),
            ("GET", "/api/tickets", self._tickets),
            ("GET", "/api/agents", self._agents),
            ("GET", "/api/tickets/<ticket_id>", self._ticket),
            ("GET", "/api/tickets/<ticket_id>/suggestions", self._suggestions),
            ("POST", "/api/tickets/<ticket_id>/claim", self._claim),
            ("POST", "/api/tickets/<ticket_id>/reply", self._reply),
            ("POST", "/api/tickets/<ticket_id>/resolve", self._resolve),
            ("POST", "/api/tickets/<ticket_id>/transfer", self._transfer),
            ("POST", "/api/tickets/<ticket_id>/correct", self._correct),
            ("GET", "/api/events", self._event_stream),
            ("GET", "/insights", self._insights_page),
            ("GET", "/api/insights", self._insights),
        ]
        for method, path, handler in routes:
            name = path.strip("/").replace("/", "_").replace("<", "").replace(">", "")
            bp.add_route(self._guarded(handler), path, methods=[method], name=f"{method}_{name}")
        return bp

    def _page(self, asset: str, headers: Mapping[str, str] = SECURITY_HEADERS) -> Handler:
        async def serve(_: Request) -> HTTPResponse:
            body = self._assets.get(asset)
            if body is None:
                return response.text("starting", status=503)
            return response.raw(body, content_type=ASSETS[asset], headers=dict(headers))

        return serve

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request, **kwargs: Any) -> HTTPResponse:
            try:
                session = await self._service().users.session(request.cookies.get(COOKIE))
                if request.method == "POST":
                    _check_origin(request)
                    check_csrf(session, request.headers.get(CSRF_HEADER))
                return await handler(request, session, **kwargs)
            except BotError as e:
                return _error(e)

        return guarded

    async def _login(self, request: Request) -> HTTPResponse:
        try:
            _check_origin(request)
            body = _body(request)
            username = str(body.get("username") or "").strip().lower()
            password = str(body.get("password") or "")
            keys = (f"user:{username}", f"ip:{request.ip}")
            self.limiter.check(*keys)
            service = self._service()
            user = await service.users.authenticate(username, password)
            if user is None:
                self.limiter.failed(*keys)
                logger.info("Failed inbox login for %s.", username or "-")
                raise AuthError("wrong user name or password")
            self.limiter.succeeded(*keys)
            session = await service.users.create_session(user)
            await service.audit.record(user.username, "login")
        except BotError as e:
            return _error(e)
        resp = response.json(_me_json(session))
        resp.cookies[COOKIE] = session.token
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/webhooks/inbox"
        cookie["max-age"] = int(session.expires_at - _now())
        if self.secure_cookies == "true" or (self.secure_cookies == "auto" and _is_https(request)):
            cookie["secure"] = True
        return resp

    async def _logout(self, _: Request, session: Session) -> HTTPResponse:
        await self._service().users.end_session(session.token)
        await self._service().audit.record(session.user.username, "logout")
        resp = response.json({"ok": True})
        del resp.cookies[COOKIE]
        return resp

    async def _me(self, _: Request, session: Session) -> HTTPResponse:
        service = self._service()
        data = _me_json(session)
        data["intents"] = sorted(i for i in service.intents if i not in HIDDEN_INTENTS)
        return response.json(data)

    async def _tickets(self, _: Request, session: Session) -> HTTPResponse:
        return response.json(await self._ticket_list(session.user))

    async def _ticket_list(self, user: User) -> dict[str, Any]:
        now = _now()
        tickets = await self._service().list_tickets(user)
        return {"tickets": [_summary(ticket_view(t, now)) for t in tickets]}

    async def _agents(self, _: Request, session: Session) -> HTTPResponse:
        users = await self._service().users.users()
        return response.json({"agents": [u.username for u in users]})

    async def _ticket(self, _: Request, session: Session, ticket_id: str) -> HTTPResponse:
        ticket = await self._service().ticket(session.user, ticket_id)
        return response.json(ticket_view(ticket, _now()))

    async def _suggestions(self, _: Request, session: Session, ticket_id: str) -> HTTPResponse:
        found = await self._service().suggestions_with_sources(session.user, ticket_id)
        return response.json(
            {
                "suggestions": [s.text for s in found],
                "sources": [[c.to_dict() for c in s.sources] for s in found],
            }
        )

    async def _claim(self, _: Request, session: Session, ticket_id: str) -> HTTPResponse:
        ticket = await self._service().claim(session.user, ticket_id)
        return response.json(ticket_view(ticket, _now()))

    async def _reply(self, request: Request, session: Session, ticket_id: str) -> HTTPResponse:
        body = _body(request)
        suggestion = body.get("suggestion")
        message = await self._service().reply(
            session.user,
            ticket_id,
            str(body.get("text") or ""),
            str(suggestion) if isinstance(suggestion, str) else None,
        )
        return response.json({"id": message.message_id}, status=201)

    async def _resolve(self, _: Request, session: Session, ticket_id: str) -> HTTPResponse:
        ticket = await self._service().resolve(session.user, ticket_id)
        return response.json(ticket_view(ticket, _now()))

    async def _transfer(self, request: Request, session: Session, ticket_id: str) -> HTTPResponse:
        to_agent = str(_body(request).get("to") or "")
        ticket = await self._service().transfer(session.user, ticket_id, to_agent)
        return response.json(ticket_view(ticket, _now()))

    async def _correct(self, request: Request, session: Session, ticket_id: str) -> HTTPResponse:
        body = _body(request)
        try:
            turn = int(body.get("turn"))  # type: ignore[arg-type]
        except (TypeError, ValueError) as e:
            raise BadRequestError("turn must be an integer") from e
        predicted = await self._service().correct(
            session.user, ticket_id, turn, str(body.get("intent") or "")
        )
        return response.json({"predicted": predicted, "intent": body.get("intent")})

    async def _insights_page(self, _: Request, session: Session) -> HTTPResponse:
        _require_admin(session)
        return await self._page("insights.html", INSIGHTS_HEADERS)(_)

    async def _insights(self, request: Request, session: Session) -> HTTPResponse:
        _require_admin(session)
        if self._events is None:  # opened on first use: most inbox users never ask
            self._events = await asyncio.to_thread(SQLEventStore, self.events_url or events_url())
            self._redactor = Redactor()
        since, until, filters = _insights_query(request, _now())
        report = await compute_insights(
            self._events, self._queue, since, until, filters, redactor=self._redactor
        )
        return response.json(
            {"report": report, "charts": figures_json(report)},
            headers={"Cache-Control": "no-store"},
        )

    async def _event_stream(self, request: Request, session: Session) -> HTTPResponse:
        user = session.user

        async def snapshot() -> str:
            return json.dumps(await self._ticket_list(user), sort_keys=True)

        stream = await sse_stream(request, snapshot, self._closing)
        return stream  # type: ignore[return-value]


def _now() -> float:
    import time

    return time.time()


def _summary(view: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "channel", "customer_id", "status", "priority", "trigger", "assigned_agent")
    data = {k: view[k] for k in keys}
    data["waiting_seconds"] = round(float(view["waiting_seconds"]))
    data["summary"] = str(view["summary"])[:160]
    data["messages"] = len(view["messages"])
    return data


def _me_json(session: Session) -> dict[str, Any]:
    return {"user": session.user.username, "role": session.user.role.value, "csrf": session.csrf}


def _body(request: Request) -> dict[str, Any]:
    raw = request.body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError("request body too large")
    try:
        data = json.loads(raw or b"{}")
    except ValueError as e:
        raise BadRequestError("the body must be JSON") from e
    if not isinstance(data, dict):
        raise BadRequestError("the body must be a JSON object")
    return data


def _is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.scheme == "https" or forwarded.lower() == "https"


def _check_origin(request: Request) -> None:
    """Refuse cross-site POSTs: an Origin header, when sent, must be this host."""
    origin = request.headers.get("origin")
    if origin and urlparse(origin).netloc != request.host:
        raise ForbiddenError("cross-site request refused")


def _error(error: BotError) -> HTTPResponse:
    status = int(getattr(error, "status_code", 500) or 500)
    if status >= 500:
        logger.error("Inbox request failed (%s).", type(error).__name__)
    return response.json({"error": str(error) or type(error).__name__}, status=status)


def _intents(agent: Any) -> list[str]:
    domain = getattr(agent, "domain", None)
    return list(getattr(domain, "intents", None) or [])


def _read_assets() -> dict[str, bytes]:
    assets = {name: (STATIC_DIR / name).read_bytes() for name in ASSETS if name != "plotly.min.js"}
    assets["plotly.min.js"] = (
        Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    ).read_bytes()
    return assets


def _require_admin(session: Session) -> None:
    if not session.user.is_admin:
        raise ForbiddenError("the insights are for admins")


def _day(text: str, name: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError as e:
        raise BadRequestError(f"{name} must be a date like 2026-11-30") from e


def _insights_query(request: Request, now: float) -> tuple[float, float, Filters]:
    """``since``/``until`` (UTC dates, until inclusive; default the last 30 days), filters."""
    args = request.args
    until = _day(args.get("until"), "until") + DAY_SECONDS if args.get("until") else now
    since = _day(args.get("since"), "since") if args.get("since") else until - 30 * DAY_SECONDS
    if not 0 < until - since <= MAX_INSIGHTS_DAYS * DAY_SECONDS:
        raise BadRequestError(f"the range must be 1 to {MAX_INSIGHTS_DAYS} days")
    values = []
    for key in ("channel", "intent"):
        value = args.get(key) or None
        if value is not None and len(value) > MAX_FILTER_CHARS:
            raise BadRequestError(f"{key} is too long")
        values.append(value)
    return since, until, Filters(channel=values[0], intent=values[1])
