"""The link shortener's operations, written once for the API and the web pages.

Reads of a link's target go through the cache layer; everything else reads PostgreSQL directly.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app import ownership
from app.cache import LinkCache
from app.clicks import ClickCounter
from app.db import Database
from app.models import Link, RetiredCode, utcnow

CODE_ALPHABET = string.ascii_letters + string.digits
GENERATED_CODE_LENGTH = 7  # 62^7 = 3.5e12 codes: collisions stay rare for any realistic table
GENERATION_ATTEMPTS = 5

log = logging.getLogger(__name__)


# The cache-miss lookup, as a Core statement: no ORM session on the redirect path.
TARGET_OF_CODE = select(Link.__table__.c.url).where(Link.__table__.c.code == bindparam("code"))
# What every database connection plans once (Database's `prepared`): the redirect's miss.
PREPARED_READS = {"target_of_code": TARGET_OF_CODE}


# A new link in one round trip: PostgreSQL runs a string of statements sent at once as one
# transaction, each statement under a snapshot of its own. So the second sees a delete that the
# INSERT had to wait for, and takes the row back out if that delete retired the code; a unique
# violation in the INSERT rolls the whole string back. The last statement's row is the answer:
# the new link's id, or none when the code was retired.
CREATE_ONCE = text(
    "INSERT INTO links (code, url, clicks, created_at, token_hash) "
    "VALUES (:code, :url, 0, :created_at, :token_hash); "
    "WITH retired AS ("
    " DELETE FROM links WHERE code = :code"
    " AND EXISTS (SELECT FROM retired_codes WHERE code = :code) RETURNING id) "
    "SELECT id FROM links WHERE code = :code AND NOT EXISTS (SELECT FROM retired)"
)


# A click flush in one statement (PostgreSQL), however many codes it holds: the batch travels as
# two arrays. One UPDATE per code, even sent 100 to a round trip, cost the server about three
# times as much per code: each statement is parsed and planned on its own.
ADD_CLICKS = text(
    "UPDATE links SET clicks = links.clicks + batch.n "
    "FROM unnest(CAST(:codes AS text[]), CAST(:counts AS integer[])) AS batch(code, n) "
    "WHERE links.code = batch.code"
)


class CodeTaken(Exception):
    """The requested code belongs to another link, or did once (codes are never reused)."""


class LinkNotFound(Exception):
    """No live link has this code."""


class NotOwner(Exception):
    """The credential is neither the link's manage token nor the admin's."""


class _Retired(Exception):
    """Raised inside a transaction to roll back a link whose code was retired."""


@dataclass(frozen=True)
class LinkPage:
    items: list[Link]
    # Position of the last item, from which the next page starts; None on the last page.
    after: tuple[datetime, int] | None


@dataclass(frozen=True)
class NewLink:
    link: Link
    manage_token: str  # shown to its creator once; only its digest is stored


class LinkService:
    """The operations on links, and `status()` / `close()` for the process that hosts them.

    Its parts (`db`, `cache`, `clicks`) are its own: code outside this class goes through the
    methods (tests may look inside).
    """

    def __init__(self, db: Database, cache: LinkCache, click_flush_seconds: float) -> None:
        self.db = db
        self.cache = cache
        self.clicks = ClickCounter(self.add_clicks, click_flush_seconds)

    def status(self) -> dict[str, dict[str, Any]]:
        """Each dependency's state for /readyz: {"database": {...}, "cache": {...}}."""
        try:
            self.db.ping()
            database = {"status": "ok"}
        except SQLAlchemyError as exc:
            log.warning("readiness: database unavailable: %s", type(exc).__name__)
            database = {"status": "unavailable", "error": type(exc).__name__}
        return {"database": database, "cache": self.cache.status()}

    def close(self) -> None:
        """Flush the clicks counted in memory, then release the cache and the database pool
        (gunicorn's worker_exit; the object is not used afterwards)."""
        self.clicks.close()
        self.cache.close()
        self.db.close()

    def create(self, url: str, code: str | None = None) -> NewLink:
        """Store a new link with its manage token; with no code, one is generated.

        Raises CodeTaken when the code belongs to a link, or did once.
        """
        attempts = 1 if code else GENERATION_ATTEMPTS
        for _ in range(attempts):
            token, token_hash = ownership.new_token()
            link = Link(code=code or _random_code(), url=url, token_hash=token_hash, clicks=0)
            link.created_at = utcnow()
            try:
                stored = self._insert(link)
            except IntegrityError:
                # The unique constraint decides between live links, so two racing requests
                # cannot both win.
                continue
            if stored:
                return NewLink(link, token)
        raise CodeTaken(code or "generated")

    def _insert(self, link: Link) -> bool:
        """Insert `link` unless its code was retired; False (nothing stored) when it was.

        The retired check runs after the INSERT, in a statement of its own, on purpose: an INSERT
        that waited for a concurrent delete of the same code only goes through once that delete
        has committed, and a later statement (a new snapshot under READ COMMITTED) then sees the
        code retired. On PostgreSQL both go in one round trip (CREATE_ONCE), else in a
        transaction.
        """
        if self.db.runs_statement_lists:
            values = {
                "code": link.code,
                "url": link.url,
                "token_hash": link.token_hash,
                "created_at": link.created_at,
            }
            row = self.db.write_once(CREATE_ONCE, **values)
            if row is None:
                return False
            link.id = row[0]
            return True
        try:
            with self.db.transaction() as session:
                session.add(link)
                session.flush()
                if _is_retired(session, link.code):
                    raise _Retired
        except _Retired:
            return False
        return True

    def get(self, code: str) -> Link | None:
        # Not while a flush is writing: its clicks would be in neither count.
        with self.clicks.settled(), self.db.read_session() as session:
            link = session.scalar(select(Link).where(Link.code == code))
            if link is not None:
                link.clicks += self.clicks.pending(code)  # not yet flushed, already counted
        return link

    def live(self, codes: list[str]) -> list[Link]:
        """The links among `codes` that still exist, in the order given."""
        if not codes:
            return []
        with self.db.read_session() as session:
            found = {
                link.code: link
                for link in session.scalars(select(Link).where(Link.code.in_(codes)))
            }
        return [found[code] for code in codes if code in found]

    def delete(self, code: str, token: str | None, admin: bool = False) -> None:
        """Delete a link for its token holder (or the admin) and retire its code for ever.

        Raises LinkNotFound (no live link has the code), NotOwner (wrong credential), or
        CacheUnavailable, deleting nothing, when the cache cannot make every instance forget the
        link (see app/cache.py).
        """
        # The credential first: a refused delete must cost the cache nothing.
        with self.db.read_session() as session:
            row = session.execute(select(Link.token_hash).where(Link.code == code)).first()
        if row is None:
            raise LinkNotFound(code)
        if not admin and not ownership.matches(token, row.token_hash):
            raise NotOwner(code)
        # The cache's part wraps the write: with Redis, every instance is told, and Redis has
        # confirmed it, before the row goes (app/cache.py).
        with self.cache.invalidating(code), self.db.transaction() as session:
            # FOR UPDATE: a concurrent delete of the same link waits, then finds nothing.
            link = session.scalar(select(Link).where(Link.code == code).with_for_update())
            if link is None:
                raise LinkNotFound(code)
            session.delete(link)
            session.add(RetiredCode(code=code))

    def recent(
        self, per_page: int, after: tuple[datetime, int] | None = None, skip: int = 0
    ) -> LinkPage:
        """One page of links, newest first, starting after the position `after` (keyset).

        Each page is one range scan of ix_links_created_at_id, as cheap at the millionth link
        as at the first; there is no count(*). `skip` serves the `page` alias for the first
        pages only (OFFSET reads and discards every skipped row).
        """
        links = Link.__table__.c
        query = select(Link).order_by(links.created_at.desc(), links.id.desc())
        if after is not None:
            start = tuple_(*after)  # type: ignore[arg-type]  # values: the stubs want columns
            query = query.where(tuple_(links.created_at, links.id) < start)
        # One row more than asked for tells whether another page follows.
        query = query.offset(skip).limit(per_page + 1)
        with self.db.read_session() as session:
            items = list(session.scalars(query).all())
        if len(items) <= per_page:
            return LinkPage(items=items, after=None)
        items = items[:per_page]
        return LinkPage(items=items, after=(items[-1].created_at, items[-1].id))

    def follow(self, code: str) -> str | None:
        """Target of `code` for a redirect, counting the click; None when unknown."""
        url = self.cache.resolve(code, self._target_from_db)
        if url is not None:
            self.clicks.record(code)
        return url

    def _target_from_db(self, code: str) -> str | None:
        url: str | None = self.db.read_one(TARGET_OF_CODE, code=code)
        return url

    def add_clicks(self, batch: Mapping[str, int]) -> None:
        """Flush target for ClickCounter: every code's atomic increment, in one transaction."""
        if self.db.runs_statement_lists:
            self.db.write_once(ADD_CLICKS, codes=list(batch), counts=list(batch.values()))
            return
        links = cast(Table, Link.__table__)  # declarative types it as any FromClause
        increment = (
            update(links)
            .where(links.c.code == bindparam("b_code"))
            .values(clicks=links.c.clicks + bindparam("b_n"))
        )
        with self.db.transaction() as session:
            session.execute(increment, [{"b_code": c, "b_n": n} for c, n in batch.items()])


def _is_retired(session: Session, code: str) -> bool:
    return bool(session.scalar(select(exists().where(RetiredCode.code == code))))


def _random_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))
