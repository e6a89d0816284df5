"""The tables: the links, and the codes of deleted links (never handed out again)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Dialect, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.db import Base

CODE_MAX_LENGTH = 32


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always handed back in UTC with its offset, on every backend.

    PostgreSQL's timestamptz keeps the offset; SQLite stores text without one, so a value read
    back there would come out naive (and its ISO form without an offset is not an OpenAPI
    date-time). Values are stored in UTC and read back marked as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive value is taken as UTC, the only zone this app writes.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Link(Base):
    __tablename__ = "links"

    # SQLite only auto-increments INTEGER primary keys; PostgreSQL gets a BIGINT identity.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), unique=True)
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # SHA-256 of the link's manage token (app.ownership); NULL for links made before tokens
    # existed: only the admin may delete those.
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        Index("ix_links_created_at", "created_at"),
        # Keyset pagination, newest first (LinkService.recent): one range scan per page.
        Index("ix_links_created_at_id", "created_at", "id"),
    )

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "url": self.url,
            "clicks": self.clicks,
            "created_at": self.created_at.isoformat(),
        }


class RetiredCode(Base):
    """A deleted link's code: reserved for ever, so a freed code cannot be taken over."""

    __tablename__ = "retired_codes"

    code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    retired_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
