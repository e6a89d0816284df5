"""Logs: one JSON object per line on stderr in production (for any log shipper), plain lines a
person can read in development; either way with the instance and the request id."""

from __future__ import annotations

import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter

# Development: `2026-11-26 17:30:01 INFO  app-1 3f2a... app.web: message` ("-" outside a request).
PLAIN_FORMAT = "%(asctime)s %(levelname)-5s %(instance)s %(request_id)s %(name)s: %(message)s"


class RequestContextFilter(logging.Filter):
    """Stamps every record with the instance name and, inside a request, its request id."""

    def __init__(self, instance: str, missing: str | None = None) -> None:
        super().__init__()
        self.instance = instance
        self.missing = missing  # what a record outside any request shows as its id

    def filter(self, record: logging.LogRecord) -> bool:
        record.instance = self.instance
        request_id = g.get("request_id") if has_request_context() else None
        # A record made outside Flask may carry its request's id itself (extra=).
        record.request_id = request_id or getattr(record, "request_id", None) or self.missing
        return True


def configure_logging(level: str, instance: str, plain: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if plain:
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    else:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(instance)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    handler.addFilter(RequestContextFilter(instance, missing="-" if plain else None))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up chatter
