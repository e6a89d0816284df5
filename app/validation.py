"""What a valid link is: the rules shared by the JSON API and the HTML form."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.models import CODE_MAX_LENGTH
from app.urls import normalise

# Raw input longer than this is refused before any parsing; the stored, encoded form has its own
# (smaller) limit, app.urls.MAX_LENGTH.
RAW_URL_MAX_LENGTH = 8192

CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{3,{CODE_MAX_LENGTH}}}")
# Paths the app or nginx answer themselves: a link with such a code could never be followed.
RESERVED_CODES = frozenset(
    {
        "api",
        "static",
        "healthz",
        "readyz",
        "metrics",
        "links",
        "bench",
        "nginx-health",
        "nginx-status",
        "admin",
        "login",
        "logout",
        "favicon",
        "robots",
    }
)

# Tells whether a (normalised) host is this service's own; links there are refused.
IsOwnHost = Callable[[str], bool]


def check_url(url: str, is_own_host: IsOwnHost | None = None) -> str:
    """The URL's canonical ASCII form (app.urls); ValueError with the reason when refused."""
    target = normalise(url)
    if is_own_host is not None and is_own_host(target.host):
        raise ValueError("must not point at this service itself (a short link to a short link)")
    return target.url


def check_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise ValueError(f"must be 3 to {CODE_MAX_LENGTH} characters from A-Z a-z 0-9 _ -")
    if code.lower() in RESERVED_CODES:
        raise ValueError(f"'{code}' is reserved")
    return code


Code = Annotated[StrictStr, AfterValidator(check_code)]


class NewLink(BaseModel):
    """Body of POST /api/links. Validate with context={"is_own_host": ...}."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[StrictStr, Field(max_length=RAW_URL_MAX_LENGTH)]
    code: Code | None = None

    @field_validator("url")
    @classmethod
    def _normalise_url(cls, url: str, info: ValidationInfo) -> str:
        return check_url(url, (info.context or {}).get("is_own_host"))


# The `page` alias reaches this deep at most: OFFSET reads every row it skips, so deeper pages
# are reached by following `next` (a cursor), whose cost does not grow with the depth.
MAX_PAGE_ALIAS = 10
_CURSOR_SEPARATOR = "~"


def encode_cursor(created_at: datetime, link_id: int) -> str:
    """An opaque position in the list (base64url of the last item's created_at and id)."""
    raw = f"{created_at.isoformat()}{_CURSOR_SEPARATOR}{link_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor from encode_cursor names; ValueError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        stamp, _, link_id = raw.decode("ascii").partition(_CURSOR_SEPARATOR)
        if not link_id.isdigit():
            raise ValueError
        return datetime.fromisoformat(stamp), int(link_id)
    except (ValueError, binascii.Error):
        raise ValueError("is not a cursor this API handed out (use the `next` link)") from None


class Page(BaseModel):
    """Query string of GET /api/links: a `cursor` from a `next` link, or the `page` alias."""

    model_config = ConfigDict(extra="forbid")

    per_page: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[StrictStr, Field(max_length=200)] | None = None
    page: int | None = Field(default=None, ge=1, le=MAX_PAGE_ALIAS)

    @field_validator("cursor")
    @classmethod
    def _known_cursor(cls, cursor: str | None) -> str | None:
        if cursor is not None:
            decode_cursor(cursor)
        return cursor

    @model_validator(mode="after")
    def _one_way_to_say_where(self) -> Page:
        if self.cursor is not None and self.page is not None:
            raise ValueError("give either cursor or page, not both")
        return self

    @property
    def after(self) -> tuple[datetime, int] | None:
        return decode_cursor(self.cursor) if self.cursor is not None else None

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.per_page if self.page else 0
