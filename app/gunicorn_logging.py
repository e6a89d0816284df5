"""gunicorn's access log as one JSON object per request (see gunicorn.conf.py: logger_class).

Built with json.dumps, never by string formatting, so a hostile path or header cannot break the
line or forge fields.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    def access(
        self, resp: Any, req: Any, environ: MutableMapping[str, Any], request_time: Any
    ) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        headers = dict(resp.headers or [])
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "type": "access",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(str(resp.status).split(None, 1)[0]),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "bytes": getattr(resp, "sent", None),
            "request_id": headers.get("X-Request-ID"),
            "instance": headers.get("X-Served-By"),
            # The client as the trusted proxy reported it: ProxyFix has rewritten REMOTE_ADDR in
            # this same environ. The raw header is kept apart: anyone can write anything in it.
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.exception("could not write the access log line")
