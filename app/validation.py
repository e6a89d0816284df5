"""What a valid link is: the rules shared by the JSON API and the HTML form."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    field_validator,
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


class Page(BaseModel):
    """Query string of GET /api/links."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=20, ge=1, le=100)
