"""The event store: every tracker event as a row, in SQLite (embedded) or PostgreSQL.

One table, ``insight_events``, through SQLAlchemy Core, so the same code serves
``sqlite:///.cache/events.db`` and ``postgresql://user:password@host:5432/bot`` (Rasa
already installs SQLAlchemy and psycopg2). Calls are synchronous: the broker calls them
from its writer thread and the insights loader from a worker thread or the CLI.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from bot.insights.events import EventRow
from common.errors import BotError

logger = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///.cache/events.db"

_METADATA = sa.MetaData()
EVENTS = sa.Table(
    "insight_events",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(64), nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("value", sa.Text),
    sa.Column("channel", sa.String(64)),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("insight_events_time", "timestamp"),
    sa.Index("insight_events_sender", "sender_id", "id"),
)

FLAT_COLUMNS = ("sender_id", "type_name", "timestamp", "name", "value", "channel")
"""The columns :meth:`SQLEventStore.read` yields, in order (each row's ``id`` first)."""


class EventStoreError(BotError):
    """The event store could not be opened, written or read."""


def _prepare_sqlite(url: str) -> None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_wal(dbapi_connection: Any, _: Any) -> None:
    """Readers (the insights) do not block the bots' writes, nor the other way round."""
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _create_schema(engine: sa.engine.Engine, attempts: int = 5) -> None:
    """Create the table and indexes if missing.

    Several servers starting at once race between "does it exist" and "create"; the loser
    fails with "already exists" and simply checks again.
    """
    for attempt in range(attempts):
        try:
            _METADATA.create_all(engine)
            return
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


class SQLEventStore:
    """Appends and reads tracker events.

    Args:
        url: SQLAlchemy database URL; a SQLite file's folder is created.
        echo: Log SQL (debugging).
    """

    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False) -> None:
        try:
            _prepare_sqlite(url)
            self.engine = sa.create_engine(url, echo=echo, future=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_wal)
            _create_schema(self.engine)
        except (SQLAlchemyError, OSError) as e:
            raise EventStoreError(f"event store unavailable ({type(e).__name__})") from e
        self.url = url

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``, ..."""
        return str(self.engine.dialect.name)

    def append(self, rows: Sequence[EventRow]) -> None:
        """Insert rows in one transaction.

        Raises:
            EventStoreError: If the database refuses them.
        """
        if not rows:
            return
        keys = [f.name for f in EventRow.__dataclass_fields__.values()]
        values = [dict(zip(keys, astuple(r), strict=True)) for r in rows]
        try:
            with self.engine.begin() as conn:
                conn.execute(EVENTS.insert(), values)
        except SQLAlchemyError as e:
            raise EventStoreError(f"events not stored ({type(e).__name__})") from e

    def read(
        self, since: float, until: float, *, batch: int = 50_000
    ) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The flat columns of the events in ``[since, until)``, in batches, oldest first.

        Args:
            since: Unix time, inclusive.
            until: Unix time, exclusive.
            batch: Rows per yielded batch.

        Yields:
            Lists of ``(id, *FLAT_COLUMNS)`` tuples.

        Raises:
            EventStoreError: If the database cannot be read.
        """
        query = (
            sa.select(EVENTS.c.id, *(EVENTS.c[c] for c in FLAT_COLUMNS))
            .where(EVENTS.c.timestamp >= since, EVENTS.c.timestamp < until)
            .order_by(EVENTS.c.timestamp, EVENTS.c.id)
        )
        # The DB-API cursor directly: SQLAlchemy's row objects cost more than the query
        # for the million-row periods the report reads.
        compiled = query.compile(dialect=self.engine.dialect)
        params = compiled.params
        args: Any = (
            [params[k] for k in compiled.positiontup or ()] if compiled.positional else params
        )
        try:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(str(compiled), args)
                while chunk := cursor.fetchmany(batch):
                    yield chunk
                cursor.close()
            finally:
                raw.close()
        except SQLAlchemyError as e:
            raise EventStoreError(f"events not read ({type(e).__name__})") from e
        except self.engine.dialect.dbapi.Error as e:  # type: ignore[union-attr]
            raise EventStoreError(f"events not read ({type(e).__name__})") from e

    def conversation_data(self, sender_ids: Iterable[str], since: float, until: float) -> list[str]:
        """The JSON of the events of some senders in ``[since, until)``, oldest first.

        Used for the few example conversations a report links to.
        """
        senders = sorted(set(sender_ids))
        if not senders:
            return []
        query = (
            sa.select(EVENTS.c.data)
            .where(
                EVENTS.c.sender_id.in_(senders),
                EVENTS.c.timestamp >= since,
                EVENTS.c.timestamp < until,
            )
            .order_by(EVENTS.c.timestamp, EVENTS.c.id)
        )
        try:
            with self.engine.connect() as conn:
                return [str(r[0]) for r in conn.execute(query)]
        except SQLAlchemyError as e:
            raise EventStoreError(f"events not read ({type(e).__name__})") from e

    def user_texts(
        self, since: float, until: float, intents: Sequence[str]
    ) -> Iterator[tuple[float, str]]:
        """``(timestamp, text)`` of the customer messages classified as one of ``intents``.

        Raw text: callers redact it before it goes anywhere (trending topics do).
        """
        query = (
            sa.select(EVENTS.c.timestamp, EVENTS.c.data)
            .where(
                EVENTS.c.type_name == "user",
                EVENTS.c.name.in_(list(intents)),
                EVENTS.c.timestamp >= since,
                EVENTS.c.timestamp < until,
            )
            .order_by(EVENTS.c.timestamp, EVENTS.c.id)
        )
        try:
            with self.engine.connect() as conn:
                for ts, data in conn.execution_options(stream_results=True).execute(query):
                    text = json.loads(data).get("text")
                    if isinstance(text, str) and text.strip():
                        yield float(ts), text
        except SQLAlchemyError as e:
            raise EventStoreError(f"events not read ({type(e).__name__})") from e

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()
