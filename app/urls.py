"""Link targets in one canonical ASCII form, so that every URL the service accepts can be followed.

A browser is lenient about what it is given; a `Location` header is not. So a target is parsed
once, at creation, and stored as the URL a browser would send: the host as IDNA (UTS #46, the
`idna` package: the same mapping browsers apply), a valid port, and path, query and fragment
percent-encoded as UTF-8. Anything that cannot be put in that form is refused with the reason.
The redirect then copies the stored string into `Location` untouched.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import idna

DEFAULT_PORTS = {"http": 80, "https": 443}
# The canonical form's limit. It bounds the redirect's headers well inside nginx's default
# proxy_buffer_size (4 KiB): Location plus the app's other headers stay under 3 KiB.
MAX_LENGTH = 2048
# Unicode whitespace, control, format (zero-width, bidi overrides) and surrogate characters are
# invisible or unencodable: refused anywhere in a URL.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}
# What RFC 3986 allows unencoded besides letters, digits and "-._~" (which quote() keeps anyway).
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_SAFE = _PATH_SAFE + "?"
_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))
# A "%" that does not start an escape is a literal percent sign.
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class Target(NamedTuple):
    url: str  # the canonical ASCII form
    host: str  # its host: lowercase A-labels, an IPv4 address or a bracketed IPv6 address


def normalise(raw: str) -> Target:
    """The canonical form of an http(s) URL; ValueError with the reason when there is none."""
    _check_characters(raw)
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise ValueError(f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must be an http:// or https:// URL")
    if not parts.netloc:
        raise ValueError("must include a host name")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password (they hide the real host)")
    host_text, port = _split_port(parts.netloc)
    host = normalise_host(host_text)
    authority = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    url = f"{scheme}://{authority}{_encode(parts.path, _PATH_SAFE) or '/'}"
    if parts.query:
        url += "?" + _encode(parts.query, _QUERY_SAFE)
    if parts.fragment:
        url += "#" + _encode(parts.fragment, _QUERY_SAFE)
    if len(url) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters once encoded, not {len(url)}")
    return Target(url, host)


def legacy_location(url: str) -> str:
    """An ASCII `Location` for a non-ASCII URL stored before targets were normalised."""
    try:
        return normalise(url).url
    except ValueError:
        # Not a URL this version would accept: still answer with a valid header value.
        return quote(url, safe=_PRINTABLE_ASCII)


def normalise_host(text: str) -> str:
    """A host name or address as it goes into a URL; ValueError when it is not a valid one."""
    if text.startswith("["):
        return _ipv6(text)
    if text.endswith("."):  # the root label of a fully qualified name: same host
        text = text[:-1]
    last_label = text.rpartition(".")[2]
    # A browser reads a host whose last label is a number as an IPv4 address in any notation
    # (2130706433, 0x7f.1, 0177.0.0.1): only the plain dotted form is accepted, so a check on
    # the host sees the address the browser will use.
    if last_label.isascii() and (last_label.isdigit() or last_label.lower().startswith("0x")):
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise ValueError("must write an IPv4 host as four decimal numbers") from None
    try:
        encoded = idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except UnicodeError as exc:  # idna.IDNAError and its subclasses
        raise ValueError(f"has an invalid host name ({exc})") from None
    if not encoded or encoded.endswith("."):
        raise ValueError("has an invalid host name (empty label)")
    if encoded != text:  # mapping can make a number of a label (fullwidth digits): check again
        return normalise_host(encoded)
    return encoded


def _check_characters(raw: str) -> None:
    for char in raw:
        if char.isascii():
            if char <= " " or char == "\x7f":
                raise ValueError("must not contain spaces or control characters")
        elif unicodedata.category(char) in _REFUSED_CATEGORIES:
            name = unicodedata.name(char, "unnamed")
            raise ValueError(
                f"must not contain invisible, space or control characters (U+{ord(char):04X} "
                f"{name})"
            )


def _split_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("has an invalid host name")
        port_text = rest[1:]
    else:
        host, _, port_text = netloc.partition(":") if ":" in netloc else (netloc, "", "")
    if not port_text:  # "host:" with no digits means the default port (RFC 3986)
        return host, None
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ValueError("must have a port between 1 and 65535")
    return host, int(port_text)


def _ipv6(bracketed: str) -> str:
    inner = bracketed[1:-1] if bracketed.endswith("]") else ""
    try:
        if "%" in inner:  # a zone id names an interface of the client's machine
            raise ValueError
        return f"[{ipaddress.IPv6Address(inner).compressed}]"
    except ValueError:
        raise ValueError("has an invalid IPv6 address") from None


def _encode(component: str, safe: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", component), safe=safe)
