"""The link shortener's operations, written once for the API and the web pages.

Reads of a link's target go through the cache layer; everything else reads PostgreSQL directly.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.cache import LinkCache
from app.clicks import ClickCounter
from app.db import Database
from app.models import Link

CODE_ALPHABET = string.ascii_letters + string.digits
GENERATED_CODE_LENGTH = 7  # 62^7 = 3.5e12 codes: collisions stay rare for any realistic table
GENERATION_ATTEMPTS = 5


# The cache-miss lookup, as a Core statement: no ORM session on the redirect path.
TARGET_OF_CODE = select(Link.__table__.c.url).where(Link.__table__.c.code == bindparam("code"))


class CodeTaken(Exception):
    """The requested code belongs to another link."""


@dataclass(frozen=True)
class LinkPage:
    items: list[Link]
    total: int


class LinkService:
    def __init__(self, db: Database, cache: LinkCache, click_flush_seconds: float) -> None:
        self.db = db
        self.cache = cache
        self.clicks = ClickCounter(self.add_clicks, click_flush_seconds)

    def create(self, url: str, code: str | None = None) -> Link:
        """Store a new link; with no code, one is generated. Raises CodeTaken."""
        attempts = 1 if code else GENERATION_ATTEMPTS
        for _ in range(attempts):
            link = Link(code=code or _random_code(), url=url)
            try:
                with self.db.transaction() as session:
                    session.add(link)
            except IntegrityError:
                # The unique constraint decides, so two racing requests cannot both win.
                continue
            return link
        raise CodeTaken(code or "generated")

    def get(self, code: str) -> Link | None:
        with self.db.session() as session:
            link = session.scalar(select(Link).where(Link.code == code))
        if link is not None:
            link.clicks += self.clicks.pending(code)  # not yet flushed, already counted
        return link

    def delete(self, code: str) -> bool:
        """Delete a link; False when there is none. Raises CacheUnavailable, deleting nothing,
        when the cache cannot make every instance forget the link (see app/cache.py)."""
        if self._target_from_db(code) is None:
            return False
        # The cache's part wraps the write: with Redis, every instance is told, and Redis has
        # confirmed it, before the row goes (app/cache.py).
        with self.cache.invalidating(code), self.db.transaction() as session:
            deleted = session.execute(delete(Link).where(Link.code == code)).rowcount
        return bool(deleted)

    def recent(self, page: int, per_page: int) -> LinkPage:
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(Link)) or 0
            items = session.scalars(
                select(Link)
                .order_by(Link.created_at.desc(), Link.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
        return LinkPage(items=list(items), total=total)

    def follow(self, code: str) -> str | None:
        """Target of `code` for a redirect, counting the click; None when unknown."""
        url = self.cache.resolve(code, self._target_from_db)
        if url is not None:
            self.clicks.record(code)
        return url

    def _target_from_db(self, code: str) -> str | None:
        return self.db.read_one(TARGET_OF_CODE, code=code)

    def add_clicks(self, batch: Mapping[str, int]) -> None:
        """Flush target for ClickCounter: one atomic increment per code, one transaction."""
        links = Link.__table__
        increment = (
            update(links)
            .where(links.c.code == bindparam("b_code"))
            .values(clicks=links.c.clicks + bindparam("b_n"))
        )
        with self.db.transaction() as session:
            session.execute(increment, [{"b_code": c, "b_n": n} for c, n in batch.items()])


def _random_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))
