"""Run the app locally with no services: `python run.py` (or `make run`).

With no environment at all it uses a SQLite file under instance/ and an in-process cache, applies
the migrations itself and serves on http://127.0.0.1:5000, answering the loopback names only
(ALLOWED_HOSTS). Set DATABASE_URL / REDIS_URL to use PostgreSQL and Redis instead. For
production, use gunicorn (see gunicorn.conf.py).
"""

import os
import sys

from app import create_app
from app.config import ConfigError, load_settings
from app.migrate import upgrade

LOOPBACK_NAMES = "localhost,127.0.0.1,[::1]"


def main() -> int:
    os.environ.setdefault("APP_ENV", "development")
    # The names a browser on this machine uses; set ALLOWED_HOSTS when serving on another address.
    os.environ.setdefault("ALLOWED_HOSTS", LOOPBACK_NAMES)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "5000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"invalid configuration:\n  PORT: must be 1-65535, not {port!r}", file=sys.stderr)
        return 2
    upgrade(settings.DATABASE_URL)
    app = create_app(settings)
    print(f"flask-multitier on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=host, port=int(port), debug=False, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
