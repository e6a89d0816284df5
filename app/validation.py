"""What a valid link is: the rules shared by the JSON API and the HTML form."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from app.models import CODE_MAX_LENGTH, URL_MAX_LENGTH

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
ALLOWED_SCHEMES = ("http", "https")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def check_url(url: str) -> str:
    if _CONTROL_OR_SPACE.search(url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must include a host name")
    return url


def check_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise ValueError(f"must be 3 to {CODE_MAX_LENGTH} characters from A-Z a-z 0-9 _ -")
    if code.lower() in RESERVED_CODES:
        raise ValueError(f"'{code}' is reserved")
    return code


Url = Annotated[StrictStr, Field(max_length=URL_MAX_LENGTH), AfterValidator(check_url)]
Code = Annotated[StrictStr, AfterValidator(check_code)]


class NewLink(BaseModel):
    """Body of POST /api/links."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    code: Code | None = None


class Page(BaseModel):
    """Query string of GET /api/links."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=20, ge=1, le=100)
