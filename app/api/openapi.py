"""OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Written by hand as documentation a person reads; tests/integration/test_openapi.py checks that it
names exactly the API routes the app has, and schemathesis checks the app against it.
"""

from __future__ import annotations

from typing import Any

from app.models import CODE_MAX_LENGTH
from app.urls import MAX_LENGTH as URL_MAX_LENGTH
from app.validation import CODE_PATTERN, MAX_PAGE_ALIAS, RAW_URL_MAX_LENGTH


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_UNAVAILABLE = {
    **_error("The database is unavailable; retry after the given delay."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
}
_UNAUTHORIZED = {
    **_error("No bearer token was sent."),
    "headers": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="..."'}
    },
}
_RATE_LIMITED = {
    **_error("Too many writes from this client address; retry after the given delay."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
}
_CODE_PARAM = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The link's short code.",
}


def spec() -> dict[str, Any]:
    link_ref = {"$ref": "#/components/schemas/Link"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "flask-multitier link shortener",
            "version": "1.0.0",
            "description": "Create, inspect and delete short links. `GET /{code}` "
            "(outside this API) redirects to the link's URL. Creating a link returns its "
            "`manage_token` once; deleting needs it (or the admin token) as a bearer token. "
            "Listing every link is the admin's. Writes are rate limited per client address "
            "(429 with `Retry-After`). A request for a host name the service does not answer "
            "to gets 400.",
        },
        "paths": {
            "/api/links": {
                "post": {
                    "operationId": "createLink",
                    "summary": "Create a short link",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/NewLink"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created; `manage_token` is shown this once",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CreatedLink"}
                                }
                            },
                        },
                        "400": _error("The body is not valid JSON."),
                        "409": _error("The code belongs to a link, or did once."),
                        "413": _error("The body is larger than 1 MiB."),
                        "415": _error("The body is not application/json."),
                        "422": _error("The link is not valid (see details)."),
                        "429": _RATE_LIMITED,
                        "503": _UNAVAILABLE,
                    },
                },
                "get": {
                    "operationId": "listLinks",
                    "summary": "List every link, newest first (admin only)",
                    "description": "Keyset pagination: follow `next` (it carries a `cursor`) "
                    "until it is null. Each page costs the same however deep it is. `page` is "
                    f"an alias for the first {MAX_PAGE_ALIAS} pages only.",
                    "security": [{"adminToken": []}],
                    "parameters": [
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "Where the page starts: the value in the previous "
                            "page's `next` link (opaque).",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        {
                            "name": "page",
                            "in": "query",
                            "description": f"Alias for the first {MAX_PAGE_ALIAS} pages "
                            "(not with `cursor`).",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ALIAS},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of links",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/LinkPage"}
                                }
                            },
                        },
                        "400": _error("Bad pagination parameters."),
                        "401": _UNAUTHORIZED,
                        "403": _error("The token is not the admin token."),
                        "503": _UNAVAILABLE,
                    },
                },
            },
            "/api/links/{code}": {
                "parameters": [_CODE_PARAM],
                "get": {
                    "operationId": "getLink",
                    "summary": "One link with its click count",
                    "responses": {
                        "200": {
                            "description": "The link",
                            "content": {"application/json": {"schema": link_ref}},
                        },
                        "404": _error("No link has this code."),
                        "503": _UNAVAILABLE,
                    },
                },
                "delete": {
                    "operationId": "deleteLink",
                    "summary": "Delete a link; its code is never handed out again",
                    "security": [{"manageToken": []}, {"adminToken": []}],
                    "responses": {
                        "204": {"description": "Deleted: no instance redirects it 1 s later"},
                        "401": _UNAUTHORIZED,
                        "403": _error("The token is neither the link's nor the admin's."),
                        "404": _error("No link has this code."),
                        "429": _RATE_LIMITED,
                        "503": {
                            **_UNAVAILABLE,
                            "description": "The database, or the cache every instance reads, "
                            "is unavailable: nothing was deleted; retry after the given delay.",
                        },
                    },
                },
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "manageToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The `manage_token` returned when the link was created.",
                },
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The service's ADMIN_TOKEN (none when it is unset).",
                },
            },
            "schemas": {
                "NewLink": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url"],
                    "properties": {
                        "url": {
                            "type": "string",
                            "maxLength": RAW_URL_MAX_LENGTH,
                            "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$",
                            "description": "An http:// or https:// URL with a host name, not "
                            "on this service's own hosts. It is stored in its canonical ASCII "
                            "form (IDNA host, percent-encoded path, query and fragment), which "
                            f"may be at most {URL_MAX_LENGTH} characters long.",
                        },
                        "code": {
                            "type": ["string", "null"],
                            "pattern": f"^{CODE_PATTERN.pattern}$",
                            "description": "Optional custom code; reserved words are refused.",
                        },
                    },
                },
                "Link": {
                    "type": "object",
                    "required": ["code", "url", "clicks", "created_at", "short_url"],
                    "properties": {
                        "code": {"type": "string", "maxLength": CODE_MAX_LENGTH},
                        "url": {
                            "type": "string",
                            "maxLength": URL_MAX_LENGTH,
                            "description": "The target in canonical ASCII form: what "
                            "`GET /{code}` sends in `Location`.",
                        },
                        "clicks": {"type": "integer", "minimum": 0},
                        "created_at": {"type": "string", "format": "date-time"},
                        "short_url": {"type": "string"},
                    },
                },
                "CreatedLink": {
                    "allOf": [
                        link_ref,
                        {
                            "type": "object",
                            "required": ["manage_token"],
                            "properties": {
                                "manage_token": {
                                    "type": "string",
                                    "description": "Bearer token that may delete this link. "
                                    "Shown only here: the service keeps only its SHA-256.",
                                }
                            },
                        },
                    ]
                },
                "LinkPage": {
                    "type": "object",
                    "required": ["items", "per_page", "next"],
                    "properties": {
                        "items": {"type": "array", "items": link_ref},
                        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                        "next": {
                            "type": ["string", "null"],
                            "description": "The next page (null on the last one).",
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "field": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
            },
        },
    }
